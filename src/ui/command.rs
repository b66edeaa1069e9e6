//! One command path (after rerun's `CommandSender`): buttons, keyboard shortcuts and, later, media
//! keys and a second instance all produce `AppCommand` values, which `RustyApp::apply` carries out
//! in the order they came. Keys are read from the frame's whole event list, so every press counts:
//! three quick Right presses are three seeks, twenty Down presses twenty volume steps.

use std::path::PathBuf;

/// Volume step of the Up/Down keys.
pub const VOLUME_STEP_DB: f32 = 1.0;
/// Seek step of the Left/Right keys.
pub const SEEK_STEP_S: f64 = 5.0;

/// Something the user asked the app to do.
#[derive(Clone, Debug, PartialEq)]
pub enum AppCommand {
    /// Play/pause (play the selected entry when nothing is loaded).
    TogglePause,
    /// Play: resume when paused, play the selected entry when nothing is loaded, nothing when
    /// playing (MPRIS `Play`).
    Resume,
    /// Pause when playing (MPRIS `Pause`).
    Pause,
    /// Play playlist entry `n` from its start.
    Play(usize),
    Stop,
    Next,
    /// The previous track within the first seconds of one, else the start of this one.
    Previous,
    /// Seek by this many seconds from where the last seek asked to go (or from the position).
    SeekBy(f64),
    SeekTo(f64),
    /// Change the volume by this many dB (capped, see `RustyApp::set_volume_db`).
    VolumeBy(f32),
    SetVolume(f32),
    /// Loudness normalization mode, pre-amp, fallback, clipping cap.
    SetNormalization(crate::library::replaygain::GainSettings),
    /// Crossfade length and whether it applies within an album.
    SetCrossfade(crate::engine::crossfade::Crossfade),
    SetRepeat(crate::engine::order::Repeat),
    /// A–B repeat: set A here (a third press, with A and B set, clears the loop).
    LoopA,
    /// A–B repeat: set B here and loop (a third press clears).
    LoopB,
    /// Shuffle mode; a new random order each time it is set.
    SetShuffle(crate::engine::order::Shuffle),
    /// Move the selected playlist entry up (−1) or down (+1).
    MoveSelected(isize),
    RemoveSelected,
    AddFiles(Vec<PathBuf>),
    /// Append files (folders expanded); with `play`, start the first of them (a second
    /// instance's hand-over, MPRIS `OpenUri`).
    Open {
        files: Vec<PathBuf>,
        play: bool,
    },
    /// Ask for files to add (the file dialog, or the path field when no dialog is available).
    OpenFiles,
    /// Ask for a folder whose audio files are added.
    OpenFolder,
    TogglePerf,
    /// What the analyzer views follow: the player or a live input.
    Analyze(super::app::analyze_source::AnalyzeSource),
    Quit,
}

/// The commands of the frame's key presses, in order (auto-repeat only for steps: holding Down
/// keeps lowering the volume, holding Space toggles once). Returns the commands and, per event, whether it was one of ours, so the
/// caller can take those events away from the widgets (a focused button must not also see Space).
#[must_use]
pub fn from_key_events(events: &[egui::Event]) -> (Vec<AppCommand>, Vec<bool>) {
    let mut cmds = Vec::new();
    let handled = events
        .iter()
        .map(|e| match e {
            egui::Event::Key {
                key,
                pressed: true,
                repeat,
                modifiers,
                ..
            } => match shortcut(*key, *modifiers) {
                // Held keys repeat steps (volume, seek, moving an entry), never toggles or
                // one-off actions: holding Space must not flip play/pause 30 times a second.
                Some(c) if *repeat && !c.repeats() => true,
                Some(c) => {
                    cmds.push(c);
                    true
                }
                None => false,
            },
            _ => false,
        })
        .collect();
    (cmds, handled)
}

impl AppCommand {
    /// Whether a held key repeats this command.
    #[must_use]
    pub fn repeats(&self) -> bool {
        matches!(
            self,
            AppCommand::SeekBy(_) | AppCommand::VolumeBy(_) | AppCommand::MoveSelected(_)
        )
    }
}

/// The command a key press means, if any.
#[must_use]
pub fn shortcut(key: egui::Key, m: egui::Modifiers) -> Option<AppCommand> {
    use egui::Key;
    let plain = !m.command && !m.alt && !m.shift;
    Some(match key {
        Key::Q if m.command => AppCommand::Quit,
        Key::O if m.command => AppCommand::OpenFiles,
        Key::ArrowUp if m.alt => AppCommand::MoveSelected(-1),
        Key::ArrowDown if m.alt => AppCommand::MoveSelected(1),
        Key::Space if plain => AppCommand::TogglePause,
        Key::ArrowLeft if plain => AppCommand::SeekBy(-SEEK_STEP_S),
        Key::ArrowRight if plain => AppCommand::SeekBy(SEEK_STEP_S),
        Key::ArrowUp if plain => AppCommand::VolumeBy(VOLUME_STEP_DB),
        Key::ArrowDown if plain => AppCommand::VolumeBy(-VOLUME_STEP_DB),
        Key::Delete if plain => AppCommand::RemoveSelected,
        Key::F12 => AppCommand::TogglePerf,
        // Without Ctrl, whatever else a layout needs to type a bracket (AltGr, Shift).
        Key::OpenBracket if !m.command => AppCommand::LoopA,
        Key::CloseBracket if !m.command => AppCommand::LoopB,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(key: egui::Key, modifiers: egui::Modifiers) -> egui::Event {
        egui::Event::Key {
            key,
            physical_key: None,
            pressed: true,
            repeat: false,
            modifiers,
        }
    }

    #[test]
    fn held_keys_repeat_steps_but_not_toggles() {
        let repeat = |key| egui::Event::Key {
            key,
            physical_key: None,
            pressed: true,
            repeat: true,
            modifiers: egui::Modifiers::NONE,
        };
        let events = [
            key(egui::Key::Space, egui::Modifiers::NONE),
            repeat(egui::Key::Space),
            repeat(egui::Key::Space),
            repeat(egui::Key::ArrowDown),
            repeat(egui::Key::F12),
        ];
        let (cmds, ours) = from_key_events(&events);
        assert_eq!(cmds, [AppCommand::TogglePause, AppCommand::VolumeBy(-1.0)]);
        assert!(
            ours.iter().all(|&o| o),
            "repeats of ours are still taken from the widgets"
        );
    }

    #[test]
    fn every_press_is_a_command_in_order_and_releases_are_not() {
        let none = egui::Modifiers::NONE;
        let mut events = Vec::new();
        for _ in 0..3 {
            events.push(key(egui::Key::ArrowUp, none));
            events.push(egui::Event::Key {
                key: egui::Key::ArrowUp,
                physical_key: None,
                pressed: false,
                repeat: false,
                modifiers: none,
            });
            events.push(key(egui::Key::ArrowDown, none));
            events.push(key(egui::Key::ArrowDown, none));
        }
        events.push(key(egui::Key::ArrowUp, egui::Modifiers::ALT));
        events.push(key(egui::Key::A, none));
        let (cmds, handled) = from_key_events(&events);
        let mut want = Vec::new();
        for _ in 0..3 {
            want.extend([
                AppCommand::VolumeBy(1.0),
                AppCommand::VolumeBy(-1.0),
                AppCommand::VolumeBy(-1.0),
            ]);
        }
        want.push(AppCommand::MoveSelected(-1));
        assert_eq!(cmds, want);
        assert_eq!(handled.iter().filter(|&&h| h).count(), 10);
        assert!(!handled[1] && !handled[events.len() - 1]);
    }
}
