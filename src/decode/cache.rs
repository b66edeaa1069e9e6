//! LRU cache of whole-file bytes, owned by the decoder thread (no lock needed).
//!
//! Why: replaying, going back a track and gapless transitions reopen files; keeping the bytes in
//! memory makes those instant and immune to slow disks. The budget is in bytes so memory use is
//! predictable; a file larger than half the budget is streamed from disk instead.

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
    hits: u64,
}

impl FileCache {
    #[must_use]
    pub fn new(budget_bytes: usize) -> Self {
        Self {
            entries: LruCache::unbounded(),
            budget: budget_bytes,
            used: 0,
            hits: 0,
        }
    }

    /// Bytes of the files held (never more than the budget).
    #[must_use]
    pub fn used_bytes(&self) -> usize {
        self.used
    }

    /// Bytes held, counted from the entries themselves (for tests of the `used` bookkeeping).
    #[cfg(test)]
    fn held_bytes(&self) -> usize {
        self.entries.iter().map(|(_, e)| e.bytes.len()).sum()
    }

    /// Whether `path`'s bytes are held (does not count as a use for the LRU order).
    #[must_use]
    pub fn contains(&self, path: &Path) -> bool {
        self.entries.contains(path)
    }

    /// Opens served from memory so far.
    #[must_use]
    pub fn hits(&self) -> u64 {
        self.hits
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
        self.admit(path, modified, &bytes);
        AudioSource::open_bytes(path, bytes)
    }

    /// Keep `bytes` (what was read of `path`) if they fit the per-file bound, evicting the least
    /// recently used files to make room.
    fn admit(&mut self, path: &Path, modified: Option<std::time::SystemTime>, bytes: &Arc<[u8]>) {
        let len = bytes.len();
        // The file may have grown between the size check and the read: the bound is on what was
        // read, so the budget holds whatever happens on disk meanwhile.
        if len > self.budget / 2 {
            return;
        }
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh scratch directory, unique per test and process.
    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ra-cache-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Write `frames` stereo frames as a 32-bit float WAV (decoded bit-exactly); `seed` makes each
    /// file's samples different. Returns the interleaved samples written.
    fn wav(path: &Path, frames: usize, seed: u32) -> Vec<f32> {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 48_000,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let samples: Vec<f32> = (0..frames * 2)
            .map(|i| (i as f32 * 0.013 + seed as f32).sin() * 0.5)
            .collect();
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for &s in &samples {
            w.write_sample(s).unwrap();
        }
        w.finalize().unwrap();
        samples
    }

    fn size(path: &Path) -> usize {
        std::fs::metadata(path).unwrap().len() as usize
    }

    /// Every sample of `src`, interleaved.
    fn decode_all(mut src: AudioSource) -> Vec<f32> {
        let mut all = Vec::new();
        while src.read(&mut all).unwrap() > 0 {}
        all
    }

    #[test]
    fn a_second_open_of_the_same_file_is_served_from_memory() {
        let dir = scratch("hit");
        let a = dir.join("a.wav");
        let want = wav(&a, 2_000, 1);
        let mut cache = FileCache::new(1 << 20);
        assert_eq!(decode_all(cache.open(&a).unwrap()), want);
        assert_eq!(cache.hits(), 0, "the first open reads the disk");
        assert!(cache.contains(&a));
        assert_eq!(cache.used_bytes(), size(&a));
        assert_eq!(decode_all(cache.open(&a).unwrap()), want);
        assert_eq!(cache.hits(), 1, "the second open is a hit");
        assert_eq!(cache.used_bytes(), size(&a), "a hit stores nothing new");

        // Changed on disk (another length): read again, never the stale bytes.
        let want = wav(&a, 3_000, 2);
        assert_eq!(decode_all(cache.open(&a).unwrap()), want);
        assert_eq!(cache.hits(), 1, "a changed file is a miss");
        assert_eq!(
            cache.used_bytes(),
            size(&a),
            "the stale copy's bytes are released"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_least_recently_used_file_is_evicted_when_the_bytes_run_out() {
        let dir = scratch("evict");
        let (a, b, c) = (dir.join("a.wav"), dir.join("b.wav"), dir.join("c.wav"));
        let (wa, wb, wc) = (wav(&a, 4_000, 1), wav(&b, 4_000, 2), wav(&c, 4_000, 3));
        let s = size(&a);
        assert_eq!((size(&b), size(&c)), (s, s));
        // Room for two files but not three; each is under half the budget, so each is cached.
        let mut cache = FileCache::new(2 * s + s / 2);

        assert_eq!(decode_all(cache.open(&a).unwrap()), wa);
        assert_eq!(decode_all(cache.open(&b).unwrap()), wb);
        assert!(cache.contains(&a) && cache.contains(&b));
        assert_eq!(cache.used_bytes(), 2 * s);
        // Use `a` again: `b` becomes the least recently used.
        assert_eq!(decode_all(cache.open(&a).unwrap()), wa);
        assert_eq!(cache.hits(), 1);

        assert_eq!(decode_all(cache.open(&c).unwrap()), wc);
        assert!(cache.contains(&a), "a was used after b and stays");
        assert!(
            !cache.contains(&b),
            "b, the least recently used, is evicted"
        );
        assert!(cache.contains(&c));
        assert_eq!(cache.used_bytes(), 2 * s);

        // `b` comes back from disk (a miss) and pushes out `a`, now the oldest.
        assert_eq!(decode_all(cache.open(&b).unwrap()), wb);
        assert_eq!(cache.hits(), 1);
        assert!(!cache.contains(&a) && cache.contains(&b) && cache.contains(&c));
        assert_eq!(cache.used_bytes(), 2 * s);
        assert_eq!(decode_all(cache.open(&c).unwrap()), wc);
        assert_eq!(cache.hits(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_over_half_the_budget_is_streamed_and_decodes_the_same() {
        let dir = scratch("large");
        let (small, big) = (dir.join("small.wav"), dir.join("big.wav"));
        let want_small = wav(&small, 1_000, 1);
        let want_big = wav(&big, 20_000, 2);
        // The big file would fit the budget whole, but it is over half of it.
        let budget = size(&big) + size(&big) / 2;
        assert!(size(&small) <= budget / 2 && size(&big) > budget / 2);
        let mut cache = FileCache::new(budget);

        assert_eq!(decode_all(cache.open(&small).unwrap()), want_small);
        for _ in 0..2 {
            let got = decode_all(cache.open(&big).unwrap());
            assert_eq!(got.len(), want_big.len());
            assert!(
                got == want_big,
                "the streamed file decodes to what was written"
            );
            assert!(
                !cache.contains(&big),
                "a file over half the budget is not cached"
            );
        }
        assert_eq!(cache.hits(), 0, "both opens of the big file read the disk");
        assert!(
            cache.contains(&small),
            "streaming the big file evicted nothing"
        );
        assert_eq!(cache.used_bytes(), size(&small));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A file that grew past half the budget between the size check and the read (a recorder
    /// still writing it) is served but not kept: the bound is on the bytes read, not the size
    /// the metadata claimed. The race itself cannot be timed in a test, so the read's result is
    /// handed to the same step `open` uses.
    #[test]
    fn bytes_read_over_half_the_budget_are_served_but_not_kept() {
        let dir = scratch("grew");
        let (a, grown) = (dir.join("a.wav"), dir.join("grown.wav"));
        let wa = wav(&a, 2_000, 1);
        wav(&grown, 20_000, 2);
        let budget = 3 * size(&a);
        assert!(size(&grown) > budget / 2);
        let mut cache = FileCache::new(budget);
        assert_eq!(decode_all(cache.open(&a).unwrap()), wa);
        let used = cache.used_bytes();
        let bytes: Arc<[u8]> = std::fs::read(&grown).unwrap().into();
        cache.admit(&grown, None, &bytes);
        assert!(!cache.contains(&grown), "over the per-file bound: not kept");
        assert_eq!(cache.used_bytes(), used, "nothing counted, nothing evicted");
        assert!(cache.contains(&a));
        // The same bytes under the bound are kept, evicting as needed.
        let small: Arc<[u8]> = std::fs::read(&a).unwrap().into();
        cache.admit(&grown, None, &small);
        assert!(cache.contains(&grown));
        assert_eq!(cache.used_bytes(), cache.held_bytes());
        assert!(cache.used_bytes() <= budget);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Any sequence of opens — repeats, files rewritten with other sizes (larger or smaller),
    /// files deleted, files over half the budget, missing and empty files — keeps the cache
    /// within its budget, and its byte count equal to what it holds.
    #[test]
    fn the_budget_holds_under_any_sequence_of_opens() {
        let dir = scratch("budget");
        let budget = 600_000;
        let mut cache = FileCache::new(budget);
        // A small deterministic generator (xorshift): the sequence is the same on every run.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let names: Vec<PathBuf> = (0..12).map(|i| dir.join(format!("f{i}.wav"))).collect();
        // The samples each file holds now.
        let mut written = std::collections::HashMap::new();
        for step in 0..600 {
            let path = &names[next(names.len() as u64) as usize];
            match next(10) {
                // Rewrite with a new size: 1 k to 90 k frames (8 k to 720 k bytes: some over
                // half the budget, some over the whole of it).
                0..=2 => {
                    let frames = 1_000 + next(89_000) as usize;
                    written.insert(path.clone(), wav(path, frames, step));
                }
                3 => {
                    let _ = std::fs::remove_file(path);
                    written.remove(path);
                }
                4 => {
                    std::fs::write(path, b"").unwrap();
                    written.remove(path);
                }
                _ => {}
            }
            match cache.open(path) {
                Ok(src) => {
                    // What is served is the file as it is now, never an earlier version.
                    assert!(
                        decode_all(src) == written[path],
                        "step {step}: stale bytes served"
                    );
                }
                Err(DecodeError::Open { .. } | DecodeError::Empty { .. }) => {}
                Err(e) => panic!("step {step}: {e}"),
            }
            assert!(cache.used_bytes() <= budget, "step {step}: over budget");
            assert_eq!(cache.used_bytes(), cache.held_bytes(), "step {step}");
        }
        assert!(cache.hits() > 0, "the sequence also reused files");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
