//! File dialogs that never hold up the UI or touch the audio, and say so when they cannot open.
//!
//! rfd shows the desktop's dialog through the XDG desktop portal (D-Bus), else through `zenity`.
//! On a desktop with neither (a bare X session, a minimal window manager) it returns "nothing
//! picked", which looks exactly like Cancel: the user clicked Open… and nothing happened. So
//! before asking, a worker thread checks that one of the two is there; when neither is, the app
//! says so and offers a path field instead. The dialog itself also runs on that worker: the UI
//! thread keeps drawing (and the engine keeps being polled) however long the user takes.

use std::path::PathBuf;

use crossbeam_channel::{Receiver, Sender};

/// What the user wants a path for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Audio files to add to the playlist.
    AddFiles,
    /// A folder whose audio files are added.
    AddFolder,
    /// An EQ preset to load (APO/AutoEQ text).
    ImportPreset,
    /// Where to save the current EQ as an APO text file.
    ExportPreset,
}

impl Purpose {
    fn title(self) -> &'static str {
        match self {
            Purpose::AddFiles => "Add files",
            Purpose::AddFolder => "Add a folder",
            Purpose::ImportPreset => "Import an EQ preset",
            Purpose::ExportPreset => "Export the EQ",
        }
    }
}

/// What came back from a request.
#[derive(Debug)]
pub enum Outcome {
    Picked(Purpose, Vec<PathBuf>),
    /// The user closed the dialog without choosing.
    Cancelled,
    /// No dialog can open here (why): the path field is shown instead.
    Unavailable(Purpose, String),
}

/// The audio extensions offered by the Add files dialog.
const AUDIO: [&str; 14] = [
    "wav", "flac", "mp3", "ogg", "oga", "m4a", "mp4", "aac", "aif", "aiff", "caf", "opus", "mka",
    "webm",
];

/// Requests in flight and the fallback path field.
pub struct Dialogs {
    tx: Sender<Outcome>,
    rx: Receiver<Outcome>,
    /// A dialog is open (one at a time).
    busy: bool,
    /// The path field: for what, and what was typed.
    pub typed: Option<(Purpose, String)>,
    /// Give the path field the keyboard when it appears.
    focus_field: bool,
    /// Never try a dialog: always the path field (`RUSTY_AUDIO_NO_FILE_DIALOG`, tests).
    path_field_only: bool,
}

impl Default for Dialogs {
    fn default() -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        Dialogs {
            tx,
            rx,
            busy: false,
            typed: None,
            focus_field: false,
            path_field_only: std::env::var_os("RUSTY_AUDIO_NO_FILE_DIALOG").is_some(),
        }
    }
}

impl Dialogs {
    /// Ask for a path. Ignored while a dialog is already open.
    pub fn request(&mut self, purpose: Purpose) {
        if self.busy {
            return;
        }
        if self.path_field_only {
            // Tests (and users who prefer typing) get the path field directly.
            let _ = self.tx.send(Outcome::Unavailable(
                purpose,
                "file dialogs are switched off (RUSTY_AUDIO_NO_FILE_DIALOG)".into(),
            ));
            return;
        }
        self.busy = true;
        let tx = self.tx.clone();
        let spawned = std::thread::Builder::new()
            .name("rusty-audio-dialog".into())
            .spawn(move || {
                // Whatever happens in the dialog library, an answer comes back (a lost one would
                // leave every later Open… doing nothing).
                let outcome = crate::engine::contain(|| match why_unavailable() {
                    Some(why) => Outcome::Unavailable(purpose, why),
                    None => run(purpose),
                })
                .unwrap_or_else(|why| {
                    Outcome::Unavailable(purpose, format!("the dialog failed: {why}"))
                });
                let _ = tx.send(outcome);
            });
        if let Err(e) = spawned {
            self.busy = false;
            let _ = self.tx.send(Outcome::Unavailable(purpose, e.to_string()));
        }
    }

    /// Use the path field instead of any dialog from now on.
    pub fn use_path_field_only(&mut self) {
        self.path_field_only = true;
    }

    /// A dialog's worker is open: its answer is polled for (the path field needs no polling:
    /// typing in it is input, which egui answers with a frame anyway).
    #[must_use]
    pub fn waiting(&self) -> bool {
        self.busy
    }

    /// What has come back since the last frame.
    pub fn poll(&mut self) -> Vec<Outcome> {
        let out: Vec<Outcome> = self.rx.try_iter().collect();
        if !out.is_empty() {
            self.busy = false;
        }
        for o in &out {
            if let Outcome::Unavailable(p, _) = o {
                self.typed = Some((*p, String::new()));
                self.focus_field = true;
            }
        }
        out
    }

    /// The path field, when no dialog could open. Returns the path entered.
    pub fn show_path_field(&mut self, ctx: &egui::Context) -> Option<(Purpose, PathBuf)> {
        let (purpose, text) = self.typed.as_mut()?;
        let purpose = *purpose;
        let (mut open, mut ok, mut cancel) = (true, false, false);
        let focus = std::mem::take(&mut self.focus_field);
        egui::Window::new(purpose.title())
            .id(egui::Id::unique("path_field"))
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
            .show(ctx, |ui| {
                ui.label("No file dialog can open here. Type or paste a path:");
                let r = ui.add(
                    egui::TextEdit::singleline(text)
                        .hint_text("/path/to/file-or-folder")
                        .desired_width(360.0),
                );
                if focus {
                    r.request_focus();
                }
                let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                ui.horizontal(|ui| {
                    ok = ui.button("OK").clicked() || enter;
                    cancel = ui.button("Cancel").clicked();
                });
            });
        let path = PathBuf::from(text.trim());
        if ok && !path.as_os_str().is_empty() {
            self.typed = None;
            return Some((purpose, path));
        }
        if cancel || !open {
            self.typed = None;
        }
        None
    }
}

/// Why no dialog can open here, or `None` when one can: an XDG desktop portal on the session
/// bus (running or activatable), or `zenity` on the PATH (rfd's fallback).
fn why_unavailable() -> Option<String> {
    if on_path("zenity") || portal_present() {
        return None;
    }
    Some("no XDG desktop portal on the session bus and no zenity".into())
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

fn portal_present() -> bool {
    portal_on(None)
}

/// `portal_present` on the session bus, or on the bus at `address`.
fn portal_on(address: Option<&str>) -> bool {
    async_io::block_on(async {
        let conn = match address {
            None => zbus::Connection::session().await,
            Some(a) => match zbus::connection::Builder::address(a) {
                Ok(b) => b.build().await,
                Err(e) => Err(e),
            },
        };
        let Ok(conn) = conn else {
            return false;
        };
        let Ok(bus) = zbus::fdo::DBusProxy::new(&conn).await else {
            return false;
        };
        let name = "org.freedesktop.portal.Desktop";
        let owned = match zbus::names::BusName::try_from(name) {
            Ok(n) => bus.name_has_owner(n).await.unwrap_or(false),
            Err(_) => false,
        };
        let activatable = !owned
            && bus
                .list_activatable_names()
                .await
                .is_ok_and(|names| names.iter().any(|n| n.as_str() == name));
        if !owned && !activatable {
            return false;
        }
        // A portal without a file chooser backend (e.g. only xdg-desktop-portal-wlr) would
        // answer "nothing picked": look for the interface itself (this starts an activatable
        // portal, on this worker thread).
        let Ok(intro) = zbus::fdo::IntrospectableProxy::builder(&conn)
            .destination(name)
            .and_then(|b| b.path("/org/freedesktop/portal/desktop"))
        else {
            return false;
        };
        let Ok(intro) = intro.build().await else {
            return false;
        };
        intro
            .introspect()
            .await
            .is_ok_and(|xml| xml.contains("org.freedesktop.portal.FileChooser"))
    })
}

/// Show the dialog (on the worker thread).
fn run(purpose: Purpose) -> Outcome {
    let picked: Option<Vec<PathBuf>> = match purpose {
        Purpose::AddFiles => rfd::FileDialog::new()
            .add_filter("Audio", &AUDIO)
            .pick_files(),
        Purpose::AddFolder => rfd::FileDialog::new().pick_folder().map(|p| vec![p]),
        Purpose::ImportPreset => rfd::FileDialog::new()
            .add_filter("EQ preset", &["txt"])
            .pick_file()
            .map(|p| vec![p]),
        Purpose::ExportPreset => rfd::FileDialog::new()
            .set_file_name("rusty-audio-eq.txt")
            .save_file()
            .map(|p| vec![p]),
    };
    match picked {
        Some(p) if !p.is_empty() => Outcome::Picked(purpose, p),
        _ => Outcome::Cancelled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without a session bus there is no portal (and the check neither hangs nor panics).
    #[test]
    fn no_bus_means_no_portal() {
        assert!(!portal_on(Some(
            "unix:path=/nonexistent/rusty-audio-test-bus"
        )));
    }
}
