//! Monitor modes: what the listener hears of a stereo signal (mono check, one side only, M/S).
//! Applied after the limiter; every mode keeps |out| ≤ max(|L|, |R|), so it cannot push the
//! output over the limiter's ceiling.

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum MonitorMode {
    #[default]
    Stereo,
    Mono,
    Left,
    Right,
    Mid,
    Side,
    Swap,
}

impl MonitorMode {
    pub const ALL: [MonitorMode; 7] = [
        MonitorMode::Stereo,
        MonitorMode::Mono,
        MonitorMode::Left,
        MonitorMode::Right,
        MonitorMode::Mid,
        MonitorMode::Side,
        MonitorMode::Swap,
    ];

    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            MonitorMode::Stereo => "Stereo",
            MonitorMode::Mono => "Mono",
            MonitorMode::Left => "Left",
            MonitorMode::Right => "Right",
            MonitorMode::Mid => "Mid",
            MonitorMode::Side => "Side",
            MonitorMode::Swap => "Swap L/R",
        }
    }

    /// 2×2 matrix: (L', R') = (m[0]·L + m[1]·R, m[2]·L + m[3]·R).
    #[must_use]
    pub fn matrix(self) -> [f32; 4] {
        match self {
            MonitorMode::Stereo => [1.0, 0.0, 0.0, 1.0],
            // Mono and Mid are the same signal in both ears; Mid is the M of M/S (same scale).
            MonitorMode::Mono | MonitorMode::Mid => [0.5, 0.5, 0.5, 0.5],
            MonitorMode::Left => [1.0, 0.0, 1.0, 0.0],
            MonitorMode::Right => [0.0, 1.0, 0.0, 1.0],
            MonitorMode::Side => [0.5, -0.5, 0.5, -0.5],
            MonitorMode::Swap => [0.0, 1.0, 1.0, 0.0],
        }
    }

    /// Apply to interleaved audio; only stereo (the first two channels) is affected.
    pub fn apply(self, buf: &mut [f32], channels: usize) {
        if self == MonitorMode::Stereo || channels < 2 {
            return;
        }
        let m = self.matrix();
        for f in buf.chunks_exact_mut(channels) {
            let (l, r) = (f[0], f[1]);
            f[0] = m[0] * l + m[1] * r;
            f[1] = m[2] * l + m[3] * r;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_do_what_they_say() {
        let run = |m: MonitorMode| {
            let mut b = [0.8f32, 0.2];
            m.apply(&mut b, 2);
            b
        };
        assert_eq!(run(MonitorMode::Stereo), [0.8, 0.2]);
        assert_eq!(run(MonitorMode::Mono), [0.5, 0.5]);
        assert_eq!(run(MonitorMode::Left), [0.8, 0.8]);
        assert_eq!(run(MonitorMode::Right), [0.2, 0.2]);
        assert!((run(MonitorMode::Side)[0] - 0.3).abs() < 1e-7);
        assert_eq!(run(MonitorMode::Swap), [0.2, 0.8]);
        for m in MonitorMode::ALL {
            let mut b = [1.0f32, -1.0];
            m.apply(&mut b, 2);
            assert!(b.iter().all(|s| s.abs() <= 1.0));
        }
    }
}
