//! The engine's side of its output: starting a stream, noticing that it failed (reopening it
//! once, else the null output), reporting what the error callback sent, and suspending the stream
//! while nothing is audible. Split from `mod.rs`, which keeps playlist and transport.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use ringbuf::traits::{Consumer, Producer};

use super::output::{self, OutputError, OutputHealth, OutputPlan, RunningOutput};
use super::render::{self, Renderer};
use super::{Command, Engine, EngineEvent, PlayState, Sink};

impl Engine {
    /// Ask rtkit when the audio thread's own promotion was refused, and say once what came of
    /// it (`rtkit::RtWatch`).
    fn watch_realtime(&mut self) {
        if let Some(notice) = self
            .rt
            .watch(&self.telemetry.audio_thread, "the audio thread")
        {
            self.events.push_back(EngineEvent::Notice(notice));
        }
    }

    pub(super) fn launch(&mut self, renderer: Renderer) -> Result<(), OutputError> {
        let (prod, cons) = output::renderer_home();
        self.home = cons;
        self.health = Arc::new(OutputHealth::default());
        let running = output::start(&self.plan, renderer, prod, self.health.clone())?;
        self.sink = Sink::Running(running);
        self.suspended = false;
        self.can_suspend = true;
        Ok(())
    }

    /// After a stream error, try the same device once more before giving up on it: a transient
    /// error (seen here: the PulseAudio ALSA plugin answering EIO while several new streams start
    /// on an idle server at once) should not send the user to the null output. At most once per
    /// 10 s, so a device that keeps failing (or is gone: the reopen fails) falls back at once.
    fn reopen_device(&mut self) -> bool {
        if self.plan.is_null()
            || self
                .last_reopen
                .is_some_and(|t| t.elapsed() < Duration::from_secs(10))
        {
            return false;
        }
        self.last_reopen = Some(std::time::Instant::now());
        self.sink = Sink::Detached; // drops the failed stream: the renderer comes home
        let renderer = self
            .home
            .try_pop()
            .expect("renderer returns when its output is dropped");
        self.launch(renderer).is_ok()
    }

    /// Move the renderer (home after a failure) onto the null output at the same rate/channels.
    pub(super) fn fall_back_to_null(&mut self) {
        self.sink = Sink::Detached; // drops any stream: the renderer comes home
        let renderer = self
            .home
            .try_pop()
            .expect("renderer returns when its output is dropped");
        self.plan = OutputPlan::null(
            self.plan.sample_rate,
            self.plan.channels,
            self.plan.buffer_frames,
        );
        self.info.device = "null".into();
        self.info.host = "null";
        self.info.is_null = true;
        self.info.sample_format = "f32".into();
        self.launch(renderer).expect("the null output cannot fail");
    }

    /// Check the output's health and collect events. Call regularly (UI frame, CLI loop).
    pub fn poll(&mut self) -> Vec<EngineEvent> {
        self.settle_pending_jump();
        // Drain what the error callback sent (transient errors and, last, a failing one).
        let mut last_error = None;
        let mut transient = 0u32;
        if let Sink::Running(RunningOutput::Device { errors, .. }) = &mut self.sink {
            while let Some(e) = errors.try_pop() {
                transient += 1;
                last_error = Some(e.to_string());
            }
        }
        if self
            .health
            .failed
            .load(std::sync::atomic::Ordering::Acquire)
        {
            // The error callback pushed the error before setting `failed` (Release), so the
            // drain above saw it unless the ring was full; then it is in the ring now.
            let reason = self
                .failure
                .take()
                .or_else(|| match &mut self.sink {
                    Sink::Running(RunningOutput::Device { errors, .. }) => {
                        errors.try_pop().map(|e| e.to_string())
                    }
                    _ => None,
                })
                .or(last_error)
                .unwrap_or_else(|| "device failed".into());
            let was = self.info.device.clone();
            if self.reopen_device() {
                self.events.push_back(EngineEvent::Notice(format!(
                    "output device {was:?} failed ({reason}); reopened it"
                )));
                return self.poll();
            }
            self.fall_back_to_null();
            let reason =
                format!("output device {was:?} failed: {reason}; playing to the null output");
            self.info.fallback_reason = Some(reason.clone());
            self.events.push_back(EngineEvent::OutputChanged {
                now: "null".into(),
                reason,
            });
        } else if transient > 0 && !self.transient_reported {
            self.transient_reported = true;
            self.events.push_back(EngineEvent::Notice(format!(
                "output device {:?} reported an error and played on: {}",
                self.info.device,
                last_error.unwrap_or_default()
            )));
        }
        self.watch_realtime();
        for why in self.dsp.meter_failures() {
            self.events.push_back(EngineEvent::Notice(format!(
                "the meters failed ({why}) and were restarted"
            )));
        }
        self.suspend_if_dormant();
        self.dsp.collect_garbage();
        while let Ok(e) = self.events_rx.try_recv() {
            self.note(&e);
            self.events.push_back(e);
        }
        std::mem::take(&mut self.events)
            .into_iter()
            .filter_map(|mut e| {
                // The playlist may have changed since the decoder sent this: report today's index.
                if let EngineEvent::TrackOpened { track, key, .. }
                | EngineEvent::GainChanged { track, key, .. }
                | EngineEvent::TrackFailed { track, key, .. } = &mut e
                {
                    *track = self.index_of(*key)?;
                }
                Some(e)
            })
            .collect()
    }

    /// Paused or stopped with the window open, a running device stream still costs ~2 % of a
    /// core on this machine (the PulseAudio client wakes for every request and zeroes a 1 MiB
    /// read buffer each time) to play silence. Once the renderer reports itself dormant since our
    /// latest wake, cork the stream; anything we send next uncorks it (`wake`) before the
    /// renderer needs to hear it.
    fn suspend_if_dormant(&mut self) {
        if self.suspended || self.telemetry.dormant.load(Relaxed) != self.wake.wrapping_add(1) {
            return;
        }
        if let Sink::Running(RunningOutput::Device { stream, .. }) = &self.sink {
            use cpal::traits::StreamTrait;
            // A host that cannot pause simply keeps playing silence.
            self.suspended = stream.pause().is_ok();
            self.can_suspend = self.suspended;
        }
    }

    /// When nothing is audible but the device stream still runs: how soon a `poll` could
    /// suspend it (the UI schedules one repaint for then instead of polling). None otherwise.
    #[must_use]
    pub fn suspend_due(&self) -> Option<Duration> {
        let idle =
            self.paused || matches!(self.telemetry.state(), PlayState::Idle | PlayState::Ended);
        if !idle
            || self.suspended
            || !self.can_suspend
            || !matches!(self.sink, Sink::Running(RunningOutput::Device { .. }))
        {
            return None;
        }
        // The renderer counts silence from our latest command (plus a fade and a callback).
        let after = render::DORMANT_AFTER_S;
        let dormant_at =
            self.last_wake + Duration::from_secs(u64::from(after)) + Duration::from_millis(100);
        Some(
            dormant_at
                .saturating_duration_since(std::time::Instant::now())
                .max(Duration::from_millis(250)),
        )
    }

    /// Whether the device stream is corked because nothing is audible (see `poll`).
    #[must_use]
    pub fn is_suspended(&self) -> bool {
        self.suspended
    }

    /// Tell the renderer something was sent (restarting its silence count) and make sure the
    /// device stream runs to hear it. Called after every command to the decoder or renderer.
    pub(super) fn wake(&mut self) {
        self.wake = self.wake.wrapping_add(1);
        self.last_wake = std::time::Instant::now();
        let _ = self.commands.try_push(Command::Wake(self.wake));
        if self.suspended {
            self.suspended = false;
            if let Sink::Running(RunningOutput::Device { stream, .. }) = &self.sink {
                use cpal::traits::StreamTrait;
                if let Err(e) = stream.play() {
                    // Handled like any device failure on the next poll: move to the null output.
                    self.failure = Some(format!("resuming the stream: {e}"));
                    self.health.failed.store(true, Relaxed);
                }
            }
        }
    }
}
