//! f32 → device sample formats. Integer formats of 24 bits or fewer get TPDF dither (±1 LSB
//! triangular), which turns quantisation error into benign white noise instead of distortion that
//! tracks the signal. 32/64-bit integer and float formats are exact enough without it.
//!
//! Runs on the audio thread: no allocation, no branches that can panic.

/// A fast, allocation-free noise source for dither (xorshift64: one draw gives both uniforms of a
/// triangular sample, which halves the serial dependency chain that bounded the integer output
/// path). Statistical quality is ample for dither; cryptographic quality is irrelevant.
#[derive(Clone, Debug)]
pub struct Tpdf {
    state: u64,
}

impl Default for Tpdf {
    fn default() -> Self {
        Self {
            state: 0x9E37_79B9_7F4A_7C15,
        }
    }
}

impl Tpdf {
    /// Triangular noise in (-1, 1), in units of one LSB: the difference of two 24-bit uniforms.
    #[inline]
    pub fn next(&mut self) -> f32 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        let a = (x >> 40) as f32;
        let b = ((x >> 8) & 0x00ff_ffff) as f32;
        (a - b) * (1.0 / 16_777_216.0)
    }
}

/// A sample type a device can take. `from_f32` maps [-1, 1] onto the full range and clamps.
pub trait DeviceSample: Copy + Send + 'static {
    const SILENCE: Self;
    const NAME: &'static str;
    fn from_f32(x: f32, dither: &mut Tpdf) -> Self;
    /// The buffer as f32 when it already is f32, so rendering can skip the conversion copy.
    fn as_f32_mut(_buf: &mut [Self]) -> Option<&mut [f32]> {
        None
    }
}

#[inline]
fn quantize(x: f32, bits: u32, dither: &mut Tpdf) -> i64 {
    let scale = (1u64 << (bits - 1)) as f64;
    let mut v = f64::from(x) * scale;
    if bits <= 24 {
        v += f64::from(dither.next());
    }
    // Clamp, then round half away from zero by adding ±0.5 and truncating (`f64::round` is a libm
    // call on baseline x86_64 and tripled the cost of the integer output path). NaN stays NaN
    // through the clamp and casts to 0.
    let v = v.clamp(-scale, scale - 1.0);
    (v + 0.5f64.copysign(v)) as i64
}

impl DeviceSample for f32 {
    const SILENCE: Self = 0.0;
    const NAME: &'static str = "f32";
    #[inline]
    fn from_f32(x: f32, _: &mut Tpdf) -> Self {
        x
    }
    fn as_f32_mut(buf: &mut [Self]) -> Option<&mut [f32]> {
        Some(buf)
    }
}

impl DeviceSample for f64 {
    const SILENCE: Self = 0.0;
    const NAME: &'static str = "f64";
    #[inline]
    fn from_f32(x: f32, _: &mut Tpdf) -> Self {
        f64::from(x)
    }
}

macro_rules! signed {
    ($t:ty, $bits:expr, $name:expr) => {
        impl DeviceSample for $t {
            const SILENCE: Self = 0;
            const NAME: &'static str = $name;
            #[inline]
            fn from_f32(x: f32, d: &mut Tpdf) -> Self {
                quantize(x, $bits, d) as $t
            }
        }
    };
}
macro_rules! unsigned {
    ($t:ty, $bits:expr, $name:expr) => {
        impl DeviceSample for $t {
            const SILENCE: Self = 1 << ($bits - 1);
            const NAME: &'static str = $name;
            #[inline]
            fn from_f32(x: f32, d: &mut Tpdf) -> Self {
                (quantize(x, $bits, d) + (1i64 << ($bits - 1))) as $t
            }
        }
    };
}
signed!(i8, 8, "i8");
signed!(i16, 16, "i16");
signed!(i32, 32, "i32");
unsigned!(u8, 8, "u8");
unsigned!(u16, 16, "u16");
unsigned!(u32, 32, "u32");

impl DeviceSample for i64 {
    const SILENCE: Self = 0;
    const NAME: &'static str = "i64";
    #[inline]
    fn from_f32(x: f32, d: &mut Tpdf) -> Self {
        // f32 carries 24 bits; 32-bit precision placed in the top bits is exact and clamps safely.
        quantize(x, 32, d) << 32
    }
}

impl DeviceSample for cpal::I24 {
    const SILENCE: Self = <cpal::I24 as cpal::Sample>::EQUILIBRIUM;
    const NAME: &'static str = "i24";
    #[inline]
    fn from_f32(x: f32, d: &mut Tpdf) -> Self {
        cpal::I24::new_unchecked(quantize(x, 24, d) as i32)
    }
}

/// Convert a block of f32 into device samples.
#[inline]
pub fn convert_block<S: DeviceSample>(src: &[f32], dst: &mut [S], dither: &mut Tpdf) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = S::from_f32(s, dither);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_scale_and_clamping() {
        let mut d = Tpdf::default();
        assert_eq!(i32::from_f32(1.0, &mut d), i32::MAX);
        assert_eq!(i32::from_f32(-1.0, &mut d), i32::MIN);
        assert_eq!(i32::from_f32(2.5, &mut d), i32::MAX);
        assert_eq!(i32::from_f32(f32::NAN, &mut d), 0);
        assert_eq!(i16::from_f32(-3.0, &mut d), i16::MIN);
        assert!(
            u16::from_f32(0.0, &mut d).abs_diff(32768) <= 1,
            "dithered silence stays within 1 LSB"
        );
        assert_eq!(u8::SILENCE, 128);
    }

    #[test]
    fn tpdf_dither_is_within_one_lsb_and_unbiased() {
        let mut d = Tpdf::default();
        let x = 0.25f32 + 0.3 / 32768.0; // between two 16-bit codes
        let exact = f64::from(x) * 32768.0;
        let n = 200_000;
        let mut sum = 0f64;
        for _ in 0..n {
            let v = f64::from(i16::from_f32(x, &mut d));
            assert!(
                (v - exact).abs() <= 2.0,
                "dithered code {v} too far from {exact}"
            );
            sum += v;
        }
        // TPDF dither makes the mean of the codes equal the exact value (no quantisation bias).
        assert!(
            (sum / f64::from(n) - exact).abs() < 0.01,
            "mean {} vs {exact}",
            sum / f64::from(n)
        );
    }

    #[test]
    fn triangular_noise_shape() {
        let mut d = Tpdf::default();
        let n = 100_000;
        let v: Vec<f32> = (0..n).map(|_| d.next()).collect();
        assert!(v.iter().all(|x| x.abs() < 1.0));
        let var: f64 = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>() / f64::from(n);
        // Variance of the difference of two U(0,1) is 1/6.
        assert!((var - 1.0 / 6.0).abs() < 0.005, "variance {var}");
    }
}
