//! Loudness of files without ReplayGain tags: measured in the background (BS.1770, the same
//! decode and loudness code as `analyze` and `scan`) and cached in
//! `$XDG_CACHE_HOME/rusty-audio/loudness.json`, keyed by path, size and modification time (a
//! file changed since is measured again). Until a file is measured it plays at the fallback
//! gain; the decoder asks for the next entries ahead of time, so by the time they play they
//! usually are.
//!
//! One measurer per process (`Measurer::shared`): every engine (the app makes a new one when the
//! output changes) reads the same cache, and one thread writes it. The cache is shared by the
//! decoder thread (reads) and the measuring thread (writes) behind a mutex held only for a map
//! lookup or insert (the file is written outside it): neither is real-time, and the audio
//! thread never sees it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

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

use super::files::stamp;

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
        // Files gone since are dropped here, once (not at every insert: a stat per entry, and
        // an unmounted drive would lose its measurements).
        let entries = std::fs::read(file)
            .ok()
            .and_then(|b| serde_json::from_slice::<Vec<Measured>>(&b).ok())
            .unwrap_or_default()
            .into_iter()
            .filter(|m| m.path.exists())
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
    }

    /// What `save` writes (taken under the lock; written outside it).
    fn contents(&self) -> (Option<PathBuf>, Vec<Measured>) {
        let mut list: Vec<Measured> = self.entries.values().cloned().collect();
        list.sort_by(|a, b| a.path.cmp(&b.path));
        (self.file.clone(), list)
    }

    /// Write it, atomically (a temporary file renamed into place). Errors are left unsaid: the
    /// worst case is measuring again next time.
    #[cfg(test)]
    fn save(&self) {
        let (file, list) = self.contents();
        write(file.as_deref(), &list);
    }
}

fn write(file: Option<&Path>, list: &[Measured]) {
    {
        let Some(file) = file else { return };
        let Some(dir) = file.parent() else { return };
        let Ok(json) = serde_json::to_vec(list) else {
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
    tx: Sender<PathBuf>,
    /// Asked for already, with the file's (size, mtime) then: each version of a file once.
    asked: Mutex<HashMap<PathBuf, (u64, u64)>>,
    /// Files asked for and not measured yet (see `wait_idle`).
    pending: Arc<(Mutex<usize>, Condvar)>,
}

static SHARED: OnceLock<Arc<Measurer>> = OnceLock::new();

impl Measurer {
    /// The process's measurer, on the user's cache.
    #[must_use]
    pub fn shared() -> Arc<Measurer> {
        SHARED
            .get_or_init(|| Arc::new(Measurer::start(GainCache::user())))
            .clone()
    }

    /// A measuring thread filling `cache` (saved after each file). It ends when the measurer
    /// is dropped, after the file it is measuring.
    #[must_use]
    pub fn start(cache: GainCache) -> Self {
        let cache = Arc::new(Mutex::new(cache));
        let (tx, rx) = crossbeam_channel::unbounded();
        let shared = cache.clone();
        let pending = Arc::new((Mutex::new(0usize), Condvar::new()));
        let done = pending.clone();
        // Without a thread nothing is measured: files play at the fallback, as before.
        let _ = std::thread::Builder::new()
            .name("rusty-audio-loudness".into())
            .spawn(move || {
                crate::util::background_priority();
                work(&rx, &shared, &done);
            });
        Measurer {
            cache,
            tx,
            asked: Mutex::new(HashMap::new()),
            pending,
        }
    }

    /// The gain tags of a measured file (see `GainCache::get`).
    #[must_use]
    pub fn cached(&self, path: &Path) -> Option<GainTags> {
        self.cache.lock().ok()?.get(path)
    }

    /// Measure `path` in the background unless it is measured (and unchanged) or asked for
    /// (in this version).
    pub fn request(&self, path: &Path) {
        if self.cached(path).is_some() {
            return;
        }
        let Some(now) = stamp(path) else { return };
        let Ok(mut asked) = self.asked.lock() else {
            return;
        };
        if asked.insert(path.to_path_buf(), now) != Some(now) {
            if let Ok(mut n) = self.pending.0.lock() {
                *n += 1;
            }
            if self.tx.send(path.to_path_buf()).is_err() {
                self.settle();
            }
        }
    }

    fn settle(&self) {
        settle(&self.pending);
    }

    /// Wait until everything asked for so far is measured (`render` measures first).
    pub fn wait_idle(&self) {
        let (lock, cv) = &*self.pending;
        let Ok(mut n) = lock.lock() else { return };
        while *n > 0 {
            match cv.wait(n) {
                Ok(g) => n = g,
                Err(_) => return,
            }
        }
    }
}

fn settle(pending: &(Mutex<usize>, Condvar)) {
    if let Ok(mut n) = pending.0.lock() {
        *n = n.saturating_sub(1);
        pending.1.notify_all();
    }
}

fn work(rx: &Receiver<PathBuf>, cache: &Mutex<GainCache>, pending: &(Mutex<usize>, Condvar)) {
    for path in rx {
        measure_one(path, cache);
        settle(pending);
    }
}

fn measure_one(path: PathBuf, cache: &Mutex<GainCache>) {
    {
        let Some((bytes, modified_s)) = stamp(&path) else {
            return;
        };
        // A file that does not decode is not measured (it fails when it plays, with the
        // reason); a panic in a codec is contained like on the decoder thread.
        let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            crate::analysis::file_report::analyze_file(&path)
        }));
        let Ok(Ok(r)) = report else { return };
        let m = Measured {
            path,
            bytes,
            modified_s,
            integrated_lufs: r.integrated_lufs,
            true_peak: f64::from(r.true_peak),
        };
        let contents = cache.lock().ok().map(|mut c| {
            c.insert(m);
            c.contents()
        });
        if let Some((file, list)) = contents {
            write(file.as_deref(), &list);
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
