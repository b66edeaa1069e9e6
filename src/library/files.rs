//! Paths the user gives (command line, file dialog, drag and drop) → playable files: directories
//! expand to the audio files and cue sheets inside them, sorted by name, so `rusty-audio play
//! ~/Music/Album` does what it says. (`entries::list` then turns sheets into their tracks.)

use std::path::{Path, PathBuf};

pub const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "wave", "flac", "mp3", "mp2", "mp1", "ogg", "oga", "opus", "m4a", "m4b", "mp4", "aac",
    "alac", "aif", "aiff", "caf", "mka", "webm",
];

fn is_audio(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// A file's identity now (size, modification time in seconds), if it can be read: what says a
/// file measured before (its length, its loudness) is still the one measured.
#[must_use]
pub fn stamp(path: &Path) -> Option<(u64, u64)> {
    let m = std::fs::metadata(path).ok()?;
    let modified = m
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some((m.len(), modified))
}

/// A cue sheet (by its extension).
#[must_use]
pub fn is_sheet(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("cue"))
}

/// Expand directories (recursively, skipping hidden entries) to their audio files and cue sheets;
/// plain files are kept as given, whatever their extension. Symlinks are followed, each folder
/// read once (a symlink loop ends there); broken symlinks and anything that is not a file are
/// left out. A folder that cannot be read is said on stderr (see `expand_reporting`).
#[must_use]
pub fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    let (files, unreadable) = expand_reporting(paths);
    for line in unreadable {
        eprintln!("rusty-audio: {line}");
    }
    files
}

/// `expand`, with the folders that could not be read (permissions, I/O errors) as one line each
/// naming the folder and the reason, for the caller to show (the app: a notice) and count
/// (`analyze`: the exit code). What could be read is expanded all the same.
#[must_use]
pub fn expand_reporting(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<String>) {
    let mut out = Vec::new();
    let mut unreadable = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            collect_dir(
                p,
                &mut found,
                &mut std::collections::HashSet::new(),
                &mut unreadable,
            );
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    (out, unreadable)
}

fn collect_dir(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    seen: &mut std::collections::HashSet<PathBuf>,
    unreadable: &mut Vec<String>,
) {
    // By its real path: a symlink back up the tree (or two links to one folder) is read once.
    let real = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if !seen.insert(real) {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            unreadable.push(format!("{}: cannot read folder: {e}", dir.display()));
            return;
        }
    };
    // In name order, so which of two ways into one folder counts is the same everywhere.
    let mut entries: Vec<std::fs::DirEntry> = entries.flatten().collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for e in entries {
        // Hidden files and folders are not the user's music (a tagger's temporary copy, a
        // `.trash`): as file managers and other players do, folders expand without them.
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let p = e.path();
        if p.is_dir() {
            collect_dir(&p, out, seen, unreadable);
        } else if p.is_file() && (is_audio(&p) || is_sheet(&p)) {
            out.push(p);
        }
    }
}

/// The bundled demo track: next to the executable's `assets/`, or in the source tree.
#[must_use]
pub fn demo_track() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        for up in exe.ancestors().skip(1).take(4) {
            candidates.push(up.join("assets/demo.flac"));
        }
    }
    candidates.push(PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/demo.flac"
    )));
    candidates.into_iter().find(|p| p.is_file())
}
