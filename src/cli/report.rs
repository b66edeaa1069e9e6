//! `rusty-audio report`: one dated Markdown performance report from what the machine just
//! measured — the in-process `bench` figures, the criterion estimates under `target/criterion`,
//! and (if given) the peer comparison written by `scripts/compare_peers.sh`.
//!
//! This is the logic behind `run_performance_analysis.ps1` and `scripts/performance_analysis.sh`;
//! both wrappers only run cargo and this command, so nothing is written twice.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub struct ReportOptions {
    pub out: PathBuf,
    pub criterion_dir: PathBuf,
    pub peers: Option<PathBuf>,
    pub quick: bool,
}

/// (benchmark id, mean ns, 95 % interval) from every `*/new/estimates.json` criterion left.
#[must_use]
pub fn criterion_estimates(dir: &Path) -> Vec<(String, f64, (f64, f64))> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n == "new") {
                    if let Some(x) = read_estimate(&p) {
                        found.push(x);
                    }
                } else if p.file_name().is_none_or(|n| n != "base" && n != "change") {
                    stack.push(p);
                }
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

fn read_estimate(new_dir: &Path) -> Option<(String, f64, (f64, f64))> {
    let est: Value =
        serde_json::from_slice(&std::fs::read(new_dir.join("estimates.json")).ok()?).ok()?;
    let bench: Value =
        serde_json::from_slice(&std::fs::read(new_dir.join("benchmark.json")).ok()?).ok()?;
    let id = bench["full_id"].as_str()?.to_string();
    let mean = &est["mean"];
    Some((
        id,
        mean["point_estimate"].as_f64()?,
        (
            mean["confidence_interval"]["lower_bound"].as_f64()?,
            mean["confidence_interval"]["upper_bound"].as_f64()?,
        ),
    ))
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

/// The report as Markdown.
#[must_use]
pub fn render(
    date: &str,
    bench: &Value,
    criterion: &[(String, f64, (f64, f64))],
    peers: Option<&str>,
) -> String {
    let mut s = String::new();
    let m = &bench["machine"];
    let _ = writeln!(s, "# Rusty Audio performance report, {date}\n");
    let _ = writeln!(
        s,
        "Machine: {} ({} cores){}.\n",
        m["cpu"].as_str().unwrap_or("?"),
        m["cores"],
        if m["debug_build"] == true {
            " — DEBUG BUILD, not representative"
        } else {
            ""
        }
    );
    let _ = writeln!(s, "## In-process (`rusty-audio bench --json`)\n");
    let _ = writeln!(s, "| Figure | p50 | p99 | max |\n|---|---|---|---|");
    for (label, key) in [
        ("Full callback chain, 512 frames", "render_block_ns"),
        ("10-band EQ, 512 stereo frames", "eq10_block_ns"),
        ("Spectrum frame, 4096 points", "spectrum_frame_ns"),
        ("Meters (meter thread), 512 frames", "meters_block_ns"),
    ] {
        let v = &bench[key];
        let f = |k: &str| v[k].as_f64().map_or("-".into(), fmt_ns);
        let _ = writeln!(
            s,
            "| {label} | {} | {} | {} |",
            f("p50"),
            f("p99"),
            f("max")
        );
    }
    let _ = writeln!(
        s,
        "\nCallback load at p99: {} % of the 512-frame period. Monitor record: {} ns. Decode: {}× real time.\n",
        bench["render_block_load_pct_p99"], bench["monitor_record_ns"], bench["decode_x_realtime"]
    );
    let _ = writeln!(s, "## Criterion (`cargo bench`), mean with 95 % interval\n");
    if criterion.is_empty() {
        let _ = writeln!(s, "No criterion results found (run `cargo bench` first).\n");
    } else {
        let _ = writeln!(s, "| Benchmark | Mean | 95 % interval |\n|---|---|---|");
        for (id, mean, (lo, hi)) in criterion {
            let _ = writeln!(
                s,
                "| {id} | {} | {} – {} |",
                fmt_ns(*mean),
                fmt_ns(*lo),
                fmt_ns(*hi)
            );
        }
        s.push('\n');
    }
    let _ = writeln!(s, "## Peers (`scripts/compare_peers.sh`)\n");
    match peers {
        Some(p) => s.push_str(p.trim_end()),
        None => s.push_str(
            "Not run on this machine (needs bash, Python with numpy/scipy, ffmpeg and sox).",
        ),
    }
    s.push('\n');
    s
}

fn today() -> String {
    // Days since the epoch → civil date (Howard Hinnant's algorithm), so no date crate is needed.
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

pub fn run(opts: &ReportOptions) -> i32 {
    let peers = match &opts.peers {
        Some(p) => match std::fs::read_to_string(p) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!(
                    "rusty-audio: {}: cannot read the peer comparison: {e}",
                    p.display()
                );
                return 1;
            }
        },
        None => None,
    };
    let bench = super::bench::measure(opts.quick);
    let text = render(
        &today(),
        &bench,
        &criterion_estimates(&opts.criterion_dir),
        peers.as_deref(),
    );
    match crate::util::atomic_write(&opts.out, text.as_bytes()) {
        Ok(()) => {
            eprintln!("wrote {}", opts.out.display());
            0
        }
        Err(e) => {
            eprintln!("rusty-audio: {}: {e}", opts.out.display());
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_and_markdown() {
        let d = today();
        assert_eq!(d.len(), 10);
        assert!(d.starts_with("20"));
        let bench = serde_json::json!({
            "machine": {"cpu": "Test CPU", "cores": 2, "debug_build": false},
            "render_block_ns": {"p50": 6000.0, "p99": 12000.0, "max": 40000.0},
            "render_block_load_pct_p99": 0.1, "monitor_record_ns": 29.0, "decode_x_realtime": 300.0,
        });
        let md = render(
            "2026-11-23",
            &bench,
            &[("eq/peak".into(), 1234.0, (1200.0, 1300.0))],
            Some("| a | b |"),
        );
        assert!(md.contains("Test CPU (2 cores)"));
        assert!(md.contains("| Full callback chain, 512 frames | 6.00 µs | 12.00 µs | 40.00 µs |"));
        assert!(md.contains("| eq/peak | 1.23 µs | 1.20 µs – 1.30 µs |"));
        assert!(md.ends_with("| a | b |\n"));
    }

    #[test]
    fn reads_criterion_layout() {
        let dir = std::env::temp_dir().join(format!("ra-crit-{}", std::process::id()));
        let new = dir.join("group").join("case").join("new");
        std::fs::create_dir_all(&new).unwrap();
        std::fs::create_dir_all(dir.join("group").join("case").join("base")).unwrap();
        std::fs::write(new.join("benchmark.json"), r#"{"full_id": "group/case"}"#).unwrap();
        std::fs::write(
            new.join("estimates.json"),
            r#"{"mean": {"point_estimate": 10.5, "confidence_interval": {"lower_bound": 10.0, "upper_bound": 11.0}}}"#,
        )
        .unwrap();
        assert_eq!(
            criterion_estimates(&dir),
            vec![("group/case".to_string(), 10.5, (10.0, 11.0))]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
