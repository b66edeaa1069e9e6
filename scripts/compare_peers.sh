#!/usr/bin/env bash
# Rusty Audio against its peers, side by side, in one run on this machine:
#   10-band stereo EQ, 512-frame blocks   — ours (bench) vs scipy.signal.sosfilt with zi
#   spectrum frame, 4096 points           — ours (bench) vs numpy rfft + Hann + dB + log bins
#   loudness + true peak of a 5-min FLAC  — `rusty-audio analyze` vs `ffmpeg -af ebur128=peak=true`
#   peak/RMS of the same file             — `rusty-audio analyze` vs `sox --i stats`
# Usage: scripts/compare_peers.sh [OUT.md]   (builds the release binary; installs numpy/scipy
# with pip if missing; needs ffmpeg and sox — `make test` installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/dev/stdout}
BIN=target/release/rusty-audio
cargo build --release --locked -q
python3 -c 'import numpy, scipy' 2>/dev/null || python3 -m pip install -q numpy scipy
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
MEDIA=${RUSTY_AUDIO_MEDIA:-target/media}
[ -f "$MEDIA/prog.flac" ] || bash ../shared/media/make_media.sh "$MEDIA" >/dev/null
# A 5-minute stereo FLAC from the program material.
ffmpeg -v error -y -stream_loop 15 -i "$MEDIA/prog.flac" -t 300 -c:a flac "$WORK/prog5min.flac"

"$BIN" bench --json > "$WORK/bench.json"

python3 - "$WORK" "$BIN" "$OUT" <<'PY'
import json, subprocess, sys, time, platform
import numpy as np
from scipy import signal

work, binary, out = sys.argv[1], sys.argv[2], sys.argv[3]
bench = json.load(open(f"{work}/bench.json"))
fs = 48000

def best_of(n, fn):
    ts = []
    for _ in range(n):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return min(ts), sorted(ts)[len(ts) // 2]

# scipy: the same 10-band EQ as `bench` (RBJ sections), 512-frame stereo blocks with state.
def rbj(kind, f, g, q):
    A = 10 ** (g / 40); w = 2 * np.pi * f / fs; cs, sn = np.cos(w), np.sin(w); al = sn / (2 * q); sq = 2 * np.sqrt(A) * al
    if kind == "PK": b = [1 + al * A, -2 * cs, 1 - al * A]; a = [1 + al / A, -2 * cs, 1 - al / A]
    elif kind == "LS": b = [A*((A+1)-(A-1)*cs+sq), 2*A*((A-1)-(A+1)*cs), A*((A+1)-(A-1)*cs-sq)]; a = [(A+1)+(A-1)*cs+sq, -2*((A-1)+(A+1)*cs), (A+1)+(A-1)*cs-sq]
    elif kind == "HS": b = [A*((A+1)+(A-1)*cs+sq), -2*A*((A-1)+(A+1)*cs), A*((A+1)+(A-1)*cs-sq)]; a = [(A+1)-(A-1)*cs+sq, 2*((A-1)-(A+1)*cs), (A+1)-(A-1)*cs-sq]
    else: b = [(1+cs)/2, -(1+cs), (1+cs)/2]; a = [1 + al, -2 * cs, 1 - al]
    return [x / a[0] for x in b] + [1.0, a[1] / a[0], a[2] / a[0]]
bands = [("HP",20,0,.707),("LS",105,4,.7),("PK",200,-2,1.2),("PK",500,1.5,1),("PK",1000,-1,1.4),("PK",2000,2,2),("PK",3500,-3,3),("PK",6000,1,1),("PK",9000,-2.5,2),("HS",12000,3,.7)]
sos = np.array([rbj(*b) for b in bands])
x = np.random.default_rng(1).standard_normal((2, 512)) * 0.1
zi = np.zeros((sos.shape[0], 2, 2))
def eq_block():
    global zi
    _, zi = signal.sosfilt(sos, x, axis=-1, zi=zi)
n = 2000
t0 = time.perf_counter()
for _ in range(n): eq_block()
scipy_us = (time.perf_counter() - t0) / n * 1e6

# numpy: Hann window + rfft + dB + 320 log bins (max), 4096 points.
N = 4096; win = np.hanning(N + 1)[:-1]; sig = np.random.default_rng(2).standard_normal(N) * 0.1
freqs = np.fft.rfftfreq(N, 1 / fs); edges = np.geomspace(20, 20000, 321); idx = np.searchsorted(freqs, edges)
def frame():
    p = np.abs(np.fft.rfft(sig * win)) ** 2
    m = np.maximum.reduceat(p, np.minimum(idx[:-1], len(p) - 1))
    return 10 * np.log10(np.maximum(m, 1e-30))
t0 = time.perf_counter()
for _ in range(n): frame()
numpy_us = (time.perf_counter() - t0) / n * 1e6

flac = f"{work}/prog5min.flac"
ours_an = best_of(3, lambda: subprocess.run([binary, "analyze", "--json", flac], check=True, capture_output=True))
ff = best_of(3, lambda: subprocess.run(["ffmpeg", "-nostats", "-hide_banner", "-i", flac, "-af", "ebur128=peak=true", "-f", "null", "-"], check=True, capture_output=True))
sox = best_of(3, lambda: subprocess.run(["sox", flac, "-n", "stats"], check=True, capture_output=True))
ours = json.loads(subprocess.run([binary, "analyze", "--json", flac], check=True, capture_output=True).stdout)

us = lambda v: f"{v / 1000:.2f} µs"
rows = [
    ("10-band stereo EQ, 512 frames", us(bench["eq10_block_ns"]["p50"]), f"scipy sosfilt+zi {scipy_us:.1f} µs", f"{scipy_us * 1000 / bench['eq10_block_ns']['p50']:.1f}×"),
    ("full callback chain, 512 frames (p50 / p99)", f"{us(bench['render_block_ns']['p50'])} / {us(bench['render_block_ns']['p99'])}", "—", "—"),
    ("spectrum frame, 4096 points", us(bench["spectrum_frame_ns"]["p50"]), f"numpy {numpy_us:.1f} µs", f"{numpy_us * 1000 / bench['spectrum_frame_ns']['p50']:.1f}×"),
    ("5-min FLAC: LUFS + true peak (+ peak, RMS, LRA)", f"{ours_an[0]:.2f} s", f"ffmpeg ebur128=peak=true {ff[0]:.2f} s", f"{ff[0] / ours_an[0]:.1f}×"),
    ("5-min FLAC: peak + RMS", f"{ours_an[0]:.2f} s (everything)", f"sox stats {sox[0]:.2f} s", f"{sox[0] / ours_an[0]:.1f}×"),
]
with open(out, "w") as f:
    f.write(f"Machine: {bench['machine']['cpu']}, {bench['machine']['cores']} cores, {platform.python_implementation()} {platform.python_version()}, numpy {np.__version__}, scipy {__import__('scipy').__version__}\n\n")
    f.write("| measurement | Rusty Audio | peer | ratio |\n|---|---|---|---|\n")
    for r in rows:
        f.write("| " + " | ".join(r) + " |\n")
    f.write(f"\nWhole-process times are the best of 3 runs. analyze of the 5-min file: integrated {ours['integrated_lufs']} LUFS, true peak {ours['true_peak_dbtp']} dBTP, LRA {ours['lra_lu']} LU.\n")
PY
