//! What the analyzer views (spectrum, spectrogram, meters) show: the player's output, or a live
//! input (issue 16) — a microphone, a line-in, or what this computer plays. The input runs its
//! own capture stream (`engine::capture`) feeding its own copy of the player's analysis tap
//! (`dsp_link`), so the views read either through the same calls; playback goes on meanwhile.
//! The views ask `RustyApp` (these methods), never the engine or the input directly.

use crate::analysis::spectrum::{SpectrumConfig, SpectrumFrame};
use crate::engine::capture;
use crate::engine::dsp_link::MeterReading;
use crate::engine::input::{InputChoice, InputDevice};

use super::RustyApp;

/// The analyzers' source, as the "Analyze" picker sets it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AnalyzeSource {
    /// What the player plays (its output, after the EQ and volume).
    #[default]
    Player,
    /// A capture device.
    Input(InputChoice),
}

impl RustyApp {
    /// The running input's analysis, when the views follow one.
    fn input_analysis(&mut self) -> Option<&mut crate::engine::dsp_link::DspControl> {
        self.input.as_mut().and_then(|c| c.analysis.as_mut())
    }

    /// The name of what the views show, for the picker.
    #[must_use]
    pub fn analyze_label(&self) -> String {
        match (&self.analyze, &self.input) {
            (AnalyzeSource::Input(_), Some(c)) => c.info.device.clone(),
            _ => "Player".into(),
        }
    }

    /// Switch the views to `source`: open the input (at its own rate and channels) or close it.
    /// An input that cannot be opened is a notice naming it and the reason, and the views stay
    /// on the player. The choice is saved for the next start (`Settings::analyze`) when it is
    /// the player or an input that opened; one that did not open leaves the saved choice be.
    pub fn set_analyze_source(&mut self, source: AnalyzeSource) {
        if source == AnalyzeSource::Player {
            self.analyze_saved = None;
        }
        if source == self.analyze {
            // Already shown: reopening would only restart the integrated loudness.
            return;
        }
        self.input = None;
        self.analyze = AnalyzeSource::Player;
        let AnalyzeSource::Input(choice) = source else {
            return;
        };
        let feed = capture::Feed {
            samples: None,
            analysis: true,
        };
        match capture::open(&choice, feed) {
            Ok(mut c) => {
                if let Some(a) = c.analysis.as_mut() {
                    a.set_spectrum_config(*self.engine.spectrum_config());
                }
                self.input = Some(c);
                self.input_rt.follow_new_stream();
                self.analyze_saved = Some(choice.to_string());
                self.analyze = AnalyzeSource::Input(choice);
            }
            Err(e) => self.notify(format!("Analyze: {e}")),
        }
    }

    /// At start: follow the saved source (`Settings::analyze`). An input that cannot be opened
    /// now (unplugged) is a notice, the views show the player, and the choice stays saved for
    /// the next start.
    pub(super) fn restore_analyze_source(&mut self, saved: Option<String>) {
        if let Some(name) = saved.as_deref() {
            let choice: InputChoice = name.parse().unwrap_or(InputChoice::Default);
            self.set_analyze_source(AnalyzeSource::Input(choice));
        }
        self.analyze_saved = saved;
    }

    /// Once a frame: the input's errors are read (so the ring always has room for the one that
    /// ends it), its analysis is tidied (analyzers handed over and back, meter-thread failures
    /// said), and an input that failed (unplugged, its server gone) is closed with a notice
    /// naming it and the last error, the views going back to the player.
    pub(super) fn poll_input(&mut self) {
        let Some(c) = self.input.as_mut() else {
            return;
        };
        let mut last_error = None;
        while let Some(e) = ringbuf::traits::Consumer::try_pop(&mut c.errors) {
            last_error = Some(e.to_string());
        }
        let mut said: Vec<String> = self
            .input_rt
            .watch(&c.telemetry.thread, "the input thread")
            .into_iter()
            .collect();
        if let Some(a) = c.analysis.as_mut() {
            a.collect_garbage();
            said.extend(
                a.meter_failures()
                    .into_iter()
                    .map(|why| format!("Analyze: the input's meters failed: {why}")),
            );
        }
        let name = c.info.device.clone();
        let failed = c
            .telemetry
            .health
            .failed
            .load(std::sync::atomic::Ordering::Acquire);
        if failed {
            self.input = None;
            self.analyze = AnalyzeSource::Player;
            let why = last_error.unwrap_or_else(|| "the stream failed".into());
            said.push(format!("Analyze: {name}: {why}; showing the player again"));
        } else if let Some(why) = last_error {
            // Survived (the stream goes on), but the user hears of it, as for the output.
            said.push(format!("Analyze: {name}: {why}"));
        }
        for line in said {
            self.notify(line);
        }
    }

    /// The analyzed input as `--stats-on-exit` reports it (null: the views follow the player):
    /// what it is, what its callback did, and where the views' spectrum peaks.
    pub fn input_stats(&mut self) -> serde_json::Value {
        use std::sync::atomic::Ordering::Relaxed;
        let peak_hz = self
            .input_analysis()
            .and_then(|a| a.spectrum().loudest_hz());
        let Some(c) = self.input.as_ref() else {
            return serde_json::Value::Null;
        };
        let t = &c.telemetry;
        let cb = t.perf.callback_snapshot();
        let th = t.thread.get();
        serde_json::json!({
            "device": c.info.device,
            "host": c.info.host,
            "sample_rate": c.info.sample_rate,
            "channels": c.info.channels,
            "frames": t.frames.load(Relaxed),
            "overruns": t.overruns.load(Relaxed),
            "callbacks": cb.count,
            "callback_ns": {"p50": cb.quantile(0.5), "p99": cb.quantile(0.99), "max": cb.max},
            "thread_policy": th.policy.name(),
            "spectrum_peak_hz": peak_hz,
        })
    }

    /// The inputs to offer (each host's capture devices; see `engine::input`).
    #[must_use]
    pub fn input_choices() -> Vec<InputDevice> {
        crate::engine::output::quiet_enumeration(|| {
            crate::engine::input::input_devices(&crate::engine::output::host()).unwrap_or_default()
        })
        .0
    }

    /// Whether the views follow a running input (it is always "playing").
    #[must_use]
    pub fn analyzing_input(&self) -> bool {
        self.input.is_some()
    }

    /// The spectrum settings (the player's and the input's are kept the same).
    #[must_use]
    pub fn spectrum_config(&self) -> SpectrumConfig {
        *self.engine.spectrum_config()
    }

    pub fn set_spectrum_config(&mut self, cfg: SpectrumConfig) {
        self.engine.set_spectrum_config(cfg);
        if let Some(a) = self.input_analysis() {
            a.set_spectrum_config(cfg);
        }
    }

    /// The latest spectrum frame of what the views show.
    pub fn spectrum(&mut self) -> SpectrumFrame {
        match self.input_analysis() {
            Some(a) => *a.spectrum(),
            None => *self.engine.spectrum(),
        }
    }

    /// The latest meter reading of what the views show.
    pub fn meters(&mut self) -> MeterReading {
        match self.input_analysis() {
            Some(a) => a.meters(),
            None => self.engine.meters(),
        }
    }

    /// Whether what the views show is at rest (nothing heard): never for an input.
    #[must_use]
    pub fn analysis_resting(&self) -> bool {
        !self.analyzing_input() && self.engine.is_resting()
    }

    pub fn reset_meters(&mut self) {
        match self.input_analysis() {
            Some(a) => a.reset_meters(),
            None => self.engine.reset_meters(),
        }
    }

    /// Compute spectra only while a view shows them (the input's only while it is shown; the
    /// player's not while the input is).
    pub fn set_spectrum_enabled(&mut self, on: bool) {
        let input = self.analyzing_input();
        self.engine.set_spectrum_enabled(on && !input);
        if let Some(a) = self.input_analysis() {
            a.set_spectrum_enabled(on);
        }
    }

    /// The rate of what the views show (the spectrum's hop period).
    #[must_use]
    pub fn analysis_rate(&self) -> u32 {
        self.input
            .as_ref()
            .map_or(self.engine.output_info().sample_rate, |c| {
                c.info.sample_rate
            })
    }
}
