//! Lookahead peak limiter with a hard guarantee: the output never exceeds the ceiling.
//!
//! Per frame the gain that would keep the frame under the ceiling is `g = min(1, c / max|x|)`.
//! The applied gain is a moving average over W frames of `r`, where `r` is the sliding minimum of
//! `g` over the same W frames followed by a release glide that only ever moves up slowly
//! (`r ≤ min g`). The signal is delayed by W − 1 frames. Every one of the W minima that enter the
//! average for a delayed frame covers that frame, so each is ≤ its `g`, and so is their mean:
//! the frame cannot exceed the ceiling, and the gain ramps down linearly over W frames (no click)
//! before a peak arrives. A final clamp only catches floating-point rounding.
//!
//! Idle fast path: while nothing in the window needs limiting, a block costs one SIMD peak scan
//! and a copy through the delay line.

/// Lookahead (and latency): 1.5 ms — short enough to be inaudible as delay, long enough for a
/// smooth attack.
pub const LOOKAHEAD_MS: f64 = 1.5;
pub const RELEASE_MS: f64 = 80.0;
pub const DEFAULT_CEILING_DBFS: f64 = -0.3;
/// Frames per pass of the gain computation.
const CHUNK: usize = 512;

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LimiterParams {
    pub enabled: bool,
    pub ceiling_dbfs: f64,
}

impl Default for LimiterParams {
    fn default() -> Self {
        Self {
            enabled: true,
            ceiling_dbfs: DEFAULT_CEILING_DBFS,
        }
    }
}

/// Frames in the lookahead window at `fs`; the limiter delays by one less.
#[must_use]
pub fn lookahead_window(fs: f64) -> usize {
    ((LOOKAHEAD_MS * 1e-3 * fs).round() as usize).max(2)
}

pub struct Limiter {
    channels: usize,
    window: usize,
    ceiling: f32,
    release: f64,
    /// Delay line, `window - 1` frames, interleaved, circular at `pos`.
    delay: Box<[f32]>,
    pos: usize,
    /// Sliding minimum of g, block-wise (van Herk / Gil-Werman: three branch-free passes, no
    /// data-dependent branches — the monotonic deque it replaced spent most of its time in
    /// mispredicted branches). `ext` = the last `window − 1` g values followed by this chunk's.
    ext: Box<[f64]>,
    pre: Box<[f64]>,
    suf: Box<[f64]>,
    gains: Box<[f32]>,
    /// Last `window` values of r, circular, and their sum.
    rs: Box<[f64]>,
    rs_pos: usize,
    rs_sum: f64,
    r: f64,
    /// Frames in a row with g = 1 and r = 1: at ≥ window the state is all ones (idle).
    calm: usize,
    /// Lowest gain applied since `take_min_gain` (for the UI's gain-reduction meter).
    min_gain: f32,
    block_save: Box<[f32]>,
    /// Output frames for which the final clamp still holds `prev_ceiling` (see `set_params`).
    clamp_hold: usize,
    prev_ceiling: f32,
}

impl Limiter {
    #[must_use]
    pub fn new(params: LimiterParams, fs: u32, channels: usize) -> Self {
        let fs = f64::from(fs.max(1));
        let window = lookahead_window(fs);
        let channels = channels.max(1);
        let mut l = Limiter {
            channels,
            window,
            ceiling: 1.0,
            release: 1.0 - (-1.0 / (RELEASE_MS * 1e-3 * fs)).exp(),
            delay: vec![0.0; (window - 1) * channels].into_boxed_slice(),
            pos: 0,
            ext: vec![1.0; window - 1 + CHUNK].into_boxed_slice(),
            pre: vec![1.0; window - 1 + CHUNK].into_boxed_slice(),
            suf: vec![1.0; window - 1 + CHUNK].into_boxed_slice(),
            gains: vec![1.0; CHUNK].into_boxed_slice(),
            rs: vec![1.0; window].into_boxed_slice(),
            rs_pos: 0,
            rs_sum: window as f64,
            r: 1.0,
            calm: window,
            min_gain: 1.0,
            block_save: vec![0.0; (window - 1) * channels].into_boxed_slice(),
            clamp_hold: 0,
            prev_ceiling: 1.0,
        };
        l.set_params(params);
        l.clamp_hold = 0; // nothing is delayed yet
        l
    }

    /// Frames of delay the limiter adds.
    #[must_use]
    pub fn latency(&self) -> usize {
        self.window - 1
    }

    /// A new ceiling applies to frames from now on; the frames already in the lookahead were given
    /// their gain for the old one, so for the next `window − 1` output frames the final clamp holds
    /// the higher of the two. The change therefore glides in over the lookahead (the gain ramps
    /// as for any peak) instead of hard-clipping what is already delayed.
    pub fn set_params(&mut self, p: LimiterParams) {
        let new = if p.enabled && p.ceiling_dbfs.is_finite() {
            10f64.powf(p.ceiling_dbfs.clamp(-60.0, 0.0) / 20.0) as f32
        } else {
            f32::MAX
        };
        if new != self.ceiling {
            // Frames delayed while the limiter was off (ceiling f32::MAX) are held at full
            // scale rather than not at all.
            let held = if self.clamp_hold > 0 {
                self.prev_ceiling.max(self.ceiling)
            } else {
                self.ceiling
            }
            .min(1.0);
            self.prev_ceiling = held;
            self.clamp_hold = self.window - 1;
            self.ceiling = new;
        }
    }

    /// Lowest gain applied since the last call (1.0 = no limiting), then reset.
    pub fn take_min_gain(&mut self) -> f32 {
        std::mem::replace(&mut self.min_gain, 1.0)
    }

    /// Clear the delay line and gain state (after a seek or stop).
    pub fn reset(&mut self) {
        self.delay.fill(0.0);
        self.pos = 0;
        self.ext.fill(1.0);
        self.rs.fill(1.0);
        self.rs_sum = self.window as f64;
        self.r = 1.0;
        self.calm = self.window;
    }

    pub fn process(&mut self, buf: &mut [f32]) {
        let ch = self.channels;
        if self.calm >= self.window {
            let mut peaks = [0.0f32; 8];
            let peak = if ch <= 8 {
                crate::dsp::simd::peak(buf, &mut peaks[..ch]);
                peaks[..ch].iter().fold(0.0f32, |a, &b| a.max(b))
            } else {
                buf.iter().fold(0.0f32, |a, b| a.max(b.abs()))
            };
            if peak <= self.ceiling {
                self.clamp_hold = self.clamp_hold.saturating_sub(buf.len() / ch);
                // All gains in the window are 1: the g and r histories are trivially so.
                self.ext[..self.window - 1].fill(1.0);
                self.rs_sum = self.window as f64;
                self.delay_block(buf);
                return;
            }
        }
        for chunk in buf.chunks_mut(CHUNK * ch) {
            self.process_chunk(chunk);
        }
    }

    /// Idle path: pure delay by `window - 1` frames, done with block copies.
    fn delay_block(&mut self, buf: &mut [f32]) {
        let d = self.delay.len(); // ≥ 1 frame: the window is at least 2
                                  // Linearise the ring so its oldest frame is first.
        self.delay.rotate_left(self.pos * self.channels);
        self.pos = 0;
        let n = buf.len();
        if n >= d {
            self.block_save.copy_from_slice(&buf[n - d..]);
            buf.copy_within(0..n - d, d);
            buf[..d].copy_from_slice(&self.delay);
            self.delay.copy_from_slice(&self.block_save);
        } else {
            // Output = oldest n of the ring; ring = its newest (d - n) followed by the input.
            self.block_save[..n].copy_from_slice(buf);
            buf.copy_from_slice(&self.delay[..n]);
            self.delay.copy_within(n.., 0);
            self.delay[d - n..].copy_from_slice(&self.block_save[..n]);
        }
    }

    /// Gain computation and delay for ≤ CHUNK frames.
    fn process_chunk(&mut self, buf: &mut [f32]) {
        let ch = self.channels;
        let n = buf.len() / ch;
        let w = self.window;
        let h = w - 1;
        let c = self.ceiling;
        // 1. Required gain per frame.
        for (e, frame) in self.ext[h..h + n].iter_mut().zip(buf.chunks_exact(ch)) {
            let peak = frame.iter().fold(0.0f32, |a, s| a.max(s.abs()));
            *e = if peak > c {
                f64::from(c) / f64::from(peak)
            } else {
                1.0
            };
        }
        // 2. Sliding minimum over windows ext[i..i + w], i < n: prefix minima within segments of
        //    w (from the start of ext) and suffix minima, then one min per window.
        let len = h + n;
        let e = &self.ext[..len];
        for start in (0..len).step_by(w) {
            let end = (start + w).min(len);
            let mut acc = f64::INFINITY;
            for j in start..end {
                acc = acc.min(e[j]);
                self.pre[j] = acc;
            }
            let mut acc = f64::INFINITY;
            for j in (start..end).rev() {
                acc = acc.min(e[j]);
                self.suf[j] = acc;
            }
        }
        // 3. Release glide and the moving average, frame by frame (the only serial part; kept in
        //    locals so the recursions stay in registers).
        let mut calm = self.calm;
        let mut min_gain = self.min_gain;
        let (mut r, mut sum, mut pos) = (self.r, self.rs_sum, self.rs_pos);
        let release = self.release;
        let inv_w = 1.0 / w as f64;
        let rs = &mut self.rs[..w];
        for i in 0..n {
            let m = self.suf[i].min(self.pre[i + h]);
            let glide = (r + (m - r) * release).min(m);
            r = if m < r { m } else { glide };
            // Snap the last ulp so the idle state is reachable exactly.
            if m == 1.0 && r > 1.0 - 1e-9 {
                r = 1.0;
            }
            sum += r - rs[pos];
            rs[pos] = r;
            pos += 1;
            if pos == w {
                pos = 0;
                sum = rs.iter().sum(); // no drift over hours
            }
            let gain = (sum * inv_w).min(1.0) as f32;
            self.gains[i] = gain;
            min_gain = min_gain.min(gain);
            calm = if e[h + i] == 1.0 && r == 1.0 {
                calm + 1
            } else {
                0
            };
        }
        self.r = r;
        self.rs_sum = sum;
        self.rs_pos = pos;
        self.calm = calm;
        self.min_gain = min_gain;
        // Keep the last h values of g for the next chunk.
        self.ext.copy_within(n..n + h, 0);
        // 4. Delay line and output.
        for (frame, &gain) in buf.chunks_exact_mut(ch).zip(self.gains.iter()) {
            let c = if self.clamp_hold > 0 {
                self.clamp_hold -= 1;
                c.max(self.prev_ceiling)
            } else {
                c
            };
            let slot = &mut self.delay[self.pos * ch..(self.pos + 1) * ch];
            for (s, d) in frame.iter_mut().zip(slot.iter_mut()) {
                let delayed = *d;
                *d = *s;
                *s = (delayed * gain).clamp(-c, c);
            }
            self.pos += 1;
            if self.pos == h {
                self.pos = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lowering the ceiling while a loud signal plays: what is already in the lookahead is not
    /// hard-clipped at the new ceiling (before: a run of samples flat at exactly the new ceiling
    /// right after the change); the new ceiling holds from one lookahead on.
    #[test]
    fn a_lower_ceiling_glides_in_instead_of_clipping_the_lookahead() {
        let fs = 48_000;
        let mut l = Limiter::new(
            LimiterParams {
                enabled: true,
                ceiling_dbfs: -1.0,
            },
            fs,
            1,
        );
        let h = l.latency();
        let sine: Vec<f32> = (0..fs as usize)
            .map(|i| 0.79 * (i as f32 * 2.0 * std::f32::consts::PI * 1000.0 / fs as f32).sin())
            .collect();
        let (mut a, mut b) = (sine[..24_000].to_vec(), sine[24_000..].to_vec());
        run(&mut l, &mut a, 480);
        let new = 10f32.powf(-6.0 / 20.0);
        l.set_params(LimiterParams {
            enabled: true,
            ceiling_dbfs: -6.0,
        });
        run(&mut l, &mut b, 480);
        let flat = b[..h]
            .iter()
            .filter(|x| (x.abs() - new).abs() < 1e-6)
            .count();
        assert!(flat <= 2, "{flat} samples clamped flat at the new ceiling");
        assert!(
            b[h..].iter().all(|x| x.abs() <= new * (1.0 + 1e-6)),
            "the new ceiling holds after one lookahead"
        );
    }

    fn run(l: &mut Limiter, x: &mut [f32], block: usize) {
        for c in x.chunks_mut(block) {
            l.process(c);
        }
    }

    #[test]
    fn never_exceeds_the_ceiling_and_is_block_size_independent() {
        let p = LimiterParams {
            enabled: true,
            ceiling_dbfs: -1.0,
        };
        let ceil = 10f32.powf(-1.0 / 20.0);
        // Loud sine with bursts and single-sample spikes.
        let mut x: Vec<f32> = (0..2 * 48_000)
            .map(|i| {
                let t = (i / 2) as f32;
                let burst = if (t as usize / 4000) % 2 == 0 {
                    2.5
                } else {
                    0.5
                };
                burst * (t * 0.05).sin() + if i % 7919 == 0 { 3.0 } else { 0.0 }
            })
            .collect();
        let input = x.clone();
        let mut a = Limiter::new(p, 48_000, 2);
        run(&mut a, &mut x, 2 * 512);
        assert!(
            x.iter().all(|s| s.abs() <= ceil),
            "max {}",
            x.iter().fold(0.0f32, |m, s| m.max(s.abs()))
        );
        for block in [2, 2 * 64, 2 * 4096] {
            let mut y = input.clone();
            let mut b = Limiter::new(p, 48_000, 2);
            run(&mut b, &mut y, block);
            assert_eq!(x, y, "block {block}");
        }
    }

    #[test]
    fn quiet_audio_passes_delayed_and_untouched() {
        let mut l = Limiter::new(LimiterParams::default(), 48_000, 2);
        let d = l.latency();
        assert_eq!(d, 71);
        let x: Vec<f32> = (0..2 * 2000)
            .map(|i| 0.5 * ((i / 2) as f32 * 0.01).sin())
            .collect();
        let mut y = x.clone();
        run(&mut y, &mut l, 2 * 100);
        assert_eq!(&y[2 * d..], &x[..x.len() - 2 * d]);
        assert!(y[..2 * d].iter().all(|&s| s == 0.0));
        assert_eq!(l.take_min_gain(), 1.0);

        fn run(y: &mut [f32], l: &mut Limiter, block: usize) {
            for c in y.chunks_mut(block) {
                l.process(c);
            }
        }
    }

    #[test]
    fn gain_ramps_before_a_peak_and_recovers() {
        let mut l = Limiter::new(
            LimiterParams {
                enabled: true,
                ceiling_dbfs: -6.0,
            },
            48_000,
            1,
        );
        let mut x = vec![0.1f32; 48_000];
        x[10_000] = 1.0;
        l.process(&mut x);
        let d = l.latency();
        let half = 10f32.powf(-6.0 / 20.0);
        assert!((x[10_000 + d] - half).abs() < 1e-6);
        // Linear attack: the gain falls over the lookahead, no step bigger than 1/window.
        let steps: Vec<f32> = (10_000..10_000 + d - 1).map(|i| x[i] - x[i + 1]).collect();
        assert!(
            steps
                .iter()
                .all(|s| *s >= -1e-7 && *s < 0.1 * 0.6 / d as f32 + 1e-6),
            "{steps:?}"
        );
        // Released after a few hundred ms.
        assert!((x[47_999] - 0.1).abs() < 1e-4);
        assert!((l.take_min_gain() - half).abs() < 1e-6);
    }

    #[test]
    fn disabled_is_a_pure_delay() {
        let mut l = Limiter::new(
            LimiterParams {
                enabled: false,
                ceiling_dbfs: -1.0,
            },
            44_100,
            2,
        );
        let x: Vec<f32> = (0..2000)
            .map(|i| 4.0 * ((i / 2) as f32 * 0.02).sin())
            .collect();
        let mut y = x.clone();
        l.process(&mut y);
        let d = 2 * l.latency();
        assert_eq!(&y[d..], &x[..x.len() - d]);
    }
}
