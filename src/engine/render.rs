//! The render function: PCM ring → preamp/EQ → volume → limiter → monitor mode → meters and
//! spectrum tap → device format. It is the one piece of code that runs
//! in the audio callback, in the null output's thread and in offline rendering, so all three
//! produce the same samples.
//!
//! Real-time rule: everything reachable from `Renderer::process` is allocation-, lock-, I/O- and
//! panic-free. Buffers are sized in `Renderer::new`; telemetry is atomics; commands arrive on an
//! SPSC ring of `Copy` values. `tests/rt_safety.rs` runs it under an allocation detector.

use std::sync::Arc;

use ringbuf::traits::Consumer;
use ringbuf::HeapCons;

use super::commands::Command;
use super::dsp_link::DspTap;
use super::ring::{MarkerKind, PcmConsumer};
use super::telemetry::{PlayState, Telemetry, NO_TRACK};
use crate::dsp::convert::{DeviceSample, Tpdf};
use crate::dsp::smoothing::SmoothedGain;
use crate::perf::clock::now_ns;

/// Largest block rendered in one pass; bigger device buffers are rendered in several passes.
pub const MAX_BLOCK_FRAMES: usize = 4096;

/// Seconds of held (paused) or idle silence after which the renderer goes dormant: it stops
/// running the chain, the meters and the spectrum over zeros and says so in
/// `Telemetry::dormant`, so the engine may suspend the device stream. Longer than the longest
/// meter window (3 s short-term loudness, on a 100 ms grid): by then every meter, filter tail and
/// the limiter's lookahead show silence, and what the device has buffered is silence too.
pub const DORMANT_AFTER_S: u32 = 4;

/// Callbacks of a new stream after which its intervals are recorded even if none looked like a
/// period (see `Renderer::process`).
const UNPACED_LIMIT: u8 = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// No track (before the first, after the end or a stop). Silence is not an underrun.
    Idle,
    /// A track was started or seeked; waiting for its first frames. Not an underrun either.
    Starting,
    /// Audio has flowed since the last track start: running dry now is an underrun.
    Flowing,
}

pub struct Renderer {
    pcm: PcmConsumer,
    commands: HeapCons<Command>,
    telemetry: Arc<Telemetry>,
    channels: usize,
    device_rate: u32,
    volume: SmoothedGain,
    /// Pause/resume fade; multiplies the volume.
    fade: SmoothedGain,
    paused: bool,
    phase: Phase,
    /// Audible track: (track, source frame at `at`, source rate, stream frame `at`).
    track: (u32, u64, u32, u64),
    dither: Tpdf,
    scratch: Box<[f32]>,
    dsp: DspTap,
    /// Consecutive frames of held or idle silence (see `DORMANT_AFTER_S`).
    quiet_frames: u64,
    dormant: bool,
    /// Latest `Command::Wake` number seen.
    wake: u64,
    /// Callbacks of a new stream whose interval is not a period (see `begin_stream`).
    unpaced_callbacks: u8,
    /// `now_ns` at the start of the previous callback (0: none yet on this stream).
    last_start: u64,
    /// A flush marker (play/seek) was applied and its first frame not yet read.
    jumped: bool,
    /// Some frame has been read (see `Telemetry::first_audio_ns`).
    heard_any: bool,
}

impl Renderer {
    #[must_use]
    pub fn new(
        pcm: PcmConsumer,
        commands: HeapCons<Command>,
        telemetry: Arc<Telemetry>,
        channels: usize,
        device_rate: u32,
        dsp: DspTap,
    ) -> Self {
        crate::perf::clock::init();
        let ramp = (device_rate / 100).max(1); // 10 ms: inaudible as a click, fast as a response
        Self {
            pcm,
            commands,
            telemetry,
            channels: channels.max(1),
            device_rate,
            volume: SmoothedGain::new(1.0, ramp * 2),
            fade: SmoothedGain::new(1.0, ramp),
            paused: false,
            phase: Phase::Idle,
            track: (NO_TRACK, 0, 0, 0),
            dither: Tpdf::default(),
            scratch: vec![0.0; MAX_BLOCK_FRAMES * channels.max(1)].into_boxed_slice(),
            dsp,
            quiet_frames: 0,
            dormant: false,
            wake: 0,
            unpaced_callbacks: 0,
            last_start: 0,
            jumped: false,
            heard_any: false,
        }
    }

    /// Set the volume with no ramp (before the first callback).
    pub fn snap_volume(&mut self, gain: f32) {
        self.volume
            .snap(if gain.is_finite() { gain.max(0.0) } else { 1.0 });
    }

    /// An output is about to call `process` for the first time (a new device stream, the null
    /// output, a switch): its intervals until it is paced are not callback periods.
    pub fn begin_stream(&mut self) {
        self.unpaced_callbacks = UNPACED_LIMIT;
        self.last_start = 0;
    }

    /// Record the output host's callback → playback estimate (one relaxed store; RT-safe).
    #[inline]
    pub fn report_device_latency(&self, ns: u64) {
        self.telemetry
            .device_latency_ns
            .store(ns, std::sync::atomic::Ordering::Relaxed);
    }

    #[must_use]
    pub fn chain_latency(&self) -> usize {
        self.dsp.chain.latency()
    }

    #[must_use]
    pub fn channels(&self) -> usize {
        self.channels
    }

    #[must_use]
    pub fn device_rate(&self) -> u32 {
        self.device_rate
    }

    #[must_use]
    pub fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }

    /// Frames that would be heard if rendered now (offline drivers wait for these).
    #[must_use]
    pub fn ready_frames(&self) -> usize {
        self.pcm.ready_frames()
    }

    /// Render one device buffer of interleaved samples in any device format, timing the call
    /// into the performance monitor. This is the whole audio callback.
    pub fn process<S: DeviceSample>(&mut self, out: &mut [S]) {
        let start = now_ns();
        let frames = out.len() / self.channels;
        if self.unpaced_callbacks > 0 {
            // A new stream prefills the device buffer with callbacks back to back (one on
            // PulseAudio, two on ALSA) and then waits for the server to start it (up to 2 s on
            // PulseAudio's idle null sink): none of those intervals is a callback period. The
            // stream counts as paced from its first interval within half a period of one.
            let period = frames as u64 * 1_000_000_000 / u64::from(self.device_rate.max(1));
            let interval = start.saturating_sub(self.last_start);
            let paced = self.last_start != 0 && interval.abs_diff(period) <= period / 2;
            self.unpaced_callbacks = if paced { 0 } else { self.unpaced_callbacks - 1 };
        }
        self.last_start = start;
        if self.dormant || self.unpaced_callbacks > 0 {
            // Dormant, the output may have been suspended since the last callback: that gap is a
            // pause, not a late callback. Unpaced: see above. Neither is recorded.
            self.telemetry.perf.mark_gap();
        }
        crate::dsp::denormals::flush_to_zero();
        self.dsp.update();
        let mut starved = false;
        if let Some(f) = S::as_f32_mut(out) {
            for chunk in f.chunks_mut(MAX_BLOCK_FRAMES * self.channels) {
                starved |= self.render_f32(chunk);
            }
        } else {
            let mut scratch = std::mem::take(&mut self.scratch);
            for chunk in out.chunks_mut(MAX_BLOCK_FRAMES * self.channels) {
                let tmp = &mut scratch[..chunk.len()];
                starved |= self.render_f32(tmp);
                crate::dsp::convert::convert_block(tmp, chunk, &mut self.dither);
            }
            self.scratch = scratch;
        }
        let t = &self.telemetry;
        if starved {
            // One underrun per device callback, however many passes it took.
            t.underruns
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            t.last_underrun_at.store(
                t.frames_played.load(std::sync::atomic::Ordering::Relaxed),
                std::sync::atomic::Ordering::Relaxed,
            );
        }
        t.last_callback_frames
            .store(frames as u32, std::sync::atomic::Ordering::Relaxed);
        t.perf
            .record(start, now_ns().saturating_sub(start), frames as u64);
    }

    fn apply_commands(&mut self) {
        while let Some(cmd) = self.commands.try_pop() {
            match cmd {
                Command::SetVolume(v) => {
                    self.volume
                        .set_target(if v.is_finite() { v.max(0.0) } else { 0.0 })
                }
                Command::Pause => {
                    self.paused = true;
                    self.fade.set_target(0.0);
                }
                Command::Resume => {
                    self.paused = false;
                    self.fade.set_target(1.0);
                }
                Command::Wake(n) => {
                    self.wake = n;
                    self.set_dormant(false);
                }
            }
        }
    }

    fn apply_marker(&mut self, kind: MarkerKind, at: u64) {
        match kind {
            MarkerKind::TrackStart {
                track,
                source_frame,
                source_rate,
                flush,
            } => {
                self.track = (track, source_frame, source_rate, at);
                if flush {
                    self.dsp.chain.reset();
                    self.jumped = true;
                }
                if flush || self.phase == Phase::Idle {
                    self.phase = Phase::Starting;
                }
            }
            MarkerKind::End { flush } => {
                self.track = (NO_TRACK, 0, 0, at);
                self.phase = Phase::Idle;
                self.telemetry.set_state(if flush {
                    PlayState::Idle
                } else {
                    PlayState::Ended
                });
            }
        }
    }

    fn set_dormant(&mut self, dormant: bool) {
        if !dormant {
            self.quiet_frames = 0;
        }
        if dormant != self.dormant {
            self.dormant = dormant;
            let v = if dormant {
                self.wake.wrapping_add(1)
            } else {
                0
            };
            self.telemetry
                .dormant
                .store(v, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Drop what a pending flush (seek, play, stop) made stale, applying every marker up to it at
    /// once (what they refer to is being discarded). This frees the ring for the decoder's new
    /// audio; the callback does it at the start of every block, the offline driver also while it
    /// waits for the decoder (a ring full of stale audio would otherwise never make room).
    pub fn discard_flushed(&mut self) {
        if let Some(flush_at) = self.pcm.last_flush() {
            self.pcm.discard_until(flush_at);
            while let Some(m) = self.pcm.pop_marker() {
                self.apply_marker(m.kind, m.at);
                if m.kind.flush() && m.at == flush_at {
                    break;
                }
            }
        }
    }

    /// Record when the first frame of the stream, and of the latest play/seek, was read (two
    /// relaxed stores; RT-safe).
    #[cold]
    fn note_first_frames(&mut self) {
        use std::sync::atomic::Ordering::Relaxed;
        let now = now_ns();
        if !self.heard_any {
            self.heard_any = true;
            self.telemetry.first_audio_ns.store(now, Relaxed);
        }
        if self.jumped {
            self.jumped = false;
            self.telemetry.jump_heard_ns.store(now, Relaxed);
        }
    }

    /// Apply markers that are due: `discard_flushed`, then those whose position has been reached.
    fn apply_due_markers(&mut self) {
        self.discard_flushed();
        while let Some(m) = self.pcm.peek_marker() {
            if m.at > self.pcm.read_pos() {
                break;
            }
            self.pcm.pop_marker();
            self.apply_marker(m.kind, m.at);
        }
    }

    /// Render interleaved f32 (`out.len()` a multiple of the channel count). Returns true when the
    /// ring ran dry while audio was flowing (an underrun; the gap is filled with silence).
    pub fn render_f32(&mut self, out: &mut [f32]) -> bool {
        let ch = self.channels;
        let frames = out.len() / ch;
        self.apply_commands();
        self.apply_due_markers();
        let held = self.paused && self.fade.is_settled();
        let mut filled = 0;
        if !held {
            while filled < frames {
                // Bounded by what was in the ring *before* the next marker was looked at (see
                // `PcmConsumer::readable_before_marker` for the ordering).
                let want = (frames - filled).min(self.pcm.readable_before_marker());
                let n = if want == 0 {
                    0
                } else {
                    self.pcm
                        .read_into(&mut out[filled * ch..(filled + want) * ch])
                };
                filled += n;
                if n > 0 {
                    if self.phase == Phase::Starting {
                        self.phase = Phase::Flowing;
                    }
                    if self.jumped || !self.heard_any {
                        self.note_first_frames();
                    }
                }
                self.apply_due_markers();
                if n == 0
                    && self
                        .pcm
                        .peek_marker()
                        .is_none_or(|m| m.at > self.pcm.read_pos())
                {
                    break;
                }
            }
        }
        out[filled * ch..].fill(0.0);
        use std::sync::atomic::Ordering::Relaxed;
        let starved = filled < frames && !held && self.phase == Phase::Flowing;
        if filled == 0 && (held || self.phase == Phase::Idle) {
            self.quiet_frames = self.quiet_frames.saturating_add(frames as u64);
            if self.quiet_frames >= u64::from(self.device_rate) * u64::from(DORMANT_AFTER_S) {
                self.set_dormant(true);
            }
        } else {
            self.set_dormant(false);
        }
        if !self.dormant {
            // The chain runs over the whole block, silence included: filter tails ring out and
            // the limiter's lookahead drains instead of holding the last 1.5 ms until the next
            // sound. Once dormant all of that has happened and the block is plain zeros.
            self.dsp.chain.pre_volume(out);
            self.volume.apply(out, ch);
            self.fade.apply(out, ch);
            self.dsp.chain.post_volume(out);
            self.dsp.measure(out);
        }
        let t = &*self.telemetry;
        if filled > 0 {
            t.frames_played.fetch_add(filled as u64, Relaxed);
        }
        // Publish the audible position.
        let (track, src0, src_rate, at) = self.track;
        t.track.store(track, Relaxed);
        if track != NO_TRACK {
            let played = self.pcm.read_pos().saturating_sub(at);
            let src = src0 + played * u64::from(src_rate) / u64::from(self.device_rate.max(1));
            t.track_frame.store(src, Relaxed);
            t.track_rate.store(src_rate, Relaxed);
            t.set_state(if self.paused {
                PlayState::Paused
            } else {
                PlayState::Playing
            });
        }
        starved
    }
}
