//! How a queue plays, shared by `play` and `render`: `--crossfade SECONDS`,
//! `--crossfade-albums`.

use crate::engine::crossfade::{Crossfade, MAX_CROSSFADE_S};

#[derive(clap::Args, Clone, Debug)]
pub struct QueueArgs {
    /// Crossfade between tracks, in seconds (0–12; 0: gapless joins). Equal-power. Not between
    /// consecutive tracks of one album (they stay gapless) unless --crossfade-albums.
    #[arg(long, default_value_t = 0.0, value_name = "SECONDS")]
    pub crossfade: f64,
    /// Crossfade between consecutive tracks of one album too.
    #[arg(long)]
    pub crossfade_albums: bool,
}

impl QueueArgs {
    pub fn crossfade(&self) -> Result<Crossfade, String> {
        if !self.crossfade.is_finite() || !(0.0..=MAX_CROSSFADE_S).contains(&self.crossfade) {
            return Err(format!(
                "--crossfade {}: use 0 to {MAX_CROSSFADE_S} seconds",
                self.crossfade
            ));
        }
        Ok(Crossfade {
            seconds: self.crossfade,
            across_albums: self.crossfade_albums,
        })
    }
}

/// Repeat and shuffle for `play`: `--repeat off|one|all`, `--shuffle off|tracks|albums`.
#[derive(clap::Args, Clone, Debug)]
pub struct OrderArgs {
    /// Repeat: off, one (the track, until interrupted), all (the queue, until interrupted).
    #[arg(long, value_enum, default_value_t = crate::engine::order::Repeat::Off, value_name = "MODE")]
    pub repeat: crate::engine::order::Repeat,
    /// Shuffle: off, tracks, or albums (albums in a random order, each in its own order).
    #[arg(long, value_enum, default_value_t = crate::engine::order::Shuffle::Off, value_name = "MODE")]
    pub shuffle: crate::engine::order::Shuffle,
}
