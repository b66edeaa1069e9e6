//! LRU cache of whole-file bytes, owned by the decoder thread (no lock needed).
//!
//! Why: replaying, going back a track and gapless transitions reopen files; keeping the bytes in
//! memory makes those instant and immune to slow disks. The budget is in bytes so memory use is
//! predictable; a file larger than the whole budget is streamed from disk instead.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use lru::LruCache;

use super::{AudioSource, DecodeError};

struct Entry {
    bytes: Arc<[u8]>,
    modified: Option<SystemTime>,
}

pub struct FileCache {
    entries: LruCache<PathBuf, Entry>,
    budget: usize,
    used: usize,
    pub hits: u64,
    pub misses: u64,
}

impl FileCache {
    #[must_use]
    pub fn new(budget_bytes: usize) -> Self {
        Self {
            entries: LruCache::unbounded(),
            budget: budget_bytes,
            used: 0,
            hits: 0,
            misses: 0,
        }
    }

    #[must_use]
    pub fn used_bytes(&self) -> usize {
        self.used
    }

    #[must_use]
    pub fn contains(&self, path: &Path) -> bool {
        self.entries.contains(path)
    }

    /// Open `path`, from memory when cached and unchanged on disk.
    pub fn open(&mut self, path: &Path) -> Result<AudioSource, DecodeError> {
        let meta = std::fs::metadata(path).map_err(|source| DecodeError::Open {
            path: path.into(),
            source,
        })?;
        if meta.len() == 0 {
            return Err(DecodeError::Empty { path: path.into() });
        }
        let modified = meta.modified().ok();
        if let Some(e) = self.entries.get(path) {
            if e.bytes.len() as u64 == meta.len() && e.modified == modified {
                self.hits += 1;
                return AudioSource::open_bytes(path, e.bytes.clone());
            }
        }
        if let Some(stale) = self.entries.pop(path) {
            self.used -= stale.bytes.len();
        }
        self.misses += 1;
        // One file may take at most half the budget: a long FLAC streams from disk (the decoder
        // runs far enough ahead), so the cache keeps several typical tracks instead of one big one
        // and the app stays inside its memory budget.
        if meta.len() > (self.budget / 2) as u64 {
            return AudioSource::open(path);
        }
        let bytes: Arc<[u8]> = std::fs::read(path)
            .map_err(|source| DecodeError::Open {
                path: path.into(),
                source,
            })?
            .into();
        let len = bytes.len();
        while self.used + len > self.budget {
            match self.entries.pop_lru() {
                Some((_, e)) => self.used -= e.bytes.len(),
                None => break,
            }
        }
        self.used += len;
        self.entries.put(
            path.to_path_buf(),
            Entry {
                bytes: bytes.clone(),
                modified,
            },
        );
        AudioSource::open_bytes(path, bytes)
    }
}
