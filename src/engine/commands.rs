//! Messages between threads. `Command` goes control → audio thread on a lock-free SPSC ring and is
//! `Copy` so sending never allocates on either side. Decoder commands and engine events go over
//! ordinary channels: the decoder and the control side are not real-time.

use std::path::PathBuf;

use crate::decode::SourceInfo;
use crate::library::entries::{Listed, PlaylistEntry};
use crate::library::replaygain::GainTags;

/// Where a queue entry starts or ends in its file (defined with the cue tracks it comes from).
pub use crate::library::entries::Bound;

/// One playlist entry as the decoder plays it: a whole file, or a range of its source frames (a
/// cue sheet's track). Positions, seeks and `TrackStart` markers are relative to `start_frame`,
/// so everything above the decoder sees a cue track as a track of its own.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueItem {
    pub path: PathBuf,
    /// Where it starts.
    pub start: Bound,
    /// Just past its end; `None`: the end of the file.
    pub end: Option<Bound>,
    /// A cue track's gains from its sheet (`REM REPLAYGAIN_*`), which stand for the file's
    /// (the file's track gain is the whole image's; its album gain fills in a sheet without
    /// one); `None`: the file's own tags.
    pub gain: Option<GainTags>,
}

impl QueueItem {
    /// The whole of `path`.
    #[must_use]
    pub fn file(path: PathBuf) -> Self {
        QueueItem {
            path,
            start: Bound::Frame(0),
            end: None,
            gain: None,
        }
    }

    /// Whether `next` carries on exactly where this entry stops in the same file (consecutive
    /// tracks of a cue sheet): the decoder then keeps reading instead of opening and seeking,
    /// so the join is bit-identical to the whole file.
    #[must_use]
    pub fn continues_into(&self, next: &QueueItem) -> bool {
        self.end == Some(next.start) && self.path == next.path
    }
}

impl From<PathBuf> for QueueItem {
    fn from(path: PathBuf) -> Self {
        QueueItem::file(path)
    }
}

impl From<&PlaylistEntry> for QueueItem {
    fn from(e: &PlaylistEntry) -> Self {
        QueueItem {
            path: e.path.clone(),
            start: Bound::Frame(e.start_frame),
            end: e.end_frame.map(Bound::Frame),
            gain: e.cue.as_ref().map(|_| e.gain),
        }
    }
}

impl From<&Listed> for QueueItem {
    fn from(l: &Listed) -> Self {
        match &l.cue {
            None => QueueItem::file(l.path.clone()),
            Some(c) => QueueItem {
                path: l.path.clone(),
                start: c.start,
                end: c.end,
                gain: Some(c.gain),
            },
        }
    }
}

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
    /// Replace the playlist: (key, item) per entry. Keys are stable identities chosen by the
    /// control side, so reordering or removing other entries never disturbs the track that is
    /// playing: the decoder follows its key to the new index. If its key is gone, playback ends
    /// after what is already decoded.
    SetQueue(Vec<(u32, QueueItem)>),
    /// Start `track` at frame `frame` plus `seconds` (converted at the file's own rate, known
    /// once it is open) from the entry's start, discarding anything buffered (play, seek, skip,
    /// restore).
    Play {
        track: usize,
        frame: u64,
        seconds: f64,
    },
    /// Discard everything buffered and go idle.
    Stop,
    /// New loudness normalization settings (the track being decoded changes its gain at once).
    SetGain(crate::library::replaygain::GainSettings),
    /// An A–B loop on the entry with this key (A and B in seconds from its start), or none.
    SetLoop(Option<(u32, f64, f64)>),
    /// Repeat and shuffle: what follows each track from now on.
    SetOrder(super::order::PlayOrder),
    /// New crossfade settings (the track being decoded follows, unless a fade is under way).
    SetCrossfade(super::crossfade::Crossfade),
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
