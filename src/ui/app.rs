//! The application state and its layout: transport on top, playlist on the left, meters on the
//! right, spectrum and EQ editor in the middle.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::dsp::chain::DspSettings;
use crate::engine::{Engine, EngineEvent, PlayState};

/// One playlist entry.
#[derive(Clone, Debug)]
pub struct Entry {
    pub path: PathBuf,
    pub title: String,
    pub duration_s: Option<f64>,
    /// Why it could not be played, once the decoder said so.
    pub error: Option<String>,
}

impl Entry {
    #[must_use]
    pub fn new(path: PathBuf) -> Self {
        let title = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Entry {
            path,
            title,
            duration_s: None,
            error: None,
        }
    }
}

pub struct RustyApp {
    pub engine: Engine,
    pub playlist: Vec<Entry>,
    pub volume_db: f32,
    pub selected: Option<usize>,
    pub show_eq: bool,
    pub show_spectrum: bool,
    pub eq_overlay: bool,
    pub selected_band: Option<usize>,
    notices: Vec<(String, Instant)>,
    /// Set while the user drags the seek bar (seconds).
    pub seek_preview: Option<f64>,
    /// Keep repainting until then: a command was sent and its effect is not visible yet.
    busy_until: Instant,
}

impl RustyApp {
    /// The app around a started engine; queues `files` (the demo track when empty).
    #[must_use]
    pub fn new(engine: Engine, files: Vec<PathBuf>, autoplay: bool) -> Self {
        let files = if files.is_empty() {
            crate::cli::files::demo_track().into_iter().collect()
        } else {
            crate::cli::files::expand(&files)
        };
        let mut app = RustyApp {
            engine,
            playlist: Vec::new(),
            volume_db: 0.0,
            selected: None,
            show_eq: true,
            show_spectrum: true,
            eq_overlay: true,
            selected_band: None,
            notices: Vec::new(),
            seek_preview: None,
            busy_until: Instant::now(),
        };
        if let Some(why) = app.engine.output_info().fallback_reason.clone() {
            app.notify(format!(
                "No audio device: {why}. Playing to the null output; the analyzer still works."
            ));
        }
        app.add_files(files);
        if autoplay && !app.playlist.is_empty() {
            app.play(0);
        }
        app
    }

    pub fn add_files(&mut self, files: Vec<PathBuf>) {
        self.playlist.extend(files.into_iter().map(Entry::new));
        self.sync_queue();
    }

    fn sync_queue(&mut self) {
        self.engine
            .set_queue(self.playlist.iter().map(|e| e.path.clone()).collect());
    }

    pub fn remove(&mut self, i: usize) {
        if i >= self.playlist.len() {
            return;
        }
        let current = self.current_track();
        self.playlist.remove(i);
        self.sync_queue();
        if current == Some(i) {
            // The removed track was playing: go on with the one that took its place.
            if i < self.playlist.len() {
                self.play(i);
            } else {
                self.engine.stop();
            }
        } else if let Some(c) = current.filter(|&c| c > i) {
            // Keep the audible track: its index moved down by one.
            let pos = self.position().map_or(0.0, |p| p.1);
            let rate = self
                .engine
                .telemetry()
                .track_rate
                .load(std::sync::atomic::Ordering::Relaxed)
                .max(1);
            self.engine.play_from(c - 1, (pos * f64::from(rate)) as u64);
        }
        self.selected = None;
    }

    pub fn play(&mut self, i: usize) {
        self.engine.play_track(i);
        self.kick();
    }

    /// Repaint for a moment after a command, until its effect (a track opening, the state
    /// changing) shows; otherwise the UI only repaints while playing.
    pub fn kick(&mut self) {
        self.busy_until = Instant::now() + Duration::from_secs(2);
    }

    pub fn toggle_pause(&mut self) {
        self.kick();
        match self.engine.telemetry().state() {
            PlayState::Playing if !self.engine.is_paused() => self.engine.pause(),
            PlayState::Idle | PlayState::Ended => {
                let i = self.selected.unwrap_or(0);
                if i < self.playlist.len() {
                    self.play(i);
                }
            }
            _ => self.engine.resume(),
        }
    }

    #[must_use]
    pub fn is_playing(&self) -> bool {
        self.engine.telemetry().state() == PlayState::Playing && !self.engine.is_paused()
    }

    #[must_use]
    pub fn current_track(&self) -> Option<usize> {
        self.position().map(|p| p.0)
    }

    /// (track, seconds) of what is audible.
    #[must_use]
    pub fn position(&self) -> Option<(usize, f64)> {
        self.engine.telemetry().position()
    }

    pub fn set_dsp(&mut self, d: DspSettings) {
        self.engine.set_dsp(&d);
    }

    pub fn set_volume_db(&mut self, db: f32) {
        self.volume_db = db.clamp(-60.0, 12.0);
        self.engine.set_volume_db(if self.volume_db <= -60.0 {
            -120.0
        } else {
            self.volume_db
        });
    }

    pub fn notify(&mut self, text: String) {
        self.notices.push((text, Instant::now()));
    }

    fn handle_events(&mut self) {
        for ev in self.engine.poll() {
            match ev {
                EngineEvent::TrackOpened { track, info } => {
                    if let Some(e) = self.playlist.get_mut(track) {
                        e.duration_s = info
                            .declared_frames
                            .map(|f| f as f64 / f64::from(info.sample_rate.max(1)));
                        e.error = None;
                    }
                }
                EngineEvent::TrackFailed { track, error, .. } => {
                    if let Some(e) = self.playlist.get_mut(track) {
                        e.error = Some(error.clone());
                    }
                    self.notify(error);
                }
                EngineEvent::OutputChanged { reason, .. } => self.notify(reason),
                EngineEvent::QueueEnded | EngineEvent::Synced(_) => {}
            }
        }
        self.notices
            .retain(|(_, t)| t.elapsed() < Duration::from_secs(8));
    }

    fn keyboard(&mut self, ctx: &egui::Context) {
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        if ctx.input(|i| i.modifiers.command && i.key_pressed(egui::Key::Q)) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        let (space, left, right, up, down, del, open) = ctx.input(|i| {
            (
                i.key_pressed(egui::Key::Space),
                i.key_pressed(egui::Key::ArrowLeft),
                i.key_pressed(egui::Key::ArrowRight),
                i.key_pressed(egui::Key::ArrowUp),
                i.key_pressed(egui::Key::ArrowDown),
                i.key_pressed(egui::Key::Delete),
                i.modifiers.command && i.key_pressed(egui::Key::O),
            )
        });
        if space || left || right || del {
            self.kick();
        }
        if space {
            self.toggle_pause();
        }
        if left || right {
            if let Some((_, pos)) = self.position() {
                self.engine
                    .seek((pos + if right { 5.0 } else { -5.0 }).max(0.0));
            }
        }
        if up || down {
            self.set_volume_db(self.volume_db + if up { 1.0 } else { -1.0 });
        }
        if del {
            if let Some(i) = self.selected {
                self.remove(i);
            }
        }
        if open {
            self.open_dialog();
        }
    }

    pub fn open_dialog(&mut self) {
        if let Some(files) = rfd::FileDialog::new()
            .add_filter(
                "Audio",
                &[
                    "wav", "flac", "mp3", "ogg", "oga", "m4a", "mp4", "aac", "aif", "aiff", "caf",
                    "opus",
                ],
            )
            .pick_files()
        {
            self.add_files(files);
        }
    }

    /// The whole UI (also what the egui_kittest tests drive).
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.handle_events();
        self.keyboard(&ctx);
        // Files dropped from the file manager.
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        if !dropped.is_empty() {
            self.add_files(crate::cli::files::expand(&dropped));
        }
        self.engine.set_spectrum_enabled(self.show_spectrum);

        egui::Panel::top("transport").show(ui, |ui| super::transport::show(self, ui));
        if !self.notices.is_empty() {
            egui::Panel::top("notices").show(ui, |ui| {
                for (n, _) in &self.notices {
                    ui.colored_label(egui::Color32::from_rgb(230, 160, 60), n);
                }
            });
        }
        egui::Panel::left("playlist")
            .default_size(280.0)
            .show(ui, |ui| super::playlist::show(self, ui));
        egui::Panel::right("meters")
            .default_size(220.0)
            .show(ui, |ui| super::meters_view::show(self, ui));
        egui::CentralPanel::default().show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.checkbox(&mut self.show_spectrum, "Spectrum")
                    .on_hover_text("Show the spectrum analyzer");
                ui.checkbox(&mut self.show_eq, "EQ editor")
                    .on_hover_text("Show the equalizer editor");
                ui.checkbox(&mut self.eq_overlay, "EQ curve on spectrum")
                    .on_hover_text("Draw the EQ response over the spectrum");
            });
            let h = ui.available_height();
            if self.show_spectrum {
                let height = if self.show_eq { h * 0.45 } else { h };
                super::spectrum_view::show(self, ui, height);
            }
            if self.show_eq {
                super::eq_view::show(self, ui);
            }
        });
        // Repaint at the display rate only while something moves (nothing at all when paused).
        if self.is_playing() || Instant::now() < self.busy_until {
            // ~30 frames/s: the spectrum itself updates 23 times a second, meters are smoothed.
            ctx.request_repaint_after(Duration::from_millis(33));
        }
    }
}

impl eframe::App for RustyApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}
