//! Measuring a whole file: levels, BS.1770 loudness (integrated, range, gated blocks) and true
//! peak in one decode. Shared by `analyze`, `scan` and the background loudness measurement of
//! untagged files (`library::gain_cache`).

use std::path::{Path, PathBuf};

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
