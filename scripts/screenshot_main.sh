#!/usr/bin/env bash
# screenshot_main.sh — the README's main screenshot (docs/screenshots/main.png, 1280×820): the app
# in a virtual X display (Xvfb, Mesa software rendering) playing a cue-sheet album made from the
# bundled demo (three tracks of one FLAC image), with loudness normalization (auto), a 3 s
# crossfade and repeat all set, and an A–B loop started. Needs what `make test` installs and the
# test sound server; run it from the Makefile: `make screenshots`.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/rusty-audio}
OUT=docs/screenshots
mkdir -p "$OUT"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
album="$work/Demo Sessions"
mkdir -p "$album"
cp assets/demo.flac "$album/Demo Sessions.flac"
cat > "$album/Demo Sessions.cue" <<'CUE'
PERFORMER "Rusty Audio"
TITLE "Demo Sessions"
FILE "Demo Sessions.flac" WAVE
  TRACK 01 AUDIO
    TITLE "Warm-up"
    INDEX 01 00:00:00
  TRACK 02 AUDIO
    TITLE "The Long Sweep"
    INDEX 01 00:03:40
  TRACK 03 AUDIO
    TITLE "Coda"
    PERFORMER "Rusty Audio & Friends"
    INDEX 01 00:07:20
CUE
w=1280; h=820
display=":$((60 + RANDOM % 30))"
Xvfb "$display" -screen 0 "${w}x${h}x24" -nolisten tcp 2>/dev/null &
xvfb=$!
for _ in $(seq 100); do DISPLAY=$display xdotool getdisplaygeometry >/dev/null 2>&1 && break; sleep 0.1; done
config="$work/config"
mkdir -p "$config"
printf '{"layout": {"window": [%s, %s]}, "normalization": {"mode": "auto"}, "crossfade": {"seconds": 3.0}, "repeat": "all"}\n' "$w" "$h" > "$config/settings.json"
DISPLAY=$display RUSTY_AUDIO_CONFIG_DIR=$config "$BIN" --new-window "$album" 2>/dev/null &
app=$!
for _ in $(seq 200); do DISPLAY=$display xdotool search --name "Rusty Audio" >/dev/null 2>&1 && break; sleep 0.1; done
DISPLAY=$display xdotool mousemove $((w - 2)) $((h - 2)) 2>/dev/null || true
sleep 4.5
# An A–B loop: [ now, ] a second later (the transport shows its range).
win=$(DISPLAY=$display xdotool search --name "Rusty Audio" | head -1)
DISPLAY=$display xdotool windowfocus "$win" key bracketleft 2>/dev/null || true
sleep 1.2
DISPLAY=$display xdotool windowfocus "$win" key bracketright 2>/dev/null || true
sleep 2.5
DISPLAY=$display import -window root "$OUT/main.png"
kill "$app" 2>/dev/null || true
wait "$app" 2>/dev/null || true
kill "$xvfb" 2>/dev/null || true
wait "$xvfb" 2>/dev/null || true
echo "$OUT/main.png"
