//! This process's resident memory and CPU time, from `/proc/self` (Linux). Read by the UI a few
//! times a second at most; on other systems every figure is `None`.

/// One reading.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcessSample {
    /// Anonymous resident memory (heap, stacks; not shared-library pages), KiB.
    pub rss_anon_kib: Option<u64>,
    /// All resident memory, KiB.
    pub rss_kib: Option<u64>,
    /// User + system CPU time so far, seconds.
    pub cpu_s: Option<f64>,
}

fn status_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// utime + stime from a `/proc/PID/stat` line, in clock ticks. The command name (field 2) may
/// hold spaces and parentheses, so fields are counted from the last `)`.
fn stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After ")": state is field 3, utime field 14, stime field 15 → indices 11 and 12 here.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)` is 100 on every Linux we run on).
const TICKS_PER_S: f64 = 100.0;

#[must_use]
pub fn sample() -> ProcessSample {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    ProcessSample {
        rss_anon_kib: status_kib(&status, "RssAnon:"),
        rss_kib: status_kib(&status, "VmRSS:"),
        cpu_s: stat_ticks(&stat).map(|t| t as f64 / TICKS_PER_S),
    }
}

/// CPU use between two samples taken `wall_s` apart, in % of one core.
#[must_use]
pub fn cpu_percent(a: &ProcessSample, b: &ProcessSample, wall_s: f64) -> Option<f64> {
    Some(100.0 * (b.cpu_s? - a.cpu_s?) / wall_s.max(1e-9))
}

/// How long ago this process started (for `play --json`'s `start_ms`): system uptime minus the
/// process start time, both from /proc, at their 10 ms (clock tick) resolution.
#[must_use]
pub fn age() -> Option<std::time::Duration> {
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    // After ")": state is field 3, starttime field 22 → index 19.
    let start_ticks: f64 = rest.split_whitespace().nth(19)?.parse().ok()?;
    Some(std::time::Duration::from_secs_f64(
        (uptime - start_ticks / TICKS_PER_S).max(0.0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_formats() {
        let status = "Name:\tx\nVmRSS:\t   70000 kB\nRssAnon:\t   41234 kB\nRssFile:\t 1 kB\n";
        assert_eq!(status_kib(status, "RssAnon:"), Some(41_234));
        assert_eq!(status_kib(status, "VmRSS:"), Some(70_000));
        let stat = "1234 (rusty (audio) x) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0";
        assert_eq!(stat_ticks(stat), Some(300));
    }

    #[test]
    fn this_process_has_memory_and_burns_cpu() {
        let a = sample();
        assert!(a.rss_anon_kib.unwrap() > 0 && a.rss_kib.unwrap() >= a.rss_anon_kib.unwrap());
        // Burn ~CPU until the tick counter moves (no timing assumption: loop until it does).
        let mut x = 0u64;
        while sample().cpu_s.unwrap() <= a.cpu_s.unwrap() {
            for i in 0..100_000u64 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
            }
        }
        std::hint::black_box(x);
    }
}
