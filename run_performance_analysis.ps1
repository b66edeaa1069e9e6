# Rusty Audio performance report on Windows: criterion benches, the peer comparison when bash,
# ffmpeg, sox and Python are available, then `rusty-audio report` writes reports\performance-DATE.md.
# A thin wrapper: the report logic lives in Rust (src/cli/report.rs), shared with
# scripts/performance_analysis.sh on Linux/macOS.
# Usage: .\run_performance_analysis.ps1 [-Quick]
param([switch]$Quick)
$ErrorActionPreference = "Stop"
Set-Location $PSScriptRoot
New-Item -ItemType Directory -Force -Path reports | Out-Null
$out = "reports\performance-$(Get-Date -Format yyyy-MM-dd).md"
$benchArgs = @("bench", "--locked", "--bench", "dsp", "--bench", "analysis", "--bench", "chain")
if ($Quick) { $benchArgs += @("--", "--quick") }
& cargo @benchArgs
if ($LASTEXITCODE -ne 0) { throw "cargo bench failed" }
& cargo build --release --locked
if ($LASTEXITCODE -ne 0) { throw "cargo build failed" }
$reportArgs = @("report", "--out", $out)
$haveTools = (Get-Command bash -ErrorAction SilentlyContinue) -and (Get-Command ffmpeg -ErrorAction SilentlyContinue) -and (Get-Command sox -ErrorAction SilentlyContinue)
if ($haveTools) {
    & bash scripts/compare_peers.sh target/peers.md
    if ($LASTEXITCODE -eq 0) { $reportArgs += @("--peers", "target\peers.md") }
}
if ($Quick) { $reportArgs += "--quick" }
& .\target\release\rusty-audio.exe @reportArgs
exit $LASTEXITCODE
