//! The playback engine: decoder thread → PCM ring → render function in the output callback.
//!
//! `Engine` is the control-side handle (UI or CLI thread). It owns the threads and the output and
//! talks to them only through rings, channels and atomics — see `docs/ARCHITECTURE.md`.

pub mod audio_thread;
pub mod bench_rig;
pub mod capture;
pub mod commands;
pub mod crossfade;
pub mod decoder;
mod device;
pub mod dsp_link;
mod gain_ramp;
pub mod input;
mod normalize;
pub mod order;
pub mod output;
pub mod render;
pub mod resample;
pub mod ring;
pub mod rtkit;
pub mod telemetry;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use ringbuf::traits::{Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use crate::analysis::spectrum::{SpectrumConfig, SpectrumFrame};
use crate::dsp::chain::DspSettings;
use crate::library::replaygain::GainSettings;
pub use commands::{Bound, Command, DecoderCommand, EngineEvent, QueueItem};
pub use decoder::MIN_LOOP_S;
use dsp_link::{DspControl, MeterReading};
pub use output::{OutputChoice, OutputError};
use output::{OutputHealth, OutputPlan, RunningOutput};
use render::Renderer;
pub use telemetry::{PlayState, Telemetry};

/// Run `f`, turning a panic into its message: worker threads (decoder, meters) contain a bug or a
/// hostile file that trips one in a codec instead of dying silently. The panic hook has already
/// printed its one line.
pub(crate) fn contain<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into())
    })
}

#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub output: OutputChoice,
    /// Frames per device callback; None: the device default.
    pub buffer_frames: Option<u32>,
    /// Budget of the file byte cache. 16 MiB holds typical MP3/AAC tracks; a larger file (a long
    /// FLAC) streams from disk. Kept small because the whole app targets ≤ 60 MB anonymous memory.
    pub cache_mib: usize,
    /// How far the decoder runs ahead of the callback.
    pub ring_seconds: f64,
    /// Initial EQ, limiter and monitor settings.
    pub dsp: DspSettings,
    /// Whether the chain has a limiter (playback: always; `render`: only with `--limit`).
    pub limiter: bool,
    /// Loudness normalization (applied by the decoder thread, before the EQ).
    pub gain: GainSettings,
    /// Initial volume (linear), in place from the first sample (no ramp from unity).
    pub volume: f32,
    /// Crossfade between tracks (mixed by the decoder thread).
    pub crossfade: crossfade::Crossfade,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            output: OutputChoice::Default,
            buffer_frames: None,
            cache_mib: 16,
            ring_seconds: 0.5,
            dsp: DspSettings::default(),
            limiter: true,
            volume: 1.0,
            gain: GainSettings::default(),
            crossfade: crossfade::Crossfade::default(),
        }
    }
}

/// What the engine is playing into.
#[derive(Clone, Debug)]
pub struct OutputInfo {
    /// Audio host ("ALSA", or "null" for the null output).
    pub host: &'static str,
    pub device: String,
    pub sample_rate: u32,
    pub channels: usize,
    pub sample_format: String,
    pub buffer_frames: Option<u32>,
    pub is_null: bool,
    /// Why the engine is not on the device that was asked for, if it is not.
    pub fallback_reason: Option<String>,
}

enum Sink {
    /// Held for its `Drop`: dropping it stops the stream and sends the renderer home.
    Running(#[allow(dead_code)] RunningOutput),
    /// No clock: the caller pulls blocks with `render_offline`.
    Offline(Box<Renderer>),
    Detached,
}

pub struct Engine {
    decoder_tx: Sender<DecoderCommand>,
    events_rx: Receiver<EngineEvent>,
    events: VecDeque<EngineEvent>,
    commands: HeapProd<Command>,
    telemetry: Arc<Telemetry>,
    decoder: Option<JoinHandle<()>>,
    sink: Sink,
    home: HeapCons<Renderer>,
    health: Arc<OutputHealth>,
    /// A failure the control side itself met (resuming a corked stream), for the next `poll`.
    failure: Option<String>,
    /// Whether a transient stream error has been reported (once per engine).
    transient_reported: bool,
    /// When the device was last reopened after an error (see `reopen_device`).
    last_reopen: Option<std::time::Instant>,
    /// The audio thread's scheduling, judged once per thread (see `rtkit::RtWatch`).
    rt: rtkit::RtWatch,
    plan: OutputPlan,
    info: OutputInfo,
    queue: Vec<QueueItem>,
    /// Stable key of each queue entry (what the decoder's markers and the telemetry carry).
    keys: Vec<u32>,
    next_key: u32,
    /// Key of the last track the decoder opened, with its rate (for seeking before it is audible).
    last_opened: Option<(u32, u32)>,
    sync_id: u64,
    paused: bool,
    dsp: DspControl,
    /// Number of the latest `Command::Wake` sent.
    wake: u64,
    /// The device stream is corked (see `Engine::poll`).
    suspended: bool,
    /// False once the host refused to pause a stream (then it simply keeps playing silence).
    can_suspend: bool,
    /// When the latest `Command::Wake` was sent.
    last_wake: std::time::Instant,
    /// The latest play/seek not yet heard: (queue key, seconds, when asked). See
    /// `target_position`.
    pending_jump: Option<(u32, f64, std::time::Instant)>,
    /// Repeat and shuffle, as the decoder has them.
    order: order::PlayOrder,
    /// `stop` was the latest transport command (the position reads `None` from then on, before
    /// the renderer has applied it).
    stopped: bool,
}

/// How long a play/seek target stands in for the audible position when it is never heard (the
/// track failed, the queue ended).
const PENDING_JUMP_FOR: std::time::Duration = std::time::Duration::from_secs(2);
/// Seconds past a target within which the audible position counts as having landed there.
const LANDED_WITHIN: f64 = 1.0;

struct Parts {
    renderer: Renderer,
    dsp: DspControl,
    engine_side: (
        Sender<DecoderCommand>,
        Receiver<EngineEvent>,
        HeapProd<Command>,
        JoinHandle<()>,
    ),
}

fn build_parts(plan: &OutputPlan, cfg: &EngineConfig, telemetry: &Arc<Telemetry>) -> Parts {
    let (rate, channels) = (plan.sample_rate, plan.channels);
    // At least four device callbacks deep, or a large buffer would starve every callback.
    let callback = plan.buffer_frames.unwrap_or(output::DEFAULT_BUFFER) as usize;
    let ring_frames =
        ((cfg.ring_seconds.clamp(0.05, 10.0) * f64::from(rate)) as usize).max(4 * callback);
    let (pcm_prod, pcm_cons) = ring::pcm_ring(channels, ring_frames);
    let (cmd_prod, cmd_cons) = HeapRb::<Command>::new(1024).split();
    let (dtx, drx) = crossbeam_channel::unbounded();
    let (etx, erx) = crossbeam_channel::unbounded();
    let (dsp, tap) = dsp_link::link(
        &cfg.dsp,
        rate,
        channels,
        render::MAX_BLOCK_FRAMES,
        cfg.limiter,
    );
    let mut renderer = Renderer::new(pcm_cons, cmd_cons, telemetry.clone(), channels, rate, tap);
    renderer.snap_volume(cfg.volume);
    let mut decoder = decoder::DecoderThread::new(
        pcm_prod,
        drx,
        etx,
        telemetry.clone(),
        rate,
        channels,
        cfg.cache_mib << 20,
    );
    decoder.set_gain_settings(cfg.gain);
    decoder.set_crossfade_settings(cfg.crossfade);
    // Untagged files' loudness, measured in the background and kept in the user's cache.
    decoder.set_measurer(crate::library::gain_cache::Measurer::shared());
    let handle = std::thread::Builder::new()
        .name("rusty-audio-decoder".into())
        .spawn(move || decoder.run())
        .expect("spawning the decoder thread");
    Parts {
        renderer,
        dsp,
        engine_side: (dtx, erx, cmd_prod, handle),
    }
}

impl Engine {
    /// Start playback infrastructure on the configured output. A missing or failing device falls
    /// back to the null output; `output_info().fallback_reason` says why.
    pub fn start(cfg: &EngineConfig) -> Result<Self, OutputError> {
        let (plan, mut fallback) = match output::plan(&cfg.output, cfg.buffer_frames) {
            Ok(p) => (p, None),
            Err(e @ OutputError::NoSuchDevice(_)) => return Err(e),
            Err(e) => (
                OutputPlan::null(output::NULL_RATE, output::NULL_CHANNELS, cfg.buffer_frames),
                Some(e.to_string()),
            ),
        };
        let mut engine = Self::assemble(plan, cfg);
        let renderer = engine.take_offline_renderer();
        if let Err(e) = engine.launch(renderer) {
            fallback = Some(e.to_string());
            engine.fall_back_to_null();
        }
        engine.info.fallback_reason = fallback;
        Ok(engine)
    }

    /// An engine with no clock and no device: `render_offline` pulls the same render function.
    /// Used by tests and the offline commands.
    #[must_use]
    pub fn offline(sample_rate: u32, channels: usize, cfg: &EngineConfig) -> Self {
        let mut plan = OutputPlan::null(sample_rate, channels, None);
        plan.name = "offline".into();
        Self::assemble(plan, cfg)
    }

    fn assemble(plan: OutputPlan, cfg: &EngineConfig) -> Self {
        let telemetry = Arc::new(Telemetry::default());
        let parts = build_parts(&plan, cfg, &telemetry);
        let (decoder_tx, events_rx, commands, handle) = parts.engine_side;
        let (_, home) = output::renderer_home();
        let info = OutputInfo {
            host: plan.host,
            device: plan.name.clone(),
            sample_rate: plan.sample_rate,
            channels: plan.channels,
            sample_format: format!("{}", plan.sample_format),
            buffer_frames: plan.buffer_frames,
            is_null: plan.is_null(),
            fallback_reason: None,
        };
        Self {
            decoder_tx,
            events_rx,
            events: VecDeque::new(),
            commands,
            telemetry,
            decoder: Some(handle),
            sink: Sink::Offline(Box::new(parts.renderer)),
            home,
            health: Arc::new(OutputHealth::default()),
            failure: None,
            rt: rtkit::RtWatch::default(),
            last_reopen: None,
            transient_reported: false,
            plan,
            info,
            queue: Vec::new(),
            keys: Vec::new(),
            next_key: 0,
            last_opened: None,
            sync_id: 0,
            paused: false,
            dsp: parts.dsp,
            wake: 0,
            suspended: false,
            can_suspend: true,
            last_wake: std::time::Instant::now(),
            pending_jump: None,
            stopped: false,
            order: order::PlayOrder::default(),
        }
    }

    fn take_offline_renderer(&mut self) -> Renderer {
        match std::mem::replace(&mut self.sink, Sink::Detached) {
            Sink::Offline(r) => *r,
            _ => unreachable!("only called right after assemble"),
        }
    }

    fn note(&mut self, e: &EngineEvent) {
        if let EngineEvent::TrackOpened { key, info, .. } = e {
            self.last_opened = Some((*key, info.sample_rate));
        }
    }

    /// The queue's keys, in queue order.
    #[must_use]
    pub fn keys(&self) -> &[u32] {
        &self.keys
    }

    /// Playlist index of the entry with `key`.
    #[must_use]
    pub fn index_of(&self, key: u32) -> Option<usize> {
        self.keys.iter().position(|&k| k == key)
    }

    fn send(&mut self, cmd: DecoderCommand) {
        self.send_to_decoder(cmd);
        self.wake();
        if matches!(self.sink, Sink::Offline(_)) {
            self.sync();
        }
    }

    /// Send to the decoder and wake it if it sleeps on a full ring (it parks rather than poll the
    /// channel; see `DecoderThread::run`). False when the decoder is gone.
    fn send_to_decoder(&self, cmd: DecoderCommand) -> bool {
        let sent = self.decoder_tx.send(cmd).is_ok();
        if let Some(t) = &self.decoder {
            t.thread().unpark();
        }
        sent
    }

    /// Wait until the decoder has applied every command sent so far.
    pub fn sync(&mut self) {
        self.sync_id += 1;
        let id = self.sync_id;
        if !self.send_to_decoder(DecoderCommand::Sync(id)) {
            return;
        }
        while let Ok(e) = self.events_rx.recv_timeout(Duration::from_secs(30)) {
            if let EngineEvent::Synced(got) = e {
                if got == id {
                    return;
                }
            } else {
                self.note(&e);
                self.events.push_back(e);
            }
        }
    }

    fn command(&mut self, c: Command) {
        // The ring holds 1024 commands (each send adds a `Wake`); it is only full if the callback
        // has stopped running, in which case the command has no listener anyway.
        let _ = self.commands.try_push(c);
        self.wake();
    }

    /// Replace the playlist. Entries keep their identity by index (an append or a change after
    /// the playing index leaves it playing); use `set_queue_keyed` to reorder or remove.
    pub fn set_queue(&mut self, paths: Vec<PathBuf>) {
        self.set_queue_items(paths.into_iter().map(QueueItem::file).collect());
    }

    /// `set_queue` with entries that may be ranges of a file (cue tracks).
    pub fn set_queue_items(&mut self, items: Vec<QueueItem>) {
        let keys: Vec<u32> = (0..items.len())
            .map(|i| {
                self.keys.get(i).copied().unwrap_or_else(|| {
                    self.next_key += 1;
                    self.next_key
                })
            })
            .collect();
        self.set_queue_keyed(keys.into_iter().zip(items).collect());
    }

    /// Replace the playlist with (key, path) entries whose keys the caller keeps stable: the
    /// playing track keeps playing, seamlessly, wherever its key moved; if its key is gone,
    /// playback stops after what is already buffered. Keys must be unique and not `u32::MAX`.
    pub fn set_queue_keyed(&mut self, entries: Vec<(u32, QueueItem)>) {
        self.keys = entries.iter().map(|e| e.0).collect();
        self.queue = entries.iter().map(|e| e.1.clone()).collect();
        self.next_key = self
            .next_key
            .max(self.keys.iter().copied().max().unwrap_or(0));
        self.send(DecoderCommand::SetQueue(entries));
    }

    /// Playlist index and position (seconds) of what is audible.
    #[must_use]
    pub fn position(&self) -> Option<(usize, f64)> {
        let (key, s) = self.telemetry.position()?;
        Some((self.index_of(key)?, s))
    }

    #[must_use]
    pub fn queue(&self) -> &[QueueItem] {
        &self.queue
    }

    /// Play playlist entry `track` from its start.
    pub fn play_track(&mut self, track: usize) {
        self.play_from(track, 0);
    }

    /// Play `track` from source frame `frame`.
    pub fn play_from(&mut self, track: usize, frame: u64) {
        self.start_playing(track, frame, 0.0);
    }

    /// Play `track` from `seconds` in (the file's rate need not be known yet: restoring a
    /// saved position, or moving playback to another output).
    pub fn play_at(&mut self, track: usize, seconds: f64) {
        self.start_playing(track, 0, seconds);
    }

    /// Where the latest play/seek asked to go until playback is there, else the audible
    /// position; `None` once stopped. Relative seeks and skips start from here: three quick
    /// "+5 s" are +15 s, not three times +5 s from a position that has not moved yet.
    ///
    /// "There" is judged by the audible position itself (same track, at or just past the target),
    /// not by "some jump was heard after this one was asked": while a seek is being heard, a
    /// newer one may already be on its way, and its target must stand until it lands.
    #[must_use]
    pub fn target_position(&self) -> Option<(usize, f64)> {
        if self.stopped {
            return None;
        }
        if let Some((key, seconds, asked)) = self.pending_jump {
            if !self.has_landed(key, seconds) && asked.elapsed() < PENDING_JUMP_FOR {
                if let Some(i) = self.index_of(key) {
                    return Some((i, seconds));
                }
            }
        }
        self.position()
    }

    /// A play or seek was asked for (not paused) and is not heard yet, for at most
    /// `PENDING_JUMP_FOR`: the app keeps drawing until it lands (nothing in the engine wakes
    /// the UI when it does).
    #[must_use]
    pub fn jump_pending(&self) -> bool {
        !self.stopped
            && !self.paused
            && self.pending_jump.is_some_and(|(key, seconds, asked)| {
                !self.has_landed(key, seconds) && asked.elapsed() < PENDING_JUMP_FOR
            })
    }

    /// Whether the audible position is at `seconds` (or up to `LANDED_WITHIN` past it) in the
    /// track with `key`.
    fn has_landed(&self, key: u32, seconds: f64) -> bool {
        self.telemetry
            .position()
            .is_some_and(|(k, s)| k == key && s >= seconds - 0.01 && s < seconds + LANDED_WITHIN)
    }

    /// Forget a play/seek target once playback is there (called every `poll`), so that the
    /// judgement does not depend on seeing the position inside the landing window later.
    fn settle_pending_jump(&mut self) {
        if let Some((key, seconds, asked)) = self.pending_jump {
            if self.has_landed(key, seconds) || asked.elapsed() >= PENDING_JUMP_FOR {
                self.pending_jump = None;
            }
        }
    }

    fn start_playing(&mut self, track: usize, frame: u64, seconds: f64) {
        self.jump(track, frame, seconds);
        if self.paused {
            self.resume();
        }
    }

    /// Go to `track` at `frame` + `seconds` without changing pause: what a seek does (a paused
    /// track seeked stays paused, as in every player).
    fn jump(&mut self, track: usize, frame: u64, seconds: f64) {
        let rate = self
            .current_track()
            .filter(|&(t, r)| t == track && r > 0)
            .map(|(_, r)| r);
        let target = seconds.max(0.0) + rate.map_or(0.0, |r| frame as f64 / f64::from(r));
        self.stopped = false;
        self.pending_jump = self
            .keys
            .get(track)
            .map(|&k| (k, target, std::time::Instant::now()));
        self.telemetry
            .jump_requested_ns
            .store(crate::perf::clock::now_ns(), Relaxed);
        self.send(DecoderCommand::Play {
            track,
            frame,
            seconds,
        });
    }

    /// The audible track (or the last one opened, before it is audible).
    #[must_use]
    pub fn current_track(&self) -> Option<(usize, u32)> {
        let t = self.telemetry.track.load(Relaxed);
        if t != telemetry::NO_TRACK {
            return Some((self.index_of(t)?, self.telemetry.track_rate.load(Relaxed)));
        }
        self.last_opened
            .and_then(|(k, rate)| Some((self.index_of(k)?, rate)))
    }

    /// Seek the current track to `seconds`.
    /// (The track is the one the latest play asked for when that is not audible yet.) Pause is
    /// kept: a paused track seeked stays paused.
    pub fn seek(&mut self, seconds: f64) {
        let Some((track, _)) = self.skip_base() else {
            return;
        };
        match self.current_track() {
            Some((t, rate)) if t == track && rate > 0 => {
                let frame = (seconds.max(0.0) * f64::from(rate)).round() as u64;
                self.jump(track, frame, 0.0);
            }
            _ => self.jump(track, 0, seconds.max(0.0)),
        }
    }

    /// Where a skip starts from: the latest target, else what plays (or was last opened).
    fn skip_base(&self) -> Option<(usize, f64)> {
        self.target_position()
            .or_else(|| self.current_track().map(|(t, _)| (t, 0.0)))
    }

    /// The next entry in play order (see `set_play_order`).
    pub fn next(&mut self) {
        if let Some((t, _)) = self.skip_base() {
            if let Some(n) = self.order.skip_next(t, &self.keys) {
                self.play_track(n);
            }
        }
    }

    /// The previous entry in play order, or the start of this one when more than 3 s in (what
    /// players do).
    pub fn previous(&mut self) {
        if let Some((t, pos)) = self.skip_base() {
            let back = (pos <= 3.0)
                .then(|| self.order.skip_previous(t, &self.keys))
                .flatten();
            self.play_track(back.unwrap_or(t));
        }
    }

    /// Loop the current track between `a` and `b` seconds (sample-exact, a 5 ms crossfade at
    /// the seam), going to A now; `None` ends the loop (playback goes on past B). Pause is kept.
    /// Ignored without a current track or when B is not after A.
    pub fn set_ab_loop(&mut self, ab: Option<(f64, f64)>) {
        if ab.is_none() {
            self.send(DecoderCommand::SetLoop(None));
            return;
        }
        let Some((track, _)) = self.skip_base() else {
            return;
        };
        let Some(&key) = self.keys.get(track) else {
            return;
        };
        match ab {
            Some((a, b)) if a.is_finite() && b.is_finite() && b > a => {
                self.send(DecoderCommand::SetLoop(Some((key, a.max(0.0), b))));
                self.jump(track, 0, a.max(0.0));
            }
            _ => {}
        }
    }

    /// Give a new engine the A–B loop the old one had (the entry's key, A and B in seconds),
    /// without the jump to A `set_ab_loop` makes: before the position is restored.
    pub fn keep_ab_loop(&mut self, key: u32, a: f64, b: f64) {
        self.send(DecoderCommand::SetLoop(Some((key, a.max(0.0), b))));
    }

    /// Repeat and shuffle: what follows each entry, for skips and natural ends alike.
    pub fn set_play_order(&mut self, order: order::PlayOrder) {
        self.order = order.clone();
        self.send(DecoderCommand::SetOrder(order));
    }

    #[must_use]
    pub fn play_order(&self) -> &order::PlayOrder {
        &self.order
    }

    pub fn stop(&mut self) {
        self.pending_jump = None;
        self.stopped = true;
        self.send(DecoderCommand::Stop);
    }

    pub fn pause(&mut self) {
        self.paused = true;
        self.command(Command::Pause);
    }

    pub fn resume(&mut self) {
        self.paused = false;
        self.command(Command::Resume);
    }

    #[must_use]
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Linear gain (1.0 = unity).
    pub fn set_volume(&mut self, gain: f32) {
        self.command(Command::SetVolume(gain));
    }

    pub fn set_volume_db(&mut self, db: f32) {
        self.set_volume(if db <= -120.0 {
            0.0
        } else {
            10f32.powf(db / 20.0)
        });
    }

    /// EQ, limiter and monitor settings; heard within one callback, changes smoothed.
    pub fn set_dsp(&mut self, s: &DspSettings) {
        self.dsp.set(s);
    }

    #[must_use]
    pub fn dsp(&self) -> &DspSettings {
        self.dsp.settings()
    }

    /// The renderer rests (see `render::REST_PAUSED_AFTER_S`): nothing is heard and the meters
    /// and the spectrum are not fed.
    #[must_use]
    pub fn is_resting(&self) -> bool {
        self.telemetry()
            .resting
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The latest meter reading; at rest (`MeterReading::at_rest`) while the renderer rests:
    /// the meter thread is then fed nothing, and its windows still hold the audio from before
    /// the pause.
    pub fn meters(&mut self) -> MeterReading {
        let r = self.dsp.meters();
        if self.is_resting() {
            r.at_rest()
        } else {
            r
        }
    }

    pub fn reset_meters(&mut self) {
        self.dsp.reset_meters();
    }

    /// Latest spectrum frame (lock-free).
    pub fn spectrum(&mut self) -> &SpectrumFrame {
        self.dsp.spectrum()
    }

    #[must_use]
    pub fn spectrum_config(&self) -> &SpectrumConfig {
        self.dsp.spectrum_config()
    }

    pub fn set_spectrum_config(&mut self, cfg: SpectrumConfig) {
        self.dsp.set_spectrum_config(cfg);
    }

    /// Skip the FFT tap while no view shows it.
    pub fn set_spectrum_enabled(&mut self, on: bool) {
        self.dsp.set_spectrum_enabled(on);
    }

    #[must_use]
    pub fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }

    #[must_use]
    pub fn output_info(&self) -> &OutputInfo {
        &self.info
    }

    /// Offline only: render `out` (interleaved, any device sample format), waiting for the
    /// decoder as needed. Returns false once the queue has ended and nothing more is buffered.
    pub fn render_offline<S: crate::dsp::convert::DeviceSample>(&mut self, out: &mut [S]) -> bool {
        let Sink::Offline(r) = &mut self.sink else {
            panic!("render_offline on an engine with a live output");
        };
        let want = out.len() / r.channels();
        loop {
            r.discard_flushed();
            let idle = self.telemetry.decoder_idle.load(Relaxed);
            // At least what the renderer waits for after a jump (see `Renderer::process`).
            if r.ready_frames() >= want.max(r.prebuffer_frames()) || idle {
                break;
            }
            // Not a timing assumption: we simply wait for the decoder to produce data.
            std::thread::sleep(Duration::from_micros(200));
        }
        r.process(out);
        !(self.telemetry.state() == PlayState::Ended && r.ready_frames() == 0)
    }

    /// Frames of delay the DSP chain adds (the limiter's lookahead; 0 without a limiter).
    #[must_use]
    pub fn chain_latency(&self) -> usize {
        match &self.sink {
            Sink::Offline(r) => r.chain_latency(),
            // A live chain always has its limiter.
            _ => crate::dsp::limiter::lookahead_window(f64::from(self.info.sample_rate)) - 1,
        }
    }

    /// Offline only: access the renderer directly (for tests that wrap it in detectors).
    pub fn offline_renderer(&mut self) -> Option<&mut Renderer> {
        match &mut self.sink {
            Sink::Offline(r) => Some(r),
            _ => None,
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.sink = Sink::Detached;
        self.send_to_decoder(DecoderCommand::Shutdown);
        if let Some(h) = self.decoder.take() {
            let _ = h.join();
        }
    }
}
