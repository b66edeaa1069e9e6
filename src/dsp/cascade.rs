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

/// A cascade implementation this CPU runs. Unforgeable: the field is private, so outside this
/// module a `Kernel` only comes from run-time detection ([`Kernel::detect`],
/// [`Kernel::available`]) or is [`Kernel::SCALAR`], which runs anywhere. That is what makes the
/// safe [`FastCascade::process`] (and `Equalizer::set_kernel`) sound: holding a `Kernel` that
/// selects an AVX kernel proves AVX and FMA were detected on this CPU.
///
/// ```compile_fail
/// // Not constructible from outside (private field): only detection hands out the AVX kernels.
/// let forged = rusty_audio::dsp::cascade::Kernel(unreachable!());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kernel(Imp);

/// Which code a `Kernel` runs, in the order `Kernel::available` lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Imp {
    Scalar,
    /// 128-bit, both channels in one vector, separate multiply and add.
    #[cfg(target_arch = "x86_64")]
    Sse2,
    /// As `Sse2` with fused multiply-adds (needs AVX and FMA).
    #[cfg(target_arch = "x86_64")]
    Fma,
    /// Two bands per 256-bit vector in a one-frame wavefront (see `x86::avx_pairs`; AVX and FMA).
    #[cfg(target_arch = "x86_64")]
    AvxPairs,
}

#[cfg(target_arch = "x86_64")]
const IMPS: [Imp; 4] = [Imp::Scalar, Imp::Sse2, Imp::Fma, Imp::AvxPairs];
#[cfg(not(target_arch = "x86_64"))]
const IMPS: [Imp; 1] = [Imp::Scalar];

impl Imp {
    /// Whether this CPU runs the implementation (run-time detection, cached by std).
    fn supported(self) -> bool {
        match self {
            Imp::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Imp::Sse2 => std::is_x86_feature_detected!("sse2"),
            #[cfg(target_arch = "x86_64")]
            Imp::Fma | Imp::AvxPairs => {
                std::is_x86_feature_detected!("avx") && std::is_x86_feature_detected!("fma")
            }
        }
    }
}

impl Kernel {
    /// The plain-Rust reference kernel (any CPU).
    pub const SCALAR: Kernel = Kernel(Imp::Scalar);

    /// The fastest kernel this CPU runs.
    #[must_use]
    pub fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        for imp in [Imp::AvxPairs, Imp::Sse2] {
            if imp.supported() {
                return Kernel(imp);
            }
        }
        Kernel::SCALAR
    }

    /// Every kernel this CPU runs (always starts with `SCALAR`). Benches and tests compare them.
    pub fn available() -> impl Iterator<Item = Kernel> {
        IMPS.into_iter().filter(|i| i.supported()).map(Kernel)
    }

    /// "Scalar", "Sse2", "Fma" or "AvxPairs" (also the `Debug` form, used in bench names).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self.0 {
            Imp::Scalar => "Scalar",
            #[cfg(target_arch = "x86_64")]
            Imp::Sse2 => "Sse2",
            #[cfg(target_arch = "x86_64")]
            Imp::Fma => "Fma",
            #[cfg(target_arch = "x86_64")]
            Imp::AvxPairs => "AvxPairs",
        }
    }
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::fmt::Display for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

// Bands are stored in pairs (`FastCascade::s1`, `pairs`).
const _: () = assert!(MAX_BANDS.is_multiple_of(2));

/// Where band `k`, channel `ch` (0 = L, 1 = R) sits in the pair-major state arrays.
#[inline(always)]
const fn at(k: usize, ch: usize) -> (usize, usize) {
    (k / 2, 2 * (k % 2) + ch)
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
    /// Scaled states by band pair: `s1[k / 2]` = [L, R of band 2p, L, R of band 2p+1], so the
    /// 256-bit kernel loads and stores a whole pair from one array (see `at`).
    s1: [[f64; 4]; MAX_BANDS / 2],
    s2: [[f64; 4]; MAX_BANDS / 2],
    /// Per band pair (2p, 2p+1), each coefficient as [A, A, B, B] for the 256-bit kernel.
    pairs: [[[f64; 4]; 4]; MAX_BANDS / 2],
}

impl Default for FastCascade {
    fn default() -> Self {
        FastCascade {
            n: 0,
            coeffs: [Coeffs::IDENTITY; MAX_BANDS],
            norm: [Norm::default(); MAX_BANDS],
            scale: [1.0; MAX_BANDS],
            s1: [[0.0; 4]; MAX_BANDS / 2],
            s2: [[0.0; 4]; MAX_BANDS / 2],
            pairs: [[[0.0; 4]; 4]; MAX_BANDS / 2],
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
                let (q, i) = at(k, ch);
                self.s1[q][i] = states[k][ch].s1 / p;
                self.s2[q][i] = states[k][ch].s2 / p;
            }
        }
        // An odd band count is padded with an identity band (all-zero factored coefficients).
        if n % 2 == 1 && n < MAX_BANDS {
            self.norm[n] = Norm::default();
            for ch in 0..2 {
                let (q, i) = at(n, ch);
                self.s1[q][i] = 0.0;
                self.s2[q][i] = 0.0;
            }
        }
        for (pi, pair) in self.pairs.iter_mut().enumerate().take(n.div_ceil(2)) {
            let (a, b) = (self.norm[2 * pi], self.norm[2 * pi + 1]);
            *pair = [
                [a.b1, a.b1, b.b1, b.b1],
                [a.b2, a.b2, b.b2, b.b2],
                [a.a1, a.a1, b.a1, b.a1],
                [a.a2, a.a2, b.a2, b.a2],
            ];
        }
    }

    /// Write the canonical states back.
    pub fn store(&self, states: &mut [[Df2t; 2]]) {
        for k in 0..self.n {
            let p = self.scale[k];
            for ch in 0..2 {
                let (q, i) = at(k, ch);
                states[k][ch] = Df2t {
                    s1: self.s1[q][i] * p,
                    s2: self.s2[q][i] * p,
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

    /// Filter interleaved stereo `buf` in place (a trailing odd sample is left as it is).
    ///
    /// Safe for any `kernel`: a `Kernel` can only be obtained for a CPU that runs it.
    pub fn process(&mut self, kernel: Kernel, buf: &mut [f32]) {
        if self.n == 0 {
            return;
        }
        match kernel.0 {
            Imp::Scalar => self.process_scalar(buf),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `x86::sse2` is `#[target_feature(enable = "sse2")]`; its only precondition
            // is a CPU with SSE2, which every x86_64 CPU has (and `Imp::Sse2` is only put in a
            // `Kernel`, which is unforgeable outside this module, after
            // `is_x86_feature_detected!("sse2")`). Its memory accesses are in bounds on their own
            // (see the SAFETY comments inside `x86`).
            Imp::Sse2 => unsafe { x86::sse2(self, buf) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `x86::fma` is `#[target_feature(enable = "avx,fma")]`; `Imp::Fma` is only
            // put in a `Kernel` (unforgeable outside this module) by `Kernel::available` after
            // `is_x86_feature_detected!("avx")` and `("fma")` returned true on this CPU.
            Imp::Fma => unsafe { x86::fma(self, buf) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `x86::avx_pairs` is `#[target_feature(enable = "avx,fma")]`; `Imp::AvxPairs`
            // is only put in a `Kernel` by `Kernel::detect`/`Kernel::available` after
            // `is_x86_feature_detected!("avx")` and `("fma")` returned true on this CPU.
            Imp::AvxPairs => unsafe { x86::avx_pairs(self, buf) },
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
                    let (q, i) = at(k, ch);
                    let y = x + self.s1[q][i];
                    self.s1[q][i] = c.b1 * x + (self.s2[q][i] - c.a1 * y);
                    self.s2[q][i] = c.b2 * x - c.a2 * y;
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
    //! The SIMD kernels. They are safe `#[target_feature]` functions: their one precondition is
    //! that the CPU has the listed features, which `FastCascade::process` establishes from the
    //! unforgeable `Kernel`. Every raw-pointer access below is in an `unsafe` block saying why it
    //! stays inside the object it was derived from.

    use std::arch::x86_64::*;

    use super::{at, FastCascade};
    use crate::dsp::eq_params::MAX_BANDS;

    macro_rules! body {
        ($fc:ident, $buf:ident, $fmadd:ident, $fnmadd:ident) => {{
            let n = $fc.n;
            let mut s1 = [_mm_setzero_pd(); MAX_BANDS];
            let mut s2 = [_mm_setzero_pd(); MAX_BANDS];
            for k in 0..n {
                let (q, i) = at(k, 0);
                let (a, b) = (&$fc.s1[q][i..i + 2], &$fc.s2[q][i..i + 2]);
                // SAFETY: the enclosing function enables SSE2 (`sse2` directly, `fma` through
                // AVX), and its caller checked the CPU has its features. `a` and `b` are
                // bounds-checked slices of exactly 2 f64 (band k's L, R) and `_mm_loadu_pd` reads
                // exactly 2 f64 through their pointers, with no alignment requirement.
                unsafe {
                    s1[k] = _mm_loadu_pd(a.as_ptr());
                    s2[k] = _mm_loadu_pd(b.as_ptr());
                }
            }
            let norm = &$fc.norm[..n];
            let s1 = &mut s1[..n];
            let s2 = &mut s2[..n];
            let g = _mm_set1_pd($fc.scale[n - 1]);
            for frame in $buf.chunks_exact_mut(2) {
                // SAFETY: the enclosing function enables the features of every intrinsic used here
                // (SSE2; `fma` also AVX and FMA), and its caller checked the CPU has them.
                // `frame` is exactly 2 f32 = 8 bytes: `_mm_loadl_epi64` reads and
                // `_mm_storel_epi64` writes exactly those 8 bytes through its pointer, with no
                // alignment requirement. `norm`, `s1`, `s2` have length n and are indexed with
                // k < n (bounds-checked).
                unsafe {
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
            }
            for k in 0..n {
                let (q, i) = at(k, 0);
                let (a, b) = (&mut $fc.s1[q][i..i + 2], &mut $fc.s2[q][i..i + 2]);
                // SAFETY: SSE2 as above. `a` and `b` are bounds-checked slices of exactly 2 f64
                // and `_mm_storeu_pd` writes exactly 2 f64 through their pointers, unaligned.
                unsafe {
                    _mm_storeu_pd(a.as_mut_ptr(), s1[k]);
                    _mm_storeu_pd(b.as_mut_ptr(), s2[k]);
                }
            }
        }};
    }

    /// `a·b + c` without FMA (two roundings, like the scalar kernel).
    #[target_feature(enable = "sse2")]
    #[inline]
    fn fmadd_sse(a: __m128d, b: __m128d, c: __m128d) -> __m128d {
        _mm_add_pd(_mm_mul_pd(a, b), c)
    }

    /// `c − a·b` without FMA.
    #[target_feature(enable = "sse2")]
    #[inline]
    fn fnmadd_sse(a: __m128d, b: __m128d, c: __m128d) -> __m128d {
        _mm_sub_pd(c, _mm_mul_pd(a, b))
    }

    /// 128-bit kernel: both channels of a band in one vector, bands one after another.
    #[target_feature(enable = "sse2")]
    pub fn sse2(fc: &mut FastCascade, buf: &mut [f32]) {
        body!(fc, buf, fmadd_sse, fnmadd_sse);
    }

    /// As `sse2` with fused multiply-adds.
    #[target_feature(enable = "avx,fma")]
    pub fn fma(fc: &mut FastCascade, buf: &mut [f32]) {
        body!(fc, buf, _mm_fmadd_pd, _mm_fnmadd_pd);
    }

    /// Two bands per 256-bit vector. Band pair p = (2p, 2p+1) holds lanes [A_L, A_R, B_L, B_R].
    /// At step t band A works on frame t − 2p and band B on frame t − 2p − 1: B takes A's output
    /// of the previous step, and pair p takes pair p−1's B output of the previous step. With
    /// that skew nothing inside a step depends on anything else in the same step, so the pairs
    /// run in parallel at multiply throughput, each pair-step being the same four multiplies and
    /// one add as one band of the 128-bit kernel on twice the data. Steps run from 0 to
    /// N + 2P − 2; in the first and last 2P − 1 steps the lanes outside the block are masked
    /// (their state is kept), so every band processes exactly this block's frames and no latency
    /// is added. Same operations in the same order as `fma`: the output is bit-identical to it.
    #[target_feature(enable = "avx,fma")]
    pub fn avx_pairs(fc: &mut FastCascade, buf: &mut [f32]) {
        // A compile-time pair count lets the compiler unroll the pair loop and keep the states in
        // registers (a run-time count kept them on the stack: +5 cycles of store forwarding on
        // every band's recursion).
        macro_rules! by_count {
            ($($p:literal)*) => {
                match fc.n.div_ceil(2) {
                    $($p => avx_pairs_n::<$p>(fc, buf),)*
                    _ => avx_pairs_n::<{ MAX_BANDS / 2 }>(fc, buf),
                }
            };
        }
        by_count!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
    }

    #[target_feature(enable = "avx,fma")]
    #[inline]
    fn avx_pairs_n<const PAIRS: usize>(fc: &mut FastCascade, buf: &mut [f32]) {
        const MAXP: usize = MAX_BANDS / 2;
        let n_frames = buf.len() / 2;
        let pairs = PAIRS;
        let mut s1 = [_mm256_setzero_pd(); MAXP];
        let mut s2 = [_mm256_setzero_pd(); MAXP];
        let mut prev_a = [_mm_setzero_pd(); MAXP];
        let mut prev_b = [_mm_setzero_pd(); MAXP];
        for p in 0..pairs {
            let (a, b) = (&fc.s1[p], &fc.s2[p]);
            // SAFETY: this function enables AVX; its caller checked the CPU has AVX and FMA.
            // `a` and `b` are `&[f64; 4]` (bounds-checked index p) holding bands 2p and 2p+1, and
            // `_mm256_loadu_pd` reads exactly those 4 f64, with no alignment requirement.
            unsafe {
                s1[p] = _mm256_loadu_pd(a.as_ptr());
                s2[p] = _mm256_loadu_pd(b.as_ptr());
            }
        }
        let g = _mm_set1_pd(fc.scale[fc.n - 1]);
        let coef = &fc.pairs;
        // Input is read at frame t and output written at frame t − lag through this one pointer,
        // so no reference to `buf` is used while it is live.
        let ptr = buf.as_mut_ptr();
        let lag = 2 * pairs - 1;
        let steps = n_frames + lag;
        for t in 0..steps {
            let xin = if t < n_frames {
                // SAFETY: AVX (hence SSE2) is enabled, see above. t < n_frames = buf.len() / 2, so
                // the 2 f32 (8 bytes) at indices 2t, 2t + 1 lie inside `buf`, which `ptr` points
                // to; `_mm_loadl_epi64` reads exactly those 8 bytes, unaligned.
                unsafe {
                    _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64(
                        ptr.add(2 * t).cast::<__m128i>(),
                    )))
                }
            } else {
                _mm_setzero_pd()
            };
            let steady = t >= lag && t < n_frames;
            // Descending, so prev_b[p − 1] still holds the previous step's value when read.
            for p in (0..pairs).rev() {
                let c = &coef[p];
                let x_a = if p == 0 { xin } else { prev_b[p - 1] };
                // SAFETY: AVX and FMA are enabled on this function and were detected by its
                // caller. Each `c[j]` is a `[f64; 4]` and `_mm256_loadu_pd` reads exactly its
                // 4 f64, unaligned; everything else is register arithmetic and bounds-checked
                // array indexing (p < PAIRS ≤ MAX_BANDS / 2).
                unsafe {
                    let xv = _mm256_set_m128d(prev_a[p], x_a);
                    let y = _mm256_add_pd(xv, s1[p]);
                    let n1 = _mm256_fmadd_pd(
                        _mm256_loadu_pd(c[0].as_ptr()),
                        xv,
                        _mm256_fnmadd_pd(_mm256_loadu_pd(c[2].as_ptr()), y, s2[p]),
                    );
                    let n2 = _mm256_fnmadd_pd(
                        _mm256_loadu_pd(c[3].as_ptr()),
                        y,
                        _mm256_mul_pd(_mm256_loadu_pd(c[1].as_ptr()), xv),
                    );
                    if steady {
                        s1[p] = n1;
                        s2[p] = n2;
                    } else {
                        let a_on = t >= 2 * p && t < n_frames + 2 * p;
                        let b_on = t > 2 * p && t <= n_frames + 2 * p;
                        let (ma, mb) = (-(a_on as i64), -(b_on as i64));
                        let m = _mm256_castsi256_pd(_mm256_set_epi64x(mb, mb, ma, ma));
                        s1[p] = _mm256_blendv_pd(s1[p], n1, m);
                        s2[p] = _mm256_blendv_pd(s2[p], n2, m);
                    }
                    prev_a[p] = _mm256_castpd256_pd128(y);
                    prev_b[p] = _mm256_extractf128_pd::<1>(y);
                }
            }
            if t >= lag {
                // SAFETY: AVX (hence SSE2) is enabled, see above. lag ≤ t < n_frames + lag, so
                // frame t − lag < n_frames = buf.len() / 2 and the 2 f32 (8 bytes) at indices
                // 2(t − lag), 2(t − lag) + 1 lie inside `buf`, which `ptr` points to;
                // `_mm_storel_epi64` writes exactly those 8 bytes, unaligned.
                unsafe {
                    let out = _mm_cvtpd_ps(_mm_mul_pd(prev_b[pairs - 1], g));
                    _mm_storel_epi64(
                        ptr.add(2 * (t - lag)).cast::<__m128i>(),
                        _mm_castps_si128(out),
                    );
                }
            }
        }
        for p in 0..pairs {
            let (a, b) = (&mut fc.s1[p], &mut fc.s2[p]);
            // SAFETY: AVX as above. `a` and `b` are `&mut [f64; 4]` (bounds-checked index p) and
            // `_mm256_storeu_pd` writes exactly those 4 f64, with no alignment requirement.
            unsafe {
                _mm256_storeu_pd(a.as_mut_ptr(), s1[p]);
                _mm256_storeu_pd(b.as_mut_ptr(), s2[p]);
            }
        }
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
        Kernel::available().collect()
    }

    #[test]
    fn only_detected_kernels_are_available() {
        let all = kernels();
        assert_eq!(all.first(), Some(&Kernel::SCALAR));
        assert!(all.contains(&Kernel::detect()), "{all:?}");
        assert!(all.windows(2).all(|w| w[0] < w[1]), "{all:?}");
        for k in &all {
            match k.0 {
                Imp::Scalar => {}
                #[cfg(target_arch = "x86_64")]
                Imp::Sse2 => assert!(std::is_x86_feature_detected!("sse2")),
                #[cfg(target_arch = "x86_64")]
                Imp::Fma | Imp::AvxPairs => {
                    assert!(std::is_x86_feature_detected!("avx"), "{k:?} without AVX");
                    assert!(std::is_x86_feature_detected!("fma"), "{k:?} without FMA");
                }
            }
        }
        // Conversely every kernel this CPU runs is offered, and `detect` picks the fastest.
        #[cfg(target_arch = "x86_64")]
        {
            let avx = std::is_x86_feature_detected!("avx") && std::is_x86_feature_detected!("fma");
            let names: Vec<String> = all.iter().map(|k| format!("{k:?}")).collect();
            if avx {
                assert_eq!(names, ["Scalar", "Sse2", "Fma", "AvxPairs"]);
                assert_eq!(Kernel::detect().name(), "AvxPairs");
            } else {
                assert_eq!(names, ["Scalar", "Sse2"]);
                assert_eq!(Kernel::detect().name(), "Sse2");
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        assert_eq!(all, [Kernel::SCALAR]);
    }

    #[test]
    fn every_kernel_matches_the_standard_df2t_reference() {
        let all = bands();
        let input: Vec<f32> = (0..2 * 5000)
            .map(|i| ((i as f32 * 0.37).sin() * 0.5) + if i % 2 == 0 { 0.1 } else { -0.2 })
            .collect();
        for n in 1..=all.len() {
            let c = &all[..n];
            let mut reference = input.clone();
            for ch in 0..2 {
                let mut st = vec![Df2t::default(); n];
                cascade_channel(c, &mut st, &mut reference, 2, ch);
            }
            for chunk_frames in [1, 3, 77, 5000] {
                let mut scalar_out: Option<Vec<f32>> = None;
                let mut fma_out: Option<Vec<f32>> = None;
                for k in kernels() {
                    let mut out = input.clone();
                    let mut fc = FastCascade::default();
                    fc.load(c, &vec![[Df2t::default(); 2]; n]);
                    for chunk in out.chunks_mut(2 * chunk_frames) {
                        fc.process(k, chunk);
                    }
                    let err = out
                        .iter()
                        .zip(&reference)
                        .map(|(a, b)| (a - b).abs())
                        .fold(0.0f32, f32::max);
                    assert!(
                        err <= 4.0 * f32::EPSILON,
                        "{k:?}, {n} bands, blocks of {chunk_frames}: {err}"
                    );
                    match k.0 {
                        Imp::Scalar => scalar_out = Some(out),
                        #[cfg(target_arch = "x86_64")]
                        Imp::Sse2 => assert!(
                            Some(&out) == scalar_out.as_ref(),
                            "SSE2 is bit-identical to the scalar kernel"
                        ),
                        #[cfg(target_arch = "x86_64")]
                        Imp::Fma => fma_out = Some(out),
                        #[cfg(target_arch = "x86_64")]
                        Imp::AvxPairs => {
                            assert!(Some(&out) == fma_out.as_ref(), "{n} bands, blocks of {chunk_frames}: pair kernel differs from the FMA kernel")
                        }
                    }
                }
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

    /// Every kernel on odd and full band counts (the padded pair, the last pair of the
    /// pair-major state), with a store/load round trip in the middle.
    #[test]
    fn every_kernel_keeps_every_band_state_up_to_the_maximum() {
        let base = bands();
        let input: Vec<f32> = (0..2 * 2000)
            .map(|i| (i as f32 * 0.23).sin() * 0.1 + if i % 2 == 0 { 0.01 } else { -0.02 })
            .collect();
        for n in [1, 7, MAX_BANDS - 1, MAX_BANDS] {
            let c: Vec<Coeffs> = base.iter().cycle().take(n).copied().collect();
            let mut reference = input.clone();
            for ch in 0..2 {
                let mut st = vec![Df2t::default(); n];
                cascade_channel(&c, &mut st, &mut reference, 2, ch);
            }
            let peak = reference.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
            for k in kernels() {
                let mut out = input.clone();
                let (a, b) = out.split_at_mut(2 * 777);
                let mut fc = FastCascade::default();
                fc.load(&c, &vec![[Df2t::default(); 2]; n]);
                fc.process(k, a);
                let mut st = vec![[Df2t::default(); 2]; n];
                fc.store(&mut st);
                let mut fc2 = FastCascade::default();
                fc2.load(&c, &st);
                fc2.process(k, b);
                let err = out
                    .iter()
                    .zip(&reference)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0f32, f32::max);
                assert!(err <= 1e-5 * peak, "{k:?}, {n} bands: {err} (peak {peak})");
            }
        }
    }
}
