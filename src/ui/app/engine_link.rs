//! What the app does with its engine beyond the transport buttons: moving playback to another
//! output, and applying what the engine and the scanner report (track opened/failed, device
//! changes, notices, tags and overviews). Split from `app.rs`, which keeps state and layout.

use std::time::Duration;

use crate::engine::{Engine, EngineConfig, EngineEvent};

use super::{OverviewCache, RustyApp};
use crate::ui::scanner::Found;

/// First wait before a lost output is tried again (doubled after each failed try).
pub(super) const RECONNECT_FIRST: Duration = Duration::from_secs(2);
/// Longest wait between tries.
const RECONNECT_MAX: Duration = Duration::from_secs(60);

impl RustyApp {
    /// Move playback to another output (device or buffer size): a new engine at that device's
    /// rate, carrying over the playlist, position, pause state, DSP and analyzer settings. The
    /// old engine keeps playing if the new one cannot start.
    pub fn switch_output(&mut self, device: Option<String>, buffer_frames: Option<u32>) {
        let mut engine = match self.engine_on(device.as_deref(), buffer_frames) {
            Ok(e) => e,
            Err(e) => {
                self.notify(format!("Cannot switch output: {e}"));
                return;
            }
        };
        if let Some(why) = engine.output_info().fallback_reason.clone() {
            // The device exists but would not open: keep the engine that works (dropping the
            // new one here) rather than trade it for the null output, and say so.
            let still = self.engine.output_info().device.clone();
            self.notify(format!(
                "Cannot switch output: {why}. Still playing on {still:?}."
            ));
            return;
        }
        self.adopt(&mut engine);
        self.engine = engine; // the old one stops and joins its threads here
        self.reconnect_wait = RECONNECT_FIRST;
        self.output_device = device;
        self.buffer_frames = buffer_frames;
        self.kick();
    }

    /// A new engine on `device`, with this one's DSP and volume.
    fn engine_on(
        &self,
        device: Option<&str>,
        buffer_frames: Option<u32>,
    ) -> Result<Engine, crate::engine::OutputError> {
        Engine::start(&EngineConfig {
            output: crate::ui::settings::output_choice(device),
            buffer_frames,
            dsp: *self.engine.dsp(),
            volume: crate::ui::settings::volume_gain(self.volume_db),
            gain: self.normalization,
            crossfade: self.crossfade,
            ..EngineConfig::default()
        })
    }

    /// Give `engine` what the current one plays: analyzer settings, queue, track, position and
    /// pause state.
    fn adopt(&self, engine: &mut Engine) {
        let pos = self.engine.target_position();
        let paused = self.engine.is_paused();
        engine.set_spectrum_config(*self.engine.spectrum_config());
        engine.set_play_order(self.engine.play_order().clone());
        if let (Some(key), Some(a), Some(b)) = (self.ab.key, self.ab.a, self.ab.b) {
            engine.keep_ab_loop(key, a, b);
        }
        engine.set_queue_keyed(self.queue_entries());
        if let Some((i, s)) = pos {
            engine.play_at(i, s);
            if paused {
                engine.pause();
            }
        }
    }

    /// Playing to the null output because the chosen device failed or was missing at start (the
    /// engine says why in `fallback_reason`), not because the user chose it.
    pub(super) fn output_lost(&self) -> bool {
        let info = self.engine.output_info();
        info.is_null
            && info.fallback_reason.is_some()
            && self.output_device.as_deref() != Some("null")
    }

    /// While the output is lost: after `RECONNECT_FIRST` (then backing off), try the device again
    /// and move back to it once it opens. Quiet while it stays away (the user was told when it
    /// went).
    pub(super) fn reconnect_if_due(&mut self) {
        if !self.output_lost() || self.last_reconnect.elapsed() < self.reconnect_wait {
            return;
        }
        self.last_reconnect = std::time::Instant::now();
        // Each failed try waits twice as long (2 s up to a minute): opening a device costs a
        // frame, and a machine without one should not pay that every 2 s all day.
        self.reconnect_wait = (self.reconnect_wait * 2).min(RECONNECT_MAX);
        let device = self.output_device.clone();
        let Ok(mut engine) = self.engine_on(device.as_deref(), self.buffer_frames) else {
            return;
        };
        if engine.output_info().is_null {
            return;
        }
        self.adopt(&mut engine);
        self.engine = engine;
        self.reconnect_wait = RECONNECT_FIRST;
        let name = self.engine.output_info().device.clone();
        self.notify(format!("The output is back: playing on {name:?} again."));
        self.kick();
    }

    pub(super) fn handle_events(&mut self) {
        for ev in self.engine.poll() {
            match ev {
                EngineEvent::TrackOpened {
                    track, info, gain, ..
                } => {
                    if let Some(e) = self.playlist.get_mut(track) {
                        e.gain = Some(gain);
                        if let Some(d) = info.duration_s().filter(|_| !e.duration_exact) {
                            e.duration_s = Some(e.length_from_file(d));
                        }
                        e.format = Some(format!(
                            "{} · {} Hz · {} ch",
                            info.codec.to_uppercase(),
                            info.sample_rate,
                            info.channels
                        ));
                        e.error = None;
                    }
                }
                EngineEvent::TrackFailed { track, error, .. } => {
                    if let Some(e) = self.playlist.get_mut(track) {
                        e.error = Some(error.clone());
                    }
                    self.notify_unplayable(error);
                }
                EngineEvent::OutputChanged { reason, .. } => {
                    self.last_reconnect = std::time::Instant::now();
                    self.reconnect_wait = RECONNECT_FIRST;
                    self.notify(reason);
                }
                EngineEvent::GainChanged { track, gain, .. } => {
                    if let Some(e) = self.playlist.get_mut(track) {
                        e.gain = Some(gain);
                    }
                }
                EngineEvent::Notice(reason) => self.notify(reason),
                EngineEvent::QueueEnded | EngineEvent::Synced(_) => {}
            }
        }
        for f in self.scanner.poll() {
            match f {
                Found::Tags {
                    key,
                    tags,
                    duration_s,
                    embedded,
                } => {
                    // (A cue track of an external sheet stays as it is, whatever its image
                    // carries: the sheet beside it was chosen first, as in `entries::list`.)
                    let whole = self.entry_mut(key).is_some_and(|e| e.cue.is_none());
                    if whole && !embedded.is_empty() {
                        self.split_entry(key, &tags, duration_s, embedded);
                    } else if let Some(e) = self.entry_mut(key) {
                        e.tags = tags;
                        e.tags_read = true;
                        if !e.duration_exact {
                            e.duration_s =
                                e.duration_s.or(duration_s.map(|d| e.length_from_file(d)));
                        }
                    }
                }
                Found::Unplayable { key, error } => {
                    if let Some(e) = self.entry_mut(key) {
                        e.error = Some(error);
                    }
                }
                Found::Overview { key, overview } => {
                    if overview.partial_of.is_some() {
                        // Part of a long file, shown while the rest is read; its length is not
                        // known yet.
                        self.overview = Some(OverviewCache {
                            key,
                            overview,
                            texture: None,
                        });
                        continue;
                    }
                    self.lists_gen += 1; // a known length may be added below
                    if let Some(e) = self.entry_mut(key) {
                        // The decoded length is exact; the header's may be missing or wrong.
                        e.duration_s = Some(overview.duration_s());
                        e.duration_exact = true;
                        // Known lengths are a file's; a cue track's is part of one.
                        if e.cue.is_none() {
                            e.measured = crate::ui::settings::KnownLength::stamp(&e.path);
                        }
                    }
                    self.overview = Some(OverviewCache {
                        key,
                        overview,
                        texture: None,
                    });
                }
                Found::Cover { key, image, file } => {
                    self.pending_cover = Some((key, image));
                    self.cover_file = file.map(|f| (key, f));
                }
            }
        }
        // Ask for the overview and cover of a new now-playing entry.
        let now = self
            .current_track()
            .and_then(|i| self.playlist.get(i))
            .map(|e| (e.key, e.queue_item()));
        if let Some((key, item)) = now {
            if self.now_key != Some(key) {
                self.now_key = Some(key);
                self.scanner.now_playing(key, item);
            }
        }
        self.notices.expire(Duration::from_secs(10));
    }
}
