//! The real-time meter bundle: per-channel peak and RMS with meter ballistics, true peak, LUFS
//! momentary/short-term/integrated and LRA, stereo correlation and clip count. `process` runs in
//! the audio callback (allocation-free); `snapshot` is a `Copy` value the UI reads lock-free.
//!
//! Ballistics live here, not in the UI: the UI sees only the latest snapshot (latest value wins),
//! so a peak between two UI frames would otherwise be missed. Peaks fall at 20 dB / 1.5 s (IEC
//! 60268-10 type I PPM fall), RMS is a 300 ms exponential average.

use super::loudness::LoudnessMeter;
use super::true_peak::TruePeak;
use crate::dsp::simd;

/// Channels with their own peak/RMS/true-peak entries in a `MeterSnapshot` (the crate-wide
/// limit, 32: the snapshot stays ~0.6 KB, cheap to copy through the triple buffer).
pub use crate::dsp::MAX_CHANNELS;
const PEAK_FALL_DB_S: f64 = 20.0 / 1.5;
const RMS_WINDOW_S: f64 = 0.3;

/// What the meters show, as of the last processed block. Levels are linear; loudness in LUFS
/// (−∞ when not yet measurable).
///
/// The per-channel arrays hold channels `0 .. channels.min(MAX_CHANNELS)`. Wider streams are not
/// supported (rejected where they enter, see `crate::dsp::MAX_CHANNELS`); should one be metered
/// anyway, loudness, `true_peak_max` and `clipped` still cover every channel, only the per-channel
/// entries stop at `MAX_CHANNELS`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeterSnapshot {
    /// The stream's channel count.
    pub channels: usize,
    /// Peak with PPM fall.
    pub peak: [f32; MAX_CHANNELS],
    /// Highest sample peak since reset.
    pub peak_max: [f32; MAX_CHANNELS],
    pub rms: [f32; MAX_CHANNELS],
    /// True peak with the same fall, and its maximum since reset.
    pub true_peak: [f32; MAX_CHANNELS],
    pub true_peak_max: f32,
    pub momentary: f32,
    pub short_term: f32,
    pub integrated: f32,
    pub lra: f32,
    /// −1 … +1 over the RMS window (1 = mono, 0 = unrelated, −1 = out of phase).
    pub correlation: f32,
    /// Samples at or over full scale since reset.
    pub clipped: u64,
    /// Frames measured since reset.
    pub frames: u64,
}

impl Default for MeterSnapshot {
    fn default() -> Self {
        Self {
            channels: 0,
            peak: [0.0; MAX_CHANNELS],
            peak_max: [0.0; MAX_CHANNELS],
            rms: [0.0; MAX_CHANNELS],
            true_peak: [0.0; MAX_CHANNELS],
            true_peak_max: 0.0,
            momentary: f32::NEG_INFINITY,
            short_term: f32::NEG_INFINITY,
            integrated: f32::NEG_INFINITY,
            lra: 0.0,
            correlation: 0.0,
            clipped: 0,
            frames: 0,
        }
    }
}

pub struct Meters {
    channels: usize,
    fs: f64,
    loudness: LoudnessMeter,
    true_peak: TruePeak,
    /// Exponentially averaged mean squares per channel and the L·R cross term.
    ms: Box<[f64]>,
    cross: f64,
    /// Per-channel scratch for one block (allocated here: `process` never allocates).
    peaks: Box<[f32]>,
    sums: Box<[f64]>,
    tp: Box<[f32]>,
    snap: MeterSnapshot,
    /// Loudness gating queries run when a 100 ms block completes, not every callback.
    frames_since_loudness: u64,
}

impl Meters {
    /// `channels`: the stream's channel count (0 is taken as 1); every channel is measured with
    /// the stream's stride (see `MeterSnapshot` for what is reported beyond `MAX_CHANNELS`).
    #[must_use]
    pub fn new(channels: usize, fs: u32) -> Self {
        let channels = channels.max(1);
        Meters {
            channels,
            fs: f64::from(fs.max(1)),
            loudness: LoudnessMeter::realtime(channels, fs),
            true_peak: TruePeak::new(channels, fs),
            ms: vec![0.0; channels].into_boxed_slice(),
            cross: 0.0,
            peaks: vec![0.0; channels].into_boxed_slice(),
            sums: vec![0.0; channels].into_boxed_slice(),
            tp: vec![0.0; channels].into_boxed_slice(),
            snap: MeterSnapshot {
                channels,
                ..MeterSnapshot::default()
            },
            frames_since_loudness: 0,
        }
    }

    /// Start over (integrated loudness, maxima, clip count).
    pub fn reset(&mut self) {
        let ch = self.channels;
        self.loudness.reset();
        self.true_peak.reset();
        self.ms.fill(0.0);
        self.cross = 0.0;
        self.snap = MeterSnapshot {
            channels: ch,
            ..MeterSnapshot::default()
        };
    }

    #[must_use]
    pub fn snapshot(&self) -> &MeterSnapshot {
        &self.snap
    }

    /// Measure one block of interleaved audio.
    pub fn process(&mut self, buf: &[f32]) {
        let ch = self.channels;
        let frames = buf.len() / ch;
        if frames == 0 {
            return;
        }
        let dt = frames as f64 / self.fs;
        let fall = 10f64.powf(-PEAK_FALL_DB_S * dt / 20.0) as f32;
        self.peaks.fill(0.0);
        simd::peak(buf, &mut self.peaks);
        self.sums.fill(0.0);
        simd::sum_squares(buf, &mut self.sums);
        let alpha = 1.0 - (-dt / RMS_WINDOW_S).exp();
        self.true_peak.add(buf);
        self.true_peak.take_peaks(&mut self.tp);
        let s = &mut self.snap;
        for c in 0..ch {
            let (peak, tp) = (self.peaks[c], self.tp[c]);
            s.true_peak_max = s.true_peak_max.max(tp);
            self.ms[c] += (self.sums[c] / frames as f64 - self.ms[c]) * alpha;
            if c < MAX_CHANNELS {
                s.peak[c] = peak.max(s.peak[c] * fall);
                s.peak_max[c] = s.peak_max[c].max(peak);
                s.true_peak[c] = tp.max(s.true_peak[c] * fall);
                s.rms[c] = self.ms[c].sqrt() as f32;
            }
            if peak >= 1.0 {
                s.clipped += buf
                    .iter()
                    .skip(c)
                    .step_by(ch)
                    .filter(|x| x.abs() >= 1.0)
                    .count() as u64;
            }
        }
        if ch == 2 {
            self.cross += (simd::cross_stereo(buf) / frames as f64 - self.cross) * alpha;
            let den = (self.ms[0] * self.ms[1]).sqrt();
            s.correlation = if den > 1e-10 {
                (self.cross / den).clamp(-1.0, 1.0) as f32
            } else {
                0.0
            };
        } else {
            s.correlation = 1.0;
        }
        s.frames += frames as u64;
        self.loudness.add(buf);
        self.frames_since_loudness += frames as u64;
        if self.frames_since_loudness as f64 >= 0.1 * self.fs {
            self.frames_since_loudness = 0;
            let to = |v: Option<f64>| v.map_or(f32::NEG_INFINITY, |x| x as f32);
            s.momentary = to(self.loudness.momentary());
            s.short_term = to(self.loudness.short_term());
            s.integrated = to(self.loudness.integrated());
            s.lra = self.loudness.loudness_range().unwrap_or(0.0) as f32;
        }
    }
}

/// Linear → dBFS for display (−∞ for 0).
#[must_use]
pub fn db(x: f32) -> f32 {
    if x > 0.0 {
        20.0 * x.log10()
    } else {
        f32::NEG_INFINITY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_reads_right_on_every_meter() {
        let fs = 48_000;
        let mut m = Meters::new(2, fs);
        let x: Vec<f32> = (0..fs as usize * 5)
            .flat_map(|i| {
                let s = (0.5
                    * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / f64::from(fs)).sin())
                    as f32;
                [s, s]
            })
            .collect();
        for c in x.chunks(2 * 512) {
            m.process(c);
        }
        let s = m.snapshot();
        assert!((db(s.peak[0]) + 6.02).abs() < 0.01);
        assert!((db(s.rms[1]) + 9.03).abs() < 0.05, "{}", db(s.rms[1]));
        assert!((db(s.true_peak_max) + 6.02).abs() < 0.05);
        assert!((s.correlation - 1.0).abs() < 1e-3);
        assert!((s.integrated + 6.02).abs() < 0.05, "{}", s.integrated);
        assert!((s.momentary + 6.02).abs() < 0.05);
        assert_eq!(s.clipped, 0);
        // Out of phase reads −1; clipping is counted.
        let y: Vec<f32> = x
            .chunks(2)
            .flat_map(|f| [f[0] * 2.5, -f[0] * 2.5])
            .collect();
        for c in y.chunks(2 * 512) {
            m.process(c);
        }
        assert!((m.snapshot().correlation + 1.0).abs() < 1e-3);
        assert!(m.snapshot().clipped > 0);
    }

    /// Issue 11: 16 channels (more than the old limit of 8), a −6.02 dBFS sine on channel 15
    /// only: channel 15 reads it on every meter, the others nothing, and the loudness is that of
    /// the sine in one channel of weight 1.0 (beyond the 7.1 bed).
    #[test]
    fn sixteen_channels_report_channel_15() {
        let fs = 48_000;
        let mut m = Meters::new(16, fs);
        let mut x = vec![0.0f32; 16 * 3 * fs as usize];
        for (i, frame) in x.chunks_exact_mut(16).enumerate() {
            frame[15] = (0.5
                * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / f64::from(fs)).sin())
                as f32;
        }
        for c in x.chunks(16 * 512) {
            m.process(c);
        }
        let s = m.snapshot();
        assert_eq!(s.channels, 16);
        assert!((db(s.peak[15]) + 6.02).abs() < 0.01, "{}", db(s.peak[15]));
        assert!((db(s.peak_max[15]) + 6.02).abs() < 0.01);
        assert!((db(s.rms[15]) + 9.03).abs() < 0.05, "{}", db(s.rms[15]));
        assert!((db(s.true_peak[15]) + 6.02).abs() < 0.05);
        assert!((db(s.true_peak_max) + 6.02).abs() < 0.05);
        assert!(
            s.peak_max[..15].iter().all(|&p| p == 0.0),
            "{:?}",
            s.peak_max
        );
        assert!(s.rms[..15].iter().all(|&r| r == 0.0), "{:?}", s.rms);
        assert!((s.integrated + 9.03).abs() < 0.05, "{}", s.integrated);
        assert_eq!(s.clipped, 0);
    }

    /// 32 channels, the limit: every channel has its own entry, with the right stride.
    #[test]
    fn thirty_two_channels_each_read_their_own_level() {
        let mut m = Meters::new(MAX_CHANNELS, 48_000);
        let level = |c: usize| (c + 1) as f32 / 64.0;
        let x: Vec<f32> = (0..MAX_CHANNELS * 4800)
            .map(|i| level(i % MAX_CHANNELS))
            .collect();
        m.process(&x);
        let s = m.snapshot();
        assert_eq!(s.channels, MAX_CHANNELS);
        for (c, &p) in s.peak_max.iter().enumerate() {
            assert_eq!(p, level(c), "channel {c}");
        }
    }

    /// Wider than the limit (not supported, rejected where streams enter): no panic, no wrong
    /// stride; the per-channel entries stop at `MAX_CHANNELS`, the clip count covers all.
    #[test]
    fn wider_streams_are_measured_without_a_panic() {
        let ch = MAX_CHANNELS + 8;
        let mut m = Meters::new(ch, 48_000);
        let mut x = vec![0.25f32; ch * 4800];
        for frame in x.chunks_exact_mut(ch).step_by(100) {
            frame[ch - 1] = 1.0;
        }
        m.process(&x);
        let s = m.snapshot();
        assert_eq!(s.channels, ch);
        assert!(s.peak_max.iter().all(|&p| p == 0.25));
        assert_eq!(s.clipped, 48);
    }
}
