//! The playback chain after the PCM ring, in order: preamp + EQ → (volume, applied by the
//! renderer) → limiter → monitor mode. Pure DSP: the renderer owns one and feeds it blocks; the
//! offline `render` command uses the very same object.

use super::eq::Equalizer;
use super::eq_params::EqParams;
use super::limiter::{Limiter, LimiterParams};
use super::monitor_mode::MonitorMode;

/// Every user-adjustable DSP setting. `Copy`: it travels to the audio thread by value through a
/// triple buffer (latest value wins, no allocation, no lock).
#[derive(Clone, Copy, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct DspSettings {
    pub eq: EqParams,
    pub limiter: LimiterParams,
    pub monitor: MonitorMode,
}

impl DspSettings {
    /// Every field in range (see `EqParams::validated`); the limiter ceiling finite, ≤ 0 dBFS.
    #[must_use]
    pub fn validated(mut self) -> Self {
        self.eq = self.eq.validated();
        self.limiter.ceiling_dbfs = if self.limiter.ceiling_dbfs.is_finite() {
            self.limiter.ceiling_dbfs.clamp(-60.0, 0.0)
        } else {
            LimiterParams::default().ceiling_dbfs
        };
        self
    }
}

pub struct Chain {
    eq: Equalizer,
    limiter: Option<Limiter>,
    monitor: MonitorMode,
    channels: usize,
    settings: DspSettings,
}

impl Chain {
    /// `with_limiter`: playback always has one (it can be switched off but keeps its constant
    /// 1.5 ms delay, so toggling it never jumps); `render` has one only with `--limit`.
    #[must_use]
    pub fn new(
        settings: &DspSettings,
        fs: u32,
        channels: usize,
        max_block_frames: usize,
        with_limiter: bool,
    ) -> Self {
        Chain {
            eq: Equalizer::new(&settings.eq, fs, channels, max_block_frames),
            limiter: with_limiter.then(|| Limiter::new(settings.limiter, fs, channels)),
            monitor: settings.monitor,
            channels,
            settings: *settings,
        }
    }

    pub fn set(&mut self, s: &DspSettings) {
        if *s == self.settings {
            return;
        }
        self.settings = *s;
        self.eq.set_params(&s.eq);
        if let Some(l) = &mut self.limiter {
            l.set_params(s.limiter);
        }
        self.monitor = s.monitor;
    }

    #[must_use]
    pub fn settings(&self) -> &DspSettings {
        &self.settings
    }

    #[must_use]
    pub fn eq_params(&self) -> &EqParams {
        self.eq.params()
    }

    /// Frames of delay the chain adds (the limiter's lookahead).
    #[must_use]
    pub fn latency(&self) -> usize {
        self.limiter.as_ref().map_or(0, Limiter::latency)
    }

    /// Preamp and EQ.
    pub fn pre_volume(&mut self, buf: &mut [f32]) {
        self.eq.process(buf);
    }

    /// Limiter and monitor mode.
    pub fn post_volume(&mut self, buf: &mut [f32]) {
        if let Some(l) = &mut self.limiter {
            l.process(buf);
        }
        self.monitor.apply(buf, self.channels);
    }

    /// Lowest limiter gain since the last call (1.0 = not limiting).
    pub fn take_limiter_gain(&mut self) -> f32 {
        self.limiter.as_mut().map_or(1.0, Limiter::take_min_gain)
    }

    /// Forget filter and lookahead history (seek, stop).
    pub fn reset(&mut self) {
        self.eq.reset_state();
        if let Some(l) = &mut self.limiter {
            l.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::biquad::{BandParams, FilterKind};

    use crate::dsp::test_tone as tone;

    /// Issue 11: the playback chain at 16 channels with the renderer's largest block (4096 frames)
    /// while the EQ bypass cross-fades out and back in: no panic, and without the limiter (which
    /// links the channels) every channel comes out as through a mono chain.
    #[test]
    fn sixteen_channels_run_the_largest_blocks_through_bypass_crossfades() {
        const CH: usize = 16;
        const BLOCK: usize = 4096;
        let s = DspSettings {
            eq: EqParams::from_bands(&[BandParams::new(FilterKind::Peak, 1000.0, 6.0, 1.0)], -3.0)
                .unwrap(),
            ..DspSettings::default()
        };
        for with_limiter in [false, true] {
            let mut wide = Chain::new(&s, 48_000, CH, BLOCK, with_limiter);
            let mut mono: Vec<Chain> = (0..CH)
                .map(|_| Chain::new(&s, 48_000, 1, BLOCK, with_limiter))
                .collect();
            let mut settings = s;
            for block in 0..4 {
                settings.eq.bypass = block % 2 == 1;
                wide.set(&settings);
                for m in &mut mono {
                    m.set(&settings);
                }
                let start = block * BLOCK;
                let mut buf: Vec<f32> = (0..BLOCK)
                    .flat_map(|i| (0..CH).map(move |c| tone(c, start + i)))
                    .collect();
                wide.pre_volume(&mut buf);
                wide.post_volume(&mut buf);
                assert!(
                    buf.iter().all(|x| x.is_finite() && x.abs() <= 1.0),
                    "limiter {with_limiter}, block {block}"
                );
                if with_limiter {
                    continue;
                }
                for (c, m) in mono.iter_mut().enumerate() {
                    let mut want: Vec<f32> = (0..BLOCK).map(|i| tone(c, start + i)).collect();
                    m.pre_volume(&mut want);
                    m.post_volume(&mut want);
                    let err = buf
                        .iter()
                        .skip(c)
                        .step_by(CH)
                        .zip(&want)
                        .map(|(a, b)| (a - b).abs())
                        .fold(0.0f32, f32::max);
                    assert!(
                        err <= 1e-6,
                        "block {block}, channel {c}: differs from mono by {err}"
                    );
                }
            }
        }
    }
}
