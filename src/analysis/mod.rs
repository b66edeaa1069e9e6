//! Measurements of audio: levels, loudness, true peak, spectrum. Pure and allocation-free after
//! construction, so the same code runs in the audio callback and in `analyze`.

pub mod dominant;
pub mod file_report;
pub mod levels;
pub mod loudness;
pub mod meters;
pub mod overview;
pub mod spectrum;
pub mod true_peak;
pub mod window;
