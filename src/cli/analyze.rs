//! `rusty-audio analyze [--json] FILE...`: decode each file and report format and levels.
//! Files are analysed in parallel (one worker per core) and reported in argument order.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::analysis::levels::Levels;
use crate::analysis::loudness::LoudnessMeter;
use crate::analysis::true_peak::TruePeak;
use crate::decode::{AudioSource, DecodeError};

/// Silence threshold for `leading_silence_s` / `trailing_silence_s`: −60 dBFS (below the noise
/// floor of most masters, above dither).
pub const SILENCE_DBFS: f64 = -60.0;

#[derive(Debug, Clone)]
pub struct Report {
    pub path: PathBuf,
    pub container: String,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: usize,
    pub frames: u64,
    pub levels: Levels,
    pub true_peak: f32,
    pub integrated_lufs: Option<f64>,
    pub lra_lu: Option<f64>,
    pub max_momentary_lufs: Option<f64>,
    pub max_short_term_lufs: Option<f64>,
    /// First and last frame louder than `SILENCE_DBFS` (None: all silent).
    pub sound: Option<(u64, u64)>,
    pub skipped_packets: u64,
    /// Gated 400 ms block energies (for an album's loudness, see `loudness::integrated_of`).
    pub loudness_blocks: Vec<f64>,
}

impl Report {
    #[must_use]
    pub fn duration_s(&self) -> f64 {
        self.frames as f64 / f64::from(self.sample_rate)
    }

    #[must_use]
    pub fn true_peak_dbtp(&self) -> Option<f64> {
        crate::analysis::levels::to_db(f64::from(self.true_peak))
    }

    /// (leading, trailing) silence in seconds.
    #[must_use]
    pub fn silence_s(&self) -> (f64, f64) {
        let fs = f64::from(self.sample_rate);
        match self.sound {
            Some((first, last)) => (first as f64 / fs, (self.frames - 1 - last) as f64 / fs),
            None => (self.duration_s(), self.duration_s()),
        }
    }

    #[must_use]
    pub fn to_json(&self) -> Value {
        let round = |v: Option<f64>| v.map(|x| (x * 1e4).round() / 1e4);
        let (lead, trail) = self.silence_s();
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
            "true_peak_dbtp": round(self.true_peak_dbtp()),
            "integrated_lufs": round(self.integrated_lufs),
            "lra_lu": round(self.lra_lu),
            "max_momentary_lufs": round(self.max_momentary_lufs),
            "max_short_term_lufs": round(self.max_short_term_lufs),
            "clipped_samples": self.levels.clipped,
            "leading_silence_s": round(Some(lead)),
            "trailing_silence_s": round(Some(trail)),
            "corrupt_packets_skipped": self.skipped_packets,
        })
    }
}

/// Decode a whole file and measure it. Decoding runs on its own thread, measuring on this one,
/// with decoded blocks recycled between them (two cores: ~2× a single-threaded loop).
pub fn analyze_file(path: &Path) -> Result<Report, DecodeError> {
    let mut src = AudioSource::open(path)?;
    let info = src.info().clone();
    let ch = info.channels.max(1);
    let (full_tx, full_rx) = crossbeam_channel::bounded::<Vec<f32>>(8);
    let (empty_tx, empty_rx) = crossbeam_channel::bounded::<Vec<f32>>(10);
    for _ in 0..10 {
        let _ = empty_tx.send(Vec::with_capacity(16_384));
    }
    let mut levels = Levels::default();
    let mut loudness = match &info.position_bits {
        Some(positions) => LoudnessMeter::offline_positioned(positions, ch, info.sample_rate),
        None => LoudnessMeter::offline(ch, info.sample_rate),
    };
    let mut tp = TruePeak::new(ch, info.sample_rate);
    let threshold = 10f64.powf(SILENCE_DBFS / 20.0) as f32;
    let mut frames = 0u64;
    let mut sound: Option<(u64, u64)> = None;
    let decoded = std::thread::scope(|s| {
        let decoder = s.spawn(move || -> Result<u64, DecodeError> {
            let mut skipped;
            loop {
                let Ok(mut buf) = empty_rx.recv() else {
                    return Ok(0);
                };
                buf.clear();
                // Fill a reasonably large block before handing it over.
                let mut n_total = 0;
                while buf.len() < 8192 {
                    let n = src.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    n_total += n;
                }
                skipped = src.skipped_packets;
                if n_total == 0 {
                    return Ok(skipped);
                }
                if full_tx.send(buf).is_err() {
                    return Ok(skipped);
                }
            }
        });
        for buf in full_rx.iter() {
            let n = buf.len() / ch;
            levels.add(&buf);
            loudness.add(&buf);
            tp.add(&buf);
            let loud = |f: &[f32]| f.iter().any(|x| x.abs() > threshold);
            if let Some(first) = buf.chunks_exact(ch).position(loud) {
                let last = buf.chunks_exact(ch).rposition(loud).unwrap_or(first);
                let (a, b) = (frames + first as u64, frames + last as u64);
                sound = Some(sound.map_or((a, b), |(f, _)| (f, b)));
            }
            frames += n as u64;
            let _ = empty_tx.send(buf);
        }
        decoder.join().unwrap_or_else(|_| {
            Err(DecodeError::Decode {
                path: path.into(),
                reason: "decoder thread failed".into(),
            })
        })
    })?;
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
        true_peak: tp.peak(),
        integrated_lufs: loudness.integrated(),
        lra_lu: loudness.loudness_range(),
        max_momentary_lufs: loudness.max_momentary(),
        max_short_term_lufs: loudness.max_short_term(),
        sound,
        skipped_packets: decoded,
        loudness_blocks: loudness.block_energies().unwrap_or_default().to_vec(),
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

pub fn run(files: &[PathBuf], as_json: bool) -> i32 {
    let results = analyze_all(files);
    let mut failed = false;
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
                    let _ = writeln!(out, "{}", rep.to_json());
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
