//! Vector kernels for gain, peak and power, with run-time CPU dispatch.
//!
//! Each kernel is written once as plain Rust over fixed-width lane arrays (16 f32 lanes = two AVX
//! registers, so reductions have independent accumulators) and compiled twice: for the x86_64
//! baseline (SSE2) and with AVX2+FMA enabled. The CPU is checked once; `scalar` holds the naive
//! references the tests and `benches/dsp.rs` compare against.
//!
//! Reductions over interleaved audio give per-channel results for 1, 2, 4 and 8 channels directly
//! (lane j always holds channel j mod channels); other counts fall back to the scalar code.

const LANES: usize = 16;

/// A kernel level this CPU runs. Unforgeable: the field is private, so outside this module a
/// `Level` only comes from run-time detection ([`Level::detect`], [`Level::available`],
/// [`level`]) or is one of the levels every CPU runs ([`Level::SCALAR`], [`Level::BASELINE`]).
/// That is what makes the safe `*_at` functions sound: holding a `Level` that selects the AVX2
/// kernels proves AVX2 and FMA were detected on this CPU.
///
/// ```compile_fail
/// // Not constructible from outside (private field): only detection hands out the AVX2 level.
/// let forged = rusty_audio::dsp::simd::Level(unreachable!());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Level(Tier);

/// Which code a `Level` runs, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Tier {
    /// The naive references in `scalar`.
    Scalar,
    /// The lane kernels compiled for the target's baseline (SSE2 on x86_64).
    Baseline,
    /// The lane kernels compiled with AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

#[cfg(target_arch = "x86_64")]
const TIERS: [Tier; 3] = [Tier::Scalar, Tier::Baseline, Tier::Avx2];
#[cfg(not(target_arch = "x86_64"))]
const TIERS: [Tier; 2] = [Tier::Scalar, Tier::Baseline];

impl Tier {
    /// Whether this CPU runs the tier (run-time detection, cached by std).
    #[inline]
    fn supported(self) -> bool {
        match self {
            Tier::Scalar | Tier::Baseline => true,
            #[cfg(target_arch = "x86_64")]
            Tier::Avx2 => {
                std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
            }
        }
    }
}

impl Level {
    /// The naive scalar references (any CPU).
    pub const SCALAR: Level = Level(Tier::Scalar);
    /// The lane kernels at the target's baseline instruction set (any CPU of the target).
    pub const BASELINE: Level = Level(Tier::Baseline);

    /// The best level this CPU supports.
    #[must_use]
    #[inline]
    pub fn detect() -> Level {
        #[cfg(target_arch = "x86_64")]
        if Tier::Avx2.supported() {
            return Level(Tier::Avx2);
        }
        Level::BASELINE
    }

    /// Every level this CPU supports, lowest first (always starts with `SCALAR`, `BASELINE`;
    /// ends with `detect()`). Benches and tests compare them.
    pub fn available() -> impl Iterator<Item = Level> {
        TIERS.into_iter().filter(|t| t.supported()).map(Level)
    }

    /// Whether this level runs AVX2+FMA code. True only for a level obtained by detection on a
    /// CPU with AVX2 and FMA, so it may gate other AVX2+FMA code (true peak, loudness).
    #[must_use]
    #[inline]
    pub fn is_avx2(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        if self.0 == Tier::Avx2 {
            return true;
        }
        false
    }

    /// "Scalar", "Baseline" or "Avx2" (also the `Debug` form, used in bench names).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self.0 {
            Tier::Scalar => "Scalar",
            Tier::Baseline => "Baseline",
            #[cfg(target_arch = "x86_64")]
            Tier::Avx2 => "Avx2",
        }
    }
}

impl std::fmt::Debug for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The best kernel level this CPU supports (cached by std's feature detection).
#[must_use]
#[inline]
pub fn level() -> Level {
    Level::detect()
}

macro_rules! dispatch {
    ($lvl:expr, $body:ident ( $($arg:expr),* )) => {{
        let lvl: Level = $lvl;
        match lvl.0 {
            Tier::Scalar => scalar::$body($($arg),*),
            Tier::Baseline => lanes::$body($($arg),*),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the callee is `#[target_feature(enable = "avx2,fma")]`; its only
            // precondition is that the CPU has AVX2 and FMA. A `Level` is unforgeable outside this
            // module and `Tier::Avx2` is only put in one by `Level::detect`/`Level::available`
            // after `is_x86_feature_detected!("avx2")` and `("fma")` returned true on this CPU.
            // The kernel bodies use only slice indexing/iterators (no raw pointers), so every
            // memory access is bounds-checked safe Rust.
            Tier::Avx2 => unsafe { avx2::$body($($arg),*) },
        }
    }};
}

/// `buf *= g`.
#[inline]
pub fn gain(buf: &mut [f32], g: f32) {
    gain_at(level(), buf, g);
}

pub fn gain_at(lvl: Level, buf: &mut [f32], g: f32) {
    dispatch!(lvl, gain(buf, g))
}

/// Per-channel max |x| of interleaved `buf`, folded into `peaks` (len = channels).
pub fn peak(buf: &[f32], peaks: &mut [f32]) {
    peak_at(level(), buf, peaks);
}

pub fn peak_at(lvl: Level, buf: &[f32], peaks: &mut [f32]) {
    if LANES % peaks.len().max(1) != 0 {
        return scalar::peak(buf, peaks);
    }
    dispatch!(lvl, peak(buf, peaks))
}

/// Per-channel Σx² of interleaved `buf`, added to `sums`.
pub fn sum_squares(buf: &[f32], sums: &mut [f64]) {
    sum_squares_at(level(), buf, sums);
}

pub fn sum_squares_at(lvl: Level, buf: &[f32], sums: &mut [f64]) {
    if LANES % sums.len().max(1) != 0 {
        return scalar::sum_squares(buf, sums);
    }
    dispatch!(lvl, sum_squares(buf, sums))
}

/// Σ L·R over interleaved stereo (for the correlation meter).
pub fn cross_stereo(buf: &[f32]) -> f64 {
    cross_stereo_at(level(), buf)
}

pub fn cross_stereo_at(lvl: Level, buf: &[f32]) -> f64 {
    dispatch!(lvl, cross_stereo(buf))
}

/// Naive references.
pub mod scalar {
    pub fn gain(buf: &mut [f32], g: f32) {
        for s in buf {
            *s *= g;
        }
    }

    pub fn peak(buf: &[f32], peaks: &mut [f32]) {
        let ch = peaks.len().max(1);
        for frame in buf.chunks_exact(ch) {
            for (p, s) in peaks.iter_mut().zip(frame) {
                *p = p.max(s.abs());
            }
        }
    }

    pub fn sum_squares(buf: &[f32], sums: &mut [f64]) {
        let ch = sums.len().max(1);
        for frame in buf.chunks_exact(ch) {
            for (acc, s) in sums.iter_mut().zip(frame) {
                *acc += f64::from(*s) * f64::from(*s);
            }
        }
    }

    pub fn cross_stereo(buf: &[f32]) -> f64 {
        buf.chunks_exact(2)
            .map(|f| f64::from(f[0]) * f64::from(f[1]))
            .sum()
    }
}

/// Lane-array bodies, instantiated per target below.
macro_rules! lane_kernels {
    ($($attr:meta)?) => {
        use super::LANES;

        #[$($attr)?]
        #[inline]
        pub fn gain(buf: &mut [f32], g: f32) {
            for s in buf.iter_mut() {
                *s *= g;
            }
        }

        #[$($attr)?]
        #[inline]
        pub fn peak(buf: &[f32], peaks: &mut [f32]) {
            let ch = peaks.len().max(1);
            let mut acc = [0.0f32; LANES];
            let mut chunks = buf.chunks_exact(LANES);
            for c in &mut chunks {
                for j in 0..LANES {
                    let a = f32::from_bits(c[j].to_bits() & 0x7fff_ffff);
                    acc[j] = if a > acc[j] { a } else { acc[j] };
                }
            }
            for (j, a) in acc.iter().enumerate() {
                let p = &mut peaks[j % ch];
                *p = p.max(*a);
            }
            super::scalar::peak(chunks.remainder(), peaks);
        }

        #[$($attr)?]
        #[inline]
        pub fn sum_squares(buf: &[f32], sums: &mut [f64]) {
            let ch = sums.len().max(1);
            // f32 lanes over ≤ 4096-sample runs, folded into f64: the f32 partial sums hold
            // ≤ 256 terms each, well inside f32's 24 bits for level metering.
            for run in buf.chunks(LANES * 256) {
                let mut acc = [0.0f32; LANES];
                let mut chunks = run.chunks_exact(LANES);
                for c in &mut chunks {
                    for j in 0..LANES {
                        acc[j] += c[j] * c[j];
                    }
                }
                for (j, a) in acc.iter().enumerate() {
                    sums[j % ch] += f64::from(*a);
                }
                super::scalar::sum_squares(chunks.remainder(), sums);
            }
        }

        #[$($attr)?]
        #[inline]
        pub fn cross_stereo(buf: &[f32]) -> f64 {
            let mut total = 0.0f64;
            for run in buf.chunks(LANES * 256) {
                let mut acc = [0.0f32; LANES / 2];
                let mut chunks = run.chunks_exact(LANES);
                for c in &mut chunks {
                    for j in 0..LANES / 2 {
                        acc[j] += c[2 * j] * c[2 * j + 1];
                    }
                }
                total += acc.iter().map(|&a| f64::from(a)).sum::<f64>();
                total += super::scalar::cross_stereo(chunks.remainder());
            }
            total
        }
    };
}

mod lanes {
    lane_kernels!(allow(clippy::needless_range_loop));
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    lane_kernels!(target_feature(enable = "avx2,fma"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels() -> Vec<Level> {
        Level::available().collect()
    }

    #[test]
    fn only_detected_levels_are_available() {
        let all: Vec<Level> = Level::available().collect();
        // The portable levels are always there, lowest first, and the best one is `detect()`.
        assert_eq!(all[..2], [Level::SCALAR, Level::BASELINE]);
        assert!(all.windows(2).all(|w| w[0] < w[1]), "{all:?}");
        assert_eq!(all.last(), Some(&Level::detect()));
        for lvl in &all {
            match lvl.0 {
                Tier::Scalar | Tier::Baseline => assert!(!lvl.is_avx2()),
                #[cfg(target_arch = "x86_64")]
                Tier::Avx2 => {
                    assert!(lvl.is_avx2());
                    assert!(
                        std::is_x86_feature_detected!("avx2"),
                        "{lvl:?} without AVX2"
                    );
                    assert!(std::is_x86_feature_detected!("fma"), "{lvl:?} without FMA");
                }
            }
        }
        // Conversely every tier this CPU supports is offered (benches compare all of them).
        #[cfg(target_arch = "x86_64")]
        {
            let has = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
            assert_eq!(all.iter().any(|l| l.is_avx2()), has);
            assert_eq!(all.len(), if has { 3 } else { 2 });
        }
        #[cfg(not(target_arch = "x86_64"))]
        assert_eq!(all.len(), 2);
        // Bench names stay what they were.
        let names: Vec<String> = all.iter().map(|l| format!("{l:?}")).collect();
        assert_eq!(names[..2], ["Scalar", "Baseline"]);
    }

    fn noise(n: usize) -> Vec<f32> {
        let mut x = 0x1234_5678u32;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x as f32 / u32::MAX as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn every_level_matches_the_scalar_reference() {
        for n in [0, 1, 7, 16, 1023, 4096, 10_001] {
            let x = noise(n);
            for ch in [1, 2, 3, 4, 6, 8] {
                let len = n - n % ch;
                let x = &x[..len];
                let mut want_p = vec![0.0f32; ch];
                scalar::peak(x, &mut want_p);
                let mut want_s = vec![0.0f64; ch];
                scalar::sum_squares(x, &mut want_s);
                for lvl in levels() {
                    let mut p = vec![0.0f32; ch];
                    peak_at(lvl, x, &mut p);
                    assert_eq!(p, want_p, "peak {lvl:?} n={n} ch={ch}");
                    let mut s = vec![0.0f64; ch];
                    sum_squares_at(lvl, x, &mut s);
                    for (a, b) in s.iter().zip(&want_s) {
                        assert!(
                            (a - b).abs() <= 1e-5 * b.max(1.0),
                            "sumsq {lvl:?} n={n} ch={ch}: {a} vs {b}"
                        );
                    }
                }
            }
            let stereo = &x[..n - n % 2];
            for lvl in levels() {
                let want = scalar::cross_stereo(stereo);
                assert!((cross_stereo_at(lvl, stereo) - want).abs() <= 1e-5 * want.abs().max(1.0));
                let mut a = x.clone();
                gain_at(lvl, &mut a, 0.25);
                let mut b = x.clone();
                scalar::gain(&mut b, 0.25);
                assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn peak_sees_a_single_negative_spike_on_its_channel() {
        let mut x = vec![0.1f32; 2 * 1000];
        x[2 * 500 + 1] = -0.9;
        let mut p = [0.0f32; 2];
        peak(&x, &mut p);
        assert_eq!(p, [0.1, 0.9]);
    }
}
