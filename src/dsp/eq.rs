//! The EQ that runs on the audio thread: takes `EqParams` (latest value wins), smooths every change
//! and runs the cascade.
//!
//! Smoothing, so a dragged band is heard live without clicks or zipper noise:
//! - frequency, gain and Q glide over `RAMP_MS` in steps of `STEP` frames (log frequency, dB,
//!   log Q); every step designs a valid, stable filter, so no intermediate state can blow up;
//! - switching a band on/off or changing its type cross-fades the band's contribution
//!   (`y = x + m·(H(x) − x)`), because there is no continuous path between two filter types;
//! - preamp is a sample-accurate gain ramp; bypass cross-fades the whole EQ.
//!
//! Steps fall on a grid of absolute frame numbers, so the output does not depend on how the
//! stream is cut into blocks (`render` is bit-identical for any block size).

use super::biquad::{BandParams, Coeffs, Df2t};
use super::cascade::{cascade_channel, FastCascade, Kernel};
use super::eq_params::{EqParams, MAX_BANDS};
/// Per-channel filter state is kept for this many channels (the crate-wide limit).
pub use super::MAX_CHANNELS;

/// Frames between parameter steps while a band glides.
pub const STEP: u64 = 32;
/// Glide time of parameter changes.
pub const RAMP_MS: f64 = 20.0;

#[derive(Clone, Copy, Debug)]
struct Band {
    /// What the user asked for.
    target: BandParams,
    /// What is being heard (gliding towards `target`).
    ln_f: f64,
    gain: f64,
    ln_q: f64,
    kind: super::biquad::FilterKind,
    steps_left: u32,
    coeffs: Coeffs,
    /// Contribution of the band, 0 (dry) … 1 (fully filtered).
    mix: f64,
    mix_target: f64,
    state: [Df2t; MAX_CHANNELS],
}

impl Band {
    fn idle() -> Self {
        Band {
            target: BandParams {
                enabled: false,
                ..BandParams::default()
            },
            ln_f: 1000f64.ln(),
            gain: 0.0,
            ln_q: 0.0,
            kind: super::biquad::FilterKind::Peak,
            steps_left: 0,
            coeffs: Coeffs::IDENTITY,
            mix: 0.0,
            mix_target: 0.0,
            state: [Df2t::default(); MAX_CHANNELS],
        }
    }

    fn snap_to_target(&mut self, fs: f64) {
        self.ln_f = self.target.freq.ln();
        self.gain = self.target.gain_db;
        self.ln_q = self.target.q.ln();
        self.kind = self.target.kind;
        self.steps_left = 0;
        self.redesign(fs);
    }

    fn redesign(&mut self, fs: f64) {
        self.coeffs = Coeffs::design(self.kind, self.ln_f.exp(), self.gain, self.ln_q.exp(), fs);
    }

    fn is_audible(&self) -> bool {
        self.mix > 0.0 || self.mix_target > 0.0
    }

    fn is_moving(&self) -> bool {
        self.steps_left > 0
            || self.mix != self.mix_target
            || (self.target.enabled && self.kind != self.target.kind)
    }
}

pub struct Equalizer {
    fs: f64,
    /// The stream's channel count: the stride of every buffer `process` sees (never clamped).
    channels: usize,
    /// False for a stream wider than `MAX_CHANNELS`: it passes through unfiltered (see `new`).
    active: bool,
    /// Most frames processed in one run: what `dry` holds per channel.
    max_frames: usize,
    kernel: Kernel,
    bands: Box<[Band; MAX_BANDS]>,
    params: EqParams,
    ramp_steps: u32,
    /// Per-frame increment of a band's mix (reaches 0↔1 in one ramp).
    mix_step: f64,
    preamp: f64,
    preamp_target: f64,
    preamp_step: f64,
    /// 1 = EQ in, 0 = bypassed.
    wet: f64,
    wet_target: f64,
    /// Absolute frame counter: parameter steps happen when it crosses a multiple of `STEP`.
    clock: u64,
    /// The unfiltered input of the current run during a bypass cross-fade:
    /// `max_frames × channels` samples.
    dry: Box<[f32]>,
    /// The fully-on bands in the gain-factored fast kernel. While `fast_valid`, their state lives
    /// there and the bands' own `state` is stale; `sync_states` writes it back.
    fast: Box<FastCascade>,
    fast_valid: bool,
    fast_index: [u8; MAX_BANDS],
    fast_n: usize,
    pick_coeffs: [Coeffs; MAX_BANDS],
    pick_index: [u8; MAX_BANDS],
}

impl Equalizer {
    /// `channels`: the stream's channel count, 1 ..= `MAX_CHANNELS` (0 is taken as 1); every
    /// channel is filtered independently with its own state.
    ///
    /// A stream wider than `MAX_CHANNELS` is not supported and must be rejected before it gets
    /// here (`crate::dsp::too_many_channels`). Should one arrive anyway, the EQ (preamp included)
    /// passes it through unchanged — never a wrong stride, never a panic — and `is_active` is
    /// false.
    ///
    /// `max_block_frames`: the largest block `process` is expected to see; it sizes the bypass
    /// cross-fade buffer (`max_block_frames × channels` samples). Larger blocks are still fine:
    /// they are processed in runs of at most that many frames.
    #[must_use]
    pub fn new(params: &EqParams, fs: u32, channels: usize, max_block_frames: usize) -> Self {
        let fs = f64::from(fs.max(1));
        let channels = channels.max(1);
        let active = channels <= MAX_CHANNELS;
        // At least one parameter step: a cross-fade run is never cut below that.
        let max_frames = max_block_frames.max(STEP as usize);
        let ramp_frames = (RAMP_MS * 1e-3 * fs).max(1.0);
        let mut eq = Equalizer {
            fs,
            channels,
            active,
            max_frames,
            kernel: Kernel::detect(),
            bands: Box::new([Band::idle(); MAX_BANDS]),
            params: EqParams::default(),
            ramp_steps: (ramp_frames / STEP as f64).ceil().max(1.0) as u32,
            mix_step: 1.0 / ramp_frames,
            preamp: 1.0,
            preamp_target: 1.0,
            preamp_step: 0.0,
            wet: 1.0,
            wet_target: 1.0,
            clock: 0,
            dry: vec![0.0; if active { max_frames * channels } else { 0 }].into_boxed_slice(),
            fast: Box::default(),
            fast_valid: false,
            fast_index: [0; MAX_BANDS],
            fast_n: 0,
            pick_coeffs: [Coeffs::IDENTITY; MAX_BANDS],
            pick_index: [0; MAX_BANDS],
        };
        eq.set_params(params);
        eq.settle();
        eq
    }

    /// False when the stream is wider than `MAX_CHANNELS` and passes through unfiltered.
    #[must_use]
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// The stream's channel count (the interleaving stride of `process`).
    #[must_use]
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Use a specific kernel (benches and tests compare them; `Kernel::available()` lists the
    /// ones this CPU runs). Safe for any `kernel`: a `Kernel` is unforgeable and only exists for
    /// a CPU that runs it (see `cascade::Kernel`).
    pub fn set_kernel(&mut self, kernel: Kernel) {
        self.kernel = kernel;
    }

    #[must_use]
    pub fn params(&self) -> &EqParams {
        &self.params
    }

    /// New target parameters. Cheap when nothing changed; never allocates.
    pub fn set_params(&mut self, p: &EqParams) {
        if *p == self.params {
            return;
        }
        self.params = *p;
        for i in 0..MAX_BANDS {
            let want = if i < p.len() {
                p.bands()[i]
            } else {
                BandParams {
                    enabled: false,
                    ..self.bands[i].target
                }
            };
            let b = &mut self.bands[i];
            if want == b.target {
                continue;
            }
            let was_on = b.target.enabled;
            b.target = want;
            if !want.enabled {
                b.mix_target = 0.0;
            } else if !b.is_audible() || !was_on && b.mix == 0.0 {
                // Coming in from silence: start at the new settings, fade the band in.
                b.snap_to_target(self.fs);
                b.state = [Df2t::default(); MAX_CHANNELS];
                b.mix_target = 1.0;
            } else if want.kind != b.kind {
                // No glide between families: fade out, swap (in `step`), fade back in.
                b.mix_target = 0.0;
            } else {
                b.mix_target = 1.0;
                b.steps_left = self.ramp_steps;
            }
        }
        let pre = 10f64.powf(p.preamp_db / 20.0);
        if pre != self.preamp_target {
            self.preamp_target = pre;
            self.preamp_step = (pre - self.preamp) * self.mix_step;
        }
        self.wet_target = if p.bypass { 0.0 } else { 1.0 };
    }

    /// Jump to the targets with no ramp (initial state, offline renders).
    pub fn settle(&mut self) {
        for b in self.bands.iter_mut() {
            if b.target.enabled {
                b.snap_to_target(self.fs);
                b.mix = 1.0;
                b.mix_target = 1.0;
            } else {
                b.mix = 0.0;
                b.mix_target = 0.0;
            }
        }
        self.preamp = self.preamp_target;
        self.wet = self.wet_target;
    }

    /// Forget the filter history (after a seek or track change the old tail must not ring on).
    pub fn reset_state(&mut self) {
        self.fast_valid = false;
        for b in self.bands.iter_mut() {
            b.state = [Df2t::default(); MAX_CHANNELS];
        }
    }

    /// Latency-free, so the response is what `EqParams::response_db` says once settled.
    #[must_use]
    pub fn is_settled(&self) -> bool {
        self.preamp == self.preamp_target
            && self.wet == self.wet_target
            && !self.bands.iter().any(Band::is_moving)
    }

    /// Filter interleaved `buf` (`channels` samples per frame) in place.
    pub fn process(&mut self, buf: &mut [f32]) {
        if !self.active {
            return; // wider than MAX_CHANNELS: passed through unchanged (see `new`)
        }
        let ch = self.channels;
        let mut rest = buf;
        while !rest.is_empty() {
            let frames = rest.len() / ch;
            if frames == 0 {
                break;
            }
            // Run to the next step boundary while anything moves, else to the end; never more
            // than `dry` holds (the output does not depend on where runs are cut).
            let moving = !self.is_settled();
            let n = if moving {
                ((STEP - self.clock % STEP) as usize).min(frames)
            } else {
                frames
            };
            let n = n.min(self.max_frames);
            let (head, tail) = rest.split_at_mut(n * ch);
            if moving && self.clock % STEP == 0 {
                self.step();
            }
            self.process_run(head);
            self.clock += n as u64;
            rest = tail;
        }
    }

    /// Write the fast kernel's state back to the bands (before anything else touches them).
    fn sync_states(&mut self) {
        if !self.fast_valid {
            return;
        }
        self.fast_valid = false;
        let mut st = [[Df2t::default(); 2]; MAX_BANDS];
        self.fast.store(&mut st[..self.fast_n]);
        for k in 0..self.fast_n {
            let b = &mut self.bands[usize::from(self.fast_index[k])];
            b.state[0] = st[k][0];
            b.state[1] = st[k][1];
        }
    }

    /// One parameter step: glide the moving bands and redesign them.
    fn step(&mut self) {
        for b in self.bands.iter_mut() {
            if b.mix == 0.0 && b.mix_target == 0.0 && b.target.enabled && b.kind != b.target.kind {
                // Faded out for a type change: swap and fade back in.
                b.snap_to_target(self.fs);
                b.state = [Df2t::default(); MAX_CHANNELS];
                b.mix_target = 1.0;
                continue;
            }
            if b.steps_left > 0 {
                let t = 1.0 / f64::from(b.steps_left);
                b.ln_f += (b.target.freq.ln() - b.ln_f) * t;
                b.gain += (b.target.gain_db - b.gain) * t;
                b.ln_q += (b.target.q.ln() - b.ln_q) * t;
                b.steps_left -= 1;
                if b.steps_left == 0 {
                    b.snap_to_target(self.fs);
                } else {
                    b.redesign(self.fs);
                }
            }
        }
    }

    fn process_run(&mut self, buf: &mut [f32]) {
        let ch = self.channels;
        if self.wet == 0.0 && self.wet_target == 0.0 {
            return; // bypassed: the states were reset when the bypass completed
        }
        let crossfade = self.wet != 1.0 || self.wet_target != 1.0;
        if crossfade {
            self.dry[..buf.len()].copy_from_slice(buf);
        }
        self.apply_preamp(buf);
        // Bands fully in and not fading take the fast path; fading bands the mixing path.
        let all_plain = self
            .bands
            .iter()
            .all(|b| !b.is_audible() || (b.mix == 1.0 && b.mix_target == 1.0));
        if all_plain && ch == 2 {
            let mut n = 0;
            for (i, b) in self.bands.iter().enumerate() {
                if b.is_audible() {
                    self.pick_coeffs[n] = b.coeffs;
                    self.pick_index[n] = i as u8;
                    n += 1;
                }
            }
            let same = self.fast_valid
                && n == self.fast_n
                && self.pick_index[..n] == self.fast_index[..n]
                && self.fast.holds(&self.pick_coeffs[..n]);
            if !same {
                self.sync_states();
                let mut st = [[Df2t::default(); 2]; MAX_BANDS];
                for k in 0..n {
                    let b = &self.bands[usize::from(self.pick_index[k])];
                    st[k] = [b.state[0], b.state[1]];
                }
                self.fast.load(&self.pick_coeffs[..n], &st[..n]);
                self.fast_index = self.pick_index;
                self.fast_n = n;
                self.fast_valid = true;
            }
            self.fast.process(self.kernel, buf);
        } else if all_plain {
            self.sync_states();
            for c in 0..ch {
                for b in self.bands.iter_mut().filter(|b| b.is_audible()) {
                    cascade_channel(
                        std::slice::from_ref(&b.coeffs),
                        &mut b.state[c..=c],
                        buf,
                        ch,
                        c,
                    );
                }
            }
        } else {
            self.sync_states();
            let mix_step = self.mix_step;
            for b in self.bands.iter_mut().filter(|b| b.is_audible()) {
                let m0 = b.mix;
                for c in 0..ch {
                    let mut m = m0;
                    let st = &mut b.state[c];
                    for frame in buf.chunks_exact_mut(ch) {
                        m = approach(m, b.mix_target, mix_step);
                        let x = f64::from(frame[c]);
                        let y = st.tick(&b.coeffs, x);
                        frame[c] = (x + m * (y - x)) as f32;
                    }
                    b.mix = m;
                }
                if b.mix == 0.0 && b.mix_target == 0.0 {
                    b.state = [Df2t::default(); MAX_CHANNELS];
                }
            }
        }
        if crossfade {
            let mut w = self.wet;
            for (frame, dry) in buf.chunks_exact_mut(ch).zip(self.dry.chunks_exact(ch)) {
                w = approach(w, self.wet_target, self.mix_step);
                for (s, d) in frame.iter_mut().zip(dry) {
                    *s = (f64::from(*d) + w * (f64::from(*s) - f64::from(*d))) as f32;
                }
            }
            self.wet = w;
            if w == 0.0 {
                self.reset_state();
            }
        }
    }

    fn apply_preamp(&mut self, buf: &mut [f32]) {
        if self.preamp == self.preamp_target {
            let g = self.preamp as f32;
            if g != 1.0 {
                crate::dsp::simd::gain(buf, g);
            }
            return;
        }
        for frame in buf.chunks_exact_mut(self.channels) {
            let next = self.preamp + self.preamp_step;
            self.preamp = if (self.preamp_step > 0.0 && next >= self.preamp_target)
                || (self.preamp_step < 0.0 && next <= self.preamp_target)
                || self.preamp_step == 0.0
            {
                self.preamp_target
            } else {
                next
            };
            let g = self.preamp as f32;
            for s in frame.iter_mut() {
                *s *= g;
            }
        }
    }
}

/// Move `v` towards `target` by at most `step`, landing exactly.
#[inline]
fn approach(v: f64, target: f64, step: f64) -> f64 {
    if v < target {
        (v + step).min(target)
    } else if v > target {
        (v - step).max(target)
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::biquad::FilterKind;

    fn sine(f: f64, n: usize, ch: usize) -> Vec<f32> {
        (0..n)
            .flat_map(|i| {
                std::iter::repeat_n(
                    (0.5 * (2.0 * std::f64::consts::PI * f * i as f64 / 48_000.0).sin()) as f32,
                    ch,
                )
            })
            .collect()
    }

    fn peak_db(x: &[f32]) -> f64 {
        20.0 * f64::from(x.iter().fold(0.0f32, |m, v| m.max(v.abs()))).log10()
    }

    #[test]
    fn settled_gain_matches_the_response_for_any_channel_count() {
        let p = EqParams::from_bands(&[BandParams::new(FilterKind::Peak, 1000.0, 6.0, 1.0)], -1.0)
            .unwrap();
        for ch in [1, 2, 3, 6] {
            let mut eq = Equalizer::new(&p, 48_000, ch, 512);
            let mut x = sine(1000.0, 48_000, ch);
            for c in x.chunks_mut(512 * ch) {
                eq.process(c);
            }
            let tail = &x[x.len() / 2..];
            assert!(
                (peak_db(tail) - (20.0 * 0.5f64.log10() + 5.0)).abs() < 0.01,
                "{ch} channels: {}",
                peak_db(tail)
            );
        }
    }

    #[test]
    fn changes_glide_and_land_and_disabling_fades_out() {
        let mut p =
            EqParams::from_bands(&[BandParams::new(FilterKind::Peak, 1000.0, 0.0, 1.0)], 0.0)
                .unwrap();
        let mut eq = Equalizer::new(&p, 48_000, 2, 512);
        p.set(0, BandParams::new(FilterKind::Peak, 1000.0, 12.0, 1.0));
        eq.set_params(&p);
        assert!(!eq.is_settled());
        let mut x = sine(1000.0, 48_000, 2);
        for c in x.chunks_mut(1024) {
            eq.process(c);
        }
        assert!(eq.is_settled());
        assert!((peak_db(&x[48_000..]) - (20.0 * 0.5f64.log10() + 12.0)).abs() < 0.01);
        let mut b = p.bands()[0];
        b.enabled = false;
        p.set(0, b);
        eq.set_params(&p);
        let mut y = sine(1000.0, 48_000, 2);
        eq.process(&mut y);
        assert!(eq.is_settled());
        assert!((peak_db(&y[48_000..]) - 20.0 * 0.5f64.log10()).abs() < 0.001);
    }

    #[test]
    fn type_change_fades_through_and_lands_on_the_new_type() {
        let mut p = EqParams::from_bands(
            &[BandParams::new(FilterKind::Peak, 1000.0, -12.0, 1.0)],
            0.0,
        )
        .unwrap();
        let mut eq = Equalizer::new(&p, 48_000, 2, 4096);
        p.set(0, BandParams::new(FilterKind::Notch, 1000.0, 0.0, 1.0));
        eq.set_params(&p);
        let mut x = sine(1000.0, 48_000, 2);
        for c in x.chunks_mut(4096) {
            eq.process(c);
        }
        assert!(eq.is_settled());
        assert!(peak_db(&x[48_000..]) < -60.0, "{}", peak_db(&x[48_000..]));
    }

    #[test]
    fn bypass_crossfades_to_dry() {
        let mut p =
            EqParams::from_bands(&[BandParams::new(FilterKind::Peak, 1000.0, 6.0, 1.0)], 3.0)
                .unwrap();
        let mut eq = Equalizer::new(&p, 48_000, 2, 512);
        p.bypass = true;
        eq.set_params(&p);
        let dry = sine(1000.0, 24_000, 2);
        let mut x = dry.clone();
        for c in x.chunks_mut(1024) {
            eq.process(c);
        }
        assert_eq!(&x[24_000..], &dry[24_000..]);
    }

    use crate::dsp::test_tone as tone;

    /// Issue 11: 16 channels (twice the old limit of 8) in 4096-frame blocks while the bypass
    /// cross-fades out and back in, a band glides and another changes type. Nothing may panic,
    /// and every channel must come out as the same signal through a mono EQ (right stride,
    /// independent state).
    #[test]
    fn sixteen_channels_match_mono_through_bypass_crossfades_and_glides() {
        const CH: usize = 16;
        const BLOCK: usize = 4096;
        let mut p = EqParams::from_bands(
            &[
                BandParams::new(FilterKind::Peak, 1000.0, 6.0, 1.0),
                BandParams::new(FilterKind::HighShelf, 8000.0, -4.0, 0.7),
            ],
            -2.0,
        )
        .unwrap();
        let mut multi = Equalizer::new(&p, 48_000, CH, BLOCK);
        assert!(multi.is_active());
        assert_eq!(multi.channels(), CH);
        let mut mono: Vec<Equalizer> = (0..CH)
            .map(|_| Equalizer::new(&p, 48_000, 1, BLOCK))
            .collect();
        for block in 0..6 {
            match block {
                // Bypass on: the whole EQ cross-fades to dry inside this block.
                1 => p.bypass = true,
                // Bypass off again while band 0 glides to new settings.
                3 => {
                    p.bypass = false;
                    p.set(0, BandParams::new(FilterKind::Peak, 2000.0, -3.0, 2.0));
                }
                // A type change: band 1 fades out and back in (the mixing path).
                4 => p.set(1, BandParams::new(FilterKind::LowShelf, 100.0, 3.0, 0.7)),
                _ => {}
            }
            multi.set_params(&p);
            for m in &mut mono {
                m.set_params(&p);
            }
            if block == 1 || block == 3 {
                assert!(
                    !multi.is_settled(),
                    "block {block}: the cross-fade must run"
                );
            }
            let start = block * BLOCK;
            let input: Vec<f32> = (0..BLOCK)
                .flat_map(|i| (0..CH).map(move |c| tone(c, start + i)))
                .collect();
            let mut buf = input.clone();
            multi.process(&mut buf);
            if block == 2 {
                assert_eq!(buf, input, "fully bypassed: the input unchanged");
            }
            for (c, m) in mono.iter_mut().enumerate() {
                let mut want: Vec<f32> = (0..BLOCK).map(|i| tone(c, start + i)).collect();
                m.process(&mut want);
                let err = buf
                    .iter()
                    .skip(c)
                    .step_by(CH)
                    .zip(&want)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(
                    err <= 1e-6,
                    "block {block}, channel {c}: differs from mono by {err}"
                );
            }
        }
        assert!(multi.is_settled());
    }

    /// 32 channels, the new limit: the last channel is filtered like a mono stream.
    #[test]
    fn thirty_two_channels_filter_the_last_channel_too() {
        const CH: usize = MAX_CHANNELS;
        let p = EqParams::from_bands(&[BandParams::new(FilterKind::Peak, 1000.0, 6.0, 1.0)], 0.0)
            .unwrap();
        let mut multi = Equalizer::new(&p, 48_000, CH, 4096);
        let mut mono = Equalizer::new(&p, 48_000, 1, 4096);
        let mut buf: Vec<f32> = (0..4096)
            .flat_map(|i| (0..CH).map(move |c| tone(c % 16, i)))
            .collect();
        let mut want: Vec<f32> = (0..4096).map(|i| tone((CH - 1) % 16, i)).collect();
        multi.process(&mut buf);
        mono.process(&mut want);
        let got: Vec<f32> = buf.iter().skip(CH - 1).step_by(CH).copied().collect();
        assert_eq!(got, want);
    }

    /// Blocks larger than `max_block_frames` during a bypass cross-fade: processed in pieces,
    /// with the same output as an EQ sized for the whole block.
    #[test]
    fn blocks_larger_than_announced_are_processed_in_pieces() {
        const CH: usize = 16;
        let mut p =
            EqParams::from_bands(&[BandParams::new(FilterKind::Peak, 1000.0, 6.0, 1.0)], 1.0)
                .unwrap();
        let mut small = Equalizer::new(&p, 48_000, CH, 64);
        let mut big = Equalizer::new(&p, 48_000, CH, 4096);
        for bypass in [true, false, true] {
            p.bypass = bypass;
            small.set_params(&p);
            big.set_params(&p);
            let input: Vec<f32> = (0..4096)
                .flat_map(|i| (0..CH).map(move |c| tone(c, i)))
                .collect();
            let mut a = input.clone();
            let mut b = input;
            small.process(&mut a);
            big.process(&mut b);
            assert_eq!(a, b, "bypass {bypass}");
        }
    }

    /// Wider than `MAX_CHANNELS`: explicitly unsupported, passed through unchanged (no wrong
    /// stride, no panic), even while the bypass cross-fades.
    #[test]
    fn wider_than_the_limit_passes_through_unchanged() {
        const CH: usize = MAX_CHANNELS + 8;
        let mut p =
            EqParams::from_bands(&[BandParams::new(FilterKind::Peak, 1000.0, 6.0, 1.0)], 3.0)
                .unwrap();
        let mut eq = Equalizer::new(&p, 48_000, CH, 4096);
        assert!(!eq.is_active());
        let input: Vec<f32> = (0..4096)
            .flat_map(|i| (0..CH).map(move |c| tone(c % 16, i)))
            .collect();
        for bypass in [false, true, false] {
            p.bypass = bypass;
            eq.set_params(&p);
            let mut x = input.clone();
            eq.process(&mut x);
            assert_eq!(x, input);
        }
    }
}
