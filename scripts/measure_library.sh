#!/usr/bin/env bash
# Measure the app with a big library (issue 15): a folder of N (default 10 000) small audio files
# opened at start, the way a user drops a music folder on it. The release binary in a real window
# (Xvfb + Mesa), the test sound server's null sink, the first file playing. While the background
# scanner reads every file's tags and length, and after, the playlist is scrolled by the mouse
# wheel. Reports the time until the window is up, the playlist saved at exit, anonymous RSS
# (peak, and per entry), and the UI frame (`update`) percentiles the app measured itself
# (--stats-on-exit).
#
# Usage: scripts/measure_library.sh [N]      (make measure-library)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
BIN=${BIN:-target/release/rusty-audio}
[ -x "$BIN" ] || cargo build --release --locked
WORK=$(mktemp -d)
cleanup() {
  [ -s "$WORK/stderr" ] && { echo "app stderr (last lines):" >&2; tail -5 "$WORK/stderr" >&2; }
  [ -n "${APP:-}" ] && kill "$APP" 2>/dev/null || true
  [ -n "${XVFB:-}" ] && kill "$XVFB" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# N files in folders of 100: 2 s FLACs of a tone with artist/album tags (what the scanner reads
# for a real library), made from one encoded file copied and tagged per folder.
mkdir -p "$WORK/lib"
ffmpeg -v error -y -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=2" -ac 2 -c:a flac "$WORK/one.flac"
for a in $(seq -w 0 $(( (N - 1) / 100 ))); do
  mkdir -p "$WORK/lib/album $a"
done
i=0
while [ "$i" -lt "$N" ]; do
  a=$(printf '%02d' $((i / 100)))
  f="$WORK/lib/album $a/track $(printf '%05d' "$i").flac"
  cp "$WORK/one.flac" "$f"
  i=$((i + 1))
done
# Tags for every file in one metaflac call per folder (fast).
for d in "$WORK"/lib/*/; do
  metaflac --set-tag="ARTIST=Artist ${d: -3:2}" --set-tag="ALBUM=Album ${d: -3:2}" "$d"*.flac
done
echo "made $N files in $(ls "$WORK/lib" | wc -l) folders ($(du -sh "$WORK/lib" | cut -f1))"

# Xvfb picks a free display itself and says which (-displayfd).
Xvfb -displayfd 3 -screen 0 1400x900x24 -nolisten tcp 3>"$WORK/display" 2>/dev/null &
XVFB=$!
for _ in $(seq 100); do [ -s "$WORK/display" ] && break; sleep 0.1; done
export DISPLAY=:$(head -1 "$WORK/display")
for _ in $(seq 100); do xdotool getdisplaygeometry >/dev/null 2>&1 && break; sleep 0.1; done
xdotool getdisplaygeometry >/dev/null 2>&1 || { echo "measure_library.sh: Xvfb did not start" >&2; exit 1; }

t0=$(date +%s.%N)
RUSTY_AUDIO_FRAME_TRACE=${TRACE:-999} RUSTY_AUDIO_CONFIG_DIR="$WORK/config" XDG_CACHE_HOME="$WORK/cache" "$BIN" --new-window --stats-on-exit "$WORK/lib" >"$WORK/stats.json" 2>"$WORK/stderr" &
APP=$!
for _ in $(seq 600); do WID=$(xdotool search --name "Rusty Audio" 2>/dev/null | head -1) && [ -n "$WID" ] && break; sleep 0.05; done
t_win=$(date +%s.%N)
rss_anon() { awk '/^RssAnon:/ {print $2}' "/proc/$APP/status"; }
peak=0
sample() { r=$(rss_anon); [ "$r" -gt "$peak" ] && peak=$r; true; }

# Scroll the playlist (the right-hand panel) up and down while the scanner runs and after: 60 s.
xdotool windowfocus --sync "$WID" || true
eval "$(xdotool getwindowgeometry --shell "$WID")"
xdotool mousemove --window "$WID" $((WIDTH * 4 / 5)) $((HEIGHT / 2))
for s in $(seq 60); do
  for _ in $(seq 10); do
    if [ $(( (s / 5) % 2 )) -eq 0 ]; then xdotool click 5; else xdotool click 4; fi
  done
  sample
  sleep 1
done
xdotool windowfocus --sync "$WID" key ctrl+q
wait "$APP" || true
APP=
saved=$(python3 -c "import json; print(len(json.load(open('$WORK/config/settings.json'))['playlist']))" 2>/dev/null || echo "?")
echo "window up after $(awk -v a="$t0" -v b="$t_win" 'BEGIN {printf "%.2f", b - a}') s"
echo "playlist entries saved at exit: $saved of $N"
echo "RssAnon peak $((peak / 1024)) MiB ($peak KiB): $(awk -v p="$peak" -v n="$N" 'BEGIN {printf "%.1f", p * 1024 / n}') bytes per entry, app included"
echo "in-app (--stats-on-exit): $(cat "$WORK/stats.json")"
