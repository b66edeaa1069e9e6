//! The hot loop: a cascade of f64 biquads over interleaved f32 audio.
//!
//! Two speed ideas, both measured in `benches/dsp.rs` and `rusty-audio bench`:
//! - Sample-outer, band-inner: each band's recursion only waits on its own previous sample and on
//!   the band before it at this sample, so the CPU overlaps the bands of consecutive samples and
//!   the loop runs at multiply throughput instead of one band's latency chain. Stereo runs both
//!   channels in one 128-bit f64 vector.
//! - Gain factoring: every band's b0 is pulled out of the cascade into one gain at the end
//!   (`y'ₖ = x'ₖ + s1'`, states scaled by the running product of b0s). That leaves four
//!   multiplies and one add per band and frame instead of five multiplies — the add runs on a
//!   different port — for the same transfer function. Floating point is scale-invariant, so the
//!   accuracy is unchanged (`tests/eq_accuracy.rs`: −150 dBFS against a float64 reference).
//!
//! The canonical filter state is standard DF2T (`Df2t`); `FastCascade` holds the scaled copy and
//! converts only when the set of bands or their coefficients change, so a static EQ never
//! converts and its output does not depend on block boundaries.

use super::biquad::{Coeffs, Df2t};
use super::eq_params::MAX_BANDS;

/// Which implementation runs on this CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Sse2,
    #[cfg(target_arch = "x86_64")]
    Fma,
}

impl Kernel {
    /// The fastest kernel this CPU runs.
    #[must_use]
    pub fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("fma") && std::is_x86_feature_detected!("avx") {
                return Kernel::Fma;
            }
            Kernel::Sse2
        }
        #[cfg(not(target_arch = "x86_64"))]
        Kernel::Scalar
    }
}

/// Gain-factored coefficients: b1/b0, b2/b0, a1, a2.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Norm {
    b1: f64,
    b2: f64,
    a1: f64,
    a2: f64,
}

/// A stereo cascade in gain-factored form with its scaled state.
#[derive(Clone, Debug)]
pub struct FastCascade {
    n: usize,
    coeffs: [Coeffs; MAX_BANDS],
    norm: [Norm; MAX_BANDS],
    /// Running products of b0: scale[k] = Π_{j ≤ k} b0_j.
    scale: [f64; MAX_BANDS],
    /// Scaled states: s1[k] = (L, R).
    s1: [[f64; 2]; MAX_BANDS],
    s2: [[f64; 2]; MAX_BANDS],
}

impl Default for FastCascade {
    fn default() -> Self {
        FastCascade {
            n: 0,
            coeffs: [Coeffs::IDENTITY; MAX_BANDS],
            norm: [Norm::default(); MAX_BANDS],
            scale: [1.0; MAX_BANDS],
            s1: [[0.0; 2]; MAX_BANDS],
            s2: [[0.0; 2]; MAX_BANDS],
        }
    }
}

impl FastCascade {
    /// Whether this cascade already holds exactly these coefficients.
    #[must_use]
    pub fn holds(&self, coeffs: &[Coeffs]) -> bool {
        coeffs.len() == self.n && coeffs == &self.coeffs[..self.n]
    }

    /// Take `coeffs` with their canonical `states` (L, R per band).
    pub fn load(&mut self, coeffs: &[Coeffs], states: &[[Df2t; 2]]) {
        let n = coeffs.len().min(MAX_BANDS);
        self.n = n;
        let mut p = 1.0f64;
        for k in 0..n {
            let c = coeffs[k];
            self.coeffs[k] = c;
            // RBJ designs never have b0 = 0; guard anyway so a degenerate band is a pass-through.
            let b0 = if c.b0 != 0.0 && c.b0.is_finite() {
                c.b0
            } else {
                1.0
            };
            self.norm[k] = Norm {
                b1: c.b1 / b0,
                b2: c.b2 / b0,
                a1: c.a1,
                a2: c.a2,
            };
            p *= b0;
            self.scale[k] = p;
            for ch in 0..2 {
                self.s1[k][ch] = states[k][ch].s1 / p;
                self.s2[k][ch] = states[k][ch].s2 / p;
            }
        }
    }

    /// Write the canonical states back.
    pub fn store(&self, states: &mut [[Df2t; 2]]) {
        for k in 0..self.n {
            let p = self.scale[k];
            for ch in 0..2 {
                states[k][ch] = Df2t {
                    s1: self.s1[k][ch] * p,
                    s2: self.s2[k][ch] * p,
                };
            }
        }
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.n
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Filter interleaved stereo `buf` in place.
    pub fn process(&mut self, kernel: Kernel, buf: &mut [f32]) {
        if self.n == 0 {
            return;
        }
        match kernel {
            Kernel::Scalar => self.process_scalar(buf),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: SSE2 is part of the x86_64 baseline.
            Kernel::Sse2 => unsafe { x86::sse2(self, buf) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::Fma` is only produced by `detect` after checking FMA and AVX.
            Kernel::Fma => unsafe { x86::fma(self, buf) },
        }
    }

    fn process_scalar(&mut self, buf: &mut [f32]) {
        let n = self.n;
        let g = self.scale[n - 1];
        for frame in buf.chunks_exact_mut(2) {
            for ch in 0..2 {
                let mut x = f64::from(frame[ch]);
                for k in 0..n {
                    let c = self.norm[k];
                    let y = x + self.s1[k][ch];
                    self.s1[k][ch] = c.b1 * x + (self.s2[k][ch] - c.a1 * y);
                    self.s2[k][ch] = c.b2 * x - c.a2 * y;
                    x = y;
                }
                frame[ch] = (x * g) as f32;
            }
        }
    }
}

/// Reference: standard DF2T, one band after another, for any channel count (channel `ch` of an
/// interleaved buffer). Used by the Equalizer's general path and as the tests' reference.
pub fn cascade_channel(
    coeffs: &[Coeffs],
    states: &mut [Df2t],
    buf: &mut [f32],
    channels: usize,
    ch: usize,
) {
    for frame in buf.chunks_exact_mut(channels) {
        let mut x = f64::from(frame[ch]);
        for (c, st) in coeffs.iter().zip(states.iter_mut()) {
            x = st.tick(c, x);
        }
        frame[ch] = x as f32;
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::FastCascade;

    macro_rules! body {
        ($fc:ident, $buf:ident, $fmadd:ident, $fnmadd:ident) => {{
            let n = $fc.n;
            let mut s1 = [_mm_setzero_pd(); crate::dsp::eq_params::MAX_BANDS];
            let mut s2 = [_mm_setzero_pd(); crate::dsp::eq_params::MAX_BANDS];
            for k in 0..n {
                s1[k] = _mm_loadu_pd($fc.s1[k].as_ptr());
                s2[k] = _mm_loadu_pd($fc.s2[k].as_ptr());
            }
            let norm = &$fc.norm[..n];
            let s1 = &mut s1[..n];
            let s2 = &mut s2[..n];
            let g = _mm_set1_pd($fc.scale[n - 1]);
            for frame in $buf.chunks_exact_mut(2) {
                let mut x = _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64(
                    frame.as_ptr().cast::<__m128i>(),
                )));
                for k in 0..n {
                    let c = &norm[k];
                    let y = _mm_add_pd(x, s1[k]);
                    s1[k] = $fmadd(_mm_set1_pd(c.b1), x, $fnmadd(_mm_set1_pd(c.a1), y, s2[k]));
                    s2[k] = $fnmadd(_mm_set1_pd(c.a2), y, _mm_mul_pd(_mm_set1_pd(c.b2), x));
                    x = y;
                }
                let out = _mm_cvtpd_ps(_mm_mul_pd(x, g));
                _mm_storel_epi64(frame.as_mut_ptr().cast::<__m128i>(), _mm_castps_si128(out));
            }
            for k in 0..n {
                _mm_storeu_pd($fc.s1[k].as_mut_ptr(), s1[k]);
                _mm_storeu_pd($fc.s2[k].as_mut_ptr(), s2[k]);
            }
        }};
    }

    #[inline(always)]
    unsafe fn fmadd_sse(a: __m128d, b: __m128d, c: __m128d) -> __m128d {
        _mm_add_pd(_mm_mul_pd(a, b), c)
    }
    #[inline(always)]
    unsafe fn fnmadd_sse(a: __m128d, b: __m128d, c: __m128d) -> __m128d {
        _mm_sub_pd(c, _mm_mul_pd(a, b))
    }

    #[target_feature(enable = "sse2")]
    pub unsafe fn sse2(fc: &mut FastCascade, buf: &mut [f32]) {
        body!(fc, buf, fmadd_sse, fnmadd_sse);
    }

    #[target_feature(enable = "avx,fma")]
    pub unsafe fn fma(fc: &mut FastCascade, buf: &mut [f32]) {
        body!(fc, buf, _mm_fmadd_pd, _mm_fnmadd_pd);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::biquad::{BandParams, FilterKind};

    fn bands() -> Vec<Coeffs> {
        [
            (FilterKind::LowShelf, 40.0, 4.0, 0.7),
            (FilterKind::Peak, 200.0, -3.0, 1.2),
            (FilterKind::LowPass, 18_000.0, 0.0, 0.7),
            (FilterKind::Peak, 3000.0, 5.0, 2.0),
            (FilterKind::HighShelf, 9000.0, -2.0, 0.7),
            (FilterKind::HighPass, 25.0, 0.0, 0.7),
        ]
        .iter()
        .map(|&(k, f, g, q)| BandParams::new(k, f, g, q).coeffs(48_000.0))
        .collect()
    }

    fn kernels() -> Vec<Kernel> {
        let mut v = vec![Kernel::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            v.push(Kernel::Sse2);
            if Kernel::detect() == Kernel::Fma {
                v.push(Kernel::Fma);
            }
        }
        v
    }

    #[test]
    fn every_kernel_matches_the_standard_df2t_reference() {
        let c = bands();
        let input: Vec<f32> = (0..2 * 5000)
            .map(|i| ((i as f32 * 0.37).sin() * 0.5) + if i % 2 == 0 { 0.1 } else { -0.2 })
            .collect();
        let mut reference = input.clone();
        for ch in 0..2 {
            let mut st = vec![Df2t::default(); c.len()];
            cascade_channel(&c, &mut st, &mut reference, 2, ch);
        }
        let mut scalar_out = None;
        for k in kernels() {
            let mut out = input.clone();
            let mut fc = FastCascade::default();
            fc.load(&c, &vec![[Df2t::default(); 2]; c.len()]);
            for chunk in out.chunks_mut(2 * 77) {
                fc.process(k, chunk);
            }
            let err = out
                .iter()
                .zip(&reference)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(err <= 4.0 * f32::EPSILON, "{k:?}: {err}");
            match (&scalar_out, k) {
                (None, _) => scalar_out = Some(out),
                #[cfg(target_arch = "x86_64")]
                (Some(s), Kernel::Sse2) => {
                    assert!(out == *s, "SSE2 is bit-identical to the scalar kernel")
                }
                _ => {}
            }
        }
    }

    #[test]
    fn state_survives_store_and_load() {
        let c = bands();
        let input: Vec<f32> = (0..2 * 3000)
            .map(|i| (i as f32 * 0.11).sin() * 0.3)
            .collect();
        let mut whole = input.clone();
        let mut fc = FastCascade::default();
        fc.load(&c, &vec![[Df2t::default(); 2]; c.len()]);
        fc.process(Kernel::detect(), &mut whole);
        // Same audio with a store/load round trip in the middle (as when a band starts fading).
        let mut split = input.clone();
        let mut fc2 = FastCascade::default();
        fc2.load(&c, &vec![[Df2t::default(); 2]; c.len()]);
        let (a, b) = split.split_at_mut(2 * 1500);
        fc2.process(Kernel::detect(), a);
        let mut st = vec![[Df2t::default(); 2]; c.len()];
        fc2.store(&mut st);
        let mut fc3 = FastCascade::default();
        fc3.load(&c, &st);
        assert!(fc3.holds(&c));
        fc3.process(Kernel::detect(), b);
        let err = whole
            .iter()
            .zip(&split)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(err < 1e-6, "{err}");
    }
}
