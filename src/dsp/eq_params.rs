//! The EQ as the user edits it: up to 32 bands, preamp, bypass. `Copy` and fixed-size so the whole
//! set travels to the audio thread by value (latest value wins) without allocating.

use super::biquad::{BandParams, FilterKind};

pub const MAX_BANDS: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EqParams {
    #[serde(with = "bands_serde")]
    bands: [BandParams; MAX_BANDS],
    len: usize,
    pub preamp_db: f64,
    pub bypass: bool,
}

impl Default for EqParams {
    fn default() -> Self {
        Self {
            bands: [BandParams::default(); MAX_BANDS],
            len: 0,
            preamp_db: 0.0,
            bypass: false,
        }
    }
}

/// Adding a 33rd band.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the EQ holds at most {MAX_BANDS} bands")]
pub struct TooManyBands;

impl EqParams {
    /// From a list of bands; fails beyond `MAX_BANDS`. Every band is validated.
    pub fn from_bands(bands: &[BandParams], preamp_db: f64) -> Result<Self, TooManyBands> {
        let mut eq = Self {
            preamp_db: clamp_preamp(preamp_db),
            ..Self::default()
        };
        for b in bands {
            eq.push(*b)?;
        }
        Ok(eq)
    }

    /// A 10-band graphic-style starting point (31 Hz … 16 kHz octaves, all flat).
    #[must_use]
    pub fn ten_band_flat() -> Self {
        let freqs = [
            31.0, 62.0, 125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0,
        ];
        let bands: Vec<BandParams> = freqs
            .iter()
            .map(|&f| BandParams::new(FilterKind::Peak, f, 0.0, 1.41))
            .collect();
        Self::from_bands(&bands, 0.0).expect("10 < MAX_BANDS")
    }

    #[must_use]
    pub fn bands(&self) -> &[BandParams] {
        &self.bands[..self.len]
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push(&mut self, band: BandParams) -> Result<usize, TooManyBands> {
        if self.len == MAX_BANDS {
            return Err(TooManyBands);
        }
        self.bands[self.len] = band.validated();
        self.len += 1;
        Ok(self.len - 1)
    }

    /// Replace band `i` (validated). Out-of-range indices are ignored.
    pub fn set(&mut self, i: usize, band: BandParams) {
        if i < self.len {
            self.bands[i] = band.validated();
        }
    }

    pub fn remove(&mut self, i: usize) {
        if i < self.len {
            self.bands.copy_within(i + 1..self.len, i);
            self.len -= 1;
        }
    }

    /// Bring a value from outside (a settings file, a hand-edited JSON) into range: at most
    /// `MAX_BANDS` bands, every band designable, a finite preamp. Cheap; done on the control
    /// side before anything reaches the audio thread.
    #[must_use]
    pub fn validated(mut self) -> Self {
        self.len = self.len.min(MAX_BANDS);
        self.preamp_db = clamp_preamp(self.preamp_db);
        for b in &mut self.bands {
            *b = b.validated();
        }
        self
    }

    pub fn set_preamp_db(&mut self, db: f64) {
        self.preamp_db = clamp_preamp(db);
    }

    /// Magnitude response of the whole EQ (preamp + enabled bands) in dB at `freq`.
    #[must_use]
    pub fn response_db(&self, freq: f64, fs: f64) -> f64 {
        if self.bypass {
            return 0.0;
        }
        self.preamp_db
            + self
                .bands()
                .iter()
                .filter(|b| b.enabled)
                .map(|b| b.coeffs(fs).magnitude_db(freq, fs))
                .sum::<f64>()
    }

    /// Response at many frequencies at once (the UI's curve): designs each band once.
    pub fn response_curve_db(&self, freqs: &[f64], fs: f64, out: &mut Vec<f64>) {
        out.clear();
        out.resize(freqs.len(), if self.bypass { 0.0 } else { self.preamp_db });
        if self.bypass {
            return;
        }
        for b in self.bands().iter().filter(|b| b.enabled) {
            let c = b.coeffs(fs);
            for (o, &f) in out.iter_mut().zip(freqs) {
                *o += c.magnitude_db(f, fs);
            }
        }
    }

    /// Highest point of the response (20 Hz–20 kHz, 1/48 octave): what a preamp must take back
    /// to avoid clipping.
    #[must_use]
    pub fn max_boost_db(&self, fs: f64) -> f64 {
        let freqs: Vec<f64> = (0..=480)
            .map(|i| 20.0 * 2f64.powf(i as f64 / 48.0))
            .collect();
        let mut out = Vec::new();
        self.response_curve_db(&freqs, fs, &mut out);
        out.into_iter().fold(f64::NEG_INFINITY, f64::max)
    }
}

fn clamp_preamp(db: f64) -> f64 {
    if db.is_finite() {
        db.clamp(-60.0, 30.0)
    } else {
        0.0
    }
}

/// Serialize all 32 slots with `len` beside them, so the pair round-trips exactly; bands are
/// validated again on the way in.
mod bands_serde {
    use super::{BandParams, MAX_BANDS};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        bands: &[BandParams; MAX_BANDS],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        // `len` is serialized separately; all bands are written so the pair round-trips exactly.
        bands.as_slice().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<[BandParams; MAX_BANDS], D::Error> {
        let v: Vec<BandParams> = Vec::deserialize(d)?;
        let mut out = [BandParams::default(); MAX_BANDS];
        for (o, b) in out.iter_mut().zip(v) {
            *o = b.validated();
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validated_repairs_a_hand_edited_value() {
        let mut eq = EqParams::default();
        eq.push(BandParams::new(FilterKind::Peak, 1000.0, 3.0, 1.0))
            .unwrap();
        let mut json: serde_json::Value = serde_json::to_value(eq).unwrap();
        json["len"] = serde_json::json!(1000);
        json["preamp_db"] = serde_json::json!(1e9);
        json["bands"][0]["q"] = serde_json::json!(-5.0);
        let back: EqParams = serde_json::from_value(json).unwrap();
        let v = back.validated();
        assert_eq!(v.len(), MAX_BANDS);
        assert_eq!(v.preamp_db, 30.0);
        assert!(v.bands()[0].q > 0.0);
        assert!(v.bands().iter().all(|b| b.coeffs(48_000.0).is_stable()));
    }

    #[test]
    fn push_remove_and_limit() {
        let mut eq = EqParams::default();
        for i in 0..MAX_BANDS {
            eq.push(BandParams::new(
                FilterKind::Peak,
                100.0 + i as f64,
                1.0,
                1.0,
            ))
            .unwrap();
        }
        assert_eq!(eq.push(BandParams::default()), Err(TooManyBands));
        eq.remove(0);
        assert_eq!(eq.len(), MAX_BANDS - 1);
        assert_eq!(eq.bands()[0].freq, 101.0);
    }

    #[test]
    fn response_sums_bands_and_preamp() {
        let mut eq = EqParams::from_bands(
            &[
                BandParams::new(FilterKind::Peak, 1000.0, 6.0, 1.0),
                BandParams::new(FilterKind::Peak, 1000.0, 3.0, 1.0),
            ],
            -2.0,
        )
        .unwrap();
        assert!((eq.response_db(1000.0, 48_000.0) - 7.0).abs() < 1e-9);
        eq.bypass = true;
        assert_eq!(eq.response_db(1000.0, 48_000.0), 0.0);
        eq.bypass = false;
        let mut b = eq.bands()[1];
        b.enabled = false;
        eq.set(1, b);
        assert!((eq.response_db(1000.0, 48_000.0) - 4.0).abs() < 1e-9);
        assert!((eq.max_boost_db(48_000.0) - 4.0).abs() < 0.01);
    }
}
