//! A fixed-memory, lock-free histogram of nanosecond durations with <1 % bucket resolution.
//!
//! Buckets are HDR-style: values below 128 ns get one bucket each; above, each power of two is split
//! into 128 linear sub-buckets (relative width ≤ 1/128 ≈ 0.8 %). Recording is an index computation
//! and one relaxed `fetch_add`, so the audio thread can record every callback; percentiles are
//! computed on the reading side from a snapshot.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

const SUB_BITS: u32 = 7;
const SUB: usize = 1 << SUB_BITS; // 128
/// Values up to 2^40 ns (~18 minutes) are kept exactly-bucketed; larger ones land in the last.
const MAX_EXP: u32 = 40;
const BUCKETS: usize = SUB + (MAX_EXP - SUB_BITS) as usize * SUB;

#[inline]
fn bucket_of(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros(); // ≥ 7
    if msb >= MAX_EXP {
        return BUCKETS - 1;
    }
    let shift = msb - SUB_BITS;
    let sub = ((v >> shift) as usize) & (SUB - 1);
    SUB + (shift as usize) * SUB + sub
}

/// The smallest value that falls in bucket `i` and the bucket's width.
fn bucket_range(i: usize) -> (u64, u64) {
    if i < SUB {
        return (i as u64, 1);
    }
    let shift = ((i - SUB) / SUB) as u32;
    let sub = ((i - SUB) % SUB) as u64;
    let base = (SUB as u64 + sub) << shift;
    (base, 1u64 << shift)
}

pub struct Histogram {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    max: AtomicU64,
    sum: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    #[must_use]
    pub fn new() -> Self {
        Self {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            max: AtomicU64::new(0),
            sum: AtomicU64::new(0),
        }
    }

    /// Record one value. Wait-free; safe on the audio thread.
    #[inline]
    pub fn record(&self, v: u64) {
        self.buckets[bucket_of(v)].fetch_add(1, Relaxed);
        self.count.fetch_add(1, Relaxed);
        self.sum.fetch_add(v, Relaxed);
        self.max.fetch_max(v, Relaxed);
    }

    /// Zero everything. Called from the UI side; a concurrent `record` may survive it, which only
    /// means one sample of the new window came from the old one.
    pub fn reset(&self) {
        for b in self.buckets.iter() {
            b.store(0, Relaxed);
        }
        self.count.store(0, Relaxed);
        self.sum.store(0, Relaxed);
        self.max.store(0, Relaxed);
    }

    #[must_use]
    pub fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            buckets: self.buckets.iter().map(|b| b.load(Relaxed)).collect(),
            count: self.count.load(Relaxed),
            max: self.max.load(Relaxed),
            sum: self.sum.load(Relaxed),
        }
    }
}

/// A copy of the histogram taken on the reading side.
#[derive(Clone, Debug)]
pub struct HistogramSnapshot {
    buckets: Vec<u64>,
    pub count: u64,
    pub max: u64,
    pub sum: u64,
}

impl HistogramSnapshot {
    /// The value at quantile `q` in [0, 1]: the midpoint of the bucket holding it, clamped to the
    /// recorded maximum. 0 when empty.
    #[must_use]
    pub fn quantile(&self, q: f64) -> u64 {
        let total: u64 = self.buckets.iter().sum();
        if total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        if rank >= total {
            return self.max; // the top rank is the recorded maximum, exactly
        }
        let mut seen = 0;
        for (i, &c) in self.buckets.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, w) = bucket_range(i);
                return (lo + w / 2).min(self.max);
            }
        }
        self.max
    }

    /// What was recorded between `earlier` and `self` (two snapshots of the same histogram): the
    /// panel's per-second figures. The maximum is the top of the highest bucket that grew,
    /// clamped to the all-time maximum.
    #[must_use]
    pub fn since(&self, earlier: &HistogramSnapshot) -> HistogramSnapshot {
        let buckets: Vec<u64> = self
            .buckets
            .iter()
            .zip(earlier.buckets.iter().chain(std::iter::repeat(&0)))
            .map(|(a, b)| a.saturating_sub(*b))
            .collect();
        let max = buckets.iter().rposition(|&c| c > 0).map_or(0, |i| {
            let (lo, w) = bucket_range(i);
            (lo + w - 1).min(self.max)
        });
        HistogramSnapshot {
            count: buckets.iter().sum(),
            sum: self.sum.saturating_sub(earlier.sum),
            max,
            buckets,
        }
    }

    #[must_use]
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_gives_the_window_between_two_snapshots() {
        let h = Histogram::new();
        for _ in 0..1000 {
            h.record(10_000);
        }
        let a = h.snapshot();
        for _ in 0..100 {
            h.record(50_000);
        }
        let w = h.snapshot().since(&a);
        assert_eq!(w.count, 100);
        let p50 = w.quantile(0.5) as f64;
        assert!((p50 / 50_000.0 - 1.0).abs() < 0.01, "{p50}");
        assert!(w.max >= 50_000 && w.max <= 50_500, "{}", w.max);
        assert_eq!(h.snapshot().since(&h.snapshot()).count, 0);
    }

    #[test]
    fn buckets_are_contiguous_and_fine() {
        let mut prev = 0;
        for v in 1..2_000_000u64 {
            let b = bucket_of(v);
            assert!(b == prev || b == prev + 1, "gap at {v}");
            prev = b;
            let (lo, w) = bucket_range(b);
            assert!(
                lo <= v && v < lo + w,
                "{v} not in bucket {b} = [{lo}, {})",
                lo + w
            );
            assert!(w as f64 / lo.max(1) as f64 <= 1.0 / 128.0 + 1e-12 || lo < 128);
        }
    }

    #[test]
    fn percentiles_of_uniform_values() {
        let h = Histogram::new();
        for v in 1..=10_000u64 {
            h.record(v * 1000);
        }
        let s = h.snapshot();
        for (q, exact) in [
            (0.5, 5_000_000.0),
            (0.99, 9_900_000.0),
            (0.999, 9_990_000.0),
        ] {
            let got = s.quantile(q) as f64;
            assert!((got - exact).abs() / exact < 0.01, "q{q}: {got} vs {exact}");
        }
        assert_eq!(s.quantile(1.0), 10_000_000);
        assert_eq!(s.max, 10_000_000);
        assert_eq!(s.count, 10_000);
        h.reset();
        assert_eq!(h.snapshot().quantile(0.5), 0);
    }
}
