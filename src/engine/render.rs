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

/// Seconds of held (paused) or idle (no track: stopped, the end of the queue — not while the
/// decoder is still opening one) silence after which the renderer goes dormant: it rests (below) and says so in
/// `Telemetry::dormant`, so the engine may cork the device stream. Longer than the longest meter
/// window (3 s short-term loudness). Not shorter for a pause: corking after 1 s (so that a stream
/// was corked and uncorked within the D-Bus test's pause and play) made the *next* test binary's
/// 256-frame tone tests hear a ~512-frame gap at the test server's null sink in 3 runs of 11
/// (never with the cork at 4 s, never without that test before them): a server-side effect not
/// understood, so the stream's life is left as it was. A running, silent stream costs next to
/// nothing on the PipeWire host (measured: 0.25–0.5 % of a core 2–6 s after Pause either way).
pub const DORMANT_AFTER_S: u32 = 4;
/// Seconds of held silence after which the renderer rests: it stops running the chain, the
/// meters and the spectrum tap over zeros and says so in `Telemetry::resting`. Metering zeros
/// (true peak, K-weighting) costs the meter thread ~3 % of a core here, and a paused player sits
/// there for hours: 1 s meets issue 13's "≤ 1 % within 2 s of Pause". (A pause has faded out in
/// 10 ms; the chain's tail — filters, the limiter's 1.5 ms lookahead — has rung out long before.)
/// While the renderer rests the engine reports the windowed meters at rest
/// (`MeterReading::at_rest`); the integrated loudness is kept. Idle silence rests when it goes
/// dormant: a track still opening must not lose the chain's state.
pub const REST_PAUSED_AFTER_S: u32 = 1;

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
    /// Jump declick (play, seek, skip, stop while audible): fades what plays out before the jump
    /// and fades a mid-track landing in; multiplies the volume (see `render_f32`).
    declick: SmoothedGain,
    /// A jump is pending and what plays is fading out to it; the flush is applied once
    /// `declick` reaches zero.
    jump_out: bool,
    /// The pending flush follows a completed fade-out: the chain's tail is faded audio and rings
    /// out on its own instead of being cut by a reset.
    faded_out: bool,
    /// Length of a jump fade (5 ms).
    declick_frames: u32,
    /// Audio to have buffered after a jump before it starts (20 ms; see `render_pass`).
    prebuffer_frames: usize,
    /// A landing inside a track waits at gain 0 for its first frame; the fade-in starts there,
    /// not at the flush (the decoder may take tens of ms to seek, and a ramp run over that
    /// silence would leave the new audio to start at full amplitude).
    fade_in: bool,
    paused: bool,
    phase: Phase,
    /// Audible track: (track, source frame at `at`, source rate, stream frame `at`).
    track: (u32, u64, u32, u64),
    dither: Tpdf,
    scratch: Box<[f32]>,
    dsp: DspTap,
    /// Consecutive frames of held or idle silence (see `DORMANT_AFTER_S`, `REST_PAUSED_AFTER_S`).
    quiet_frames: u64,
    /// Not running the chain, meters and spectrum over silence (implied by `dormant`).
    resting: bool,
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
        // 10 ms: inaudible as a click, fast as a response. Jumps fade over half of it (5 ms out,
        // 5 ms in): a seek must answer quickly, and 5 ms already spreads a full-scale cut over
        // 240 samples at 48 kHz (a step of 0.4 % of full scale per sample).
        let ramp = (device_rate / 100).max(1);
        Self {
            pcm,
            commands,
            telemetry,
            channels: channels.max(1),
            device_rate,
            volume: SmoothedGain::new(1.0, ramp * 2),
            fade: SmoothedGain::new(1.0, ramp),
            declick: SmoothedGain::new(1.0, (ramp / 2).max(1)),
            jump_out: false,
            faded_out: false,
            declick_frames: (ramp / 2).max(1),
            prebuffer_frames: (device_rate as usize / 50).max(1),
            fade_in: false,
            paused: false,
            phase: Phase::Idle,
            track: (NO_TRACK, 0, 0, 0),
            dither: Tpdf::default(),
            scratch: vec![0.0; MAX_BLOCK_FRAMES * channels.max(1)].into_boxed_slice(),
            dsp,
            quiet_frames: 0,
            resting: false,
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

    /// Frames buffered after a jump before it starts playing.
    #[must_use]
    pub fn prebuffer_frames(&self) -> usize {
        self.prebuffer_frames
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
                    if self.phase == Phase::Flowing {
                        self.fade.set_target(0.0);
                    } else {
                        // Nothing heard yet (a session restored paused, a pause right after
                        // play): hold at once, so not a block of it plays.
                        self.fade.snap(0.0);
                    }
                }
                Command::Resume => {
                    self.paused = false;
                    self.fade.set_target(1.0);
                }
                Command::Wake(n) => {
                    self.wake = n;
                    self.wake_up();
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
                    self.end_jump();
                    self.jumped = true;
                    // A landing inside a track starts from silence and fades in (a seek, a
                    // restored position); a track's own start is played as it is.
                    if source_frame > 0 {
                        self.declick.snap(0.0);
                        self.fade_in = true;
                    }
                }
                if flush || self.phase == Phase::Idle {
                    self.phase = Phase::Starting;
                }
            }
            MarkerKind::End { flush } => {
                if flush {
                    self.end_jump();
                }
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

    /// A flush is being applied: the jump fade (if any) is over. Without a completed fade-out the
    /// old audio was cut (held, idle, or the offline driver discarding): its filter and limiter
    /// state goes with it. After one, that state is faded audio and rings out into the silence.
    fn end_jump(&mut self) {
        if !self.faded_out {
            self.dsp.chain.reset();
        }
        self.jump_out = false;
        self.fade_in = false;
        self.declick.snap(1.0);
    }

    /// Something was sent or is heard: restart the silence count, leave rest and dormancy.
    fn wake_up(&mut self) {
        use std::sync::atomic::Ordering::Relaxed;
        self.quiet_frames = 0;
        if self.resting {
            self.resting = false;
            self.telemetry.resting.store(false, Relaxed);
        }
        if self.dormant {
            self.dormant = false;
            self.telemetry.dormant.store(0, Relaxed);
        }
    }

    /// Count `frames` more of held (`held`) or idle silence; rest and go dormant when due.
    fn note_quiet(&mut self, frames: usize, held: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        self.quiet_frames = self.quiet_frames.saturating_add(frames as u64);
        let rate = u64::from(self.device_rate);
        let rest_after = if held {
            REST_PAUSED_AFTER_S
        } else {
            DORMANT_AFTER_S
        };
        if !self.resting && self.quiet_frames >= rate * u64::from(rest_after) {
            self.resting = true;
            self.telemetry.resting.store(true, Relaxed);
        }
        if !self.dormant && self.quiet_frames >= rate * u64::from(DORMANT_AFTER_S) {
            self.dormant = true;
            self.resting = true;
            self.telemetry.resting.store(true, Relaxed);
            // Names the wake it has been silent since (see `Telemetry::dormant`).
            self.telemetry
                .dormant
                .store(self.wake.wrapping_add(1), Relaxed);
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

    /// Apply the markers whose position has been reached, in order. With `stop_at_flush` a due
    /// flush marker is left in place and true returned: the pass ends there, so that the jump
    /// (and its declick ramps) starts at the beginning of a pass.
    fn apply_due_markers(&mut self, stop_at_flush: bool) -> bool {
        while let Some(m) = self.pcm.peek_marker() {
            if m.at > self.pcm.read_pos() {
                break;
            }
            if stop_at_flush && m.kind.flush() {
                return true;
            }
            self.pcm.pop_marker();
            self.apply_marker(m.kind, m.at);
        }
        false
    }

    /// Render interleaved f32 (`out.len()` a multiple of the channel count). Returns true when the
    /// ring ran dry while audio was flowing (an underrun; the gap is filled with silence).
    ///
    /// A jump (a flush marker: play, seek, skip, stop) that arrives while audio is heard is not
    /// applied at once: the old audio plays on under a 5 ms fade-out (`declick`), then the flush
    /// is applied and a landing inside a track fades in. A block is rendered in passes so that
    /// the fade-out ends exactly where the flush applies, wherever that falls in the block.
    pub fn render_f32(&mut self, out: &mut [f32]) -> bool {
        let ch = self.channels;
        let mut starved = false;
        let mut done = 0;
        while out.len() - done >= ch {
            let (frames, dry) = self.render_pass(&mut out[done..]);
            starved |= dry;
            done += frames * ch;
        }
        // A device buffer that is not whole frames (never expected) gets silence in its tail.
        out[done..].fill(0.0);
        starved
    }

    /// One pass of `render_f32`: the whole of `out`, or while a jump fades out, up to the end of
    /// the fade. Returns (frames rendered, ran dry); always renders at least one frame.
    fn render_pass(&mut self, out: &mut [f32]) -> (usize, bool) {
        let ch = self.channels;
        self.apply_commands();
        let held = self.paused && self.fade.is_settled();
        // Whether a pending flush may be applied at the start of this pass. Decided from what
        // was seen here: a flush the decoder pushes after this look waits for the next pass
        // (and its fade), it is never discarded unfaded.
        let mut jump_now = false;
        if self.jump_out && self.declick.is_settled() {
            // Faded out: the pending flush applies now.
            self.jump_out = false;
            self.faded_out = true;
            jump_now = true;
        } else if !self.jump_out {
            let audible = !held && self.phase == Phase::Flowing && self.declick.current() > 0.0;
            match self.pcm.before_first_flush() {
                Some(left) if audible && left > 0 => {
                    // A jump while audio is heard: fade out first, reading on in the old audio
                    // up to the flush (over less than the usual 5 ms if less is left: a steep
                    // fade still beats a cut).
                    self.jump_out = true;
                    let ramp = left.min(self.declick_frames as usize) as u32;
                    self.declick.ramp_to(0.0, ramp);
                }
                // Nothing heard (held, starting, idle) or no old audio left to fade.
                Some(_) => jump_now = true,
                None => {}
            }
        }
        let mut frames = out.len() / ch;
        if self.jump_out {
            frames = frames.min(self.declick.remaining() as usize).max(1);
        } else if jump_now {
            self.discard_flushed();
        }
        self.apply_due_markers(self.jump_out);
        self.faded_out = false;
        let mut filled = 0;
        // After a jump, wait (in silence, which is not an underrun) until a little audio is
        // buffered: reading the first packet the decoder pushed and then running dry while it
        // decodes the next (a busy machine, a slow seek) was an underrun after most seeks and
        // track changes. No wait when all of the track that is coming is there (a marker follows
        // it) or the decoder has nothing more to give.
        let prebuffering = self.phase == Phase::Starting
            && self.pcm.readable_before_marker() < self.prebuffer_frames
            && self.pcm.peek_marker().is_none()
            && !self
                .telemetry
                .decoder_idle
                .load(std::sync::atomic::Ordering::Relaxed);
        if !held && !prebuffering {
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
                // A flush reached by reading (a jump with no old audio left to fade, or the end
                // of a fade-out) ends the pass: the next one starts with it.
                if self.apply_due_markers(self.jump_out || filled > 0) {
                    if !self.jump_out {
                        frames = filled;
                    }
                    break;
                }
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
        let out = &mut out[..frames * ch];
        out[filled * ch..].fill(0.0);
        use std::sync::atomic::Ordering::Relaxed;
        // Running out of old audio while fading out to a jump is not an underrun: it is being
        // thrown away anyway.
        let starved = filled < frames && !held && self.phase == Phase::Flowing && !self.jump_out;
        // Idle silence counts only while the decoder has nothing to do: a track still opening
        // (a slow disk, a network share) must not find its stream corked when its audio comes,
        // with no command left to uncork it.
        let decoder_idle = self
            .telemetry
            .decoder_idle
            .load(std::sync::atomic::Ordering::Relaxed);
        if filled == 0 && (held || (self.phase == Phase::Idle && decoder_idle)) {
            self.note_quiet(frames, held);
        } else {
            self.wake_up();
        }
        if !self.resting {
            // The chain runs over the whole block, silence included: filter tails ring out and
            // the limiter's lookahead drains instead of holding the last 1.5 ms until the next
            // sound. Once resting all of that has happened and the block is plain zeros.
            if self.fade_in && filled > 0 {
                // The landing's first frame: reads in a pass always start at its first frame,
                // so the ramp starts exactly there.
                self.fade_in = false;
                self.declick.set_target(1.0);
            }
            // The declick works on the ring's audio, before the EQ: after a fade-out the
            // filters and the limiter hold only faded audio and ring out into the silence
            // (nothing to reset, nothing cut), and a fade-in goes through them like any sound.
            self.declick.apply(out, ch);
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
        (frames, starved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::chain::DspSettings;
    use crate::engine::dsp_link::link;
    use crate::engine::ring::{pcm_ring, PcmProducer};
    use ringbuf::traits::{Producer, Split};
    use ringbuf::HeapRb;

    const FS: u32 = 48_000;
    /// The declick ramp at 48 kHz (5 ms).
    const FADE: usize = 240;

    struct Rig {
        r: Renderer,
        p: PcmProducer,
        cmd: ringbuf::HeapProd<Command>,
        _control: crate::engine::dsp_link::DspControl,
    }

    /// A renderer with a transparent chain (no limiter, flat EQ) so that what comes out is
    /// exactly what was pushed, times the fades.
    fn rig(channels: usize) -> Rig {
        rig_with(&DspSettings::default(), false, channels)
    }

    fn rig_with(settings: &DspSettings, limiter: bool, channels: usize) -> Rig {
        let (p, c) = pcm_ring(channels, 1 << 15);
        let (cmd, cmd_c) = HeapRb::<Command>::new(16).split();
        let (control, tap) = link(settings, FS, channels, MAX_BLOCK_FRAMES, limiter);
        let r = Renderer::new(c, cmd_c, Arc::new(Telemetry::default()), channels, FS, tap);
        Rig {
            r,
            p,
            cmd,
            _control: control,
        }
    }

    /// A 1 kHz sine at −20 dBFS (peak 0.1) starting at `phase`, `frames` long, on every channel.
    fn sine(channels: usize, frames: usize, phase: f64) -> Vec<f32> {
        (0..frames)
            .flat_map(|i| {
                let x = 0.1
                    * (phase + 2.0 * std::f64::consts::PI * 1000.0 * i as f64 / f64::from(FS))
                        .sin();
                std::iter::repeat_n(x as f32, channels)
            })
            .collect()
    }

    /// A transparent rig with track 0 started (a flush at its frame 0) and `audio` pushed.
    fn playing(channels: usize, audio: &[f32]) -> Rig {
        let mut t = rig(channels);
        t.p.push_marker(start(0, 0, true)).unwrap();
        t.p.push(audio);
        t
    }

    /// (track, source frame) as published for the UI.
    fn pos(r: &Renderer) -> (u32, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let t = r.telemetry();
        (t.track.load(Relaxed), t.track_frame.load(Relaxed))
    }

    fn start(track: u32, source_frame: u64, flush: bool) -> MarkerKind {
        MarkerKind::TrackStart {
            track,
            source_frame,
            source_rate: FS,
            flush,
        }
    }

    fn render(r: &mut Renderer, channels: usize, frames: usize, block: usize) -> Vec<f32> {
        let mut out = vec![0.0f32; frames * channels];
        for b in out.chunks_mut(block * channels) {
            r.process(b);
        }
        out
    }

    /// The largest sample-to-sample step of channel 0.
    fn largest_step(x: &[f32], channels: usize) -> f32 {
        let c0: Vec<f32> = x.iter().step_by(channels).copied().collect();
        c0.windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f32::max)
    }

    /// The sine's own largest step: 0.1 · 2π · 1000 / 48000.
    fn sine_step() -> f32 {
        (0.1 * 2.0 * std::f64::consts::PI * 1000.0 / f64::from(FS)) as f32
    }

    /// Issue 12: a seek while a sine plays fades out, jumps and fades in: no step larger than the
    /// sine's own (plus the ramp's share), for any callback size; the old audio plays exactly the
    /// fade's length past the command and the landing frame is exact once faded in.
    #[test]
    fn a_seek_fades_out_and_in_and_lands_exactly() {
        let ch = 2;
        let old = sine(ch, 4000, 0.0);
        // The landing is at the sine's peak: without the fade, a jump from wherever the old
        // sine is to 0.1.
        let new = sine(ch, 8000, std::f64::consts::FRAC_PI_2);
        let mut outputs = Vec::new();
        for block in [64, 256, 1000, 4096] {
            let mut t = rig(ch);
            t.p.push_marker(start(0, 0, true)).unwrap();
            t.p.push(&old[..2000 * ch]);
            // Play 1000 frames, then the seek arrives (with the rest of the old audio buffered).
            let mut out = render(&mut t.r, ch, 1000, block.min(1000));
            t.p.push(&old[2000 * ch..]);
            t.p.push_marker(start(0, 96_000, true)).unwrap();
            t.p.push(&new);
            out.extend(render(&mut t.r, ch, 4000, block));
            let step = largest_step(&out, ch);
            assert!(
                step <= sine_step() * 1.1,
                "block {block}: a step of {step} (the sine's own: {})",
                sine_step()
            );
            // 1000 frames of the old sine, then FADE more of it fading out.
            assert_eq!(&out[..1000 * ch], &old[..1000 * ch], "block {block}");
            for i in 0..FADE {
                let g = out[(1000 + i) * ch] / old[(1000 + i) * ch];
                if old[(1000 + i) * ch].abs() > 1e-3 {
                    assert!(
                        (0.0..1.0).contains(&g),
                        "block {block}: fade-out gain {g} at {i}"
                    );
                }
            }
            // Then the new position from its first frame, fading in over FADE frames, exact after.
            let landing = (1000 + FADE) * ch;
            assert!(
                out[landing].abs() <= new[0].abs() / FADE as f32 * 1.01,
                "the fade-in starts from silence: {}",
                out[landing]
            );
            assert_eq!(
                &out[landing + FADE * ch..],
                &new[FADE * ch..out.len() - landing],
                "block {block}: exact after the fade-in"
            );
            assert_eq!(pos(&t.r), (0, 96_000 + 4000 - FADE as u64));
            assert_eq!(
                t.r.telemetry()
                    .underruns
                    .load(std::sync::atomic::Ordering::Relaxed),
                0
            );
            outputs.push(out);
        }
        assert!(
            outputs.windows(2).all(|w| w[0] == w[1]),
            "same output for every block size"
        );
    }

    /// Stop while playing fades to silence; a track's own start (a skip) is played as it is,
    /// after the old one faded out.
    #[test]
    fn stop_and_skip_fade_out_and_a_track_start_is_not_faded() {
        let ch = 1;
        let a = sine(ch, 3000, 0.0);
        let mut t = playing(ch, &a);
        let mut out = render(&mut t.r, ch, 500, 128);
        // A track starts from silence (a cut into a peak at its first sample would be the
        // file's own click).
        let b = sine(ch, 3000, 0.0);
        t.p.push_marker(start(1, 0, true)).unwrap();
        t.p.push(&b);
        out.extend(render(&mut t.r, ch, 1500, 128));
        assert!(largest_step(&out, ch) <= sine_step() * 1.1);
        // The skip: track 1 from its first sample, unfaded, right after the fade-out.
        assert_eq!(&out[500 + FADE..], &b[..1500 - FADE]);
        // Stop while playing: fades out, then silence.
        t.p.push_marker(MarkerKind::End { flush: true }).unwrap();
        let out = render(&mut t.r, ch, 1000, 128);
        assert!(largest_step(&out, ch) <= sine_step() * 1.1);
        assert!(out[FADE..].iter().all(|&x| x == 0.0));
        assert!(out[..FADE].iter().any(|&x| x != 0.0), "the fade-out plays");
        assert_eq!(t.r.telemetry().state(), PlayState::Idle);
    }

    /// A seek while paused has nothing to fade out: it applies at once; resuming fades in from
    /// the exact landing frame.
    #[test]
    fn a_seek_while_paused_jumps_at_once_and_resume_fades_in() {
        let ch = 1;
        let a = sine(ch, 3000, 0.0);
        let mut t = playing(ch, &a);
        let _ = render(&mut t.r, ch, 500, 100);
        t.cmd.try_push(Command::Pause).unwrap();
        let paused = render(&mut t.r, ch, 1000, 100);
        assert!(paused[600..].iter().all(|&x| x == 0.0), "held");
        let b = sine(ch, 3000, std::f64::consts::FRAC_PI_2);
        t.p.push_marker(start(0, 48_000, true)).unwrap();
        t.p.push(&b);
        let _ = render(&mut t.r, ch, 100, 100);
        assert_eq!(pos(&t.r), (0, 48_000), "jumped while held");
        t.cmd.try_push(Command::Resume).unwrap();
        let out = render(&mut t.r, ch, 2000, 100);
        assert!(largest_step(&out, ch) <= sine_step() * 1.1);
        assert_eq!(&out[480..], &b[480..2000], "exact once both fades are done");
    }

    /// The decoder takes a while to seek: the landing's audio arrives callbacks after the flush,
    /// and still fades in from its first frame.
    #[test]
    fn a_landing_that_arrives_late_still_fades_in() {
        let ch = 1;
        let mut t = playing(ch, &sine(ch, 2000, 0.0));
        let _ = render(&mut t.r, ch, 500, 100);
        t.p.push_marker(start(0, 48_000, true)).unwrap();
        let gap = render(&mut t.r, ch, 1000, 100);
        assert!(
            gap[FADE + 1..].iter().all(|&x| x == 0.0),
            "old audio faded out, then silence"
        );
        let b = sine(ch, 2000, std::f64::consts::FRAC_PI_2);
        t.p.push(&b);
        let out = render(&mut t.r, ch, 1000, 100);
        assert!(
            out[0].abs() <= 0.1 / FADE as f32 * 1.01,
            "starts from silence: {}",
            out[0]
        );
        assert!(largest_step(&out, ch) <= sine_step() * 1.1);
        assert_eq!(&out[FADE..], &b[FADE..1000]);
    }

    /// With a +6 dB EQ band and the limiter on, a skip and a stop still fade: the filters hold
    /// only faded audio when the jump applies and ring out smoothly (the declick is on the ring's
    /// audio, before the chain).
    #[test]
    fn skip_and_stop_fade_through_an_active_eq_and_limiter() {
        use crate::dsp::biquad::{BandParams, FilterKind};
        use crate::dsp::eq_params::EqParams;
        let settings = DspSettings {
            eq: EqParams::from_bands(&[BandParams::new(FilterKind::Peak, 1000.0, 6.0, 1.0)], 0.0)
                .unwrap(),
            ..DspSettings::default()
        };
        let ch = 2;
        let mut t = rig_with(&settings, true, ch);
        t.p.push_marker(start(0, 0, true)).unwrap();
        t.p.push(&sine(ch, 4000, 0.0));
        let mut out = render(&mut t.r, ch, 2000, 256);
        t.p.push_marker(start(1, 0, true)).unwrap();
        t.p.push(&sine(ch, 4000, 0.0));
        out.extend(render(&mut t.r, ch, 1500, 256));
        t.p.push_marker(MarkerKind::End { flush: true }).unwrap();
        out.extend(render(&mut t.r, ch, 2000, 256));
        // The band doubles the sine (+6 dB): its own step is twice the plain sine's.
        let own = 2.0 * sine_step();
        let step = largest_step(&out[1000 * ch..], ch);
        assert!(
            step <= own * 1.1,
            "a step of {step} (the boosted sine's own: {own})"
        );
        let tail = &out[out.len() - 200 * ch..];
        assert!(
            tail.iter().all(|x| x.abs() < 1e-3),
            "rung out after the stop"
        );
    }

    /// After a jump the renderer waits until 20 ms are buffered (silence meanwhile, no underrun),
    /// then plays from the landing; a track shorter than that (its end marker is there) plays at
    /// once.
    #[test]
    fn a_jump_waits_for_a_little_audio_instead_of_running_dry() {
        use std::sync::atomic::Ordering::Relaxed;
        let ch = 1;
        let mut t = rig(ch);
        t.r.telemetry().decoder_idle.store(false, Relaxed);
        t.p.push_marker(start(0, 0, true)).unwrap();
        let a = sine(ch, 3000, 0.0);
        t.p.push(&a[..100]);
        let out = render(&mut t.r, ch, 512, 256);
        assert!(
            out.iter().all(|&x| x == 0.0),
            "waits with 100 frames buffered"
        );
        t.p.push(&a[100..]);
        let out = render(&mut t.r, ch, 2000, 256);
        assert_eq!(&out[..], &a[..2000], "then plays from the first frame");
        assert_eq!(t.r.telemetry().underruns.load(Relaxed), 0);
        // A 50-frame track: its end is in the ring, so it plays without waiting.
        let mut t = rig(ch);
        t.r.telemetry().decoder_idle.store(false, Relaxed);
        t.p.push_marker(start(0, 0, true)).unwrap();
        t.p.push(&a[..50]);
        t.p.push_marker(MarkerKind::End { flush: false }).unwrap();
        let out = render(&mut t.r, ch, 256, 256);
        assert_eq!(&out[..50], &a[..50]);
    }

    /// A seek with no old audio left (the ring ran dry) applies as soon as it is seen, and a
    /// burst of seeks lands on the last one.
    #[test]
    fn seeks_with_nothing_to_fade_and_bursts_land_on_the_last() {
        let ch = 1;
        let a = sine(ch, 500, 0.0);
        let mut t = playing(ch, &a);
        let _ = render(&mut t.r, ch, 500, 100);
        let b = sine(ch, 1000, 0.0);
        for target in [10_000, 20_000, 30_000] {
            t.p.push_marker(start(0, target, true)).unwrap();
            t.p.push(&b);
        }
        let out = render(&mut t.r, ch, 1500, 100);
        // (After its 1000 frames the ring runs dry: that cut is an underrun, not the seek.)
        assert!(largest_step(&out[..1000], ch) <= sine_step() * 1.1);
        // On the last seek's target: 30 000 + the 1000 frames read since.
        assert_eq!(pos(&t.r), (0, 31_000));
        assert_eq!(&out[FADE..1000], &b[FADE..]);
    }

    /// Idle silence goes dormant (the stream may be corked) only while the decoder has nothing
    /// to do: a track that takes longer than `DORMANT_AFTER_S` to open is not stranded in a
    /// corked stream. Paused silence rests after `REST_PAUSED_AFTER_S`, dormant after 4 s.
    #[test]
    fn idle_silence_waits_for_the_decoder_and_a_pause_rests_first() {
        use std::sync::atomic::Ordering::Relaxed;
        let ch = 2;
        let mut t = rig(ch);
        let tel = t.r.telemetry().clone();
        let dormant = |tel: &Telemetry| tel.dormant.load(Relaxed) != 0;
        let block = 480; // 10 ms
        let secs = |s: u32| (FS * s) as usize / block + 1;
        // A track is opening: the decoder is busy, nothing in the ring.
        tel.decoder_idle.store(false, Relaxed);
        for _ in 0..secs(DORMANT_AFTER_S + 1) {
            render(&mut t.r, ch, block, block);
        }
        assert!(
            !dormant(&tel) && !tel.resting.load(Relaxed),
            "waits for the open"
        );
        // The decoder gives up (nothing to play): idle silence counts from now.
        tel.decoder_idle.store(true, Relaxed);
        for _ in 0..secs(DORMANT_AFTER_S) {
            render(&mut t.r, ch, block, block);
        }
        assert!(
            dormant(&tel) && tel.resting.load(Relaxed),
            "idle, then dormant"
        );

        // Playing, then paused: resting after 1 s, dormant after 4 s.
        let mut t = playing(ch, &sine(ch, 48_000, 0.0));
        let tel = t.r.telemetry().clone();
        render(&mut t.r, ch, 4800, block);
        t.cmd.try_push(Command::Pause).unwrap();
        render(&mut t.r, ch, block, block); // the fade
        for _ in 0..secs(REST_PAUSED_AFTER_S) {
            assert!(!dormant(&tel));
            render(&mut t.r, ch, block, block);
        }
        assert!(
            tel.resting.load(Relaxed) && !dormant(&tel),
            "resting, not dormant"
        );
        for _ in 0..secs(DORMANT_AFTER_S - REST_PAUSED_AFTER_S) {
            render(&mut t.r, ch, block, block);
        }
        assert!(dormant(&tel));
        t.cmd.try_push(Command::Resume).unwrap();
        let out = render(&mut t.r, ch, block, block);
        assert!(!tel.resting.load(Relaxed) && !dormant(&tel), "awake");
        assert!(out.iter().any(|&x| x != 0.0), "and heard");
    }
}
