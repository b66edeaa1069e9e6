//! Waveform overview for the seek bar: the min/max envelope of a whole track in a bounded number
//! of blocks (≤ `MAX_BLOCKS`, whatever the track's length), reduced again to one column per pixel
//! when drawn.
//!
//! Computed on a background thread by decoding the file once; memory is fixed (two f32 per
//! block, ≤ 64 KiB), which is why a long track gets coarser blocks rather than more of them.

use std::path::Path;

use crate::decode::{AudioSource, DecodeError};

/// Upper bound on stored blocks; far more than any seek bar is wide.
pub const MAX_BLOCKS: usize = 8192;
/// A long file's overview is reported this many times while it is read (see `of_range`).
pub const PROGRESS_STEPS: u64 = 16;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overview {
    /// Source frames per block.
    pub block_frames: u64,
    /// Lowest and highest sample of any channel in each block.
    pub min: Vec<f32>,
    pub max: Vec<f32>,
    pub total_frames: u64,
    pub sample_rate: u32,
    /// While the file is still being read: the frames the whole will have (the header's
    /// claim), so the part known so far is drawn over its share of the seek bar. None once
    /// complete.
    pub partial_of: Option<u64>,
}

/// Builds an `Overview` from interleaved blocks of any size.
pub struct OverviewBuilder {
    channels: usize,
    block_frames: u64,
    in_block: u64,
    cur: (f32, f32),
    ov: Overview,
}

impl OverviewBuilder {
    /// `expected_frames` (the container's declared length) picks a block size that fills about
    /// half of `MAX_BLOCKS`; without it, blocks start small and merge as the track goes on.
    #[must_use]
    pub fn new(channels: usize, sample_rate: u32, expected_frames: Option<u64>) -> Self {
        let block_frames = expected_frames
            .map_or(256, |f| f.div_ceil(MAX_BLOCKS as u64 / 2))
            .max(16);
        Self {
            channels: channels.max(1),
            block_frames,
            in_block: 0,
            cur: (f32::INFINITY, f32::NEG_INFINITY),
            ov: Overview {
                block_frames,
                sample_rate,
                ..Overview::default()
            },
        }
    }

    pub fn push(&mut self, interleaved: &[f32]) {
        for frame in interleaved.chunks_exact(self.channels) {
            for &s in frame {
                self.cur.0 = self.cur.0.min(s);
                self.cur.1 = self.cur.1.max(s);
            }
            self.in_block += 1;
            self.ov.total_frames += 1;
            if self.in_block == self.block_frames {
                self.close_block();
            }
        }
    }

    fn close_block(&mut self) {
        let (lo, hi) = if self.cur.0 <= self.cur.1 {
            self.cur
        } else {
            (0.0, 0.0)
        };
        self.ov.min.push(lo);
        self.ov.max.push(hi);
        self.cur = (f32::INFINITY, f32::NEG_INFINITY);
        self.in_block = 0;
        if self.ov.min.len() >= MAX_BLOCKS {
            // Too long for the block size: halve the resolution, keep going.
            let merge = |v: &mut Vec<f32>, f: fn(f32, f32) -> f32| {
                let merged: Vec<f32> = v
                    .chunks(2)
                    .map(|c| c.iter().copied().reduce(f).unwrap_or(0.0))
                    .collect();
                *v = merged;
            };
            merge(&mut self.ov.min, f32::min);
            merge(&mut self.ov.max, f32::max);
            self.block_frames *= 2;
            self.ov.block_frames = self.block_frames;
        }
    }

    /// The overview of what has been pushed so far (whole blocks only), for a seek bar that
    /// shows a long file's waveform as it is read.
    #[must_use]
    pub fn snapshot(&self, expected_frames: u64) -> Overview {
        let mut ov = self.ov.clone();
        ov.total_frames -= self.in_block;
        ov.partial_of = Some(expected_frames.max(ov.total_frames));
        ov
    }

    #[must_use]
    pub fn finish(mut self) -> Overview {
        if self.in_block > 0 {
            // A partial last block counts as a whole one; at worst it is drawn one block wide.
            self.close_block();
        }
        self.ov
    }
}

impl Overview {
    /// Decode `path` and build its overview. `cancelled` is polled between packets so a stale
    /// request (the user moved on to another track) stops early with `Ok(None)`.
    pub fn of_file(path: &Path, cancelled: impl Fn() -> bool) -> Result<Option<Self>, DecodeError> {
        Self::of_range(path, |_| (0, None), cancelled, |_| {})
    }

    /// The overview of a range of `path`'s source frames (a cue track): `range(rate)` gives
    /// its start and exclusive end (None: the file's end) once the file's rate is known.
    /// `progress` gets a partial overview after every `PROGRESS_STEPS`-th of the expected
    /// length (when the header gives one), so a three-hour file's waveform fills in as it is
    /// read rather than after seconds of nothing.
    pub fn of_range(
        path: &Path,
        range: impl Fn(u32) -> (u64, Option<u64>),
        cancelled: impl Fn() -> bool,
        mut progress: impl FnMut(Overview),
    ) -> Result<Option<Self>, DecodeError> {
        let mut src = AudioSource::open(path)?;
        let info = src.info().clone();
        let (start, end) = range(info.sample_rate);
        let end = end.filter(|&e| e >= start);
        if start > 0 {
            src.seek(start)?;
        }
        let declared = end
            .or(info.declared_frames)
            .map(|e| e.saturating_sub(start));
        let mut b = OverviewBuilder::new(info.channels, info.sample_rate, declared);
        let mut buf = Vec::with_capacity(8192);
        let ch = info.channels.max(1);
        // Long enough to be worth showing in parts: over a minute.
        let step = declared
            .filter(|&d| d > 60 * u64::from(info.sample_rate))
            .map(|d| d.div_ceil(PROGRESS_STEPS));
        let mut next_report = step;
        loop {
            if cancelled() {
                return Ok(None);
            }
            buf.clear();
            let n = src.read(&mut buf)?;
            if n == 0 {
                break;
            }
            let over = end
                .map_or(0, |e| src.position().saturating_sub(e) as usize)
                .min(n);
            buf.truncate((n - over) * ch);
            b.push(&buf);
            if over > 0 || end.is_some_and(|e| src.position() >= e) {
                break;
            }
            if let (Some(at), Some(step), Some(whole)) = (next_report, step, declared) {
                if b.ov.total_frames >= at {
                    progress(b.snapshot(whole));
                    next_report = Some(at + step);
                }
            }
        }
        Ok(Some(b.finish()))
    }

    #[must_use]
    pub fn duration_s(&self) -> f64 {
        self.total_frames as f64 / f64::from(self.sample_rate.max(1))
    }

    /// Largest absolute sample in the track.
    #[must_use]
    pub fn peak(&self) -> f32 {
        self.min
            .iter()
            .chain(&self.max)
            .fold(0.0f32, |m, &v| m.max(v.abs()))
    }

    /// Reduce to `n` columns of (min, max) — about one per pixel, so drawing costs O(width)
    /// however long the track is.
    #[must_use]
    pub fn columns(&self, n: usize) -> Vec<(f32, f32)> {
        let blocks = self.min.len();
        if blocks == 0 || n == 0 {
            return Vec::new();
        }
        (0..n)
            .map(|c| {
                let a = c * blocks / n;
                let b = ((c + 1) * blocks / n).max(a + 1).min(blocks);
                let lo = self.min[a..b].iter().copied().fold(f32::INFINITY, f32::min);
                let hi = self.max[a..b]
                    .iter()
                    .copied()
                    .fold(f32::NEG_INFINITY, f32::max);
                (lo, hi)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long file's overview arrives in parts, each a prefix of the whole, then complete.
    #[test]
    fn a_long_file_reports_partial_overviews_that_grow_into_the_whole() {
        let dir = std::env::temp_dir().join(format!("ra-overview-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("long.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let frames = 8000 * 100; // 100 s
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for i in 0..frames {
            // A slow swell, so every block differs.
            let a = (i as f32 / frames as f32) * 30_000.0;
            w.write_sample((a * (i as f32 * 0.05).sin()) as i16)
                .unwrap();
        }
        w.finalize().unwrap();
        let mut parts: Vec<Overview> = Vec::new();
        let whole = Overview::of_range(&path, |_| (0, None), || false, |o| parts.push(o))
            .unwrap()
            .unwrap();
        assert_eq!(whole.partial_of, None);
        assert_eq!(whole.total_frames, frames);
        assert!(
            parts.len() >= PROGRESS_STEPS as usize - 1,
            "{} parts",
            parts.len()
        );
        let mut last = 0;
        for p in &parts {
            assert_eq!(p.partial_of, Some(frames));
            assert!(p.total_frames > last && p.total_frames < frames);
            last = p.total_frames;
            assert_eq!(p.block_frames, whole.block_frames);
            assert_eq!(p.total_frames, p.min.len() as u64 * p.block_frames);
            assert_eq!(p.min[..], whole.min[..p.min.len()], "a prefix of the whole");
            assert_eq!(p.max[..], whole.max[..p.max.len()]);
        }
        // A short file (under a minute) comes in one piece.
        let short = dir.join("short.wav");
        let mut w = hound::WavWriter::create(&short, spec).unwrap();
        for i in 0..8000 * 10 {
            w.write_sample((i % 100) as i16).unwrap();
        }
        w.finalize().unwrap();
        let mut n = 0;
        Overview::of_range(&short, |_| (0, None), || false, |_| n += 1).unwrap();
        assert_eq!(n, 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn envelope_follows_the_signal_and_stays_bounded() {
        // 10 "seconds" at 1 kHz: silence, then a ramp up to 0.8, stereo with the right channel negated.
        let rate = 1000;
        let frames = 10_000;
        let mut b = OverviewBuilder::new(2, rate, Some(frames as u64));
        let mut block = Vec::new();
        for i in 0..frames {
            let v = if i < 5000 {
                0.0
            } else {
                0.8 * (i - 5000) as f32 / 5000.0
            };
            block.extend_from_slice(&[v, -v]);
            if block.len() == 2 * 333 {
                b.push(&block);
                block.clear();
            }
        }
        b.push(&block);
        let ov = b.finish();
        assert_eq!(ov.total_frames, frames as u64);
        assert!(ov.min.len() <= MAX_BLOCKS);
        let cols = ov.columns(100);
        assert_eq!(cols.len(), 100);
        // First half silent, the last column reaches the ramp's top on both polarities.
        assert!(cols[..50].iter().all(|&(lo, hi)| lo == 0.0 && hi == 0.0));
        let (lo, hi) = cols[99];
        assert!(
            hi > 0.78 && hi <= 0.8 && lo < -0.78 && lo >= -0.8,
            "{lo} {hi}"
        );
        // Monotonic envelope along the ramp.
        assert!(cols[50..].windows(2).all(|w| w[1].1 >= w[0].1));
    }

    #[test]
    fn long_tracks_merge_blocks_instead_of_growing() {
        let mut b = OverviewBuilder::new(1, 48_000, None);
        let chunk = vec![0.5f32; 48_000];
        for _ in 0..60 * 20 {
            b.push(&chunk); // 20 minutes with no declared length
        }
        let ov = b.finish();
        assert!(ov.min.len() <= MAX_BLOCKS && ov.min.len() > MAX_BLOCKS / 4);
        assert_eq!(ov.total_frames, 48_000 * 60 * 20);
        assert!((ov.duration_s() - 1200.0).abs() < 1e-9);
        assert!(ov.max.iter().all(|&m| m == 0.5));
    }
}
