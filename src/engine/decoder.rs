//! The decoder thread: playlist → symphonia → channel map → rubato → PCM ring, kept full ahead of
//! the callback. It allocates and blocks freely (file reads, per-packet buffers); that is why it is
//! not the audio thread.
//!
//! Gapless: when a track ends its successor is opened at once and decoded into the same ring; a
//! `TrackStart` marker at the exact boundary tells the callback which track is audible.
//! Seek/jump: pending output is dropped and a *flush* `TrackStart` marker makes the callback drop
//! what is buffered, so nothing from before the seek is heard after it.

use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};

use super::commands::{DecoderCommand, EngineEvent};
use super::resample::StreamResampler;
use super::ring::{MarkerKind, PcmProducer};
use super::telemetry::Telemetry;
use crate::decode::{AudioSource, FileCache};
use crate::dsp::channel_map::ChannelMap;

/// How long the decoder sleeps when the ring is full before checking again. The ring holds about
/// a second, so this is far inside the margin; commands wake it at once.
const FULL_RING_POLL: Duration = Duration::from_millis(5);

struct Active {
    track: usize,
    source: AudioSource,
    map: ChannelMap,
    resampler: Option<StreamResampler>,
}

pub struct DecoderThread {
    queue: Vec<PathBuf>,
    cache: FileCache,
    ring: PcmProducer,
    commands: Receiver<DecoderCommand>,
    events: Sender<EngineEvent>,
    telemetry: Arc<Telemetry>,
    device_rate: u32,
    device_channels: usize,
    active: Option<Active>,
    /// Device-format samples waiting for room in the ring, and how many of them were pushed.
    pending: Vec<f32>,
    pending_done: usize,
    /// A marker to push once `pending` has drained.
    marker: Option<MarkerKind>,
    decoded: Vec<f32>,
    mapped: Vec<f32>,
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
        Self {
            queue: Vec::new(),
            cache: FileCache::new(cache_bytes),
            ring,
            commands,
            events,
            telemetry,
            device_rate,
            device_channels,
            active: None,
            pending: Vec::new(),
            pending_done: 0,
            marker: None,
            decoded: Vec::new(),
            mapped: Vec::new(),
        }
    }

    fn has_work(&self) -> bool {
        self.active.is_some() || self.marker.is_some() || self.pending_done < self.pending.len()
    }

    /// Run until `Shutdown` or until the control side hangs up.
    pub fn run(mut self) {
        loop {
            let cmd = if !self.has_work() {
                self.telemetry.decoder_idle.store(true, Relaxed);
                self.commands.recv().ok()
            } else if self.ring.vacant_frames() == 0 {
                match self.commands.recv_timeout(FULL_RING_POLL) {
                    Ok(c) => Some(c),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            } else {
                match self.commands.try_recv() {
                    Ok(c) => Some(c),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => return,
                }
            };
            match cmd {
                Some(DecoderCommand::Shutdown) => return,
                Some(c) => self.handle(c),
                None if !self.has_work() => return, // recv() failed: control side is gone
                None => {}
            }
            self.step();
        }
    }

    fn handle(&mut self, cmd: DecoderCommand) {
        match cmd {
            DecoderCommand::SetQueue(q) => {
                self.queue = q;
                if let Some(a) = &self.active {
                    if a.track >= self.queue.len() {
                        self.active = None;
                        self.marker = Some(MarkerKind::End { flush: false });
                    }
                }
            }
            DecoderCommand::Play { track, frame } => {
                self.telemetry.decoder_idle.store(false, Relaxed);
                self.start_track(track, frame, true);
            }
            DecoderCommand::Stop => {
                self.discard_pending();
                self.active = None;
                self.marker = Some(MarkerKind::End { flush: true });
            }
            DecoderCommand::Sync(id) => {
                // Make sure a marker set by an earlier command is in the ring before replying.
                self.push_pending();
                let _ = self.events.send(EngineEvent::Synced(id));
            }
            DecoderCommand::Shutdown => {}
        }
    }

    fn discard_pending(&mut self) {
        self.pending.clear();
        self.pending_done = 0;
        self.marker = None;
    }

    /// Open `track` (or the next that opens) at source frame `frame` and queue its start marker.
    fn start_track(&mut self, mut track: usize, mut frame: u64, flush: bool) {
        if flush {
            self.discard_pending();
        }
        self.active = None;
        while track < self.queue.len() {
            let path = self.queue[track].clone();
            match self.open(track, frame) {
                Ok(active) => {
                    let info = active.source.info().clone();
                    self.marker = Some(MarkerKind::TrackStart {
                        track: track as u32,
                        source_frame: active.source.position(),
                        source_rate: info.sample_rate,
                        flush,
                    });
                    self.active = Some(active);
                    let _ = self.events.send(EngineEvent::TrackOpened { track, info });
                    return;
                }
                Err(error) => {
                    let _ = self.events.send(EngineEvent::TrackFailed { track, path, error });
                    track += 1;
                    frame = 0;
                }
            }
        }
        self.marker = Some(MarkerKind::End { flush });
        let _ = self.events.send(EngineEvent::QueueEnded);
    }

    fn open(&mut self, track: usize, frame: u64) -> Result<Active, String> {
        let path = &self.queue[track];
        let mut source = self.cache.open(path).map_err(|e| e.to_string())?;
        if frame > 0 {
            source.seek(frame).map_err(|e| e.to_string())?;
        }
        let info = source.info();
        let map = ChannelMap::new(&info.layout, self.device_channels);
        let resampler = if info.sample_rate == self.device_rate {
            None
        } else {
            Some(StreamResampler::new(info.sample_rate, self.device_rate, self.device_channels).map_err(|e| {
                format!("{}: {e}", path.display())
            })?)
        };
        Ok(Active { track, source, map, resampler })
    }

    /// Push pending samples and then the pending marker, as far as the rings allow.
    /// Returns true when nothing is left waiting.
    fn push_pending(&mut self) -> bool {
        if self.pending_done < self.pending.len() {
            let frames = self.ring.push(&self.pending[self.pending_done..]);
            self.pending_done += frames * self.device_channels;
            if self.pending_done < self.pending.len() {
                return false;
            }
            self.pending.clear();
            self.pending_done = 0;
        }
        if let Some(m) = self.marker {
            if self.ring.push_marker(m).is_err() {
                return false;
            }
            self.marker = None;
        }
        true
    }

    /// One unit of work: drain what is waiting, else decode one packet.
    fn step(&mut self) {
        if !self.push_pending() {
            return;
        }
        let Some(active) = self.active.as_mut() else { return };
        self.decoded.clear();
        match active.source.read(&mut self.decoded) {
            Ok(n) if n > 0 => {
                self.mapped.clear();
                active.map.map_into(&self.decoded, &mut self.mapped);
                match active.resampler.as_mut() {
                    Some(r) => r.process(&self.mapped, &mut self.pending),
                    None => self.pending.extend_from_slice(&self.mapped),
                }
            }
            Ok(_) => {
                if let Some(r) = active.resampler.as_mut() {
                    r.finish(&mut self.pending);
                }
                let next = active.track + 1;
                self.start_track(next, 0, false);
            }
            Err(e) => {
                let track = active.track;
                let path = self.queue.get(track).cloned().unwrap_or_default();
                let _ = self.events.send(EngineEvent::TrackFailed { track, path, error: e.to_string() });
                self.start_track(track + 1, 0, false);
            }
        }
        self.push_pending();
    }
}
