//! Loudness of files without ReplayGain tags: measured in the background (BS.1770, the same
//! decode and loudness code as `analyze` and `scan`) and cached in
//! `$XDG_CACHE_HOME/rusty-audio/loudness.json`, keyed by path, size and modification time (a
//! file changed since is measured again). Until a file is measured it plays at the fallback
//! gain; the decoder asks for the next entries ahead of time, so by the time they play they
//! usually are.
//!
//! The cache is shared by the decoder thread (reads) and the measuring thread (writes) behind
//! a mutex: neither is real-time, and the audio thread never sees it.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crossbeam_channel::{Receiver, Sender};

use super::replaygain::GainTags;

/// The ReplayGain 2.0 reference loudness.
const REFERENCE_LUFS: f64 = -18.0;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Measured {
    path: PathBuf,
    bytes: u64,
    modified_s: u64,
    /// None: silent (nothing above the gate).
    integrated_lufs: Option<f64>,
    /// Linear true peak.
    true_peak: f64,
}

/// (size, modification time) of a file now.
fn stamp(path: &Path) -> Option<(u64, u64)> {
    let m = std::fs::metadata(path).ok()?;
    let modified = m
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some((m.len(), modified))
}

/// Measured loudness by file.
#[derive(Debug, Default)]
pub struct GainCache {
    /// Where it is kept (None: in memory only).
    file: Option<PathBuf>,
    entries: HashMap<PathBuf, Measured>,
}

impl GainCache {
    /// The user's cache (`$XDG_CACHE_HOME`, else `~/.cache`), loaded; empty when there is none
    /// or it cannot be read (it is only a cache).
    #[must_use]
    pub fn user() -> Self {
        let dir = std::env::var_os("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
        match dir {
            Some(d) => Self::at(&d.join("rusty-audio/loudness.json")),
            None => Self::default(),
        }
    }

    /// The cache kept in `file`.
    #[must_use]
    pub fn at(file: &Path) -> Self {
        let entries = std::fs::read(file)
            .ok()
            .and_then(|b| serde_json::from_slice::<Vec<Measured>>(&b).ok())
            .unwrap_or_default()
            .into_iter()
            .map(|m| (m.path.clone(), m))
            .collect();
        GainCache {
            file: Some(file.to_path_buf()),
            entries,
        }
    }

    /// The gain tags a measurement of `path` gives (track gain and peak), if it is measured
    /// and unchanged since.
    #[must_use]
    pub fn get(&self, path: &Path) -> Option<GainTags> {
        let m = self.entries.get(path)?;
        if stamp(path)? != (m.bytes, m.modified_s) {
            return None;
        }
        Some(GainTags {
            track_gain_db: m.integrated_lufs.map(|l| REFERENCE_LUFS - l),
            track_peak: Some(m.true_peak),
            album_gain_db: None,
            album_peak: None,
        })
    }

    fn insert(&mut self, m: Measured) {
        self.entries.insert(m.path.clone(), m);
        // Files gone since are dropped when it is written.
        self.entries.retain(|p, _| p.exists());
    }

    /// Write it, atomically (a temporary file renamed into place). Errors are left unsaid: the
    /// worst case is measuring again next time.
    fn save(&self) {
        let Some(file) = &self.file else { return };
        let Some(dir) = file.parent() else { return };
        let mut list: Vec<&Measured> = self.entries.values().collect();
        list.sort_by(|a, b| a.path.cmp(&b.path));
        let Ok(json) = serde_json::to_vec(&list) else {
            return;
        };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let tmp = dir.join(format!(".loudness.json.{}.tmp", std::process::id()));
        if std::fs::write(&tmp, json).is_ok() && std::fs::rename(&tmp, file).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

/// The measuring thread and the cache it fills.
pub struct Measurer {
    cache: Arc<Mutex<GainCache>>,
    tx: Option<Sender<PathBuf>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Asked for already (each file once per measurer).
    asked: Mutex<HashSet<PathBuf>>,
}

impl Measurer {
    /// A measuring thread filling `cache` (saved after each file).
    #[must_use]
    pub fn start(cache: GainCache) -> Self {
        let cache = Arc::new(Mutex::new(cache));
        let (tx, rx) = crossbeam_channel::unbounded();
        let shared = cache.clone();
        let thread = std::thread::Builder::new()
            .name("rusty-audio-loudness".into())
            .spawn(move || work(&rx, &shared))
            .ok();
        Measurer {
            cache,
            tx: Some(tx),
            thread,
            asked: Mutex::new(HashSet::new()),
        }
    }

    /// The gain tags of a measured file (see `GainCache::get`).
    #[must_use]
    pub fn cached(&self, path: &Path) -> Option<GainTags> {
        self.cache.lock().ok()?.get(path)
    }

    /// Measure `path` in the background unless it is measured (and unchanged) or asked for.
    pub fn request(&self, path: &Path) {
        if self.cached(path).is_some() {
            return;
        }
        let Ok(mut asked) = self.asked.lock() else {
            return;
        };
        if asked.insert(path.to_path_buf()) {
            if let Some(tx) = &self.tx {
                let _ = tx.send(path.to_path_buf());
            }
        }
    }

    /// Wait until everything asked for so far is measured (tests, `play` at exit).
    pub fn finish(mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Measurer {
    fn drop(&mut self) {
        // Hang up; a measurement under way finishes (it is saved) and the thread ends. Not
        // joined: closing the app must not wait for a long file.
        self.tx = None;
    }
}

fn work(rx: &Receiver<PathBuf>, cache: &Mutex<GainCache>) {
    for path in rx {
        let Some((bytes, modified_s)) = stamp(&path) else {
            continue;
        };
        // A file that does not decode is not measured (it fails when it plays, with the
        // reason); a panic in a codec is contained like on the decoder thread.
        let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            crate::analysis::file_report::analyze_file(&path)
        }));
        let Ok(Ok(r)) = report else { continue };
        let m = Measured {
            path,
            bytes,
            modified_s,
            integrated_lufs: r.integrated_lufs,
            true_peak: f64::from(r.true_peak),
        };
        if let Ok(mut c) = cache.lock() {
            c.insert(m);
            c.save();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_measurement_holds_while_the_file_is_unchanged_and_survives_a_reload() {
        let dir = std::env::temp_dir().join(format!("ra-gain-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let audio = dir.join("x.wav");
        std::fs::write(&audio, b"not really audio").unwrap();
        let (bytes, modified_s) = stamp(&audio).unwrap();
        let file = dir.join("cache/loudness.json");
        let mut c = GainCache::at(&file);
        assert!(c.get(&audio).is_none());
        c.insert(Measured {
            path: audio.clone(),
            bytes,
            modified_s,
            integrated_lufs: Some(-12.5),
            true_peak: 0.75,
        });
        c.save();
        let again = GainCache::at(&file);
        let g = again.get(&audio).unwrap();
        assert_eq!(g.track_gain_db, Some(-5.5));
        assert_eq!(g.track_peak, Some(0.75));
        // Changed (another size): measured again.
        std::fs::write(&audio, b"different content, longer").unwrap();
        assert!(again.get(&audio).is_none());
        // A broken cache file is an empty cache.
        std::fs::write(&file, b"{not json").unwrap();
        assert!(GainCache::at(&file).entries.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
