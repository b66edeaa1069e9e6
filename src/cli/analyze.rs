//! `rusty-audio analyze [--json] FILE...`: decode each file and report format and levels.
//! Files are analysed in parallel (one worker per core) and reported in argument order.

use std::io::Write;
use std::path::PathBuf;

use serde_json::{json, Value};

pub use crate::analysis::file_report::{analyze_file, Report, SILENCE_DBFS};
use crate::decode::DecodeError;

/// The JSON object `analyze --json` prints for one file.
#[must_use]
pub fn to_json(this: &Report) -> Value {
    let round = |v: Option<f64>| v.map(|x| (x * 1e4).round() / 1e4);
    let (lead, trail) = this.silence_s();
    json!({
        "path": this.path.display().to_string(),
        "container": this.container,
        "codec": this.codec,
        "sample_rate": this.sample_rate,
        "channels": this.channels,
        "frames": this.frames,
        "duration_s": (this.duration_s() * 1e6).round() / 1e6,
        "peak_dbfs": round(this.levels.peak_dbfs()),
        "rms_dbfs": round(this.levels.rms_dbfs()),
        "true_peak_dbtp": round(this.true_peak_dbtp()),
        "integrated_lufs": round(this.integrated_lufs),
        "lra_lu": round(this.lra_lu),
        "max_momentary_lufs": round(this.max_momentary_lufs),
        "max_short_term_lufs": round(this.max_short_term_lufs),
        "clipped_samples": this.levels.clipped,
        "leading_silence_s": round(Some(lead)),
        "trailing_silence_s": round(Some(trail)),
        "corrupt_packets_skipped": this.skipped_packets,
    })
}

/// Analyse files in parallel, keeping argument order.
#[must_use]
pub fn analyze_all(paths: &[PathBuf]) -> Vec<Result<Report, DecodeError>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(paths.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<Result<Report, DecodeError>>> =
        (0..paths.len()).map(|_| None).collect();
    let slots = std::sync::Mutex::new(&mut results);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= paths.len() {
                    break;
                }
                let r = analyze_file(&paths[i]);
                let mut slots = slots.lock().expect("no worker panics while holding it");
                slots[i] = Some(r);
                let done = slots.iter().filter(|r| r.is_some()).count();
                progress(done, paths.len());
            });
        }
    });
    results
        .into_iter()
        .map(|r| r.expect("every index was processed"))
        .collect()
}

/// A progress bar on stderr for several files, drawn only on a terminal (logs stay clean).
fn progress(done: usize, total: usize) {
    use std::io::IsTerminal;
    if total < 2 || !std::io::stderr().is_terminal() {
        return;
    }
    let width = 30;
    let filled = done * width / total;
    let bar: String = "#".repeat(filled) + &".".repeat(width - filled);
    eprint!("\r[{bar}] {done}/{total} files");
    if done == total {
        eprint!("\r{}\r", " ".repeat(width + 24));
    }
}

fn fmt_db(v: Option<f64>) -> String {
    v.map_or("-inf".into(), |x| format!("{x:.2}"))
}

pub fn run(paths: &[PathBuf], as_json: bool) -> i32 {
    // Folders expand as for `play` (their audio files, recursively; cue sheets are not audio).
    let (mut files, unreadable) = crate::library::files::expand_reporting(paths);
    // A folder that could not be read is a failure like a file that could not be: said, and
    // in the exit code, while the rest is analyzed.
    for line in &unreadable {
        eprintln!("rusty-audio: {line}");
    }
    files.retain(|p| !crate::library::files::is_sheet(p) || paths.contains(p));
    if files.is_empty() {
        eprintln!("rusty-audio: nothing to analyze (no audio files in the arguments)");
        return 1;
    }
    let files = &files[..];
    let results = analyze_all(files);
    let mut failed = !unreadable.is_empty();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if !as_json {
        let _ = writeln!(
            out,
            "{:<40} {:>6} {:>10} {:>7} {:>3} {:>10} {:>8} {:>8} {:>8} {:>8} {:>6}",
            "file",
            "format",
            "codec",
            "rate",
            "ch",
            "duration",
            "peak",
            "rms",
            "truepk",
            "LUFS",
            "LRA"
        );
    }
    for (path, r) in files.iter().zip(results) {
        match r {
            Ok(rep) => {
                if as_json {
                    let _ = writeln!(out, "{}", to_json(&rep));
                } else {
                    let _ = writeln!(
                        out,
                        "{:<40} {:>6} {:>10} {:>7} {:>3} {:>9.3}s {:>8} {:>8} {:>8} {:>8} {:>6}",
                        path.display(),
                        rep.container,
                        rep.codec,
                        rep.sample_rate,
                        rep.channels,
                        rep.duration_s(),
                        fmt_db(rep.levels.peak_dbfs()),
                        fmt_db(rep.levels.rms_dbfs()),
                        fmt_db(rep.true_peak_dbtp()),
                        fmt_db(rep.integrated_lufs),
                        rep.lra_lu.map_or("-".into(), |v| format!("{v:.1}")),
                    );
                }
            }
            Err(e) => {
                failed = true;
                eprintln!("rusty-audio: {e}");
                if as_json {
                    let _ = writeln!(
                        out,
                        "{}",
                        json!({"path": path.display().to_string(), "error": e.to_string()})
                    );
                }
            }
        }
    }
    i32::from(failed)
}
