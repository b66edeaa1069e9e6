//! Sample peak, RMS and clip count over a whole stream. f64 accumulation: summing millions of f32
//! squares in f32 loses ~3 significant digits.

#[derive(Clone, Debug, Default)]
pub struct Levels {
    pub peak: f32,
    pub sum_squares: f64,
    pub samples: u64,
    /// Samples at or beyond full scale (|x| ≥ 1.0).
    pub clipped: u64,
}

impl Levels {
    pub fn add(&mut self, samples: &[f32]) {
        let mut peak = [0.0f32];
        crate::dsp::simd::peak(samples, &mut peak);
        let mut sum = [0.0f64];
        crate::dsp::simd::sum_squares(samples, &mut sum);
        if peak[0] >= 1.0 {
            self.clipped += samples.iter().filter(|x| x.abs() >= 1.0).count() as u64;
        }
        self.peak = self.peak.max(peak[0]);
        self.sum_squares += sum[0];
        self.samples += samples.len() as u64;
    }

    /// Peak in dBFS; None for digital silence (−∞).
    #[must_use]
    pub fn peak_dbfs(&self) -> Option<f64> {
        to_db(f64::from(self.peak))
    }

    /// RMS over all samples of all channels, in dBFS (a full-scale sine reads −3.01).
    #[must_use]
    pub fn rms_dbfs(&self) -> Option<f64> {
        if self.samples == 0 {
            return None;
        }
        to_db((self.sum_squares / self.samples as f64).sqrt())
    }
}

#[must_use]
pub fn to_db(linear: f64) -> Option<f64> {
    (linear > 0.0).then(|| 20.0 * linear.log10())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_scale_sine_reads_minus_3_01() {
        let s: Vec<f32> = (0..48_000)
            .map(|i| (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 48_000.0).sin() as f32)
            .collect();
        let mut l = Levels::default();
        l.add(&s);
        assert!((l.rms_dbfs().unwrap() + 3.0103).abs() < 0.001);
        assert!(l.peak_dbfs().unwrap().abs() < 0.001);
        assert_eq!(Levels::default().peak_dbfs(), None);
    }
}
