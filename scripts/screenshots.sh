#!/usr/bin/env bash
# screenshots.sh — the app at 640×480, 800×600 and 1400×900 in a virtual X display (Xvfb, Mesa
# software rendering), playing the bundled demo through the test sound server, saved to
# docs/screenshots/layout_WxH.png. Needs what `make test` installs; run it from the Makefile:
# `make screenshots` (it builds the app and starts the sound server first).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/rusty-audio}
OUT=docs/screenshots
mkdir -p "$OUT"
for size in 640x480 800x600 1400x900; do
  w=${size%x*}; h=${size#*x}
  display=":$((60 + RANDOM % 30))"
  Xvfb "$display" -screen 0 "${size}x24" -nolisten tcp 2>/dev/null &
  xvfb=$!
  for _ in $(seq 100); do DISPLAY=$display xdotool getdisplaygeometry >/dev/null 2>&1 && break; sleep 0.1; done
  config=$(mktemp -d)
  # Only the window size is set: everything else is the app's default layout.
  printf '{"layout": {"window": [%s, %s]}}\n' "$w" "$h" > "$config/settings.json"
  DISPLAY=$display RUSTY_AUDIO_CONFIG_DIR=$config "$BIN" --new-window assets/demo.flac 2>/dev/null &
  app=$!
  for _ in $(seq 200); do DISPLAY=$display xdotool search --name "Rusty Audio" >/dev/null 2>&1 && break; sleep 0.1; done
  # The pointer (Xvfb puts it mid-screen) goes to an empty corner, so no tooltip shows; the
  # analyzers need a few seconds of music to show something.
  DISPLAY=$display xdotool mousemove $((w - 2)) $((h - 2)) 2>/dev/null || true
  sleep 6
  DISPLAY=$display import -window root "$OUT/layout_${size}.png"
  kill "$app" 2>/dev/null || true
  wait "$app" 2>/dev/null || true
  kill "$xvfb" 2>/dev/null || true
  wait "$xvfb" 2>/dev/null || true
  rm -rf "$config"
  echo "$OUT/layout_${size}.png"
done
