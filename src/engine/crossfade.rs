//! Crossfade between consecutive tracks, done on the decoder thread (the callback sees one
//! stream, so pause, meters and the ring need nothing new): the outgoing track's last
//! `len` device frames are mixed with the incoming track's first `len`, equal-power, each
//! track through its own channel map, gain and resampler (different rates and channel counts
//! meet in the device format).
//!
//! The plan (see `DecoderThread::begin_overlap`): when a track opens with a known end, the
//! source frame where its fade would start is noted; when decoding reaches it and the next entry
//! may be faded into (another album, unless asked; long enough; opens), the overlap begins at
//! stream frame `start`. From then on the outgoing track's output goes to `a`, the incoming
//! one's to `b`, and `mix` appends their sum to the decoder's pending output. The incoming
//! track's start marker sits at the overlap's midpoint, so the display switches there. A jump
//! (play, seek, skip, stop) drops the overlap with everything else buffered.
//!
//! Lengths: the outgoing track contributes exactly its own frames, the incoming one all of its
//! own, so a render of A then B is len(A) + len(B) − len (± a frame of rate conversion).

/// What the user set: 0 s is off (gapless joins).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Crossfade {
    pub seconds: f64,
    /// Also between consecutive tracks of one album (they are joined gaplessly otherwise).
    pub across_albums: bool,
}

/// The longest crossfade.
pub const MAX_CROSSFADE_S: f64 = 12.0;

impl Default for Crossfade {
    fn default() -> Self {
        Crossfade {
            seconds: 0.0,
            across_albums: false,
        }
    }
}

impl Crossfade {
    /// In range, whatever a settings file said.
    #[must_use]
    pub fn validated(mut self) -> Self {
        self.seconds = if self.seconds.is_finite() {
            self.seconds.clamp(0.0, MAX_CROSSFADE_S)
        } else {
            0.0
        };
        self
    }

    /// The overlap in device frames for a track of `track_frames` device frames (at most half
    /// of it, so a track's fade-in is over before its fade-out begins). 0: no crossfade.
    #[must_use]
    pub fn frames(&self, device_rate: u32, track_frames: u64) -> u64 {
        let want = (self.validated().seconds * f64::from(device_rate)).round() as u64;
        want.min(track_frames / 2)
    }
}

/// The equal-power gains (outgoing, incoming) at mix frame `t` of `len`: cos² + sin² = 1, so
/// uncorrelated tracks keep their loudness through the fade. Past `len`: (0, 1).
#[must_use]
pub fn gains(t: u64, len: u64) -> (f32, f32) {
    if t >= len {
        return (0.0, 1.0);
    }
    let x = (t as f64 + 0.5) / len as f64 * std::f64::consts::FRAC_PI_2;
    (x.cos() as f32, x.sin() as f32)
}

/// What follows the fade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Then {
    /// The incoming track plays on.
    Incoming,
    /// The incoming track ended within the fade: the entry with this key (by key: the queue may
    /// change before the fade is over) starts after it.
    Start(u32),
    /// The incoming track was removed: playback ends.
    End,
}

/// A crossfade under way: the two tracks' device-format output waiting to be mixed.
pub(super) struct Overlap<T> {
    pub then: Then,
    /// The outgoing track while it still decodes.
    pub outgoing: Option<T>,
    /// Stream frame of the first mixed frame.
    pub start: u64,
    /// Mix frames in the fade.
    pub len: u64,
    /// Frames mixed so far.
    pub done: u64,
    /// Stream frame of the outgoing track's next output frame: its frames before `start` (a
    /// resampler's late output) still go straight out.
    pub a_next: u64,
    a: Vec<f32>,
    a_read: usize,
    b: Vec<f32>,
    b_read: usize,
    /// The incoming track has no more frames (it ended early, or was removed): zeros from here.
    pub b_ended: bool,
    channels: usize,
}

impl<T> Overlap<T> {
    pub fn new(outgoing: T, start: u64, len: u64, a_next: u64, channels: usize) -> Self {
        Overlap {
            then: Then::Incoming,
            outgoing: Some(outgoing),
            start,
            len,
            done: 0,
            a_next,
            a: Vec::new(),
            a_read: 0,
            b: Vec::new(),
            b_read: 0,
            b_ended: false,
            channels: channels.max(1),
        }
    }

    pub fn a_frames(&self) -> usize {
        (self.a.len() - self.a_read) / self.channels
    }

    pub fn b_frames(&self) -> usize {
        (self.b.len() - self.b_read) / self.channels
    }

    /// The outgoing track's output `samples`: those before `start` go to `straight` (returned:
    /// how many frames), the rest wait to be mixed.
    pub fn push_a(&mut self, samples: &[f32], straight: &mut Vec<f32>) -> u64 {
        let frames = (samples.len() / self.channels) as u64;
        let before = self.start.saturating_sub(self.a_next).min(frames) as usize;
        straight.extend_from_slice(&samples[..before * self.channels]);
        self.a.extend_from_slice(&samples[before * self.channels..]);
        self.a_next += frames;
        before as u64
    }

    /// The incoming track's output.
    pub fn push_b(&mut self, samples: &[f32]) {
        self.b.extend_from_slice(samples);
    }

    /// Which track to decode next: the one with less waiting (the other is ahead), or whichever
    /// is still decoding. None: neither decodes.
    pub fn decode_a_next(&self) -> Option<bool> {
        match (self.outgoing.is_some(), !self.b_ended) {
            (true, true) => Some(self.a_frames() <= self.b_frames()),
            (true, false) => Some(true),
            (false, true) => Some(false),
            (false, false) => None,
        }
    }

    /// Mix what both tracks have into `out`; returns the frames appended. A track that has
    /// ended counts as silence; with both ended, the fade is completed with the outgoing
    /// track's remainder and silence (a track shorter than it said).
    pub fn mix(&mut self, out: &mut Vec<f32>) -> u64 {
        let ch = self.channels;
        let (a_av, b_av) = (self.a_frames() as u64, self.b_frames() as u64);
        let a_limit = if self.outgoing.is_some() {
            a_av
        } else {
            u64::MAX
        };
        let b_limit = if self.b_ended { u64::MAX } else { b_av };
        let mut n = a_limit.min(b_limit);
        if n == u64::MAX {
            n = self.len.saturating_sub(self.done).max(a_av).max(b_av);
        }
        out.reserve(n as usize * ch);
        for i in 0..n {
            let (ga, gb) = gains(self.done + i, self.len);
            for c in 0..ch {
                let a = if (i as usize) < a_av as usize {
                    self.a[self.a_read + i as usize * ch + c]
                } else {
                    0.0
                };
                let b = if (i as usize) < b_av as usize {
                    self.b[self.b_read + i as usize * ch + c]
                } else {
                    0.0
                };
                out.push(a * ga + b * gb);
            }
        }
        let (ua, ub) = (n.min(a_av) as usize, n.min(b_av) as usize);
        self.a_read += ua * ch;
        self.b_read += ub * ch;
        self.done += n;
        // Keep the buffers from growing: drop what was read once it is most of them.
        if self.a_read > 0 && self.a_read * 2 >= self.a.len() {
            self.a.drain(..self.a_read);
            self.a_read = 0;
        }
        if self.b_read > 0 && self.b_read * 2 >= self.b.len() {
            self.b.drain(..self.b_read);
            self.b_read = 0;
        }
        n
    }

    /// The fade is over: `len` frames are out. Whatever the outgoing track still has (a file
    /// longer than it declared) would be mixed at gain 0: it is dropped with it.
    pub fn complete(&self) -> bool {
        self.done >= self.len
    }

    /// The incoming track was removed while fading in: what it has buffered fades out over at
    /// most `frames` (from the gain it is mixed at now), then silence — no cut.
    pub fn fade_out_b(&mut self, frames: usize) {
        let ch = self.channels;
        let keep = self.b_frames().min(frames);
        self.b.truncate(self.b_read + keep * ch);
        for i in 0..keep {
            let g = 1.0 - (i + 1) as f32 / keep as f32;
            for x in &mut self.b[self.b_read + i * ch..self.b_read + (i + 1) * ch] {
                *x *= g;
            }
        }
    }

    /// What the incoming track buffered beyond the fade (it goes out as it is).
    pub fn take_b(&mut self) -> Vec<f32> {
        let rest = self.b.split_off(self.b_read);
        self.b.clear();
        self.b_read = 0;
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gains_are_equal_power_and_end_on_the_incoming_track() {
        let len = 1000;
        for t in 0..len {
            let (a, b) = gains(t, len);
            assert!((a * a + b * b - 1.0).abs() < 1e-6);
            if t > 0 {
                let (pa, pb) = gains(t - 1, len);
                assert!(a < pa && b > pb, "monotonic at {t}");
            }
        }
        assert!(gains(0, len).0 > 0.999 && gains(len - 1, len).1 > 0.999);
        assert_eq!(gains(len, len), (0.0, 1.0));
        let (a, b) = gains(len / 2, len);
        assert!((a - b).abs() < 0.01, "equal at the midpoint");
    }

    #[test]
    fn frames_are_capped_at_half_a_track_and_settings_in_range() {
        let c = Crossfade {
            seconds: 3.0,
            across_albums: false,
        };
        assert_eq!(c.frames(48_000, 10 * 48_000), 3 * 48_000);
        assert_eq!(c.frames(48_000, 4 * 48_000), 2 * 48_000);
        assert_eq!(Crossfade::default().frames(48_000, 1 << 30), 0);
        let wild = Crossfade {
            seconds: f64::NAN,
            across_albums: true,
        };
        assert_eq!(wild.validated().seconds, 0.0);
        let long = Crossfade {
            seconds: 100.0,
            across_albums: false,
        };
        assert_eq!(long.validated().seconds, MAX_CROSSFADE_S);
    }

    /// Whatever sizes the two tracks' output arrives in, the mix is the same: frame for frame
    /// a·cos + b·sin, the outgoing track's frames before `start` straight out, and exactly
    /// `len` frames of fade.
    #[test]
    fn the_mix_does_not_depend_on_how_the_output_arrives() {
        let ch = 2;
        let len = 300u64;
        let a: Vec<f32> = (0..(350 * ch)).map(|i| (i as f32 * 0.01).sin()).collect();
        let b: Vec<f32> = (0..(400 * ch)).map(|i| (i as f32 * 0.013).cos()).collect();
        let reference = {
            let mut o = Vec::new();
            o.extend_from_slice(&a[..50 * ch]);
            for t in 0..len as usize {
                let (ga, gb) = gains(t as u64, len);
                for c in 0..ch {
                    o.push(a[(50 + t) * ch + c] * ga + b[t * ch + c] * gb);
                }
            }
            o.extend_from_slice(&b[len as usize * ch..]);
            o
        };
        for (sa, sb) in [(7usize, 13usize), (64, 1), (350, 400), (1, 99)] {
            // Stream frame 1000 = a's frame 0; the fade starts at a's frame 50.
            let mut ov = Overlap::new((), 1050, len, 1000, ch);
            let mut out = Vec::new();
            let (mut ia, mut ib) = (0, 0);
            while !ov.complete() {
                match ov.decode_a_next() {
                    Some(true) => {
                        let end = (ia + sa * ch).min(a.len());
                        ov.push_a(&a[ia..end], &mut out);
                        ia = end;
                        if ia == a.len() {
                            ov.outgoing = None;
                        }
                    }
                    Some(false) => {
                        let end = (ib + sb * ch).min(b.len());
                        ov.push_b(&b[ib..end]);
                        ib = end;
                        if ib == b.len() {
                            ov.b_ended = true;
                        }
                    }
                    None => {}
                }
                ov.mix(&mut out);
            }
            out.extend(ov.take_b());
            out.extend_from_slice(&b[ib..]);
            assert!(ov.done >= len, "sizes {sa}/{sb}: the whole fade mixed");
            assert_eq!(out, reference, "sizes {sa}/{sb}");
        }
    }
}
