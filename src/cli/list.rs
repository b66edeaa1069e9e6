//! `rusty-audio list [--json] FILE|DIR|CUE...`: the playlist entries the app would show — one
//! per file, one per track of a cue sheet (opened directly or found beside its audio file).

use std::io::Write;
use std::path::PathBuf;

use serde_json::json;

use crate::library::entries::{entries_of, PlaylistEntry};

fn to_json(e: &PlaylistEntry) -> serde_json::Value {
    let r = |v: Option<f64>| v.map(|x| (x * 1e3).round() / 1e3);
    json!({
        "path": e.path.display().to_string(),
        "cue_track": e.cue.as_ref().map(|c| c.1),
        "cue_sheet": e.cue.as_ref().map(|c| c.0.display().to_string()),
        "title": e.title,
        "artist": e.artist,
        "album": e.album,
        "start_frame": e.start_frame,
        "end_frame": e.end_frame,
        "sample_rate": e.sample_rate,
        "duration_s": r(e.duration_s),
        "track_gain_db": e.gain.track_gain_db,
        "album_gain_db": e.gain.album_gain_db,
    })
}

fn sheets_in(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let p = e.path();
        if p.is_dir() {
            sheets_in(&p, out);
        } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("cue")) {
            out.push(p);
        }
    }
}

pub fn run(paths: &[PathBuf], as_json: bool) -> i32 {
    // Folders expand to their sheets (first, so the files they split are not listed whole too)
    // and their audio files, recursively, without hidden entries.
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut sheets = Vec::new();
            sheets_in(p, &mut sheets);
            sheets.sort();
            files.extend(sheets);
            files.extend(super::files::expand(std::slice::from_ref(p)));
        } else {
            files.push(p.clone());
        }
    }
    let (entries, errors) = entries_of(&files, super::files::AUDIO_EXTENSIONS);
    for e in &errors {
        eprintln!("rusty-audio: {e}");
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if as_json {
        let list: Vec<_> = entries.iter().map(to_json).collect();
        let _ = writeln!(out, "{}", serde_json::Value::Array(list));
    } else {
        for (i, e) in entries.iter().enumerate() {
            let name = e.title.clone().unwrap_or_else(|| {
                e.path
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            });
            let len = e.duration_s.map_or("--:--".into(), |s| {
                format!("{:02}:{:02}", s as u64 / 60, s as u64 % 60)
            });
            let who = e
                .artist
                .as_deref()
                .map_or(String::new(), |a| format!("{a} – "));
            let _ = writeln!(out, "{:>3}. {who}{name} [{len}]", i + 1);
        }
    }
    i32::from(!errors.is_empty())
}
