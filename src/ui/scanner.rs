//! A background worker for the UI: reads tags and durations of playlist entries, and for the
//! track that is playing its waveform overview and cover art. It decodes files, so it runs on its
//! own thread — the UI thread never waits for a disk or a decoder.
//!
//! The now-playing request always goes first and supersedes the previous one (a generation
//! counter cancels an overview that is no longer wanted); tag reads go in playlist order.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{select, Receiver, Sender};

use crate::analysis::overview::Overview;
use crate::decode::{AudioSource, CoverArt, TrackTags};
use crate::engine::QueueItem;

/// Longest side of a cover texture: enough for the now-playing area, 256 KiB of RGBA at most.
pub const COVER_PX: u32 = 256;
/// The largest picture side decoded for a cover (a 600 dpi scan of an LP sleeve is ~7 400 px).
pub const COVER_MAX_SIDE: u32 = 8192;
/// The most a cover's decoder may allocate: an 8192² RGBA picture is 256 MiB; 128 MiB admits
/// 5 800² RGBA or 8192² RGB/grey, and bounds the app's peak.
pub const COVER_MAX_ALLOC: u64 = 128 << 20;

/// What the worker found out about playlist entry `key`.
pub enum Found {
    Tags {
        key: u32,
        tags: TrackTags,
        duration_s: Option<f64>,
        /// The tracks of a cue sheet the file carries (see `entries::embedded_tracks`): the
        /// entry splits into them. Empty: none.
        embedded: Vec<crate::library::entries::Listed>,
    },
    /// The file cannot be played (it will be marked in the playlist before anyone tries).
    Unplayable {
        key: u32,
        error: String,
    },
    Overview {
        key: u32,
        overview: Overview,
    },
    /// `None`: the file has no (decodable) picture. `file`: the picture as stored in the file,
    /// written to the cache for the desktop's media controls (`mpris:artUrl`).
    Cover {
        key: u32,
        image: Option<egui::ColorImage>,
        file: Option<std::path::PathBuf>,
    },
}

pub struct Scanner {
    tags_tx: Sender<(u32, PathBuf)>,
    now_tx: Sender<(u64, u32, QueueItem)>,
    generation: Arc<AtomicU64>,
    found_rx: Receiver<Found>,
    thread: Option<JoinHandle<()>>,
}

impl Scanner {
    #[must_use]
    pub fn start() -> Self {
        let (tags_tx, tags_rx) = crossbeam_channel::unbounded::<(u32, PathBuf)>();
        let (now_tx, now_rx) = crossbeam_channel::unbounded::<(u64, u32, QueueItem)>();
        let (found_tx, found_rx) = crossbeam_channel::unbounded();
        let generation = Arc::new(AtomicU64::new(0));
        let gen = generation.clone();
        let thread = std::thread::Builder::new()
            .name("rusty-audio-scanner".into())
            .spawn(move || {
                crate::util::background_priority();
                work(&tags_rx, &now_rx, &found_tx, &gen);
            })
            .expect("spawning the scanner thread");
        Self {
            tags_tx,
            now_tx,
            generation,
            found_rx,
            thread: Some(thread),
        }
    }

    /// Read tags and duration of an entry (in the order asked).
    pub fn tags(&self, key: u32, path: PathBuf) {
        let _ = self.tags_tx.send((key, path));
    }

    /// The entry now playing: compute its overview and cover, abandoning the previous request.
    pub fn now_playing(&self, key: u32, item: QueueItem) {
        let g = self.generation.fetch_add(1, Relaxed) + 1;
        let _ = self.now_tx.send((g, key, item));
    }

    /// Everything found since the last call.
    pub fn poll(&self) -> Vec<Found> {
        self.found_rx.try_iter().collect()
    }

    /// Block until something is found (tests).
    pub fn wait(&self, timeout: std::time::Duration) -> Option<Found> {
        self.found_rx.recv_timeout(timeout).ok()
    }
}

impl Drop for Scanner {
    fn drop(&mut self) {
        // Cancel a running overview and hang up; the thread ends at its next check.
        self.generation.fetch_add(1, Relaxed);
        let (dead_tx, _) = crossbeam_channel::unbounded();
        self.tags_tx = dead_tx;
        let (dead_now, _) = crossbeam_channel::unbounded();
        self.now_tx = dead_now;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn work(
    tags_rx: &Receiver<(u32, PathBuf)>,
    now_rx: &Receiver<(u64, u32, QueueItem)>,
    found: &Sender<Found>,
    gen: &AtomicU64,
) {
    loop {
        // Now-playing first, and only its latest request.
        if let Some((g, key, path)) = now_rx.try_iter().last() {
            if g == gen.load(Relaxed) {
                now_playing(key, &path, g, gen, found);
            }
            continue;
        }
        enum Job {
            Now(u64, u32, QueueItem),
            Tags(u32, PathBuf),
        }
        let job = select! {
            recv(now_rx) -> m => m.map(|(g, k, i)| Job::Now(g, k, i)),
            recv(tags_rx) -> m => m.map(|(k, p)| Job::Tags(k, p)),
        };
        match job {
            Ok(Job::Now(g, key, item)) => {
                if g == gen.load(Relaxed) {
                    now_playing(key, &item, g, gen, found);
                }
            }
            Ok(Job::Tags(key, path)) => {
                let msg = match AudioSource::open(&path) {
                    Ok(mut src) => {
                        let (tags, _) = src.tags(false);
                        let rate = src.info().sample_rate;
                        let embedded = crate::library::entries::embedded_tracks(&path, &tags, rate)
                            .and_then(Result::ok)
                            .unwrap_or_default();
                        Found::Tags {
                            key,
                            tags,
                            duration_s: src.info().duration_s(),
                            embedded,
                        }
                    }
                    Err(e) => Found::Unplayable {
                        key,
                        error: e.to_string(),
                    },
                };
                if found.send(msg).is_err() {
                    return;
                }
            }
            Err(_) => return, // the UI has gone
        }
    }
}

fn now_playing(key: u32, item: &QueueItem, g: u64, gen: &AtomicU64, found: &Sender<Found>) {
    let path = item.path.as_path();
    // Cover first: it is quick and the now-playing area shows it at once.
    let art = AudioSource::open(path)
        .ok()
        .and_then(|mut s| s.tags(true).1);
    let image = art.as_ref().and_then(decode_cover);
    let file = art
        .as_ref()
        .filter(|_| image.is_some())
        .and_then(cache_cover);
    let _ = found.send(Found::Cover { key, image, file });
    let range = |rate| (item.start.frame(rate), item.end.map(|e| e.frame(rate)));
    let partial = |overview| {
        let _ = found.send(Found::Overview { key, overview });
    };
    if let Ok(Some(overview)) = Overview::of_range(path, range, || gen.load(Relaxed) != g, partial)
    {
        let _ = found.send(Found::Overview { key, overview });
    }
}

/// Write `cover` (as stored in `track`) to `$XDG_CACHE_HOME/rusty-audio/covers/` under a name
/// derived from its bytes, atomically (a temporary file renamed into place), unless it is
/// there already; its path, or None when it cannot be written (the cover still shows in the app).
fn cache_cover(cover: &CoverArt) -> Option<std::path::PathBuf> {
    use std::hash::{Hash, Hasher};
    let dir = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache")))?
        .join("rusty-audio/covers");
    let ext = match cover.media_type.as_deref() {
        Some("image/png") => "png",
        Some("image/jpeg" | "image/jpg") => "jpg",
        _ => match cover.data.get(..4) {
            Some([0x89, b'P', b'N', b'G']) => "png",
            _ => "jpg",
        },
    };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    // By content: a cover replaced in the file (same path, even the same size) gets a new name.
    cover.data.hash(&mut h);
    let file = dir.join(format!("{:016x}.{ext}", h.finish()));
    if file.exists() {
        return Some(file);
    }
    std::fs::create_dir_all(&dir).ok()?;
    let tmp = dir.join(format!(".{:016x}.{}.tmp", h.finish(), std::process::id()));
    std::fs::write(&tmp, &cover.data).ok()?;
    match std::fs::rename(&tmp, &file) {
        Ok(()) => Some(file),
        Err(_) => {
            let _ = std::fs::remove_file(&tmp);
            None
        }
    }
}

/// Decode an embedded picture and shrink it to at most `COVER_PX` on its longest side. The
/// picture's own header is untrusted: a few kilobytes of PNG can claim 30 000 × 30 000 pixels
/// (3.6 GB decoded), so the decoder is held to `COVER_MAX_SIDE` and `COVER_MAX_ALLOC`, and a
/// picture beyond them is simply not shown.
#[must_use]
pub fn decode_cover(c: &CoverArt) -> Option<egui::ColorImage> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(&c.data[..]))
        .with_guessed_format()
        .ok()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(COVER_MAX_SIDE);
    limits.max_image_height = Some(COVER_MAX_SIDE);
    limits.max_alloc = Some(COVER_MAX_ALLOC);
    reader.limits(limits);
    let img = reader.decode().ok()?;
    let img = if img.width() > COVER_PX || img.height() > COVER_PX {
        img.thumbnail(COVER_PX, COVER_PX)
    } else {
        img
    };
    let rgba = img.to_rgba8();
    Some(egui::ColorImage::from_rgba_unmultiplied(
        [rgba.width() as usize, rgba.height() as usize],
        rgba.as_raw(),
    ))
}
