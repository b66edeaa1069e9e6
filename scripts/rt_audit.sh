#!/usr/bin/env bash
# rt_audit.sh — what the audio thread really does while `rusty-audio play` plays (the default host,
# PipeWire where it runs; HOST=alsa|pulse to audit another): its scheduling
# policy and priority as the kernel reports them (/proc/PID/task/TID/stat), and `strace -c` of that
# thread alone for SECONDS. Every syscall listed belongs either to the audio host's backend
# (libpipewire; or ALSA and its plugin) or to us; ours must be none after the
# first callback (the one-time promotion: gettid, getrlimit, sched_setscheduler, sched_getscheduler,
# sched_getparam happen before strace can attach). PERFORMANCE_GUIDE.md explains each line.
#
# Usage: scripts/rt_audit.sh [SECONDS] [BUFFER_FRAMES]   (needs a sound server: `make sound-server`, and
# PULSE_SERVER/XDG_RUNTIME_DIR pointing at it, as `make test` sets them)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TRACED=${1:-10}
BUFFER=${2:-256}
BIN=${BIN:-target/release/rusty-audio}
[ -x "$BIN" ] || cargo build --release --locked
command -v strace >/dev/null || { echo "rt_audit.sh: strace is not installed (make test-deps)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'kill "${PLAY:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
# A tone long enough to outlast the trace.
sox -n -r 48000 -c 2 -b 16 "$WORK/tone.wav" synth $((SECONDS_TRACED + 6)) sine 1000 vol 0.3
HOST=${HOST:-default}
"$BIN" play --host "$HOST" --json --buffer "$BUFFER" "$WORK/tone.wav" >"$WORK/summary.json" 2>"$WORK/stderr" &
PLAY=$!
sleep 1 # past the first callbacks (promotion, stream start)
# The callback thread: PipeWire's stream loop (pw_out) or ALSA's output thread (cpal_alsa_out);
# libpipewire starts a helper thread of the same name from it, so take the one that wakes most
# (the audio thread wakes every callback). The PulseAudio host has no such thread of its own.
TID=
best=-1
for t in /proc/$PLAY/task/*; do
  case "$(cat "$t/comm" 2>/dev/null)" in
    pw_out | cpal_alsa_out)
      n=$(awk '/^voluntary_ctxt_switches/ {print $2}' "$t/status" 2>/dev/null || echo 0)
      if [ "${n:-0}" -gt "$best" ]; then best=$n; TID=${t##*/}; fi ;;
  esac
done
[ -n "$TID" ] || { echo "rt_audit.sh: no audio thread (pw_out / cpal_alsa_out) in $PLAY" >&2; cat "$WORK/stderr" >&2; exit 1; }
STAT=$(cat "/proc/$PLAY/task/$TID/stat")
FIELDS=${STAT##*) }
read -r -a F <<<"$FIELDS"
# Fields after the command name start at field 3: rt_priority is field 40, policy field 41.
PRIO=${F[37]}
POLICY=${F[38]}
case $POLICY in 0) P=SCHED_OTHER ;; 1) P=SCHED_FIFO ;; 2) P=SCHED_RR ;; 3) P=SCHED_BATCH ;; 5) P=SCHED_IDLE ;; *) P=$POLICY ;; esac
echo "audio thread: pid $PLAY tid $TID ($(cat "/proc/$PLAY/task/$TID/comm")) policy $P rt_priority $PRIO"
echo "strace -c of that thread alone for ${SECONDS_TRACED} s (${BUFFER}-frame buffer at 48 kHz):"
timeout -s INT "$SECONDS_TRACED" strace -c -p "$TID" -o "$WORK/strace.txt" || true
cat "$WORK/strace.txt"
wait "$PLAY"
echo "play summary:"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(json.dumps({k: s[k] for k in ("host","device","audio_thread","underruns","xruns","frames_played","buffer_frames")}))' "$WORK/summary.json"
