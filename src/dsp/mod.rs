//! Pure, allocation-free kernels (allocation happens only in constructors). A kernel knows
//! nothing of threads, devices or the UI.

pub mod biquad;
pub mod cascade;
pub mod chain;
pub mod channel_map;
pub mod convert;
pub mod denormals;
pub mod eq;
pub mod eq_params;
pub mod limiter;
pub mod monitor_mode;
pub mod preset;
pub mod simd;
pub mod smoothing;
