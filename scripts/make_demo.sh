#!/usr/bin/env bash
# make_demo.sh OUT.flac — synthesise the bundled demo track (deterministic; needs sox and flac).
# A short chord progression with plucked notes, a bass line, hi-hats and a closing sweep, so the
# spectrum, meters and EQ all have something to show. Re-running reproduces the same audio.
set -euo pipefail
OUT=${1:-assets/demo.flac}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
SOX="sox -R -V1"; R=44100
bar() { # bar NAME ROOT THIRD FIFTH BASS
  $SOX -n -r $R -c 1 "$T/$1_c.wav" synth 2 pluck "$2" synth 2 pluck mix "$3" fade 0 2 1.2 gain -n -9
  $SOX -n -r $R -c 1 "$T/$1_a.wav" synth 2 pluck "$4" fade 0 2 1.0 gain -n -12 pad 0.5
  $SOX -n -r $R -c 1 "$T/$1_b.wav" synth 2 sine "$5" fade 0.01 2 0.3 gain -n -10
  $SOX -n -r $R -c 1 "$T/hat.wav" synth 0.05 whitenoise highpass 7000 fade 0 0.05 0.04 gain -n -24
  $SOX "$T/hat.wav" "$T/$1_h.wav" pad 0.25 0.2 repeat 3
  $SOX -m "$T/$1_c.wav" "$T/$1_a.wav" "$T/$1_b.wav" "$T/$1_h.wav" "$T/$1_mono.wav" trim 0 2
  $SOX "$T/$1_mono.wav" -c 2 "$T/$1.wav" remix 1v0.9,1v0.6 1v0.6,1v0.9
}
bar c C4 E4 G4 65.41
bar a A3 C4 E4 55.00
bar f F3 A3 C4 43.65
bar g G3 B3 D4 49.00
$SOX -n -r $R -c 2 "$T/sweep.wav" synth 3 sine 40/16000 sine 16000/40 fade 0.1 3 0.5 gain -n -14
$SOX "$T"/{c,a,f,g}.wav "$T/sweep.wav" "$T/all.wav"
$SOX "$T/all.wav" -b 16 "$T/demo16.wav" gain -n -1 fade 0 0 0.5
flac -8 -s -f --no-padding -o "$OUT" "$T/demo16.wav"
ls -l "$OUT"
