//! Rusty Audio: a desktop audio player and real-time analyzer.
//!
//! Layout mirrors the threads: `decode` (files → PCM, decoder thread and offline), `engine`
//! (threads, rings, output), `dsp` (pure kernels), `analysis` (measurements), `perf` (monitor),
//! `library` (what a playlist entry is: tags, ReplayGain), `cli` (headless commands).

pub mod analysis;
pub mod cli;
pub mod decode;
pub mod desktop;
pub mod dsp;
pub mod engine;
#[doc(hidden)]
pub mod fuzzing;
pub mod library;
pub mod perf;
pub mod ui;
pub mod util;
