//! The last minute of performance, one point per second, for the panel's plots and alerts.
//! Fed on the UI side from snapshots of the lock-free histograms (per-second windows via
//! `HistogramSnapshot::since`), so the audio thread does nothing extra.

use std::collections::VecDeque;

use super::histogram::HistogramSnapshot;

/// Points kept (seconds of history).
pub const POINTS: usize = 60;
/// DSP load above which the panel raises an alert.
pub const LOAD_ALERT: f64 = 0.8;

/// One second of figures.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Point {
    pub callback_p99_us: f64,
    pub callback_max_us: f64,
    /// Worst callback time ÷ callback period.
    pub load: f64,
    pub underruns: u64,
    pub ui_p99_us: f64,
    pub cpu_percent: f64,
    pub rss_anon_mib: f64,
}

#[derive(Default)]
pub struct History {
    pub points: VecDeque<Point>,
    prev_callback: Option<HistogramSnapshot>,
    prev_ui: Option<HistogramSnapshot>,
    prev_underruns: u64,
}

impl History {
    /// Add one second: cumulative callback and UI histograms, the underrun counter, the callback
    /// period (ns) and the process figures measured over that second.
    pub fn push(
        &mut self,
        callback: HistogramSnapshot,
        ui: HistogramSnapshot,
        underruns: u64,
        period_ns: f64,
        cpu_percent: f64,
        rss_anon_mib: f64,
    ) {
        let cb = match &self.prev_callback {
            Some(p) => callback.since(p),
            None => callback.clone(),
        };
        let uw = match &self.prev_ui {
            Some(p) => ui.since(p),
            None => ui.clone(),
        };
        let point = Point {
            callback_p99_us: cb.quantile(0.99) as f64 / 1e3,
            callback_max_us: cb.max as f64 / 1e3,
            load: if period_ns > 0.0 {
                cb.max as f64 / period_ns
            } else {
                0.0
            },
            underruns: underruns.saturating_sub(self.prev_underruns),
            ui_p99_us: uw.quantile(0.99) as f64 / 1e3,
            cpu_percent,
            rss_anon_mib,
        };
        self.prev_callback = Some(callback);
        self.prev_ui = Some(ui);
        self.prev_underruns = underruns;
        self.points.push_back(point);
        while self.points.len() > POINTS {
            self.points.pop_front();
        }
    }

    /// Why the panel should alert now (load over 80 % or an underrun in the last 10 s).
    #[must_use]
    pub fn alert(&self) -> Option<String> {
        let recent = self.points.iter().rev().take(10);
        let mut underruns = 0;
        let mut worst: f64 = 0.0;
        for p in recent {
            underruns += p.underruns;
            worst = worst.max(p.load);
        }
        if underruns > 0 {
            Some(format!("{underruns} underrun(s) in the last 10 s"))
        } else if worst > LOAD_ALERT {
            Some(format!(
                "DSP load {:.0} % (over {:.0} %)",
                worst * 100.0,
                LOAD_ALERT * 100.0
            ))
        } else {
            None
        }
    }

    /// Forget everything (the panel's Reset).
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::histogram::Histogram;

    #[test]
    fn per_second_windows_and_alerts() {
        let cb = Histogram::new();
        let ui = Histogram::new();
        let mut h = History::default();
        let period = 5_333_333.0; // 256 frames at 48 kHz
        for _ in 0..100 {
            cb.record(500_000);
        }
        h.push(cb.snapshot(), ui.snapshot(), 0, period, 3.0, 40.0);
        assert!(h.alert().is_none());
        // A second with one very slow callback: load over 80 %.
        cb.record(5_000_000);
        h.push(cb.snapshot(), ui.snapshot(), 0, period, 3.0, 40.0);
        let last = h.points.back().unwrap();
        assert!(last.load > 0.9 && last.load < 0.95, "{}", last.load);
        assert!(h.alert().unwrap().contains("DSP load"));
        // Quiet seconds push it out of the window; an underrun raises a different alert.
        for _ in 0..10 {
            cb.record(500_000);
            h.push(cb.snapshot(), ui.snapshot(), 0, period, 3.0, 40.0);
        }
        assert!(h.alert().is_none());
        h.push(cb.snapshot(), ui.snapshot(), 2, period, 3.0, 40.0);
        assert_eq!(h.points.back().unwrap().underruns, 2);
        assert!(h.alert().unwrap().contains("2 underrun"));
        for _ in 0..100 {
            h.push(cb.snapshot(), ui.snapshot(), 2, period, 3.0, 40.0);
        }
        assert_eq!(h.points.len(), POINTS);
    }
}
