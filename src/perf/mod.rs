//! Performance monitoring: what the audio callback costs, recorded lock-free on every callback.

pub mod clock;
pub mod histogram;
pub mod monitor;

pub use histogram::{Histogram, HistogramSnapshot};
pub use monitor::PerfMonitor;
