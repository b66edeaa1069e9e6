#!/usr/bin/env bash
# The POSIX twin of run_performance_analysis.ps1: run the criterion benches, the peer comparison
# (when its tools are here) and write reports/performance-DATE.md with `rusty-audio report`.
# All logic is in that command (src/cli/report.rs); this only runs cargo and the two scripts.
# Usage: scripts/performance_analysis.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK=${1:-}
mkdir -p reports
OUT="reports/performance-$(date +%F).md"
if [ "$QUICK" = "--quick" ]; then
  cargo bench --locked --bench dsp --bench analysis --bench chain -- --quick
else
  cargo bench --locked --bench dsp --bench analysis --bench chain
fi
cargo build --release --locked
PEERS=()
if command -v ffmpeg >/dev/null && command -v sox >/dev/null && command -v python3 >/dev/null; then
  bash scripts/compare_peers.sh "target/peers.md" && PEERS=(--peers target/peers.md)
fi
target/release/rusty-audio report --out "$OUT" "${PEERS[@]}" $QUICK
