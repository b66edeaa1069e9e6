//! Measurements on PCM: levels now; spectrum, loudness and meters build on this.

pub mod levels;
