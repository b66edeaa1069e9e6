//! Pure, allocation-free kernels (allocation happens only in constructors). A kernel knows
//! nothing of threads, devices or the UI.

pub mod channel_map;
pub mod convert;
pub mod denormals;
pub mod smoothing;
