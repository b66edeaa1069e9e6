//! Per-callback performance record shared between the audio thread (writer) and UI/CLI (readers).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::histogram::{Histogram, HistogramSnapshot};

#[derive(Default)]
pub struct PerfMonitor {
    /// Time spent inside the render callback.
    pub callback_ns: Histogram,
    /// Time between the starts of consecutive callbacks (jitter shows here).
    pub interval_ns: Histogram,
    pub callbacks: AtomicU64,
    pub frames: AtomicU64,
    last_start_ns: AtomicU64,
}

impl PerfMonitor {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Record one callback. `start_ns` is a monotonic timestamp of its start.
    #[inline]
    pub fn record(&self, start_ns: u64, duration_ns: u64, frames: u64) {
        let last = self.last_start_ns.swap(start_ns, Relaxed);
        if last != 0 && start_ns > last {
            self.interval_ns.record(start_ns - last);
        }
        self.callback_ns.record(duration_ns);
        self.callbacks.fetch_add(1, Relaxed);
        self.frames.fetch_add(frames, Relaxed);
    }

    /// The callbacks stopped on purpose (the output was suspended while paused): the next one
    /// starts a new interval series instead of reporting the pause as one huge late callback.
    pub fn mark_gap(&self) {
        self.last_start_ns.store(0, Relaxed);
    }

    pub fn reset(&self) {
        self.callback_ns.reset();
        self.interval_ns.reset();
        self.callbacks.store(0, Relaxed);
        self.frames.store(0, Relaxed);
        self.last_start_ns.store(0, Relaxed);
    }

    #[must_use]
    pub fn callback_snapshot(&self) -> HistogramSnapshot {
        self.callback_ns.snapshot()
    }
}
