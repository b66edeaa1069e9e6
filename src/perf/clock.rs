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

/// CPU time this thread has run, in nanoseconds (`CLOCK_THREAD_CPUTIME_ID`; 0 if unavailable).
///
/// Beside a frame's wall time, this tells the frame's own work from the time it waited for a
/// core while other threads (the software renderer's, the scanner, other programs) ran: on a
/// machine with two cores the two differ most in the tail (PERFORMANCE_GUIDE.md, "big library").
#[must_use]
pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable, properly aligned timespec for the duration of the
    // call, which is all clock_gettime needs; its value is not read when the call fails.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return 0;
    }
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn thread_cpu_time_grows_with_work() {
        let t0 = super::thread_cpu_ns();
        assert!(t0 > 0);
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let t1 = super::thread_cpu_ns();
        assert!(t1 > t0, "work took CPU time");
    }
}
