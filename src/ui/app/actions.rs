//! Carrying out `AppCommand`s: the one place where buttons, keys (and later media keys and a
//! second instance) change playback, volume and the playlist. Split from `app.rs`, which keeps
//! state and layout.

use crate::ui::command::{self, AppCommand};
use crate::ui::dialogs::Purpose;

use super::RustyApp;

impl RustyApp {
    /// Queue a command from a view; it is applied, in order with the others, at the end of the
    /// frame (views draw from the state as it was when the frame began).
    pub fn send(&mut self, cmd: AppCommand) {
        self.queued.push(cmd);
    }

    /// Apply what the views queued this frame.
    pub(super) fn apply_queued(&mut self) {
        for cmd in std::mem::take(&mut self.queued) {
            self.apply(cmd);
        }
    }

    /// Carry out one command now.
    pub fn apply(&mut self, cmd: AppCommand) {
        match cmd {
            AppCommand::TogglePause => self.toggle_pause(),
            AppCommand::Analyze(source) => self.set_analyze_source(source),
            AppCommand::Resume => {
                if self.engine.target_position().is_none() || self.engine.is_paused() {
                    self.toggle_pause();
                }
            }
            AppCommand::Pause => {
                if self.engine.target_position().is_some() && !self.engine.is_paused() {
                    self.toggle_pause();
                }
            }
            AppCommand::Play(i) => {
                if i < self.playlist.len() {
                    let same = self.engine.target_position().is_some_and(|t| t.0 == i);
                    self.play(i);
                    if same {
                        // The same track from its start: a jump, not a new track.
                        self.note_seek(0.0);
                    }
                }
            }
            AppCommand::Stop => self.stop(),
            AppCommand::Next => {
                self.engine.next();
                self.kick();
            }
            AppCommand::Previous => {
                let before = self.engine.target_position().map(|t| t.0);
                self.engine.previous();
                // Past the first seconds Previous restarts the track: a jump within it.
                if let Some((i, t)) = self.engine.target_position() {
                    if Some(i) == before {
                        self.note_seek(t);
                    }
                }
                self.kick();
            }
            AppCommand::SeekBy(delta) => {
                if let Some((_, from)) = self.engine.target_position() {
                    self.seek_to(from + delta);
                }
            }
            AppCommand::SeekTo(t) => self.seek_to(t),
            AppCommand::VolumeBy(db) => self.set_volume_db(self.volume_db + db),
            AppCommand::SetVolume(db) => self.set_volume_db(db),
            AppCommand::SetNormalization(s) => self.set_normalization(s),
            AppCommand::SetCrossfade(c) => self.set_crossfade(c),
            AppCommand::SetRepeat(r) => self.set_repeat(r),
            AppCommand::LoopA => self.loop_a(),
            AppCommand::LoopB => self.loop_b(),
            AppCommand::SetShuffle(s) => self.set_shuffle(s),
            AppCommand::MoveSelected(by) => {
                if let Some(i) = self.selected {
                    if let Some(to) = i
                        .checked_add_signed(by)
                        .filter(|&t| t < self.playlist.len())
                    {
                        self.move_entry(i, to);
                    }
                }
            }
            AppCommand::RemoveSelected => {
                if let Some(i) = self.selected {
                    self.remove(i);
                }
            }
            AppCommand::AddFiles(files) => {
                let files = self.expand(&files);
                self.add_files(files);
            }
            AppCommand::Open { files, play } => {
                let first = self.playlist.len();
                let files = self.expand(&files);
                self.add_files(files);
                if play && first < self.playlist.len() {
                    self.play(first);
                }
            }
            AppCommand::OpenFiles => self.dialogs.request(Purpose::AddFiles),
            AppCommand::OpenFolder => self.dialogs.request(Purpose::AddFolder),
            AppCommand::TogglePerf => self.show_perf = !self.show_perf,
            AppCommand::Quit => self.quit_requested = true,
        }
    }

    /// Seek the current track (kept inside it: before its end when the length is known).
    fn seek_to(&mut self, seconds: f64) {
        let Some((track, _)) = self.engine.target_position() else {
            return;
        };
        let mut t = seconds.max(0.0);
        if let Some(d) = self.playlist.get(track).and_then(|e| e.duration_s) {
            t = t.min((d - 0.5).max(0.0));
        }
        self.engine.seek(t);
        self.note_seek(t);
        self.kick();
    }

    /// Every key press of the frame, in order. Nothing while a text field has the keyboard
    /// (typing a preset name must not pause playback); the presses we act on are taken out of
    /// the frame's input so a focused button does not act on them too.
    pub(super) fn keyboard(&mut self, ctx: &egui::Context) {
        if ctx.text_edit_focused() {
            return;
        }
        let cmds = ctx.input_mut(|i| {
            let (cmds, ours) = command::from_key_events(&i.events);
            let mut ours = ours.into_iter();
            i.events.retain(|_| !ours.next().unwrap_or(false));
            cmds
        });
        for cmd in cmds {
            self.apply(cmd);
        }
    }

    /// Play/pause. Decided from the engine's own paused flag and the pending target, which
    /// change with the command, not from the audio thread's state, which follows a callback
    /// later: an odd number of quick presses always ends paused.
    pub fn toggle_pause(&mut self) {
        self.kick();
        if self.engine.target_position().is_none() {
            // Nothing loaded (stopped, ended, never started): play the selection.
            let i = self.selected.unwrap_or(0);
            if i < self.playlist.len() {
                self.play(i);
            }
        } else if self.engine.is_paused() {
            self.engine.resume();
        } else {
            self.engine.pause();
            self.save_now();
        }
    }
}
