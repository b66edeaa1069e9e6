//! Performance monitoring: what the audio callback costs, recorded lock-free on every callback.

pub mod clock;
pub mod histogram;
pub mod history;
pub mod monitor;
pub mod process;

pub use histogram::{Histogram, HistogramSnapshot};
pub use monitor::PerfMonitor;
