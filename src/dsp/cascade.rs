//! The hot loop: a cascade of f64 DF2T biquads over interleaved f32 audio.
//!
//! Sample-outer, band-inner: each band's recursion only waits on its own previous sample and on
//! the band before it at this sample, so the CPU overlaps the bands of consecutive samples and the
//! loop runs at FMA throughput instead of one band's latency chain. Stereo runs both channels in
//! one 128-bit f64 vector; with FMA available (checked once at run time) each band is 5 fused
//! multiply-adds per frame. `benches/dsp.rs` compares it with the scalar reference.

use super::biquad::{Coeffs, Df2t};

/// Which implementation `cascade_stereo` uses on this CPU.
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

/// Run interleaved stereo `buf` through `coeffs` in order; `states[i]` is band i's (left, right).
#[inline]
pub fn cascade_stereo(
    kernel: Kernel,
    coeffs: &[Coeffs],
    states: &mut [[Df2t; 2]],
    buf: &mut [f32],
) {
    let n = coeffs.len().min(states.len());
    if n == 0 {
        return;
    }
    match kernel {
        Kernel::Scalar => cascade_scalar(&coeffs[..n], &mut states[..n], buf, 2),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: SSE2 is part of the x86_64 baseline.
        Kernel::Sse2 => unsafe { x86::cascade_stereo_sse2(&coeffs[..n], &mut states[..n], buf) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Kernel::Fma` is only produced by `detect` after checking the CPU has FMA and AVX.
        Kernel::Fma => unsafe { x86::cascade_stereo_fma(&coeffs[..n], &mut states[..n], buf) },
    }
}

/// Reference implementation for any channel count (≤ 2 states used per band here: callers with
/// more channels use `cascade_channel`).
pub fn cascade_scalar(
    coeffs: &[Coeffs],
    states: &mut [[Df2t; 2]],
    buf: &mut [f32],
    channels: usize,
) {
    for frame in buf.chunks_exact_mut(channels) {
        for (ch, s) in frame.iter_mut().enumerate().take(2) {
            let mut x = f64::from(*s);
            for (c, st) in coeffs.iter().zip(states.iter_mut()) {
                x = st[ch].tick(c, x);
            }
            *s = x as f32;
        }
    }
}

/// One channel of an interleaved buffer (any channel count) through a cascade.
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

    use super::{Coeffs, Df2t};

    macro_rules! cascade_body {
        ($coeffs:ident, $states:ident, $buf:ident, $fmadd:ident, $fnmadd:ident) => {{
            let n = $coeffs.len();
            // Load states into registers-friendly arrays: [s1(L,R)], [s2(L,R)].
            let mut s1 = [_mm_setzero_pd(); crate::dsp::eq_params::MAX_BANDS];
            let mut s2 = [_mm_setzero_pd(); crate::dsp::eq_params::MAX_BANDS];
            for i in 0..n {
                let st = &$states[i];
                s1[i] = _mm_set_pd(st[1].s1, st[0].s1);
                s2[i] = _mm_set_pd(st[1].s2, st[0].s2);
            }
            let s1 = &mut s1[..n];
            let s2 = &mut s2[..n];
            for frame in $buf.chunks_exact_mut(2) {
                let mut x = _mm_set_pd(f64::from(frame[1]), f64::from(frame[0]));
                for i in 0..n {
                    let c = &$coeffs[i];
                    let b0 = _mm_set1_pd(c.b0);
                    let b1 = _mm_set1_pd(c.b1);
                    let b2 = _mm_set1_pd(c.b2);
                    let a1 = _mm_set1_pd(c.a1);
                    let a2 = _mm_set1_pd(c.a2);
                    let y = $fmadd(b0, x, s1[i]);
                    s1[i] = $fmadd(b1, x, $fnmadd(a1, y, s2[i]));
                    s2[i] = $fnmadd(a2, y, _mm_mul_pd(b2, x));
                    x = y;
                }
                let out = _mm_cvtpd_ps(x);
                _mm_storel_epi64(frame.as_mut_ptr().cast::<__m128i>(), _mm_castps_si128(out));
            }
            for i in 0..n {
                let mut a = [0.0f64; 2];
                let mut b = [0.0f64; 2];
                _mm_storeu_pd(a.as_mut_ptr(), s1[i]);
                _mm_storeu_pd(b.as_mut_ptr(), s2[i]);
                $states[i] = [Df2t { s1: a[0], s2: b[0] }, Df2t { s1: a[1], s2: b[1] }];
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
    pub unsafe fn cascade_stereo_sse2(
        coeffs: &[Coeffs],
        states: &mut [[Df2t; 2]],
        buf: &mut [f32],
    ) {
        cascade_body!(coeffs, states, buf, fmadd_sse, fnmadd_sse);
    }

    #[target_feature(enable = "avx,fma")]
    pub unsafe fn cascade_stereo_fma(coeffs: &[Coeffs], states: &mut [[Df2t; 2]], buf: &mut [f32]) {
        cascade_body!(coeffs, states, buf, _mm_fmadd_pd, _mm_fnmadd_pd);
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
            (FilterKind::Peak, 3000.0, 5.0, 2.0),
            (FilterKind::HighShelf, 9000.0, -2.0, 0.7),
            (FilterKind::HighPass, 25.0, 0.0, 0.7),
        ]
        .iter()
        .map(|&(k, f, g, q)| BandParams::new(k, f, g, q).coeffs(48_000.0))
        .collect()
    }

    #[test]
    fn simd_kernels_match_the_scalar_reference() {
        let c = bands();
        let input: Vec<f32> = (0..2 * 3000)
            .map(|i| ((i as f32 * 0.37).sin() * 0.5) + if i % 2 == 0 { 0.1 } else { -0.2 })
            .collect();
        let mut reference = input.clone();
        let mut st = vec![[Df2t::default(); 2]; c.len()];
        cascade_scalar(&c, &mut st, &mut reference, 2);
        let mut kernels = vec![Kernel::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            kernels.push(Kernel::Sse2);
            if Kernel::detect() == Kernel::Fma {
                kernels.push(Kernel::Fma);
            }
        }
        for k in kernels {
            let mut out = input.clone();
            let mut st2 = vec![[Df2t::default(); 2]; c.len()];
            for chunk in out.chunks_mut(2 * 77) {
                cascade_stereo(k, &c, &mut st2, chunk);
            }
            let err = out
                .iter()
                .zip(&reference)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            // f32 output rounding is the only difference (FMA rounds once instead of twice).
            assert!(err <= 2.0 * f32::EPSILON, "{k:?}: {err}");
            if k != Kernel::Fma {
                assert_eq!(
                    out, reference,
                    "{k:?} must be bit-identical to the scalar reference"
                );
            }
        }
    }
}
