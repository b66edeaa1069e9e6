//! Writes the settings file off the UI thread.
//!
//! `Store::save` is an atomic write that ends in `fsync`, which can take tens of milliseconds on a
//! busy disk; on the UI thread that was a visible hitch on every pause (the position is saved
//! then) and a ruined frame-time p99. A small thread takes the newest settings from a channel
//! (older unwritten ones are skipped: only the latest matters) and reports failures back for a
//! notification. `finish` (also on drop) waits until everything sent is on disk — closing the
//! window must not lose the last state.

use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};

use super::settings::{Settings, Store};

pub struct Saver {
    tx: Option<Sender<Settings>>,
    errors: Receiver<String>,
    thread: Option<JoinHandle<()>>,
}

impl Saver {
    #[must_use]
    pub fn new(store: Store) -> Self {
        let (tx, rx) = crossbeam_channel::unbounded::<Settings>();
        let (err_tx, errors) = crossbeam_channel::unbounded();
        let thread = std::thread::Builder::new()
            .name("rusty-audio-settings".into())
            .spawn(move || {
                while let Ok(mut s) = rx.recv() {
                    while let Ok(newer) = rx.try_recv() {
                        s = newer;
                    }
                    if let Err(e) = store.save(&s) {
                        let _ = err_tx.send(e);
                    }
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
            let _ = tx.send(s);
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
