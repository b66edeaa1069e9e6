//! The app as a citizen of the desktop: media keys, sound menus and `playerctl` (MPRIS 2 on the
//! session bus, `mpris`), and one instance per user (a second `rusty-audio FILE…` hands its files
//! to the running one, `instance`).
//!
//! Why a module of its own: neither side knows the UI. Both turn what arrives into `Request`s and
//! post them to an `Outbox`; the UI drains the matching `Inbox` at the start of a frame, maps each
//! request onto its `AppCommand`s and applies them in order with its own (one command path, as in
//! rerun). Nothing here runs on, or waits for, the UI thread or the audio thread: the D-Bus side has
//! its own thread and executor, and the instance listener its own thread.

pub mod instance;
pub mod mpris;

/// The application id: the desktop entry's and AppStream component's name
/// (`assets/desktop/`), the Wayland app id / X11 class of the window, and MPRIS `DesktopEntry`.
pub const APP_ID: &str = "io.github.rustyaudio.RustyAudio";

use std::path::PathBuf;
use std::sync::Arc;

/// Something the desktop (a media key, a sound menu, `playerctl`, a second instance) asks of the
/// app.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    Play,
    Pause,
    PlayPause,
    Stop,
    Next,
    Previous,
    /// Seek by this many seconds (MPRIS `Seek`).
    SeekBy(f64),
    /// Seek the track with this MPRIS track id to this many seconds (`SetPosition`: ignored when
    /// the id is not the current track's, as the spec asks).
    SetPosition {
        track_id: String,
        seconds: f64,
    },
    /// MPRIS volume: linear gain, 0.0 (mute) to 1.0 (the app's 0 dB ceiling).
    SetVolume(f64),
    /// Append files to the playlist; with `play`, start the first of them.
    Open {
        files: Vec<PathBuf>,
        play: bool,
    },
    /// MPRIS `LoopStatus`: None, Track, Playlist.
    SetRepeat(crate::engine::order::Repeat),
    /// MPRIS `Shuffle`.
    SetShuffle(bool),
    /// Bring the window to the front.
    Raise,
    Quit,
}

/// Where the desktop side posts requests; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct Outbox {
    tx: crossbeam_channel::Sender<Request>,
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl Outbox {
    /// Post a request and wake the UI so it sees it now, not at its next frame (a paused app
    /// draws nothing until something happens).
    pub fn post(&self, r: Request) {
        if self.tx.send(r).is_ok() {
            (self.wake)();
        }
    }
}

/// The UI's end: the requests in the order they were posted.
pub struct Inbox {
    rx: crossbeam_channel::Receiver<Request>,
}

impl Inbox {
    /// Everything posted since the last call.
    pub fn drain(&self) -> Vec<Request> {
        self.rx.try_iter().collect()
    }
}

/// A connected outbox/inbox pair; `wake` is called after each post (the UI passes its repaint).
#[must_use]
pub fn channel(wake: Arc<dyn Fn() + Send + Sync>) -> (Outbox, Inbox) {
    let (tx, rx) = crossbeam_channel::unbounded();
    (Outbox { tx, wake }, Inbox { rx })
}

/// The MPRIS volume (linear, 0–1) for the app's volume in dB: 10^(dB/20), with the app's floor
/// (−60 dB) as mute (0.0).
#[must_use]
pub fn volume_to_linear(db: f32, floor_db: f32) -> f64 {
    if db <= floor_db {
        0.0
    } else {
        10f64.powf(f64::from(db) / 20.0).min(1.0)
    }
}

/// The app's volume in dB for an MPRIS volume (inverse of `volume_to_linear`; above 1.0 is the
/// 0 dB ceiling, at or below the floor's gain is mute).
#[must_use]
pub fn volume_from_linear(v: f64, floor_db: f32, ceiling_db: f32) -> f32 {
    if !v.is_finite() || v <= 10f64.powf(f64::from(floor_db) / 20.0) {
        floor_db
    } else {
        ((20.0 * v.log10()) as f32).clamp(floor_db, ceiling_db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_law_round_trips_and_has_a_floor_and_a_ceiling() {
        for db in [-59.0f32, -40.0, -6.0, -0.5, 0.0] {
            let v = volume_to_linear(db, -60.0);
            assert!(
                (volume_from_linear(v, -60.0, 0.0) - db).abs() < 1e-4,
                "{db}"
            );
        }
        assert_eq!(volume_to_linear(-60.0, -60.0), 0.0);
        assert_eq!(volume_from_linear(0.0, -60.0, 0.0), -60.0);
        assert_eq!(volume_from_linear(2.0, -60.0, 0.0), 0.0);
        assert_eq!(volume_from_linear(f64::NAN, -60.0, 0.0), -60.0);
        assert!((volume_from_linear(0.5, -60.0, 0.0) + 6.0206).abs() < 1e-3);
    }
}
