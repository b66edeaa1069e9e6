//! Channel mapping: any source layout onto the device's channels. Sources are 1–`MAX_CHANNELS`
//! (32) channels (wider files are refused when opened); the conventional layouts are known up to
//! 7.1, wider ones map by the positions the file declares (see `default_layout` otherwise).
//!
//! The device side is not limited here: a map to any device channel count is built. A device wider
//! than `MAX_CHANNELS` must be refused (or opened with fewer channels) when the output is planned,
//! because the EQ and the meters after the map keep per-channel state for `MAX_CHANNELS` only.
//!
//! Downmix coefficients follow ITU-R BS.775 (centre and surrounds at −3 dB, LFE dropped) and each
//! output row is then normalised so its coefficients sum to at most 1 — what ffmpeg's default
//! rematrixing does for integer output (for float output it does not normalise and can exceed full
//! scale). We always normalise: a full-scale source can never clip after the downmix. Upmix copies mono to
//! both front channels and leaves channels the source lacks silent.

/// A loudspeaker position. Order matches WAVE/symphonia's channel bit order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speaker {
    FrontLeft,
    FrontRight,
    FrontCenter,
    Lfe,
    BackLeft,
    BackRight,
    FrontLeftCenter,
    FrontRightCenter,
    BackCenter,
    SideLeft,
    SideRight,
    /// Anything else (top speakers, discrete channels): mixed like the centre.
    Other,
}

/// The conventional layout for a channel count when a file gives none (WAVE order).
#[must_use]
pub fn default_layout(channels: usize) -> Vec<Speaker> {
    use Speaker::*;
    match channels {
        1 => vec![FrontCenter],
        2 => vec![FrontLeft, FrontRight],
        3 => vec![FrontLeft, FrontRight, FrontCenter],
        4 => vec![FrontLeft, FrontRight, BackLeft, BackRight],
        5 => vec![FrontLeft, FrontRight, FrontCenter, BackLeft, BackRight],
        6 => vec![FrontLeft, FrontRight, FrontCenter, Lfe, BackLeft, BackRight],
        7 => vec![
            FrontLeft,
            FrontRight,
            FrontCenter,
            Lfe,
            BackCenter,
            SideLeft,
            SideRight,
        ],
        8 => vec![
            FrontLeft,
            FrontRight,
            FrontCenter,
            Lfe,
            BackLeft,
            BackRight,
            SideLeft,
            SideRight,
        ],
        n => (0..n)
            .map(|i| if i % 2 == 0 { FrontLeft } else { FrontRight })
            .collect(),
    }
}

const M3DB: f32 = std::f32::consts::FRAC_1_SQRT_2;

/// (left, right) weights of a speaker in a stereo downmix.
fn stereo_weights(s: Speaker) -> (f32, f32) {
    use Speaker::*;
    match s {
        FrontLeft | FrontLeftCenter => (1.0, 0.0),
        FrontRight | FrontRightCenter => (0.0, 1.0),
        FrontCenter | Other => (M3DB, M3DB),
        BackLeft | SideLeft => (M3DB, 0.0),
        BackRight | SideRight => (0.0, M3DB),
        BackCenter => (0.5, 0.5),
        Lfe => (0.0, 0.0),
    }
}

/// A fixed `out × in` mixing matrix, built once per track on the decoder thread.
#[derive(Clone, Debug)]
pub struct ChannelMap {
    inputs: usize,
    outputs: usize,
    /// Row-major: `coeffs[o * inputs + i]`.
    coeffs: Vec<f32>,
    identity: bool,
}

impl ChannelMap {
    #[must_use]
    pub fn new(source: &[Speaker], device_channels: usize) -> Self {
        let inputs = source.len().max(1);
        let outputs = device_channels.max(1);
        let mut coeffs = vec![0.0f32; inputs * outputs];
        if inputs == outputs && (inputs != 1 || outputs == 1) && (inputs <= 2 || outputs > 2) {
            // Same count: pass through in order (device order is assumed to match WAVE order).
            for c in 0..inputs {
                coeffs[c * inputs + c] = 1.0;
            }
        } else if outputs == 1 {
            // Mono device: average of the stereo downmix.
            for (i, &s) in source.iter().enumerate() {
                let (l, r) = stereo_weights(s);
                coeffs[i] = (l + r) * 0.5;
            }
            if inputs == 1 {
                coeffs[0] = 1.0;
            }
        } else if inputs == 1 {
            // Mono source: same signal on both front channels.
            coeffs[0] = 1.0;
            coeffs[inputs] = 1.0;
        } else {
            // Downmix to the two front channels; extra device channels stay silent.
            for (i, &s) in source.iter().enumerate() {
                let (l, r) = stereo_weights(s);
                coeffs[i] = l;
                coeffs[inputs + i] = r;
            }
        }
        // Normalise rows so no output can exceed full scale.
        for o in 0..outputs {
            let row = &mut coeffs[o * inputs..(o + 1) * inputs];
            let sum: f32 = row.iter().map(|c| c.abs()).sum();
            if sum > 1.0 + 1e-6 {
                for c in row.iter_mut() {
                    *c /= sum;
                }
            }
        }
        let identity = inputs == outputs
            && (0..outputs).all(|o| {
                (0..inputs).all(|i| coeffs[o * inputs + i] == if o == i { 1.0 } else { 0.0 })
            });
        Self {
            inputs,
            outputs,
            coeffs,
            identity,
        }
    }

    #[must_use]
    pub fn coefficient(&self, output: usize, input: usize) -> f32 {
        self.coeffs[output * self.inputs + input]
    }

    #[must_use]
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// Append `input` (interleaved, `inputs` channels) mapped to `outputs` channels onto `out`.
    pub fn map_into(&self, input: &[f32], out: &mut Vec<f32>) {
        if self.identity {
            out.extend_from_slice(input);
            return;
        }
        let frames = input.len() / self.inputs;
        out.reserve(frames * self.outputs);
        for frame in input.chunks_exact(self.inputs) {
            for o in 0..self.outputs {
                let row = &self.coeffs[o * self.inputs..(o + 1) * self.inputs];
                out.push(row.iter().zip(frame).map(|(c, x)| c * x).sum());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stereo_passthrough_is_identity() {
        let m = ChannelMap::new(&default_layout(2), 2);
        let mut out = Vec::new();
        m.map_into(&[0.1, -0.2, 0.3, 0.4], &mut out);
        assert_eq!(out, vec![0.1, -0.2, 0.3, 0.4]);
    }

    #[test]
    fn mono_to_stereo_duplicates() {
        let m = ChannelMap::new(&default_layout(1), 2);
        let mut out = Vec::new();
        m.map_into(&[0.5, -0.25], &mut out);
        assert_eq!(out, vec![0.5, 0.5, -0.25, -0.25]);
    }

    #[test]
    fn surround_downmix_never_clips_and_drops_lfe() {
        for n in 3..=8 {
            let layout = default_layout(n);
            let m = ChannelMap::new(&layout, 2);
            let frame = vec![1.0f32; n];
            let mut out = Vec::new();
            m.map_into(&frame, &mut out);
            assert!(out.iter().all(|&x| x <= 1.0 + 1e-6), "{n} ch: {out:?}");
            if let Some(lfe) = layout.iter().position(|&s| s == Speaker::Lfe) {
                assert_eq!(m.coefficient(0, lfe), 0.0);
                assert_eq!(m.coefficient(1, lfe), 0.0);
            }
        }
    }

    #[test]
    fn wide_sources_pass_through_or_downmix_without_clipping() {
        for n in [9, 12, 16, crate::dsp::MAX_CHANNELS] {
            let layout = default_layout(n);
            assert_eq!(layout.len(), n);
            let frame: Vec<f32> = (0..n).map(|c| c as f32 / n as f32).collect();
            let mut out = Vec::new();
            ChannelMap::new(&layout, n).map_into(&frame, &mut out);
            assert_eq!(out, frame, "{n} channels onto {n}: passed through in order");
            let mut out = Vec::new();
            ChannelMap::new(&layout, 2).map_into(&vec![1.0f32; n], &mut out);
            assert!(out.iter().all(|&x| x <= 1.0 + 1e-6), "{n} ch: {out:?}");
        }
    }

    #[test]
    fn five_one_matches_itu_ratios() {
        let m = ChannelMap::new(&default_layout(6), 2);
        let fl = m.coefficient(0, 0);
        let c = m.coefficient(0, 2);
        let bl = m.coefficient(0, 4);
        assert!((c / fl - M3DB).abs() < 1e-6);
        assert!((bl / fl - M3DB).abs() < 1e-6);
        assert!((fl + c + bl - 1.0).abs() < 1e-6);
        assert_eq!(m.coefficient(0, 1), 0.0);
    }
}
