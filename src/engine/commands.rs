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
    /// The control side sent something (numbered in order): whatever it is, the renderer starts
    /// counting silence afresh before it reports itself dormant again (see `Telemetry::dormant`).
    Wake(u64),
}

/// Control → decoder thread.
#[derive(Debug)]
pub enum DecoderCommand {
    /// Replace the playlist: (key, path) per entry. Keys are stable identities chosen by the
    /// control side, so reordering or removing other entries never disturbs the track that is
    /// playing: the decoder follows its key to the new index. If its key is gone, playback ends
    /// after what is already decoded.
    SetQueue(Vec<(u32, PathBuf)>),
    /// Start `track` at its source frame `frame` plus `seconds` (converted at the file's own
    /// rate, known once it is open), discarding anything buffered (play, seek, skip, restore).
    Play {
        track: usize,
        frame: u64,
        seconds: f64,
    },
    /// Discard everything buffered and go idle.
    Stop,
    /// New loudness normalization settings (the track being decoded changes its gain at once).
    SetGain(crate::library::replaygain::GainSettings),
    /// Reply `EngineEvent::Synced(id)` once every earlier command has reached the ring.
    Sync(u64),
    Shutdown,
}

/// Decoder/engine → control side.
#[derive(Debug, Clone)]
pub enum EngineEvent {
    /// `track` is the playlist index when the event is delivered by `Engine::poll` (the
    /// decoder's index, remapped through `key` if the playlist changed meanwhile).
    TrackOpened {
        track: usize,
        key: u32,
        info: SourceInfo,
        /// The normalization gain it plays with.
        gain: crate::library::replaygain::AppliedGain,
    },
    /// The normalization gain of the track being decoded changed (new settings).
    GainChanged {
        track: usize,
        key: u32,
        gain: crate::library::replaygain::AppliedGain,
    },
    TrackFailed {
        track: usize,
        key: u32,
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
    /// Something the user should know once that changes nothing by itself (e.g. real-time
    /// scheduling was refused for the audio thread).
    Notice(String),
}
