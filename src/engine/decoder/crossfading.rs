//! The decoder's side of a crossfade (see `engine::crossfade` for the design): planning where a
//! track's fade-out begins, starting the overlap there, and decoding both tracks into it.

use super::{render_into, Active, DecoderThread};
use crate::engine::commands::EngineEvent;
use crate::engine::crossfade::{Overlap, Then};
use crate::engine::ring::MarkerKind;

/// How one of the two tracks' reads went.
enum Read {
    /// Frames rendered into `scratch`; the track goes on.
    More,
    /// The track has ended (its last frames, and its resampler's tail, are in `scratch`).
    Ended,
}

impl DecoderThread {
    /// Where an entry opened at source frame `pos` would start fading out (and the fade's
    /// length in device frames), given its `start` and its `end` (a cue end or the length the
    /// file declares; None: unknown, no crossfade).
    pub(super) fn fade_plan(
        &self,
        start: u64,
        pos: u64,
        end: Option<u64>,
        rate: u32,
    ) -> Option<(u64, u64)> {
        let end = end?;
        let rate = u64::from(rate.max(1));
        let dev = u64::from(self.device_rate.max(1));
        let track_dev = end.saturating_sub(start) * dev / rate;
        let len = self.crossfade.frames(self.device_rate, track_dev);
        if len == 0 {
            return None;
        }
        let len_src = (len * rate + dev / 2) / dev;
        let s0 = end.saturating_sub(len_src);
        (pos <= s0).then_some((s0, len))
    }

    /// New crossfade settings.
    pub(super) fn set_crossfade(&mut self, c: crate::engine::crossfade::Crossfade) {
        self.crossfade = c.validated();
        // The active track's own fade-out follows (during a fade that is the incoming track; the
        // fade under way keeps its length).
        if let Some(a) = self.active.as_ref() {
            let rate = a.source.info().sample_rate;
            let end = a.end.or(a.source.info().declared_frames);
            let fade = self.fade_plan(a.start, a.source.position(), end, rate);
            if let Some(a) = self.active.as_mut() {
                a.fade = fade;
            }
        }
    }

    /// The active track has reached its planned fade: start crossfading into the next entry if
    /// it may be (not the same album unless asked, not the next range of the same file, at
    /// least as long as the fade, and it opens). True: the overlap is
    /// under way and `active` is the incoming track. Nothing is reported for a next entry that
    /// does not open: the plain join at the end of this track tries it again and says why.
    /// `at`: the source frame where the outgoing track's output stops going straight out.
    pub(super) fn begin_overlap(&mut self, at: u64) -> bool {
        let Some(a) = self.active.as_ref() else {
            return false;
        };
        let Some((_, planned)) = a.fade else {
            return false;
        };
        // Begun late (the plan's start fell inside a fade-in): no longer than what is left of
        // it, so it still fades out to silence.
        let a_rate = u64::from(a.source.info().sample_rate.max(1));
        let dev = u64::from(self.device_rate.max(1));
        let left = a
            .end
            .or(a.source.info().declared_frames)
            .map_or(0, |e| e.saturating_sub(at) * dev / a_rate);
        let len = planned.min(left);
        if len == 0 {
            return false;
        }
        let Some(next) = self.after_end(a.track) else {
            return false;
        };
        if next == a.track {
            return false; // repeat one: the track again, gaplessly
        }
        let Some((_, item)) = self.queue.get(next).cloned() else {
            return false;
        };
        let own = self.queue[a.track].1.clone();
        if own.continues_into(&item) {
            return false;
        }
        if !self.crossfade.across_albums {
            let mine = self.album_key(&own.path);
            if mine.is_some() && mine == self.album_key(&item.path) {
                return false;
            }
        }
        let mut no_carry = None;
        let opened = crate::engine::contain(|| self.open(next, (0, 0.0), &mut no_carry));
        let Ok(Ok((mut b, _))) = opened else {
            return false;
        };
        let b_rate = b.source.info().sample_rate;
        let b_len = b.end.or(b.source.info().declared_frames).map(|e| {
            e.saturating_sub(b.start) * u64::from(self.device_rate) / u64::from(b_rate.max(1))
        });
        if b_len.is_none_or(|l| l < len) {
            return false;
        }
        let a = self.active.take().expect("checked above");
        // The stream frame of the outgoing track's first frame in the fade: where its input so
        // far ends in the output.
        let start = match &a.resampler {
            Some((r, origin)) => origin + r.input_boundary_frame(),
            None => self.produced,
        };
        if let Some((_, origin)) = b.resampler.as_mut() {
            *origin = start;
        }
        let half = len / 2;
        self.markers.push_back((
            start + half,
            MarkerKind::TrackStart {
                track: b.key,
                source_frame: (half * u64::from(b_rate) + u64::from(self.device_rate) / 2)
                    / u64::from(self.device_rate.max(1)),
                source_rate: b_rate,
                flush: false,
            },
        ));
        let _ = self.events.send(EngineEvent::TrackOpened {
            track: b.track,
            key: b.key,
            info: b.source.info().clone(),
            gain: b.gain,
        });
        self.overlap = Some(Overlap::new(
            a,
            start,
            len,
            self.produced,
            self.device_channels,
        ));
        self.active = Some(b);
        true
    }

    /// The rest of the decoded frames `from..` (of `n`, the first at source frame `first`)
    /// belong to the track that has just begun fading out.
    pub(super) fn feed_outgoing(&mut self, first: u64, n: usize, from: usize) {
        let Some(ov) = self.overlap.as_mut() else {
            return;
        };
        let Some(a) = ov.outgoing.as_mut() else {
            return;
        };
        let in_ch = a.source.info().channels.max(1);
        let until = a
            .end
            .map_or(n, |e| e.saturating_sub(first).min(n as u64) as usize)
            .max(from);
        self.scratch.clear();
        render_into(
            a,
            &self.decoded[from * in_ch..until * in_ch],
            self.device_channels,
            &mut self.mapped,
            &mut self.scratch,
        );
        let ended = a.end.is_some_and(|e| first + n as u64 >= e);
        self.outgoing_out(ended);
    }

    /// Hand what the outgoing track rendered (in `scratch`) to the overlap; when it has ended,
    /// with its resampler's tail, and let it go.
    fn outgoing_out(&mut self, ended: bool) {
        let Some(ov) = self.overlap.as_mut() else {
            return;
        };
        if ended {
            if let Some(a) = ov.outgoing.as_mut() {
                if let Some((r, _)) = a.resampler.as_mut() {
                    r.finish(&mut self.scratch);
                }
            }
            ov.outgoing = None;
        }
        self.produced += ov.push_a(&self.scratch, &mut self.pending);
    }

    /// Read one packet of `t` into `scratch` (device format), up to its end.
    fn read_into_scratch(&mut self, t: &mut Active) -> Read {
        self.decoded.clear();
        self.scratch.clear();
        let path = t.source.info().path.clone();
        let read =
            crate::engine::contain(|| t.source.read(&mut self.decoded)).unwrap_or_else(|why| {
                Err(crate::decode::DecodeError::Decode {
                    path: path.clone(),
                    reason: format!("decoder failed: {why}"),
                })
            });
        let ended = match read {
            Ok(n) if n > 0 => {
                let in_ch = t.source.info().channels.max(1);
                let first = t.source.position().saturating_sub(n as u64);
                let until = t
                    .end
                    .map_or(n, |e| e.saturating_sub(first).min(n as u64) as usize);
                t.fed += until as u64;
                render_into(
                    t,
                    &self.decoded[..until * in_ch],
                    self.device_channels,
                    &mut self.mapped,
                    &mut self.scratch,
                );
                t.end.is_some_and(|e| first + n as u64 >= e)
            }
            Ok(_) => true,
            Err(e) => {
                let _ = self.events.send(EngineEvent::TrackFailed {
                    track: t.track,
                    key: t.key,
                    path,
                    error: e.to_string(),
                });
                true
            }
        };
        if ended {
            if let Some((r, _)) = t.resampler.as_mut() {
                r.finish(&mut self.scratch);
            }
            Read::Ended
        } else {
            Read::More
        }
    }

    /// One unit of work during a crossfade: decode a packet of whichever track is behind, mix
    /// what both have, and when the fade is over go on with the incoming track alone.
    pub(super) fn step_overlap(&mut self) {
        let Some(mut ov) = self.overlap.take() else {
            return;
        };
        match ov.decode_a_next() {
            Some(true) => {
                let mut a = ov.outgoing.take().expect("decoding it");
                let read = self.read_into_scratch(&mut a);
                ov.outgoing = Some(a);
                self.overlap = Some(ov);
                self.outgoing_out(matches!(read, Read::Ended));
                ov = self.overlap.take().expect("just put back");
            }
            Some(false) => match self.active.take() {
                Some(mut b) => {
                    let read = self.read_into_scratch(&mut b);
                    ov.push_b(&self.scratch);
                    if matches!(read, Read::Ended) {
                        // Shorter than it said: the fade goes on with silence, then the next.
                        ov.b_ended = true;
                        let next = self.after(&b);
                        ov.then = match self.queue.get(next) {
                            Some(&(key, _)) => Then::Start(key),
                            None => Then::End,
                        };
                    } else {
                        self.active = Some(b);
                    }
                }
                None => ov.b_ended = true,
            },
            None => {}
        }
        self.produced += ov.mix(&mut self.pending);
        if !ov.complete() {
            self.overlap = Some(ov);
            return;
        }
        let rest = ov.take_b();
        self.produced += (rest.len() / self.device_channels) as u64;
        self.pending.extend_from_slice(&rest);
        match ov.then {
            Then::Incoming => {}
            Then::Start(key) => {
                let track = self.queue.iter().position(|q| q.0 == key);
                self.start_track(track.unwrap_or(usize::MAX), (0, 0.0), false, None);
            }
            Then::End => {
                self.mark_now(MarkerKind::End { flush: false });
                let _ = self.events.send(EngineEvent::QueueEnded);
            }
        }
    }

    /// The incoming track was removed from the queue during a crossfade: what it has buffered
    /// fades out over 5 ms (it is already fading in: cutting it would click), the outgoing one
    /// fades out as planned, and playback ends there. Its start marker, if not pushed yet, goes
    /// (the display stays on the outgoing track to the end).
    pub(super) fn end_removed_in_overlap(&mut self, removed: &Active) {
        let (_, d_dev) = self.seam_len(self.device_rate);
        let Some(ov) = self.overlap.as_mut() else {
            return;
        };
        let unpushed = self.markers.iter().rposition(|&(_, kind)| {
            matches!(kind, MarkerKind::TrackStart { track, .. } if track == removed.key)
        });
        if let Some(i) = unpushed {
            self.markers.remove(i);
        }
        ov.fade_out_b(d_dev as usize);
        ov.b_ended = true;
        ov.then = Then::End;
    }
}

/// The crossfade at an A–B loop's seam (5 ms: no click, too short to hear as a fade).
const SEAM_S: f64 = 0.005;
/// The shortest A–B loop: longer than a packet of any format here (FLAC's usual 4096-frame
/// blocks are 93 ms at 44.1 kHz, Vorbis's longest 186 ms), so each pass reaches its seam in a
/// packet of its own and every pass is exact. (A pass that misses it anyway loops at once,
/// a little short, rather than run on past B.)
pub const MIN_LOOP_S: f64 = 0.25;

impl DecoderThread {
    /// The seam's length in source frames (at `rate`) and in device frames.
    pub(super) fn seam_len(&self, rate: u32) -> (u64, u64) {
        let dev = u64::from(self.device_rate.max(1));
        let d_dev = ((SEAM_S * dev as f64).round() as u64).max(1);
        let d_src = ((d_dev * u64::from(rate.max(1)) + dev / 2) / dev).max(1);
        (d_src, d_dev)
    }

    /// The A–B loop of entry `key` (starting at source frame `start`, at `rate`) in source
    /// frames: A no earlier than the seam's length (its crossfade starts that far before A),
    /// B at least `MIN_LOOP_S` after A.
    pub(super) fn ab_frames(&self, key: u32, start: u64, rate: u32) -> Option<(u64, u64)> {
        let (k, a, b) = self.ab_loop?;
        if k != key || !(a.is_finite() && b.is_finite()) {
            return None;
        }
        let r = f64::from(rate);
        let a = start + ((a.max(0.0) * r).round() as u64).max(self.seam_len(rate).0);
        let b = start + (b * r).round().max(0.0) as u64;
        (b >= a + (MIN_LOOP_S * r) as u64).then_some((a, b))
    }

    /// A new A–B loop (or none): the entry being decoded takes it at once (the engine jumps to
    /// A when it sets one, so nothing decoded past B is heard).
    pub(super) fn set_ab_loop(&mut self, l: Option<(u32, f64, f64)>) {
        self.ab_loop = l;
        if let Some(a) = self.active.as_ref() {
            let rate = a.source.info().sample_rate;
            let ab = self.ab_frames(a.key, a.start, rate);
            // Armed while decoding is still before the seam (a seek beyond B plays on).
            let seam = self.seam_len(rate).0;
            let armed = ab.is_some_and(|(_, b)| a.source.position() < b.saturating_sub(seam));
            if let Some(a) = self.active.as_mut() {
                a.ab = ab;
                a.armed = armed;
            }
        }
    }

    /// The active entry has reached its A–B seam (`SEAM_S` before B): the same entry opens
    /// again `SEAM_S` before A, and the two are crossfaded over the seam, so every pass is
    /// exactly B − A long. The outgoing pass stops at B; the incoming one's start marker puts
    /// the position back near A. False: the entry would not reopen.
    pub(super) fn begin_seam(&mut self) -> bool {
        let Some(cur) = self.active.as_ref() else {
            return false;
        };
        let Some((la, lb)) = cur.ab else {
            return false;
        };
        let (track, entry_start) = (cur.track, cur.start);
        let rate = cur.source.info().sample_rate;
        let (d_src, d_dev) = self.seam_len(rate);
        let rel = la.saturating_sub(d_src).saturating_sub(entry_start);
        let mut no_carry = None;
        let opened = crate::engine::contain(|| self.open(track, (rel, 0.0), &mut no_carry));
        let Ok(Ok((mut inc, _))) = opened else {
            return false;
        };
        inc.ab = Some((la, lb));
        let mut out = self.active.take().expect("checked above");
        out.end = Some(lb);
        let start = match &out.resampler {
            Some((r, origin)) => origin + r.input_boundary_frame(),
            None => self.produced,
        };
        if let Some((_, origin)) = inc.resampler.as_mut() {
            *origin = start;
        }
        self.markers.push_back((
            start + d_dev / 2,
            MarkerKind::TrackStart {
                track: inc.key,
                source_frame: rel + d_src / 2,
                source_rate: rate,
                flush: false,
            },
        ));
        self.overlap = Some(Overlap::new(
            out,
            start,
            d_dev,
            self.produced,
            self.device_channels,
        ));
        self.active = Some(inc);
        true
    }
}
