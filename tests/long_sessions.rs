//! Long files keep memory flat (issue 15): `analyze` of a three-hour file and `render` of a long
//! one use no more memory than a short one (nothing is kept per second of audio beyond the
//! loudness history's 16 bytes per 100 ms). Memory is each process's own peak (VmHWM), not
//! timed.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Run the binary with `args`: its exit code and its own peak resident set (MiB).
fn run_measured(args: &[&str]) -> (i32, f64) {
    let (o, mib) = run_with_peak_rss(args);
    (o.status.code().unwrap_or(-1), mib)
}

/// A FLAC sine of `seconds` at 8 kHz mono (small and quick to make, however long).
fn long_flac(dir: &Path, seconds: u32) -> PathBuf {
    let out = dir.join(format!("sine_{seconds}s.flac"));
    let ok = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!(
            "sine=frequency=440:sample_rate=8000:duration={seconds}"
        ))
        .args(["-ac", "1", "-c:a", "flac"])
        .arg(&out)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ffmpeg");
    out
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn analyze_of_a_three_hour_file_uses_what_a_minute_does() {
    let dir = scratch("long_analyze");
    let short = long_flac(&dir, 60);
    let long = long_flac(&dir, 3 * 3600);
    let (code, short_mib) = run_measured(&["analyze", p(&short)]);
    assert_eq!(code, 0);
    let (code, long_mib) = run_measured(&["analyze", "--json", p(&long)]);
    assert_eq!(code, 0);
    // 3 h of loudness history is 108 000 × 16 bytes = 1.7 MB; anything kept per sample or per
    // packet would be tens to hundreds of MB.
    assert!(
        long_mib - short_mib < 6.0,
        "analyze: {long_mib:.1} MiB for 3 h against {short_mib:.1} MiB for 1 min"
    );
    assert!(long_mib < 40.0, "analyze of 3 h: {long_mib:.1} MiB");
}

#[test]
fn render_of_a_long_file_uses_what_a_short_one_does() {
    let dir = scratch("long_render");
    let short = long_flac(&dir, 60);
    let long = long_flac(&dir, 600);
    let out = dir.join("out.wav");
    let (code, short_mib) = run_measured(&["render", p(&short), p(&out), "--bits", "16"]);
    assert_eq!(code, 0);
    let (code, long_mib) = run_measured(&["render", p(&long), p(&out), "--bits", "16"]);
    assert_eq!(code, 0);
    let frames = hound::WavReader::open(&out).unwrap().duration();
    assert_eq!(frames, 600 * 8000, "the whole file was rendered");
    // Ten minutes of output kept in memory would be 19 MB (f32) or 9.6 MB (16-bit).
    assert!(
        long_mib - short_mib < 6.0,
        "render: {long_mib:.1} MiB for 10 min against {short_mib:.1} MiB for 1 min"
    );
    let _ = std::fs::remove_file(&out);
}
