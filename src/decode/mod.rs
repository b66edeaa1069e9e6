//! File → interleaved f32 PCM. Used by the engine's decoder thread and by offline commands
//! (`analyze`, tests). Nothing here runs on the audio thread: symphonia allocates per packet.

pub mod cache;
pub mod codec_names;
pub mod error;
pub mod guard;
pub mod mp4_priming;
pub mod opus;
pub mod size_repair;
pub mod source;
pub mod tags;

pub use cache::FileCache;
pub use error::DecodeError;
pub use source::{AudioSource, SourceInfo};
pub use tags::{CoverArt, EmbeddedCue, TrackTags};
