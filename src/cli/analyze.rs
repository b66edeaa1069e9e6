//! `rusty-audio analyze [--json] FILE...`: decode each file and report format and levels.
//! Files are analysed in parallel (one worker per core) and reported in argument order.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::analysis::levels::Levels;
use crate::decode::{AudioSource, DecodeError};

#[derive(Debug, Clone)]
pub struct Report {
    pub path: PathBuf,
    pub container: String,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: usize,
    pub frames: u64,
    pub levels: Levels,
    pub skipped_packets: u64,
}

impl Report {
    #[must_use]
    pub fn duration_s(&self) -> f64 {
        self.frames as f64 / f64::from(self.sample_rate)
    }

    #[must_use]
    pub fn to_json(&self) -> Value {
        let round = |v: Option<f64>| v.map(|x| (x * 1e4).round() / 1e4);
        json!({
            "path": self.path.display().to_string(),
            "container": self.container,
            "codec": self.codec,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "frames": self.frames,
            "duration_s": (self.duration_s() * 1e6).round() / 1e6,
            "peak_dbfs": round(self.levels.peak_dbfs()),
            "rms_dbfs": round(self.levels.rms_dbfs()),
            "true_peak_dbtp": Value::Null,
            "integrated_lufs": Value::Null,
            "lra_lu": Value::Null,
            "clipped_samples": self.levels.clipped,
            "corrupt_packets_skipped": self.skipped_packets,
        })
    }
}

/// Decode a whole file and measure it.
pub fn analyze_file(path: &Path) -> Result<Report, DecodeError> {
    let mut src = AudioSource::open(path)?;
    let info = src.info().clone();
    let mut levels = Levels::default();
    let mut buf = Vec::with_capacity(8192);
    let mut frames = 0u64;
    loop {
        buf.clear();
        let n = src.read(&mut buf)?;
        if n == 0 {
            break;
        }
        frames += n as u64;
        levels.add(&buf);
    }
    if frames == 0 {
        return Err(DecodeError::Decode {
            path: path.into(),
            reason: "no audio frames could be decoded".into(),
        });
    }
    Ok(Report {
        path: path.into(),
        container: info.container,
        codec: info.codec,
        sample_rate: info.sample_rate,
        channels: info.channels,
        frames,
        levels,
        skipped_packets: src.skipped_packets,
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
                slots.lock().expect("no worker panics while holding it")[i] = Some(r);
            });
        }
    });
    results
        .into_iter()
        .map(|r| r.expect("every index was processed"))
        .collect()
}

fn fmt_db(v: Option<f64>) -> String {
    v.map_or("-inf".into(), |x| format!("{x:.2}"))
}

pub fn run(files: &[PathBuf], as_json: bool) -> i32 {
    let results = analyze_all(files);
    let mut failed = false;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if !as_json {
        let _ = writeln!(
            out,
            "{:<40} {:>6} {:>10} {:>7} {:>3} {:>10} {:>8} {:>8}",
            "file", "format", "codec", "rate", "ch", "duration", "peak", "rms"
        );
    }
    for (path, r) in files.iter().zip(results) {
        match r {
            Ok(rep) => {
                if as_json {
                    let _ = writeln!(out, "{}", rep.to_json());
                } else {
                    let _ = writeln!(
                        out,
                        "{:<40} {:>6} {:>10} {:>7} {:>3} {:>9.3}s {:>8} {:>8}",
                        path.display(),
                        rep.container,
                        rep.codec,
                        rep.sample_rate,
                        rep.channels,
                        rep.duration_s(),
                        fmt_db(rep.levels.peak_dbfs()),
                        fmt_db(rep.levels.rms_dbfs())
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
