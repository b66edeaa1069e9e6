//! How often the window is drawn.
//!
//! egui redraws the whole window each frame, and on a software renderer (Mesa's llvmpipe: VMs,
//! remote desktops, machines without GPU drivers) a frame of this app costs several milliseconds
//! of CPU before any view moves (PERFORMANCE_GUIDE.md, "desktop app"). So a frame is drawn only
//! when something on screen has new data, at the rate of the fastest visible view, not at the
//! display's rate: the spectrum and the spectrogram get a new analysis every FFT hop (~23 a second
//! at the default 4096/2048) and are drawn at that rate up to 20 times a second (each frame shows
//! the newest analysis, the spectrogram scrolls by every column that came in; 20 rather than 23
//! is 15 % of the app's CPU on a software renderer for a difference nobody sees), the meters and
//! the performance panel are drawn 15 times a second
//! (their ballistics are computed by the meter thread, so a slower redraw shows the same motion
//! with fewer steps), the transport alone (position, playhead) 10 times. An unfocused window is
//! drawn at two thirds of that rate — a player left open beside other work still moves, for less.
//! A hidden window (minimized, occluded) is not drawn at all: eframe then runs no UI pass, and
//! `eframe::App::logic` keeps the desktop side (MPRIS, a second instance) served once a second.
//!
//! After playback stops (Pause, Stop, the end of the queue) the views keep moving for `SETTLE`
//! (the fade, the spectrum and meters falling), then one last frame shows them at rest and
//! nothing is drawn until something happens: the 1 %-of-a-core budget within 2 s of a Pause.

use std::time::{Duration, Instant};

/// The fastest the window is ever drawn for data (input events are always answered at once by
/// egui itself).
pub const MIN_INTERVAL: Duration = Duration::from_millis(50);
/// The meters and the performance panel.
pub const METERS_INTERVAL: Duration = Duration::from_millis(66);
/// Position and playhead, when no other live view is visible.
pub const TRANSPORT_INTERVAL: Duration = Duration::from_millis(100);
/// Polling a dialog's worker thread for its answer.
pub const DIALOG_INTERVAL: Duration = Duration::from_millis(100);
/// While the window is hidden: `logic` only (desktop requests, engine events, MPRIS state).
pub const HIDDEN_INTERVAL: Duration = Duration::from_secs(1);
/// How long the views keep moving after playback stops, before they are shown at rest.
pub const SETTLE: Duration = Duration::from_millis(1500);
/// How long the window keeps being drawn after a command, until its effect shows (a track
/// opening takes tens of milliseconds; the engine's events are read once per frame).
pub const KICK: Duration = Duration::from_secs(1);

/// What is on screen that moves while audio plays.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Live {
    /// The spectrum or the spectrogram is visible: the analyzer's time between two frames.
    pub spectrum_period: Option<Duration>,
    /// The meters or the performance panel is visible.
    pub meters: bool,
}

/// Why the window might move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activity {
    /// Audio plays.
    Playing,
    /// Playback stopped less than `SETTLE` ago, or a command is taking effect (`RustyApp::kick`).
    Settling,
    /// Nothing moves.
    Still,
}

/// Time to the next frame, or None: draw nothing until an input event or a wake-up.
#[must_use]
pub fn frame_interval(activity: Activity, live: Live, focused: bool) -> Option<Duration> {
    if activity == Activity::Still {
        return None;
    }
    let mut every = TRANSPORT_INTERVAL;
    if live.meters {
        every = every.min(METERS_INTERVAL);
    }
    if let Some(p) = live.spectrum_period {
        every = every.min(p);
    }
    let every = every.max(MIN_INTERVAL);
    Some(if focused { every } else { every * 3 / 2 })
}

/// The analyzer's time between frames: one hop at the output's rate.
#[must_use]
pub fn spectrum_period(hop: usize, sample_rate: u32) -> Duration {
    Duration::from_secs_f64(hop.max(1) as f64 / f64::from(sample_rate.max(1)))
}

impl super::RustyApp {
    /// The frame's clock and whether audio played at its start (and see playback stop: start
    /// settling). Everything this frame draws and schedules reads these, so a Pause pressed
    /// during the frame, or `SETTLE` running out half-way through it, cannot leave the meters
    /// drawn at rest for one frame and live the next, or live in the frame that ends the drawing.
    pub(super) fn note_activity(&mut self) {
        let now = Instant::now();
        let playing = self.is_playing();
        if self.was_playing && !playing {
            self.settle_until = Some(now + SETTLE);
        }
        self.was_playing = playing;
        self.frame_now = now;
    }

    /// Nothing played at the start of this frame and playback stopped more than `SETTLE` ago:
    /// the meters show silence (what is heard) instead of the reading they were left at when the
    /// window stopped being drawn.
    #[must_use]
    pub fn meters_at_rest(&self) -> bool {
        !self.was_playing && self.settle_until.is_none_or(|t| self.frame_now >= t)
    }

    fn activity(&self) -> Activity {
        let now = self.frame_now;
        if self.was_playing || self.is_playing() || self.analyzing_input() {
            Activity::Playing
        } else if self.settle_until.is_some_and(|t| now < t)
            || now < self.busy_until
            || self.engine.jump_pending()
        {
            Activity::Settling
        } else {
            Activity::Still
        }
    }

    /// Ask for the next frame (end of a frame): see the module doc.
    pub(super) fn schedule_frame(&mut self, ctx: &egui::Context, minimized: bool) {
        let cfg = self.spectrum_config();
        let live = Live {
            spectrum_period: (self.show_spectrum || self.show_spectrogram)
                .then(|| spectrum_period(cfg.hop, self.analysis_rate())),
            meters: self.show_meters || self.show_perf,
        };
        let focused = ctx.input(|i| i.viewport().focused.unwrap_or(true));
        let mut next = frame_interval(self.activity(), live, focused);
        if minimized {
            // eframe itself runs no UI pass while minimized; this is for hosts that do.
            next = next.map(|_| HIDDEN_INTERVAL);
        }
        if self.dialogs.waiting() {
            next = Some(next.map_or(DIALOG_INTERVAL, |n| n.min(DIALOG_INTERVAL)));
        }
        if next.is_none() {
            next = self.idle_wake();
        }
        if let Some(after) = next {
            ctx.request_repaint_after(after);
        }
    }

    /// When nothing moves: the next thing due — a try at the lost output, or the frame whose
    /// `Engine::poll` suspends the idle device stream — or nothing at all.
    fn idle_wake(&self) -> Option<Duration> {
        if self.output_lost() {
            Some(self.reconnect_wait)
        } else {
            self.engine.suspend_due()
        }
    }

    /// From `logic`, every pass. While the window is hidden (minimized, occluded) eframe runs
    /// only `logic`: keep it running, once a second, while anything moves — engine events are
    /// read, the desktop's media controls show the current track — and for the stream's
    /// suspension and reconnect tries. The wake is asked for on every pass, not only when the
    /// window says it is hidden: on Wayland winit reports neither minimized nor occluded, and
    /// the compositor just stops asking for frames. egui keeps the earliest request, so a
    /// visible window's own frames are unchanged.
    pub(super) fn schedule_hidden(&mut self, ctx: &egui::Context) {
        let hidden = ctx.input(|i| i.viewport().visible() == Some(false));
        if hidden {
            // Nobody sees the spectrum; `show` turns it back on with the first frame drawn.
            self.set_spectrum_enabled(false);
            if self.output_lost() {
                self.reconnect_if_due();
            }
        }
        // Also where `show` does not run: see playback stop here (twice in one pass is
        // harmless: the first call records the change).
        self.note_activity();
        let next = match self.activity() {
            Activity::Still => self.idle_wake(),
            _ => Some(HIDDEN_INTERVAL),
        };
        if let Some(after) = next {
            ctx.request_repaint_after(after.max(Duration::from_millis(250)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECTRUM: Live = Live {
        spectrum_period: Some(Duration::from_micros(42_667)),
        meters: true,
    };

    /// The interval for a focused, playing window with these views.
    fn playing(spectrum_period: Option<Duration>, meters: bool) -> Option<Duration> {
        let live = Live {
            spectrum_period,
            meters,
        };
        frame_interval(Activity::Playing, live, true)
    }

    #[test]
    fn the_fastest_visible_view_sets_the_rate() {
        // Spectrum at the default hop (2048 at 48 kHz, ~23 a second): drawn 20 times a second.
        let p = spectrum_period(2048, 48_000);
        assert_eq!(p.as_micros(), 42_666);
        assert_eq!(playing(Some(p), true), Some(MIN_INTERVAL));
        // A hop of 4096 (~12 a second) with the meters hidden: at the spectrum's own rate.
        let p4096 = spectrum_period(4096, 48_000);
        assert_eq!(playing(Some(p4096), false), Some(p4096));
        // Meters only: 15 a second; the transport alone: 10.
        assert_eq!(playing(None, true), Some(METERS_INTERVAL));
        assert_eq!(playing(None, false), Some(TRANSPORT_INTERVAL));
        // A small hop (1024-point FFT, hop 512: 94 spectra a second) is capped at 20.
        assert_eq!(
            playing(Some(spectrum_period(512, 48_000)), false),
            Some(MIN_INTERVAL)
        );
        // A slow hop (16384/8192 at 44.1 kHz: 5 a second) never slows the meters below 15.
        assert_eq!(
            playing(Some(spectrum_period(8192, 44_100)), true),
            Some(METERS_INTERVAL)
        );
    }

    #[test]
    fn unfocused_windows_are_drawn_less_and_still_ones_not_at_all() {
        let focused = frame_interval(Activity::Playing, SPECTRUM, true).unwrap();
        let unfocused = frame_interval(Activity::Playing, SPECTRUM, false).unwrap();
        assert_eq!(unfocused, focused * 3 / 2);
        assert_eq!(
            frame_interval(Activity::Settling, SPECTRUM, true),
            Some(focused)
        );
        assert_eq!(frame_interval(Activity::Still, SPECTRUM, true), None);
        assert_eq!(frame_interval(Activity::Still, SPECTRUM, false), None);
    }
}
