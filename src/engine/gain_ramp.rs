//! The normalization gain on the decoded samples (see `decoder`): applied on the decoder thread,
//! per track, before rate conversion.

/// The normalization gain on the decoded samples: constant while a track plays, ramped linearly
/// over `GAIN_RAMP_S` when the settings change mid-track (a step would be audible as a click).
/// Counted in frames, so the ramp always ends exactly on its target.
#[derive(Clone, Copy, Debug)]
pub(super) struct GainRamp {
    now: f32,
    pub(super) target: f32,
    step: f32,
    /// Frames of the ramp still to go.
    left: u32,
}

const GAIN_RAMP_S: f64 = 0.01;

impl GainRamp {
    pub(super) fn at(gain: f32) -> Self {
        let gain = if gain.is_finite() { gain } else { 1.0 };
        Self {
            now: gain,
            target: gain,
            step: 0.0,
            left: 0,
        }
    }

    pub(super) fn ramp_to(&mut self, target: f32, rate: u32) {
        let target = if target.is_finite() { target } else { 1.0 };
        let frames = (GAIN_RAMP_S * f64::from(rate.max(1))).round().max(1.0) as u32;
        self.target = target;
        self.left = frames;
        self.step = (target - self.now) / frames as f32;
    }

    /// Multiply interleaved `samples` (`ch` channels) by the gain, ramping where it moves.
    pub(super) fn apply(&mut self, samples: &mut [f32], ch: usize) {
        let ch = ch.max(1);
        let mut frames = samples.chunks_mut(ch);
        while self.left > 0 {
            let Some(frame) = frames.next() else {
                return;
            };
            self.left -= 1;
            self.now = if self.left == 0 {
                self.target
            } else {
                self.now + self.step
            };
            frame.iter_mut().for_each(|x| *x *= self.now);
        }
        if self.now != 1.0 {
            let g = self.now;
            frames.for_each(|f| f.iter_mut().for_each(|x| *x *= g));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The normalization ramp: constant gain untouched, a change spread over exactly 10 ms of
    /// frames (the same gain on every channel of a frame), monotonic, ending on its target across
    /// any split into packets; a retarget mid-ramp starts from where it is; tiny and non-finite
    /// targets behave.
    #[test]
    fn gain_ramps_end_exactly_on_target_whatever_the_packets() {
        let mut r = GainRamp::at(0.5);
        let mut x = vec![1.0f32; 8];
        r.apply(&mut x, 2);
        assert!(x.iter().all(|&v| v == 0.5), "constant");

        let rate = 48_000;
        r.ramp_to(1.0, rate);
        // 480 frames of ramp, fed in odd packet sizes, 3 channels.
        let mut out = Vec::new();
        for n in [7usize, 100, 1, 333, 200] {
            let mut p = vec![1.0f32; n * 3];
            r.apply(&mut p, 3);
            out.extend(p);
        }
        let frames: Vec<&[f32]> = out.chunks(3).collect();
        assert!(
            frames.iter().all(|f| f[0] == f[1] && f[1] == f[2]),
            "per frame"
        );
        let g: Vec<f32> = frames.iter().map(|f| f[0]).collect();
        assert!(g.windows(2).all(|w| w[1] >= w[0]), "monotonic");
        assert_eq!(g[479], 1.0, "target reached on the ramp's last frame");
        assert!(g[478] < 1.0 && g[0] > 0.5, "spread over the whole ramp");
        assert!(g[480..].iter().all(|&v| v == 1.0));

        // Retarget mid-ramp: continues from where it is, no jump.
        r.ramp_to(0.0, rate);
        let mut p = vec![1.0f32; 100];
        r.apply(&mut p, 1);
        let mid = p[99];
        r.ramp_to(1.0, rate);
        let mut q = vec![1.0f32; 1];
        r.apply(&mut q, 1);
        assert!((q[0] - mid).abs() < 0.01, "{mid} then {}", q[0]);

        // A target a hair away still settles (no stuck slow path), non-finite ones are unity.
        let mut r = GainRamp::at(1.0);
        r.ramp_to(1.0 + f32::EPSILON, rate);
        let mut p = vec![1.0f32; 600];
        r.apply(&mut p, 1);
        assert_eq!((r.left, r.now), (0, 1.0 + f32::EPSILON));
        r.ramp_to(f32::NAN, rate);
        r.apply(&mut p, 1);
        assert_eq!(r.now, 1.0);
        assert_eq!(GainRamp::at(f32::INFINITY).now, 1.0);
        let mut none: Vec<f32> = Vec::new();
        r.apply(&mut none, 0);
    }
}
