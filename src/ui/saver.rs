//! Writes the settings file off the UI thread.
//!
//! `Store::save` is an atomic write that ends in `fsync`, which can take tens of milliseconds on a
//! busy disk; on the UI thread that was a visible hitch on every pause (the position is saved
//! then) and a ruined frame-time p99. A small thread takes the newest settings from a channel
//! (older unwritten ones are skipped: only the latest matters) and reports failures back for a
//! notification. `finish` (also on drop) waits until everything sent is on disk — closing the
//! window must not lose the last state.
//!
//! A big playlist (10 000 entries) is the bulk of the settings and rarely changes, while the
//! rest (the playing entry, the position) changes every track: `save_keeping_lists` sends only
//! the rest, and the thread writes it with the lists it last received, so the UI thread never
//! copies the lists just to save a new position.

use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};

use super::settings::{Settings, Store};

/// Settings to write; `keep_lists`: its playlist and known lengths are empty and stand for the
/// ones last sent.
/// `write`: false for `know`, which only hands over the lists.
struct Job {
    settings: Settings,
    keep_lists: bool,
    write: bool,
}

pub struct Saver {
    tx: Option<Sender<Job>>,
    errors: Receiver<String>,
    thread: Option<JoinHandle<()>>,
}

impl Saver {
    #[must_use]
    pub fn new(store: Store) -> Self {
        let (tx, rx) = crossbeam_channel::unbounded::<Job>();
        let (err_tx, errors) = crossbeam_channel::unbounded();
        let thread = std::thread::Builder::new()
            .name("rusty-audio-settings".into())
            .spawn(move || {
                // The lists last received; None until the first full job, and a job that keeps
                // lists is then not written at all (never a file with the playlist emptied).
                let mut lists = None;
                while let Ok(mut job) = rx.recv() {
                    // Only the newest matters, but a skipped job's lists may be the newest lists.
                    let mut write = false;
                    loop {
                        write |= job.write;
                        if !job.keep_lists {
                            lists = Some((
                                std::mem::take(&mut job.settings.playlist),
                                std::mem::take(&mut job.settings.known_lengths),
                            ));
                        }
                        match rx.try_recv() {
                            Ok(newer) => job = newer,
                            Err(_) => break,
                        }
                    }
                    if !write {
                        continue;
                    }
                    let Some((playlist, known)) = lists.take() else {
                        continue;
                    };
                    let mut s = job.settings;
                    s.playlist = playlist;
                    s.known_lengths = known;
                    if let Err(e) = store.save(&s) {
                        let _ = err_tx.send(e);
                    }
                    lists = Some((s.playlist, s.known_lengths));
                }
            })
            .ok();
        Self {
            tx: Some(tx),
            errors,
            thread,
        }
    }

    /// Queue `s` to be written (returns at once).
    pub fn save(&self, s: Settings) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Job {
                settings: s,
                keep_lists: false,
                write: true,
            });
        }
    }

    /// Hand over `s`'s lists (as they are on disk already) without writing anything, so that
    /// `save_keeping_lists` can be used from the start.
    pub fn know(&self, s: Settings) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Job {
                settings: s,
                keep_lists: false,
                write: false,
            });
        }
    }

    /// Queue `s` to be written with the playlist and known lengths last sent (`s`'s own are
    /// ignored). Only after a `save`: before one there are no lists to keep.
    pub fn save_keeping_lists(&self, mut s: Settings) {
        s.playlist = Vec::new();
        s.known_lengths = Vec::new();
        if let Some(tx) = &self.tx {
            let _ = tx.send(Job {
                settings: s,
                keep_lists: true,
                write: true,
            });
        }
    }

    /// Failures since the last call, as messages naming the file.
    pub fn errors(&self) -> Vec<String> {
        self.errors.try_iter().collect()
    }

    /// Write everything queued and stop the thread.
    pub fn finish(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Saver {
    fn drop(&mut self) {
        self.finish();
    }
}
