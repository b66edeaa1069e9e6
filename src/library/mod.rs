//! What a playlist entry is beyond its file: tags that decide how it plays (ReplayGain) and
//! writing them (`scan --write-tags`), cue sheets (`cue`); later the gain cache. Shared by `ui`
//! and `cli` (the UI never imports `cli`); the engine's decoder thread uses it when it opens a
//! track.

pub mod cue;
pub mod entries;
pub mod files;
pub mod gain_cache;
pub mod gain_writer;
pub mod replaygain;
