#!/usr/bin/env bash
# start_pulse.sh — start (or reuse) a private PulseAudio server with a 48 kHz stereo null sink.
# The server lives under $XDG_RUNTIME_DIR (the Makefile sets a private one in /tmp), so it never
# touches a desktop user's own sound server and tests never play into real speakers.
set -euo pipefail
: "${XDG_RUNTIME_DIR:?set XDG_RUNTIME_DIR}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
export PULSE_SERVER="unix:$XDG_RUNTIME_DIR/pulse/native"
if pactl info >/dev/null 2>&1 && pactl list short sinks | grep -q nullsink; then
  exit 0
fi
# As root PulseAudio warns that it is meant for a user session; in this private instance that is fine.
# Real-time scheduling for its I/O thread where allowed (as root in CI it is): on a loaded 2-core
# machine a 256-frame stream otherwise meets the server's own scheduling gaps.
pulseaudio --daemonize=yes --exit-idle-time=-1 --disallow-exit -n \
  --realtime=yes --high-priority=yes \
  --load=module-native-protocol-unix \
  --load="module-null-sink sink_name=nullsink rate=48000 channels=2" >/dev/null 2>&1 || true
for _ in $(seq 100); do
  pactl info >/dev/null 2>&1 && break
  sleep 0.1
done
pactl info >/dev/null 2>&1 || { echo "start_pulse.sh: PulseAudio did not start" >&2; exit 1; }
pactl set-default-sink nullsink
echo "PulseAudio null sink ready at $PULSE_SERVER"
