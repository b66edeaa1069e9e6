//! Headless commands. Each returns the process exit code; errors are one line on stderr naming the
//! file and the reason.

pub mod analyze;
pub mod bench;
pub mod devices;
pub mod dsp_args;
pub mod gain_args;
pub mod list;
pub mod listen;
pub mod play;
pub mod queue_args;
pub mod render;
pub mod report;
pub mod scan;
