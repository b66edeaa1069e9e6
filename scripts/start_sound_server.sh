#!/usr/bin/env bash
# start_sound_server.sh — start (or reuse) the private test sound server: PipeWire with WirePlumber
# and pipewire-pulse (what current desktops run), and a 48 kHz stereo null sink as the default
# output. Everything lives under $XDG_RUNTIME_DIR (the Makefile sets a private one in /tmp), so it
# never touches a desktop user's own sound server and tests never play into real speakers.
#
# The app's default host on Linux is cpal's PipeWire host (its callback on a thread of its own);
# the tests record the sink through the PulseAudio protocol (parec/pactl), which pipewire-pulse
# serves from the same graph. Tests of the native PulseAudio host start real PulseAudio daemons of
# their own (tests/common: PrivatePulse).
set -euo pipefail
: "${XDG_RUNTIME_DIR:?set XDG_RUNTIME_DIR}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
export PULSE_SERVER="unix:$XDG_RUNTIME_DIR/pulse/native"
log="$XDG_RUNTIME_DIR/sound-server.log"

# Outputs are captured, not piped into `grep -q` (under pipefail, grep quitting early would fail
# the writer with SIGPIPE and read as "no").
server_name() { local info; info=$(pactl info 2>/dev/null) || return 0; sed -n 's/^Server Name: //p' <<<"$info"; }
has_nullsink() { local sinks; sinks=$(pactl list short sinks 2>/dev/null) || return 1; [[ "$sinks" == *nullsink* ]]; }
ours() { local env; env=$(tr '\0' '\n' 2>/dev/null < "/proc/$1/environ") || return 1; [[ $'\n'"$env"$'\n' == *$'\n'"XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR"$'\n'* ]]; }

# The defaults the tests rely on, on a new server and on one reused alike: nullsink is the
# default output, and its monitor the default source (what live-input tests hear with no device
# named; set, not left to pipewire-pulse's fallback, which a test's extra sink could move).
# WirePlumber announces a default once it has seen the sink.
set_defaults() {
  for _ in $(seq 100); do
    pactl set-default-sink nullsink 2>/dev/null || true
    [[ "$(pactl get-default-sink 2>/dev/null)" == nullsink ]] && break
    sleep 0.1
  done
  [[ "$(pactl get-default-sink)" == nullsink ]] || fail_defaults "nullsink is not the default"
  for _ in $(seq 50); do
    pactl set-default-source nullsink.monitor 2>/dev/null || true
    [[ "$(pactl get-default-source 2>/dev/null)" == nullsink.monitor ]] && break
    sleep 0.1
  done
  [[ "$(pactl get-default-source)" == nullsink.monitor ]] || fail_defaults "nullsink.monitor is not the default source"
}
# `fail` (below) also stops what this run started; on a reused server there is nothing to stop.
fail_defaults() { if declare -F fail >/dev/null; then fail "$1"; else echo "start_sound_server.sh: $1" >&2; exit 1; fi; }

if [[ "$(server_name)" == *PipeWire* ]] && has_nullsink; then
  set_defaults
  exit 0
fi
# A PulseAudio daemon left by an older checkout holds the socket: replace it.
if [[ -n "$(server_name)" && "$(server_name)" != *PipeWire* ]]; then
  pulseaudio -k 2>/dev/null || true
  for _ in $(seq 50); do [[ -z "$(server_name)" ]] && break; sleep 0.1; done
fi
# Leftovers of a half-started stack (a crashed daemon keeps its lock file and socket).
killed=()
for p in pipewire wireplumber pipewire-pulse dbus-daemon; do
  for pid in $(pgrep -u "$(id -u)" -x "$p" || true); do
    if ours "$pid"; then
      kill "$pid" 2>/dev/null && killed+=("$pid")
    fi
  done
done
for pid in "${killed[@]}"; do
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
done
rm -f "$XDG_RUNTIME_DIR/pipewire-0" "$XDG_RUNTIME_DIR/pipewire-0.lock" "$XDG_RUNTIME_DIR/pipewire-0-manager" \
  "$XDG_RUNTIME_DIR/pipewire-0-manager.lock"

# WirePlumber (the session manager that links streams to the sink) needs a session bus; the
# server gets a private one, which nothing else uses. Its state (the chosen default sink) stays in
# the runtime dir too, not in the user's ~/.local/state.
state="$XDG_RUNTIME_DIR/sound-server-state"
mkdir -p "$state"
bus="unix:path=$XDG_RUNTIME_DIR/sound-server-bus"
rm -f "$XDG_RUNTIME_DIR/sound-server-bus"
# A failure below leaves nothing running (the next run would find a half-started stack).
started=()
trap 'if (( ${#started[@]} )); then kill "${started[@]}" 2>/dev/null || true; fi' EXIT
fail() { echo "start_sound_server.sh: $1 (see $log)" >&2; exit 1; }
setsid dbus-daemon --session --address="$bus" --nofork --nopidfile >>"$log" 2>&1 < /dev/null &
started+=($!)
for _ in $(seq 50); do [[ -S "$XDG_RUNTIME_DIR/sound-server-bus" ]] && break; sleep 0.1; done
[[ -S "$XDG_RUNTIME_DIR/sound-server-bus" ]] || fail "the server's D-Bus did not start"
export DBUS_SESSION_BUS_ADDRESS="$bus" XDG_STATE_HOME="$state" XDG_CONFIG_HOME="$state"
# As root PipeWire's module-rt sets its data thread to SCHED_FIFO itself (no rtkit needed); on a
# loaded 2-core machine a 256-frame stream otherwise meets the server's own scheduling gaps.
setsid pipewire >>"$log" 2>&1 < /dev/null &
started+=($!)
for _ in $(seq 50); do [[ -S "$XDG_RUNTIME_DIR/pipewire-0" ]] && break; sleep 0.1; done
[[ -S "$XDG_RUNTIME_DIR/pipewire-0" ]] || fail "PipeWire did not start"
setsid wireplumber >>"$log" 2>&1 < /dev/null &
started+=($!)
setsid pipewire-pulse >>"$log" 2>&1 < /dev/null &
started+=($!)
for _ in $(seq 100); do
  [[ "$(server_name)" == *PipeWire* ]] && break
  sleep 0.1
done
[[ "$(server_name)" == *PipeWire* ]] || fail "pipewire-pulse did not start (or another server holds $PULSE_SERVER)"
has_nullsink || pactl load-module module-null-sink sink_name=nullsink rate=48000 channels=2 >/dev/null
set_defaults
started=() # up: leave it running
echo "PipeWire null sink ready at $XDG_RUNTIME_DIR/pipewire-0 (PulseAudio protocol: $PULSE_SERVER)"
