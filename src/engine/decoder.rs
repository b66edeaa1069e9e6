//! The decoder thread: playlist → symphonia → channel map → rubato → PCM ring, kept full ahead of
//! the callback. It allocates and blocks freely (file reads, per-packet buffers); that is why it is
//! not the audio thread.
//!
//! Gapless: when a track ends its successor is opened at once and decoded into the same ring; a
//! `TrackStart` marker at the exact boundary tells the callback which track is audible. When both
//! tracks need the same rate conversion, the resampler runs on across the boundary (a fresh one
//! would start from silence and put a small dip at the join) and the marker is placed at the output
//! frame the boundary maps to.
//! Cue tracks are ranges of a file: a track ends at its `end_frame` (the packet that crosses it is
//! split there), and when the next entry starts exactly there in the same file the decoder keeps
//! reading the same source through the same channel map and resampler, with only a marker
//! between them, so consecutive tracks join bit-identically to the whole file.
//! Seek/jump: pending output is dropped and a *flush* `TrackStart` marker makes the callback drop
//! what is buffered, so nothing from before the seek is heard after it.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use super::commands::{DecoderCommand, EngineEvent, QueueItem};
use super::crossfade::{Crossfade, Overlap};
use super::gain_ramp::GainRamp;
use super::order::{PlayOrder, Repeat};
use super::resample::StreamResampler;
use super::ring::{MarkerKind, PcmProducer};
use super::telemetry::Telemetry;
use crate::decode::{AudioSource, FileCache};
use crate::dsp::channel_map::ChannelMap;
use crate::library::gain_cache::Measurer;
use crate::library::replaygain::{self, AlbumKey, AppliedGain, GainMode, GainSettings, GainTags};

/// How long the decoder sleeps when the ring is full before checking again. The ring holds half a
/// second (and at least four callbacks), so 20 ms is far inside the margin; commands wake it at
/// once. While nothing is being consumed (paused) the wait doubles up to `FULL_RING_POLL_MAX`, so
/// a paused player wakes ~10 times a second instead of 50.
const FULL_RING_POLL: Duration = Duration::from_millis(20);
const FULL_RING_POLL_MAX: Duration = Duration::from_millis(160);
/// Poll interval while a jump waits for the renderer to drop the old audio (see `jump_waiting`).
const JUMP_POLL: Duration = Duration::from_millis(1);
/// How long a jump polls at `JUMP_POLL` at most (a few callbacks of the largest buffer).
const JUMP_POLL_FOR: Duration = Duration::from_millis(250);

struct Active {
    /// Index in `queue` (follows the key when the queue changes).
    track: usize,
    key: u32,
    source: AudioSource,
    /// The entry's range in source frames (see `QueueItem`).
    start: u64,
    end: Option<u64>,
    map: ChannelMap,
    /// With the stream frame its first output frame has.
    resampler: Option<(StreamResampler, u64)>,
    /// Its ReplayGain tags and album (None: not read, normalization was off when it opened),
    /// the gain they give under the current settings, and the ramp to it.
    gain_tags: Option<(GainTags, AlbumKey, bool)>,
    gain: AppliedGain,
    ramp: GainRamp,
    /// Where its crossfade into the next entry would begin (source frame) and how long it is
    /// (device frames): None when crossfade is off, its end is not known, or it was opened
    /// past that point (see `crossfade`).
    fade: Option<(u64, u64)>,
    /// An A–B loop on it: A and B in source frames (see `crossfading::begin_seam`).
    ab: Option<(u64, u64)>,
    /// This pass has not reached its A–B seam yet (false when opened past it: a seek beyond
    /// B plays on).
    armed: bool,
    /// Source frames it has sent on since it opened: an entry that ends having sent none is
    /// not played again by repeat (an empty file or range would loop for ever).
    fed: u64,
}

/// Map, gain and convert `input` (the source's frames) to device format, appended to `out`.
fn render_into(
    a: &mut Active,
    input: &[f32],
    device_ch: usize,
    mapped: &mut Vec<f32>,
    out: &mut Vec<f32>,
) {
    mapped.clear();
    a.map.map_into(input, mapped);
    a.ramp.apply(mapped, device_ch);
    match a.resampler.as_mut() {
        Some((r, _)) => r.process(mapped, out),
        None => out.extend_from_slice(mapped),
    }
}

mod crossfading;
pub use crossfading::MIN_LOOP_S;

pub struct DecoderThread {
    queue: Vec<(u32, QueueItem)>,
    cache: FileCache,
    ring: PcmProducer,
    commands: Receiver<DecoderCommand>,
    events: Sender<EngineEvent>,
    telemetry: Arc<Telemetry>,
    device_rate: u32,
    device_channels: usize,
    /// Longest wait on a full ring (see `FULL_RING_POLL_MAX`).
    max_full_poll: Duration,
    /// Consecutive waits that ended with the ring still full.
    full_polls: u32,
    /// A play/seek/stop was queued behind a ring full of old audio: poll for room every
    /// `JUMP_POLL` instead of `FULL_RING_POLL`, so the new audio follows within a millisecond
    /// of the renderer dropping the old (the renderer may not wake this thread: no syscalls on
    /// the audio thread). Cleared once there is room, or after `JUMP_POLL_FOR` (a stalled output
    /// must not keep this thread waking a thousand times a second).
    jump_waiting: Option<std::time::Instant>,
    active: Option<Active>,
    /// Device-format samples waiting for room in the ring, and how many of them were pushed.
    pending: Vec<f32>,
    pending_done: usize,
    /// Stream frame just past the end of `pending` (= frames ever produced for the ring).
    produced: u64,
    /// Markers to push when the ring's write position reaches their stream frame.
    markers: VecDeque<(u64, MarkerKind)>,
    decoded: Vec<f32>,
    mapped: Vec<f32>,
    /// Loudness normalization (see `library::replaygain`).
    gain: GainSettings,
    /// Album identity per path, for `GainMode::Auto` and crossfades (read once per file while
    /// the queue holds it; `None`: unreadable).
    album_keys: std::collections::HashMap<PathBuf, Option<AlbumKey>>,
    crossfade: Crossfade,
    /// Repeat and shuffle (see `order`).
    order: PlayOrder,
    /// The A–B loop: the entry's key and A, B in seconds from its start.
    ab_loop: Option<(u32, f64, f64)>,
    /// Files whose probe found no ReplayGain tags (see `prefetch_album_keys`).
    untagged: std::collections::HashSet<PathBuf>,
    /// Measures untagged files in the background (see `library::gain_cache`).
    measurer: Option<Arc<Measurer>>,
    /// A crossfade under way (`active` is the incoming track meanwhile).
    overlap: Option<Overlap<Active>>,
    /// Device-format output on its way into `overlap`.
    scratch: Vec<f32>,
}

/// An entry's ReplayGain tags (its own, `item.gain`, for a cue track), its album, and whether
/// the gain is a measurement: a file without tags gets its measured loudness when the
/// measurer has it, else it is asked for (and plays at the fallback meanwhile). A cue track is
/// never measured (its gain would be the whole image's).
fn gain_tags_of(
    source: &mut AudioSource,
    item: &QueueItem,
    measurer: Option<&Measurer>,
) -> (GainTags, AlbumKey, bool) {
    let (t, _) = source.tags(false);
    let mut gain = item.gain.map_or(t.gain, |sheet| {
        crate::library::entries::cue_gain(sheet, &t.gain)
    });
    let mut measured = false;
    if let (true, None, Some(m)) = (gain.is_empty(), item.gain, measurer) {
        match m.cached(&item.path) {
            Some(g) => (gain, measured) = (g, true),
            None => m.request(&item.path),
        }
    }
    (gain, AlbumKey::of_tags(&item.path, &t), measured)
}

impl DecoderThread {
    #[must_use]
    pub fn new(
        ring: PcmProducer,
        commands: Receiver<DecoderCommand>,
        events: Sender<EngineEvent>,
        telemetry: Arc<Telemetry>,
        device_rate: u32,
        device_channels: usize,
        cache_bytes: usize,
    ) -> Self {
        // A quarter of the ring, so even a short ring refills long before it runs dry.
        let max_full_poll = FULL_RING_POLL_MAX.min(Duration::from_secs_f64(
            ring.capacity_frames() as f64 / f64::from(device_rate.max(1)) / 4.0,
        ));
        Self {
            queue: Vec::new(),
            cache: FileCache::new(cache_bytes),
            ring,
            commands,
            events,
            telemetry,
            device_rate,
            device_channels,
            max_full_poll,
            full_polls: 0,
            jump_waiting: None,
            active: None,
            pending: Vec::new(),
            pending_done: 0,
            produced: 0,
            markers: VecDeque::new(),
            decoded: Vec::new(),
            mapped: Vec::new(),
            gain: GainSettings::default(),
            album_keys: std::collections::HashMap::new(),
            crossfade: Crossfade::default(),
            order: PlayOrder::default(),
            ab_loop: None,
            untagged: std::collections::HashSet::new(),
            measurer: None,
            overlap: None,
            scratch: Vec::new(),
        }
    }

    /// Normalization settings to start with (before `run`).
    pub fn set_gain_settings(&mut self, settings: GainSettings) {
        self.gain = settings;
    }

    /// The queue's keys, in queue order (for `PlayOrder`).
    fn keys(&self) -> Vec<u32> {
        self.queue.iter().map(|q| q.0).collect()
    }

    /// What plays when entry `track` ends by itself (see `PlayOrder::after_end`).
    fn after_end(&self, track: usize) -> Option<usize> {
        self.order.after_end(track, &self.keys())
    }

    /// What plays when `a` has ended: as `after_end`, but an entry that played nothing goes on
    /// to the next without going round (repeat would reopen it for ever).
    fn after(&self, a: &Active) -> usize {
        if a.fed == 0 {
            self.order.following(a.track, &self.keys(), false)
        } else {
            self.after_end(a.track)
        }
        .unwrap_or(usize::MAX)
    }

    /// The entry to try after `track` failed: the next in play order, past repeat one (round
    /// again only with repeat all).
    fn following(&self, track: usize) -> Option<usize> {
        self.order
            .following(track, &self.keys(), self.order.repeat == Repeat::All)
    }

    /// The loudness measurer for untagged files (before `run`).
    pub fn set_measurer(&mut self, m: Arc<Measurer>) {
        self.measurer = Some(m);
    }

    /// Crossfade settings to start with (before `run`).
    pub fn set_crossfade_settings(&mut self, c: Crossfade) {
        self.crossfade = c.validated();
    }

    /// The album a queued file belongs to (read from its tags once; see `album_keys`).
    fn album_key(&mut self, path: &PathBuf) -> Option<AlbumKey> {
        if let Some(k) = self.album_keys.get(path) {
            return k.clone();
        }
        // A probe that panics (a hostile file) counts as unreadable, as an open error does: it
        // must not fail the track that asked about its neighbour.
        let probed = super::contain(|| {
            AudioSource::open(path).ok().map(|mut s| {
                let (t, _) = s.tags(false);
                (AlbumKey::of_tags(path, &t), t.gain.is_empty())
            })
        })
        .ok()
        .flatten();
        if probed.as_ref().is_some_and(|p| p.1) {
            self.untagged.insert(path.clone());
        }
        let key = probed.map(|p| p.0);
        self.album_keys.insert(path.clone(), key.clone());
        key
    }

    /// In auto mode, read the album of the entries after the active track ahead of time (once
    /// per track, while the ring is full and nothing else is due), so that opening the next
    /// track at a gapless join never waits for a probe of the one after it.
    fn prefetch_album_keys(&mut self) {
        let fades_by_album = self.crossfade.seconds > 0.0 && !self.crossfade.across_albums;
        if self.gain.mode == GainMode::Off && !fades_by_album {
            return;
        }
        let Some(track) = self.active.as_ref().map(|a| a.track) else {
            return;
        };
        let after = self.after_end(track);
        for j in [after, after.and_then(|t| self.after_end(t))]
            .into_iter()
            .flatten()
        {
            if let Some((_, item)) = self.queue.get(j).cloned() {
                let p = item.path;
                if !self.album_keys.contains_key(&p) {
                    self.album_key(&p);
                    // An untagged file coming up is measured now, so it plays normalized.
                    if let (true, None, false, Some(m)) = (
                        self.untagged.contains(&p),
                        item.gain,
                        self.gain.mode == GainMode::Off,
                        self.measurer.as_ref(),
                    ) {
                        m.request(&p);
                    }
                    return; // one probe per wait
                }
            }
        }
    }

    /// Whether queue entry `track` plays next to another track of its album (only asked in
    /// `GainMode::Auto`; reads the neighbours' tags).
    fn in_album_run(&mut self, track: usize, own: Option<AlbumKey>) -> bool {
        if self.gain.mode != GainMode::Auto {
            return false;
        }
        let mut keys = [None, own, None];
        if track > 0 {
            let p = self.queue[track - 1].1.path.clone();
            keys[0] = self.album_key(&p);
        }
        if let Some(p) = self.queue.get(track + 1).map(|q| q.1.path.clone()) {
            keys[2] = self.album_key(&p);
        }
        replaygain::album_run(&keys, 1)
    }

    fn has_work(&self) -> bool {
        self.active.is_some()
            || self.overlap.is_some()
            || !self.markers.is_empty()
            || self.pending_done < self.pending.len()
    }

    /// Run until `Shutdown` or until the control side hangs up.
    pub fn run(mut self) {
        loop {
            let cmd = if !self.has_work() {
                self.telemetry.decoder_idle.store(true, Relaxed);
                self.commands.recv().ok()
            } else if self.ring.vacant_frames() == 0 {
                let wait = if self
                    .jump_waiting
                    .is_some_and(|t| t.elapsed() < JUMP_POLL_FOR)
                {
                    JUMP_POLL
                } else {
                    (FULL_RING_POLL * (1 << self.full_polls.min(3))).min(self.max_full_poll)
                };
                match self.commands.try_recv() {
                    Ok(c) => Some(c),
                    Err(TryRecvError::Empty) => {
                        self.prefetch_album_keys();
                        // Sleep, not `recv_timeout`: crossbeam spins and yields before it blocks
                        // (~370 sched_yield calls a second at this poll rate). The engine unparks
                        // this thread after every command it sends; a command sent between the
                        // `try_recv` and the park leaves the park token set, so none is missed.
                        std::thread::park_timeout(wait);
                        // Still full after the wait: nothing was consumed, wait longer next time.
                        if self.ring.vacant_frames() == 0 {
                            self.full_polls = self.full_polls.saturating_add(1);
                        } else {
                            self.full_polls = 0;
                            self.jump_waiting = None;
                        }
                        None
                    }
                    Err(TryRecvError::Disconnected) => return,
                }
            } else {
                self.full_polls = 0;
                match self.commands.try_recv() {
                    Ok(c) => Some(c),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => return,
                }
            };
            match cmd {
                Some(DecoderCommand::Shutdown) => return,
                None if !self.has_work() => return, // recv() failed: control side is gone
                _ => {}
            }
            if let Some(c) = cmd {
                self.handle(c);
            }
            self.step();
        }
    }

    fn handle(&mut self, cmd: DecoderCommand) {
        match cmd {
            DecoderCommand::SetQueue(q) => {
                self.queue = q;
                let queued: std::collections::HashSet<&PathBuf> =
                    self.queue.iter().map(|(_, q)| &q.path).collect();
                self.album_keys.retain(|path, _| queued.contains(path));
                self.untagged.retain(|path| queued.contains(path));
                if let Some(a) = &mut self.active {
                    match self.queue.iter().position(|(k, _)| *k == a.key) {
                        Some(i) => a.track = i,
                        None => {
                            let removed = self.active.take().expect("checked");
                            if self.overlap.is_some() {
                                self.end_removed_in_overlap(&removed);
                            } else {
                                self.end_removed(removed);
                            }
                        }
                    }
                }
            }
            DecoderCommand::Play {
                track,
                frame,
                seconds,
            } => {
                self.telemetry.decoder_idle.store(false, Relaxed);
                self.start_track(track, (frame, seconds), true, None);
                self.jump_waiting = Some(std::time::Instant::now());
            }
            DecoderCommand::Stop => {
                self.discard_pending();
                self.active = None;
                self.mark_now(MarkerKind::End { flush: true });
            }
            DecoderCommand::SetGain(settings) => {
                self.gain = settings;
                if let Some(mut a) = self.active.take() {
                    let item = self.queue[a.track].1.clone();
                    if a.gain_tags.is_none() {
                        // Contained like every read of a file's contents on this thread.
                        let m = self.measurer.clone();
                        let read =
                            super::contain(|| gain_tags_of(&mut a.source, &item, m.as_deref()));
                        a.gain_tags = Some(read.unwrap_or_else(|_| {
                            (
                                item.gain.unwrap_or_default(),
                                AlbumKey::of(&item.path, None, None, None),
                                false,
                            )
                        }));
                    }
                    let (tags, own, measured) = a.gain_tags.clone().expect("set above");
                    let run = self.in_album_run(a.track, Some(own));
                    a.gain = replaygain::gain_for(&tags, run, &self.gain);
                    if measured {
                        a.gain = a.gain.measured();
                    }
                    a.ramp.ramp_to(a.gain.linear(), a.source.info().sample_rate);
                    let _ = self.events.send(EngineEvent::GainChanged {
                        track: a.track,
                        key: a.key,
                        gain: a.gain,
                    });
                    self.active = Some(a);
                }
            }
            DecoderCommand::SetCrossfade(c) => self.set_crossfade(c),
            DecoderCommand::SetOrder(o) => self.order = o,
            DecoderCommand::SetLoop(l) => self.set_ab_loop(l),
            DecoderCommand::Sync(id) => {
                // Make sure markers set by earlier commands are in the ring before replying (a
                // flush marker is always due at once: it sits at the end of what was pushed).
                self.push_pending();
                let _ = self.events.send(EngineEvent::Synced(id));
            }
            DecoderCommand::Shutdown => {}
        }
    }

    /// The track being decoded was removed from the queue: end the stream after what is already
    /// decoded of it.
    ///
    /// If its start marker has not been pushed into the ring yet (it waits for the frames before
    /// it; after a track of the same rate it even waits for the carried resampler to reach the
    /// boundary), the removed track was never audible: its marker is dropped, the resampler is
    /// finished so the previous track's tail is kept, output past the boundary is cut, and the end
    /// is marked at the boundary. Leaving that marker in place (as before) wedged the decoder:
    /// the `End` queued behind a start marker at a frame that would never be produced, so neither
    /// could be pushed, and the decoder spun with work it could not do.
    fn end_removed(&mut self, removed: Active) {
        // Every marker still here is unpushed, and no frame past the front marker has been
        // pushed, so the removed track's start marker can be cut whatever its position.
        let unreached = self.markers.iter().position(|&(_, kind)| {
            matches!(kind, MarkerKind::TrackStart { track, .. } if track == removed.key)
        });
        let boundary = unreached
            .and_then(|i| self.markers.remove(i))
            .map(|(at, _)| at);
        self.finish_resampler(removed.resampler);
        if let Some(at) = boundary {
            // Frames past a pending marker are never pushed before it, so they are all in
            // `pending`, unpushed.
            let extra = self.produced.saturating_sub(at) as usize * self.device_channels;
            let keep = self
                .pending
                .len()
                .saturating_sub(extra)
                .max(self.pending_done);
            self.pending.truncate(keep);
            self.produced = self.produced.min(at);
        }
        self.mark_now(MarkerKind::End { flush: false });
    }

    fn discard_pending(&mut self) {
        self.overlap = None;
        self.pending.clear();
        self.pending_done = 0;
        self.markers.clear();
        self.produced = self.ring.written_frames();
    }

    fn mark_now(&mut self, kind: MarkerKind) {
        self.markers.push_back((self.produced, kind));
    }

    fn append(&mut self, samples_start: usize) {
        self.produced += ((self.pending.len() - samples_start) / self.device_channels) as u64;
    }

    /// Open `track` (or the next that opens) at source frame `at.0` plus `at.1` seconds and queue
    /// its start marker.
    /// `carry` is the previous track's resampler, continued when the new track has the same rate.
    fn start_track(
        &mut self,
        mut track: usize,
        mut at: (u64, f64),
        flush: bool,
        mut carry: Option<(StreamResampler, u64)>,
    ) {
        if flush {
            self.discard_pending();
            carry = None;
        }
        self.active = None;
        // Each entry is tried once at most (repeat all must not go round a queue of failures).
        let mut tries = 0;
        while track < self.queue.len() && tries < self.queue.len() {
            tries += 1;
            let (key, path) = (self.queue[track].0, self.queue[track].1.path.clone());
            // A panic in a codec or demuxer (a bug, or a hostile file that trips one) fails this
            // track with the reason, like any open error, and the loop goes on to the next.
            let opened = super::contain(|| self.open(track, at, &mut carry))
                .unwrap_or_else(|why| Err(format!("{}: decoder failed: {why}", path.display())));
            match opened {
                Ok((active, at)) => {
                    let info = active.source.info().clone();
                    let gain = active.gain;
                    self.markers.push_back((
                        at,
                        MarkerKind::TrackStart {
                            track: key,
                            source_frame: active.source.position().saturating_sub(active.start),
                            source_rate: info.sample_rate,
                            flush,
                        },
                    ));
                    self.active = Some(active);
                    let _ = self.events.send(EngineEvent::TrackOpened {
                        track,
                        key,
                        info,
                        gain,
                    });
                    return;
                }
                Err(error) => {
                    let _ = self.events.send(EngineEvent::TrackFailed {
                        track,
                        key,
                        path,
                        error,
                    });
                    track = self.following(track).unwrap_or(usize::MAX);
                    at = (0, 0.0);
                }
            }
        }
        self.finish_resampler(carry);
        self.mark_now(MarkerKind::End { flush });
        let _ = self.events.send(EngineEvent::QueueEnded);
    }

    fn finish_resampler(&mut self, r: Option<(StreamResampler, u64)>) {
        if let Some((mut r, _)) = r {
            let start = self.pending.len();
            r.finish(&mut self.pending);
            self.append(start);
        }
    }

    /// Open `track` at source frame `at.0` + `at.1` seconds; returns it with the stream frame
    /// where it starts.
    fn open(
        &mut self,
        track: usize,
        at: (u64, f64),
        carry: &mut Option<(StreamResampler, u64)>,
    ) -> Result<(Active, u64), String> {
        let (key, item) = self.queue[track].clone();
        let path = item.path.clone();
        #[cfg(test)]
        assert!(
            !path.to_string_lossy().contains("injected-panic"),
            "injected panic opening {}",
            path.display()
        );
        let mut source = self.cache.open(&path).map_err(|e| e.to_string())?;
        let seconds = if at.1.is_finite() { at.1.max(0.0) } else { 0.0 };
        let offset =
            at.0.saturating_add((seconds * f64::from(source.info().sample_rate)).round() as u64);
        // A position past the entry's end lands on its end: the entry ends at once and the next
        // one (a cue sheet's next track) carries on from there.
        let rate = source.info().sample_rate;
        let (start, end) = (item.start.frame(rate), item.end.map(|e| e.frame(rate)));
        let frame = start.saturating_add(offset).min(end.unwrap_or(u64::MAX));
        if frame > 0 {
            source.seek(frame).map_err(|e| e.to_string())?;
        }
        let (gain_tags, gain) = self.gain_of(track, &item, &mut source);
        let fade = self.fade_plan(start, frame, end.or(source.info().declared_frames), rate);
        let ab = self.ab_frames(key, start, rate);
        let info = source.info();
        let map = ChannelMap::new(&info.layout, self.device_channels);
        let rate = info.sample_rate;
        // The resampler this track runs through and the stream frame where it starts: none at
        // the device rate; the previous track's when the rates match (no dip at the join); else
        // a fresh one.
        let (resampler, starts_at) = if rate == self.device_rate {
            self.finish_resampler(carry.take());
            (None, self.produced)
        } else if carry.as_ref().is_some_and(|(r, _)| r.rate_in() == rate) {
            let (r, origin) = carry.take().expect("checked");
            let at = origin + r.input_boundary_frame();
            (Some((r, origin)), at)
        } else {
            self.finish_resampler(carry.take());
            let r = StreamResampler::new(rate, self.device_rate, self.device_channels)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            (Some((r, self.produced)), self.produced)
        };
        Ok((
            Active {
                track,
                key,
                source,
                start,
                end,
                map,
                resampler,
                gain_tags,
                gain,
                ramp: GainRamp::at(gain.linear()),
                fade,
                ab,
                armed: ab.is_some_and(|(_, b)| frame < b.saturating_sub(self.seam_len(rate).0)),
                fed: 0,
            },
            starts_at,
        ))
    }

    /// The normalization gain of queue entry `track` (None for the tags: normalization is off,
    /// they were not read). Tags are read before the channel map borrows the source's info;
    /// reading them costs a walk over the metadata the probe already parsed.
    fn gain_of(
        &mut self,
        track: usize,
        item: &QueueItem,
        source: &mut AudioSource,
    ) -> (Option<(GainTags, AlbumKey, bool)>, AppliedGain) {
        if self.gain.mode == GainMode::Off {
            return (None, AppliedGain::UNITY);
        }
        let (tags, own, measured) = gain_tags_of(source, item, self.measurer.as_deref());
        self.album_keys.insert(item.path.clone(), Some(own.clone()));
        let run = self.in_album_run(track, Some(own.clone()));
        let mut gain = replaygain::gain_for(&tags, run, &self.gain);
        if measured {
            gain = gain.measured();
        }
        (Some((tags, own, measured)), gain)
    }

    /// Push pending samples, and each marker exactly when the ring's write position reaches it,
    /// as far as the rings allow. Returns true when nothing is left waiting.
    fn push_pending(&mut self) -> bool {
        let ch = self.device_channels;
        loop {
            let written = self.ring.written_frames();
            if let Some(&(at, kind)) = self.markers.front() {
                if at <= written {
                    if self.ring.push_marker(kind).is_err() {
                        return false;
                    }
                    self.markers.pop_front();
                    continue;
                }
            }
            if self.pending_done >= self.pending.len() {
                break;
            }
            let mut end = self.pending.len();
            if let Some(&(at, _)) = self.markers.front() {
                end = end.min(self.pending_done + (at - written) as usize * ch);
            }
            let frames = self.ring.push(&self.pending[self.pending_done..end]);
            if frames == 0 {
                return false;
            }
            self.pending_done += frames * ch;
        }
        self.pending.clear();
        self.pending_done = 0;
        // A marker beyond what is produced waits for the data that leads up to it.
        self.markers.is_empty()
    }

    /// Send the `n` frames in `decoded` (the first is source frame `first`) on towards the ring.
    /// Where the active entry's range ends inside them, the entry ends there, and the frames
    /// past it go to the next entry when that continues in the same file (several entries, for
    /// cue tracks shorter than a packet); otherwise they are dropped and the next entry opens.
    fn feed_decoded(&mut self, first: u64, n: usize) {
        let past = first + n as u64;
        let mut from = 0usize;
        loop {
            let Some(rate) = self.active.as_ref().map(|a| a.source.info().sample_rate) else {
                return;
            };
            let seam_len = self.seam_len(rate).0;
            let Some(active) = self.active.as_mut() else {
                return;
            };
            let in_ch = active.source.info().channels.max(1);
            let mut until = active
                .end
                .map_or(n, |e| e.saturating_sub(first).min(n as u64) as usize)
                .max(from);
            // An A–B loop's seam begins inside these frames (not when they are already past it:
            // a seek beyond B plays on): up to there first.
            let seam_at = active
                .ab
                .filter(|_| active.armed)
                .map(|(_, b)| b.saturating_sub(seam_len))
                .filter(|&s| s < first + n as u64)
                .map(|s| (s.saturating_sub(first) as usize).max(from))
                .filter(|&c| c <= until);
            // A planned crossfade begins inside these frames: up to there first (not while
            // looping: the loop comes back before it).
            let fade_at = active
                .fade
                .filter(|_| active.ab.is_none())
                .map(|(s0, _)| (s0.saturating_sub(first).min(n as u64) as usize).max(from))
                .filter(|&c| c < until || (c == until && until < n));
            if let Some(c) = seam_at.or(fade_at) {
                until = c;
            }
            if until > from {
                active.fed += (until - from) as u64;
                let start = self.pending.len();
                render_into(
                    active,
                    &self.decoded[from * in_ch..until * in_ch],
                    self.device_channels,
                    &mut self.mapped,
                    &mut self.pending,
                );
                self.produced += ((self.pending.len() - start) / self.device_channels) as u64;
                from = until;
            }
            if seam_at.is_some() {
                if self.begin_seam() {
                    self.feed_outgoing(first, n, from);
                    return;
                }
                if let Some(a) = self.active.as_mut() {
                    a.ab = None; // could not reopen: play on
                }
                continue;
            }
            if fade_at.is_some() {
                if self.begin_overlap(first + from as u64) {
                    self.feed_outgoing(first, n, from);
                    return;
                }
                // No crossfade after all (same album, the next too short or unplayable): a
                // plain join.
                if let Some(a) = self.active.as_mut() {
                    a.fade = None;
                }
                continue;
            }
            if active.end.is_none_or(|e| past < e) {
                return;
            }
            if !self.continue_range(first + from as u64) {
                return;
            }
        }
    }

    /// The active entry's range has ended, at source frame `at`. When the next entry continues
    /// in the same file from exactly there, it takes over the source, channel map, resampler
    /// and gain ramp (its start marker goes where the boundary lands in the output) and this
    /// returns true; otherwise the next entry is opened afresh (or the queue ends).
    fn continue_range(&mut self, at: u64) -> bool {
        let a = self.active.take().expect("called with an active entry");
        let next = self.after(&a);
        let rate = a.source.info().sample_rate;
        let continues = self.queue.get(next).is_some_and(|(_, n)| {
            n.start.frame(rate) == at && self.queue[a.track].1.continues_into(n)
        });
        if !continues {
            self.start_track(next, (0, 0.0), false, a.resampler);
            return false;
        }
        let (key, item) = self.queue[next].clone();
        let mut source = a.source;
        // Contained like every read of a file's contents on this thread; a panic reading the
        // tags leaves the entry at its sheet's gains (or none).
        let (gain_tags, gain) =
            super::contain(|| self.gain_of(next, &item, &mut source)).unwrap_or((None, a.gain));
        let mut ramp = a.ramp;
        if gain.linear() != ramp.target {
            ramp.ramp_to(gain.linear(), rate);
        }
        let marker_at = match &a.resampler {
            Some((r, origin)) => origin + r.input_boundary_frame(),
            None => self.produced,
        };
        self.markers.push_back((
            marker_at,
            MarkerKind::TrackStart {
                track: key,
                source_frame: 0,
                source_rate: rate,
                flush: false,
            },
        ));
        let info = source.info().clone();
        let end = item.end.map(|e| e.frame(rate));
        let fade = self.fade_plan(at, at, end.or(info.declared_frames), rate);
        self.active = Some(Active {
            track: next,
            key,
            source,
            start: at,
            end,
            map: a.map,
            resampler: a.resampler,
            gain_tags,
            gain,
            ramp,
            fade,
            ab: self.ab_frames(key, at, rate),
            armed: true,
            fed: 0,
        });
        let _ = self.events.send(EngineEvent::TrackOpened {
            track: next,
            key,
            info,
            gain,
        });
        true
    }

    /// One unit of work: drain what is waiting, else decode one packet.
    fn step(&mut self) {
        let drained = self.push_pending();
        if !drained && self.pending_done < self.pending.len() {
            return; // the ring is full
        }
        if self.overlap.is_some() {
            self.step_overlap();
            self.push_pending();
            return;
        }
        let Some(active) = self.active.as_mut() else {
            return;
        };
        self.decoded.clear();
        let read = super::contain(|| active.source.read(&mut self.decoded)).unwrap_or_else(|why| {
            Err(crate::decode::DecodeError::Decode {
                path: self
                    .queue
                    .get(active.track)
                    .map(|q| q.1.path.clone())
                    .unwrap_or_default(),
                reason: format!("decoder failed: {why}"),
            })
        });
        match read {
            Ok(n) if n > 0 => {
                let first = active.source.position().saturating_sub(n as u64);
                self.feed_decoded(first, n);
            }
            Ok(_) => {
                let ended = self.active.take().expect("read from it");
                let next = self.after(&ended);
                self.start_track(next, (0, 0.0), false, ended.resampler);
            }
            Err(e) => {
                let (track, key) = (active.track, active.key);
                let path = self
                    .queue
                    .get(track)
                    .map(|q| q.1.path.clone())
                    .unwrap_or_default();
                let _ = self.events.send(EngineEvent::TrackFailed {
                    track,
                    key,
                    path,
                    error: e.to_string(),
                });
                let carry = self.active.take().and_then(|a| a.resampler);
                let next = self.following(track).unwrap_or(usize::MAX);
                self.start_track(next, (0, 0.0), false, carry);
            }
        }
        self.push_pending();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ring::{pcm_ring, Marker};

    fn wav(path: &std::path::Path, rate: u32, frames: usize) {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for i in 0..frames * 2 {
            w.write_sample(((i as f32 * 0.01).sin() * 8000.0) as i16)
                .unwrap();
        }
        w.finalize().unwrap();
    }

    /// Issue 11: removing the next track while its start marker waits for a carried resampler
    /// must end the stream after the current track's tail, not wedge the decoder.
    #[test]
    fn removing_the_next_track_while_its_start_is_pending_ends_cleanly() {
        let dir = std::env::temp_dir().join(format!("rusty-audio-wedge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a.wav"), dir.join("b.wav"));
        wav(&a, 44_100, 4_410);
        wav(&b, 44_100, 44_100);
        let (prod, mut cons) = pcm_ring(2, 48_000 * 4);
        let (_ctx, crx) = crossbeam_channel::unbounded();
        let (etx, _erx) = crossbeam_channel::unbounded();
        let mut d = DecoderThread::new(prod, crx, etx, Arc::default(), 48_000, 2, 1 << 20);
        d.handle(DecoderCommand::SetQueue(vec![
            (1, a.clone().into()),
            (2, b.into()),
        ]));
        d.handle(DecoderCommand::Play {
            track: 0,
            frame: 0,
            seconds: 0.0,
        });
        let pending_start = |d: &DecoderThread| {
            d.markers.iter().any(|&(at, k)| {
                at > d.produced && matches!(k, MarkerKind::TrackStart { track: 2, .. })
            })
        };
        let mut steps = 0;
        while !pending_start(&d) {
            d.step();
            steps += 1;
            assert!(steps < 10_000, "track 2's start marker was never pending");
        }
        d.handle(DecoderCommand::SetQueue(vec![(1, a.into())]));
        let mut steps = 0;
        while d.has_work() {
            d.step();
            steps += 1;
            assert!(
                steps < 10_000,
                "the decoder is wedged with work it cannot do"
            );
        }
        let mut markers: Vec<Marker> = Vec::new();
        while let Some(m) = cons.pop_marker() {
            markers.push(m);
        }
        let end = markers.last().expect("markers");
        assert_eq!(end.kind, MarkerKind::End { flush: false });
        assert!(
            !markers
                .iter()
                .any(|m| matches!(m.kind, MarkerKind::TrackStart { track: 2, .. })),
            "the removed track never starts: {markers:?}"
        );
        // Track 1 whole, its resampler tail included: 4410 frames at 44.1 kHz = 4800 at 48 kHz.
        assert_eq!(end.at, 4_800, "the end sits at the boundary");
        assert_eq!(cons.available_frames(), 4_800);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Panics while opening tracks are contained, however many in a row: each such track is
    /// reported failed with the reason, the next one plays, and the play command's flush is kept
    /// (nothing of the old position is heard after it).
    #[test]
    fn panics_in_the_decoder_fail_those_tracks_and_the_next_plays_flushed() {
        let dir = std::env::temp_dir().join(format!("rusty-audio-panic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad1 = dir.join("a-injected-panic.wav");
        let bad2 = dir.join("b-injected-panic.wav");
        let good = dir.join("good.wav");
        wav(&bad1, 48_000, 480);
        wav(&bad2, 48_000, 480);
        wav(&good, 48_000, 4_800);
        let (prod, mut cons) = pcm_ring(2, 48_000);
        let (ctx, crx) = crossbeam_channel::unbounded();
        let (etx, erx) = crossbeam_channel::unbounded();
        let d = DecoderThread::new(prod, crx, etx, Arc::default(), 48_000, 2, 1 << 20);
        let thread = std::thread::spawn(move || d.run());
        ctx.send(DecoderCommand::SetQueue(vec![
            (6, bad1.into()),
            (7, bad2.into()),
            (8, good.into()),
        ]))
        .unwrap();
        ctx.send(DecoderCommand::Play {
            track: 0,
            frame: 0,
            seconds: 0.0,
        })
        .unwrap();
        let mut failed = Vec::new();
        let opened = loop {
            match erx.recv_timeout(Duration::from_secs(20)).expect("an event") {
                EngineEvent::TrackFailed { key, error, .. } => failed.push((key, error)),
                EngineEvent::TrackOpened { key, .. } => break key,
                _ => {}
            }
        };
        assert_eq!(failed.iter().map(|f| f.0).collect::<Vec<_>>(), [6, 7]);
        for (_, error) in &failed {
            assert!(
                error.contains("injected-panic.wav") && error.contains("decoder failed"),
                "{error}"
            );
        }
        assert_eq!(opened, 8, "the next track plays");
        let mut frames = 0;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while frames < 4_800 {
            assert!(
                std::time::Instant::now() < deadline,
                "the next track's audio arrives"
            );
            let mut buf = [0.0f32; 512];
            frames += cons.read_into(&mut buf);
            std::thread::yield_now();
        }
        let start = cons.pop_marker().expect("the start marker");
        assert!(
            matches!(
                start.kind,
                MarkerKind::TrackStart {
                    track: 8,
                    flush: true,
                    ..
                }
            ),
            "{start:?}"
        );
        ctx.send(DecoderCommand::Shutdown).unwrap();
        thread.join().expect("the decoder thread survived");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
