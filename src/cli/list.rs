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

pub fn run(paths: &[PathBuf], as_json: bool) -> i32 {
    // Folders expand to their sheets and audio files, recursively, without hidden entries (a
    // file a sheet splits is listed as its tracks only).
    let files = crate::library::files::expand(paths);
    let (entries, errors) = entries_of(&files, crate::library::files::AUDIO_EXTENSIONS);
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
