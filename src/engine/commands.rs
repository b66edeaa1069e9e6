//! Messages between threads. `Command` goes control → audio thread on a lock-free SPSC ring and is
//! `Copy` so sending never allocates on either side. Decoder commands and engine events go over
//! ordinary channels: the decoder and the control side are not real-time.

use std::path::PathBuf;

use crate::decode::SourceInfo;

/// Control → audio callback.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Command {
    /// Linear gain, ramped to avoid clicks.
    SetVolume(f32),
    /// Fade out over a few milliseconds, then hold the position and output silence.
    Pause,
    /// Fade back in from where playback was held.
    Resume,
}

/// Control → decoder thread.
#[derive(Debug)]
pub enum DecoderCommand {
    /// Replace the playlist. What is playing keeps playing if its index still exists.
    SetQueue(Vec<PathBuf>),
    /// Start `track` at its source frame `frame`, discarding anything buffered (play, seek, skip).
    Play {
        track: usize,
        frame: u64,
    },
    /// Discard everything buffered and go idle.
    Stop,
    /// Reply `EngineEvent::Synced(id)` once every earlier command has reached the ring.
    Sync(u64),
    Shutdown,
}

/// Decoder/engine → control side.
#[derive(Debug, Clone)]
pub enum EngineEvent {
    TrackOpened {
        track: usize,
        info: SourceInfo,
    },
    TrackFailed {
        track: usize,
        path: PathBuf,
        error: String,
    },
    /// The decoder has queued the end of the playlist (audible when the ring drains).
    QueueEnded,
    Synced(u64),
    /// The output device failed or was missing; the engine switched to `now`.
    OutputChanged {
        now: String,
        reason: String,
    },
}
