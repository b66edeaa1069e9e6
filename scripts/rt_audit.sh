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
# The audio threads: PipeWire's stream loop (pw_out: our callback runs there) and the helper
# libpipewire starts from it (same name: its data loop, which receives the server's wake-up and
# hands it to the stream loop), or ALSA's output thread (cpal_alsa_out). The PulseAudio host has
# no thread of its own. Each is traced alone; the summary's tid says which one runs our callback.
TIDS=()
for t in /proc/$PLAY/task/*; do
  case "$(cat "$t/comm" 2>/dev/null)" in pw_out | cpal_alsa_out) TIDS+=("${t##*/}") ;; esac
done
(( ${#TIDS[@]} )) || { echo "rt_audit.sh: no audio thread (pw_out / cpal_alsa_out) in $PLAY" >&2; cat "$WORK/stderr" >&2; exit 1; }
policy_of() {
  local stat fields
  stat=$(cat "/proc/$PLAY/task/$1/stat")
  fields=${stat##*) }
  read -r -a F <<<"$fields"
  # Fields after the command name start at field 3: rt_priority is field 40, policy field 41.
  case ${F[38]} in 0) echo -n SCHED_OTHER ;; 1) echo -n SCHED_FIFO ;; 2) echo -n SCHED_RR ;; 3) echo -n SCHED_BATCH ;; 5) echo -n SCHED_IDLE ;; *) echo -n "${F[38]}" ;; esac
  echo " rt_priority ${F[37]}"
}
declare -A POLICY
TRACES=()
for tid in "${TIDS[@]}"; do
  POLICY[$tid]=$(policy_of "$tid")
  timeout -s INT "$SECONDS_TRACED" strace -c -p "$tid" -o "$WORK/strace.$tid" 2>/dev/null &
  TRACES+=($!)
done
for j in "${TRACES[@]}"; do wait "$j" || true; done
wait "$PLAY"
CALLBACK_TID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["audio_thread"]["tid"])' "$WORK/summary.json")
echo "strace -c of each audio thread alone for ${SECONDS_TRACED} s (${BUFFER}-frame buffer at 48 kHz):"
for tid in "${TIDS[@]}"; do
  if [ "$tid" = "$CALLBACK_TID" ]; then role="runs our callback"; else role="backend helper, no code of ours"; fi
  echo
  echo "thread $tid — $role — ${POLICY[$tid]}"
  cat "$WORK/strace.$tid"
done
echo
echo "play summary:"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(json.dumps({k: s[k] for k in ("host","device","audio_thread","underruns","xruns","frames_played","buffer_frames")}))' "$WORK/summary.json"
