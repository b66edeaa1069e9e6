//! What the audio thread tells the world, as plain atomics (latest value wins; readers never block
//! the writer). Written by the render function, read by UI/CLI at any rate they like.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering::Relaxed};

use super::audio_thread::AudioThreadStatus;
use crate::perf::PerfMonitor;

/// Playback state as the listener hears it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum PlayState {
    /// Nothing queued or playback stopped.
    Idle = 0,
    Playing = 1,
    Paused = 2,
    /// The end of the queue has been played.
    Ended = 3,
}

pub const NO_TRACK: u32 = u32::MAX;

pub struct Telemetry {
    state: AtomicU8,
    /// Queue key of the audible track (see `Engine::set_queue_keyed`), or `NO_TRACK`.
    pub track: AtomicU32,
    /// Position in the audible track, in its own source frames.
    pub track_frame: AtomicU64,
    pub track_rate: AtomicU32,
    /// Frames taken from the PCM ring and played.
    pub frames_played: AtomicU64,
    pub underruns: AtomicU64,
    /// Device-side underruns/overruns the host reported (ALSA `EPIPE`/`ESTRPIPE`): the device ran
    /// dry whatever our ring held (a late callback). `underruns` is our ring running dry while a
    /// track was playing. Counted over every output this engine has used.
    pub xruns: AtomicU64,
    /// `perf::clock::now_ns` when the first frame of audio was read for the device (0: not yet).
    pub first_audio_ns: AtomicU64,
    /// When the control side last asked to play from a position (play, seek, jump), and when
    /// the renderer read the first frame of that position for the device: the seek latency.
    pub jump_requested_ns: AtomicU64,
    pub jump_heard_ns: AtomicU64,
    /// The thread that runs the render function: id, scheduling policy and priority.
    pub audio_thread: AudioThreadStatus,
    /// `frames_played` when the last underrun happened.
    pub last_underrun_at: AtomicU64,
    /// Frames per callback of the latest callback.
    pub last_callback_frames: AtomicU32,
    /// The host's estimate of callback → DAC time for the latest callback, ns (0: unknown).
    pub device_latency_ns: AtomicU64,
    /// Set by the decoder when it has nothing to produce (no active track).
    pub decoder_idle: AtomicBool,
    /// The renderer is resting: it has rendered `render::REST_PAUSED_AFTER_S` of held or
    /// `DORMANT_AFTER_S` of idle silence and no longer feeds the meters and the spectrum.
    pub resting: AtomicBool,
    /// 0 while the renderer is producing sound (or has been silent only briefly); `g + 1` once
    /// it has rendered `render::DORMANT_AFTER_S` of held or idle silence since it saw
    /// `Command::Wake(g)`. The engine suspends the device stream only when this names its
    /// latest wake, so nothing it sent can be stranded in a stopped stream.
    pub dormant: AtomicU64,
    pub perf: PerfMonitor,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self {
            state: AtomicU8::new(PlayState::Idle as u8),
            track: AtomicU32::new(NO_TRACK),
            track_frame: AtomicU64::new(0),
            track_rate: AtomicU32::new(0),
            frames_played: AtomicU64::new(0),
            underruns: AtomicU64::new(0),
            xruns: AtomicU64::new(0),
            audio_thread: AudioThreadStatus::default(),
            first_audio_ns: AtomicU64::new(0),
            jump_requested_ns: AtomicU64::new(0),
            jump_heard_ns: AtomicU64::new(0),
            last_underrun_at: AtomicU64::new(0),
            last_callback_frames: AtomicU32::new(0),
            device_latency_ns: AtomicU64::new(0),
            decoder_idle: AtomicBool::new(true),
            resting: AtomicBool::new(false),
            dormant: AtomicU64::new(0),
            perf: PerfMonitor::new(),
        }
    }
}

impl Telemetry {
    #[must_use]
    pub fn state(&self) -> PlayState {
        match self.state.load(Relaxed) {
            1 => PlayState::Playing,
            2 => PlayState::Paused,
            3 => PlayState::Ended,
            _ => PlayState::Idle,
        }
    }

    pub fn set_state(&self, s: PlayState) {
        self.state.store(s as u8, Relaxed);
    }

    /// Time from the last play/seek command to its first frame handed to the device, once heard.
    #[must_use]
    pub fn last_jump_latency(&self) -> Option<std::time::Duration> {
        let asked = self.jump_requested_ns.load(Relaxed);
        let heard = self.jump_heard_ns.load(Relaxed);
        (asked > 0 && heard >= asked).then(|| std::time::Duration::from_nanos(heard - asked))
    }

    /// The audible track's queue key and position in seconds, if any (`Engine::position` gives
    /// the playlist index).
    #[must_use]
    pub fn position(&self) -> Option<(u32, f64)> {
        let t = self.track.load(Relaxed);
        if t == NO_TRACK {
            return None;
        }
        let rate = self.track_rate.load(Relaxed).max(1);
        Some((t, self.track_frame.load(Relaxed) as f64 / f64::from(rate)))
    }
}
