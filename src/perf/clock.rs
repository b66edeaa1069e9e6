//! A monotonic nanosecond clock usable on the audio thread (`Instant` is a vDSO call: no syscall,
//! no allocation, no lock).

use std::sync::OnceLock;
use std::time::Instant;

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds since the first call in this process (never 0 after the first call).
#[inline]
#[must_use]
pub fn now_ns() -> u64 {
    epoch().elapsed().as_nanos() as u64 + 1
}

/// Make sure the epoch exists before the audio thread first asks (initialising it is not RT-safe).
pub fn init() {
    let _ = epoch();
}
