//! The dominant frequency of a signal, to a fraction of a hertz: what `listen` reports (a tuner's
//! or a room-measurement user's first question, "which tone is this?").
//!
//! The spectrum view's log-spaced bins are far too coarse for that (±13 Hz at 1 kHz), so this is
//! its own analysis, off the audio thread: the channels' mean in 16 384-sample Hann windows, half
//! overlapping, their power spectra summed, the strongest bin refined by a parabola through the
//! logarithms of it and its neighbours (for a Hann window that lands within a few hundredths of a
//! bin of a steady tone).

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

/// Samples per window: 2.9 Hz bins at 48 kHz.
const WINDOW: usize = 16_384;
const HOP: usize = WINDOW / 2;

pub struct Dominant {
    channels: usize,
    rate: u32,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    /// The channels' mean, the samples not yet analysed (under one window).
    pending: Vec<f32>,
    /// A window's input and spectrum, and the FFT's scratch.
    input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    /// Power per bin, summed over the windows so far.
    power: Vec<f64>,
    windows: u64,
}

impl Dominant {
    #[must_use]
    pub fn new(channels: usize, rate: u32) -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(WINDOW);
        let window = (0..WINDOW)
            .map(|i| {
                let x = std::f64::consts::TAU * i as f64 / WINDOW as f64;
                (0.5 - 0.5 * x.cos()) as f32
            })
            .collect();
        let spectrum = fft.make_output_vec();
        let scratch = fft.make_scratch_vec();
        Self {
            channels: channels.max(1),
            rate,
            power: vec![0.0; spectrum.len()],
            fft,
            window,
            pending: Vec::with_capacity(WINDOW * 2),
            input: vec![0.0; WINDOW],
            spectrum,
            scratch,
            windows: 0,
        }
    }

    /// Add interleaved samples (whole frames).
    pub fn add(&mut self, interleaved: &[f32]) {
        let ch = self.channels;
        let scale = 1.0 / ch as f32;
        self.pending.extend(
            interleaved
                .chunks_exact(ch)
                .map(|f| f.iter().sum::<f32>() * scale),
        );
        let mut start = 0;
        while self.pending.len() - start >= WINDOW {
            for ((o, &x), &w) in self
                .input
                .iter_mut()
                .zip(&self.pending[start..start + WINDOW])
                .zip(&self.window)
            {
                *o = x * w;
            }
            if self
                .fft
                .process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch)
                .is_ok()
            {
                for (p, c) in self.power.iter_mut().zip(&self.spectrum) {
                    *p += f64::from(c.norm_sqr());
                }
                self.windows += 1;
            }
            start += HOP;
        }
        self.pending.drain(..start);
    }

    /// The strongest frequency so far (Hz), or None before one whole window or in silence.
    /// DC and the bin next to it are left out.
    #[must_use]
    pub fn frequency(&self) -> Option<f64> {
        if self.windows == 0 {
            return None;
        }
        let (k, &peak) = self
            .power
            .iter()
            .enumerate()
            .skip(2)
            .max_by(|a, b| a.1.total_cmp(b.1))?;
        if peak <= 0.0 {
            return None;
        }
        let bin_hz = f64::from(self.rate) / WINDOW as f64;
        let offset = match (self.power.get(k - 1), self.power.get(k + 1)) {
            (Some(&a), Some(&c)) if a > 0.0 && c > 0.0 => {
                let (a, b, c) = (a.ln(), peak.ln(), c.ln());
                let d = a - 2.0 * b + c;
                if d < 0.0 {
                    (0.5 * (a - c) / d).clamp(-0.5, 0.5)
                } else {
                    0.0
                }
            }
            _ => 0.0,
        };
        Some((k as f64 + offset) * bin_hz)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, rate: u32, channels: usize, seconds: f64, amp: f32) -> Vec<f32> {
        let n = (seconds * f64::from(rate)) as usize;
        (0..n)
            .flat_map(|i| {
                let s = (std::f64::consts::TAU * freq * i as f64 / f64::from(rate)).sin() as f32;
                std::iter::repeat_n(s * amp, channels)
            })
            .collect()
    }

    #[test]
    fn a_steady_tone_is_found_within_half_a_hertz() {
        for (freq, rate, ch) in [
            (1000.0, 48_000, 2),
            (997.3, 44_100, 1),
            (60.0, 48_000, 8),
            (12_345.6, 96_000, 2),
        ] {
            let mut d = Dominant::new(ch, rate);
            // In uneven blocks, as callbacks deliver them.
            for block in tone(freq, rate, ch, 2.0, 0.1).chunks(ch * 937) {
                d.add(block);
            }
            let got = d.frequency().unwrap();
            assert!((got - freq).abs() < 0.5, "{freq} Hz at {rate}: {got}");
        }
    }

    #[test]
    fn the_louder_of_two_tones_wins_and_silence_has_none() {
        let rate = 48_000;
        let a = tone(440.0, rate, 1, 1.0, 0.05);
        let b = tone(3000.0, rate, 1, 1.0, 0.2);
        let mix: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        let mut d = Dominant::new(1, rate);
        d.add(&mix);
        assert!((d.frequency().unwrap() - 3000.0).abs() < 0.5);
        let mut quiet = Dominant::new(2, rate);
        quiet.add(&vec![0.0; 2 * 40_000]);
        assert_eq!(quiet.frequency(), None);
        let mut short = Dominant::new(2, rate);
        short.add(&tone(1000.0, rate, 2, 0.1, 0.1));
        assert_eq!(short.frequency(), None, "under one window");
    }
}
