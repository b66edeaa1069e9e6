//! Playlist entries: what the app's playlist and `rusty-audio list` show for a set of paths. A
//! plain audio file is one entry; a cue sheet (opened directly, or found beside its audio file
//! with the same name) makes one entry per track, each a range of source frames of its file.

use std::path::{Path, PathBuf};

use super::cue::{self, CueSheet};
use super::replaygain::GainTags;
use crate::decode::AudioSource;

/// One entry. Frames are source frames of `path`; `end_frame` is exclusive, None = the file's end.
#[derive(Clone, Debug, PartialEq)]
pub struct PlaylistEntry {
    pub path: PathBuf,
    /// The sheet and its track number, for a cue track.
    pub cue: Option<(PathBuf, u32)>,
    pub title: Option<String>,
    pub artist: Option<String>,
    pub album: Option<String>,
    pub start_frame: u64,
    pub end_frame: Option<u64>,
    pub sample_rate: u32,
    /// None when the file does not declare its length (and the entry runs to its end).
    pub duration_s: Option<f64>,
    pub gain: GainTags,
}

/// Entries for `paths` (files and cue sheets, in order; folders already expanded). Each problem
/// is one line naming the file and the reason; the other paths still give their entries.
#[must_use]
pub fn entries_of(paths: &[PathBuf], audio_ext: &[&str]) -> (Vec<PlaylistEntry>, Vec<String>) {
    let (mut out, mut errors) = (Vec::new(), Vec::new());
    // Sheets read, and the audio files their tracks cover (canonical paths): an audio file a
    // sheet already split is not listed whole as well (a sheet and its file both given, a
    // folder holding both, `./x.flac` and `x.flac`).
    let mut covered: Vec<PathBuf> = Vec::new();
    let mut covered_audio: std::collections::HashSet<PathBuf> = std::collections::HashSet::new();
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    for p in paths {
        if covered_audio.contains(&canon(p)) {
            continue;
        }
        let is_cue = p.extension().is_some_and(|e| e.eq_ignore_ascii_case("cue"));
        let sheet = if is_cue {
            Some(p.clone())
        } else {
            sheet_beside(p)
        };
        if let Some(sheet) = sheet {
            if covered.contains(&canon(&sheet)) {
                continue; // its tracks are in already (the sheet and its file both given)
            }
            match sheet_entries(&sheet, audio_ext) {
                Ok(entries) => {
                    covered_audio.extend(entries.iter().map(|e| canon(&e.path)));
                    out.extend(entries);
                    covered.push(canon(&sheet));
                    continue;
                }
                Err(e) if is_cue => {
                    errors.push(e);
                    continue;
                }
                // A broken sheet beside a file: the file plays whole, and the user is told.
                Err(e) => errors.push(e),
            }
        }
        match file_entry(p) {
            Ok(e) => out.push(e),
            Err(e) => errors.push(e),
        }
    }
    (out, errors)
}

/// `album.cue` beside `album.flac` (or `album.flac.cue`).
fn sheet_beside(audio: &Path) -> Option<PathBuf> {
    let with = |name: std::ffi::OsString| audio.with_file_name(name);
    let mut same_stem = audio.file_stem()?.to_os_string();
    same_stem.push(".cue");
    let mut appended = audio.file_name()?.to_os_string();
    appended.push(".cue");
    [with(same_stem), with(appended)]
        .into_iter()
        .find(|p| p.is_file())
}

fn file_entry(path: &Path) -> Result<PlaylistEntry, String> {
    let mut src = AudioSource::open(path).map_err(|e| e.to_string())?;
    let info = src.info().clone();
    let (tags, _) = src.tags(false);
    Ok(PlaylistEntry {
        path: path.to_path_buf(),
        cue: None,
        title: tags.title,
        artist: tags.artist,
        album: tags.album,
        start_frame: 0,
        end_frame: None,
        sample_rate: info.sample_rate,
        duration_s: info.duration_s(),
        gain: tags.gain,
    })
}

fn sheet_entries(sheet_path: &Path, audio_ext: &[&str]) -> Result<Vec<PlaylistEntry>, String> {
    let bytes = std::fs::read(sheet_path).map_err(|e| format!("{}: {e}", sheet_path.display()))?;
    let sheet: CueSheet = cue::parse(&cue::decode_text(&bytes))
        .map_err(|e| format!("{}: {e}", sheet_path.display()))?;
    let mut out = Vec::new();
    let one_file = sheet.files.len() == 1;
    for f in &sheet.files {
        let audio =
            cue::resolve_file(sheet_path, &f.name, audio_ext, one_file).ok_or_else(|| {
                format!(
                    "{}: FILE \"{}\": no such audio file beside the sheet",
                    sheet_path.display(),
                    f.name
                )
            })?;
        let mut src = AudioSource::open(&audio).map_err(|e| e.to_string())?;
        let info = src.info().clone();
        let (tags, _) = src.tags(false);
        let rate = info.sample_rate;
        for (i, t) in f.tracks.iter().enumerate() {
            if !t.audio {
                continue; // a data track: nothing to play (it still ends the track before it)
            }
            let start = t.start.to_frame(rate);
            let end = f.tracks.get(i + 1).map(|n| n.start.to_frame(rate));
            let until = end.or(info.declared_frames);
            let mut gain = t.gain;
            gain.album_gain_db = sheet.gain.album_gain_db.or(tags.gain.album_gain_db);
            gain.album_peak = sheet.gain.album_peak.or(tags.gain.album_peak);
            out.push(PlaylistEntry {
                path: audio.clone(),
                cue: Some((sheet_path.to_path_buf(), t.number)),
                title: t.title.clone(),
                artist: t
                    .performer
                    .clone()
                    .or_else(|| sheet.performer.clone())
                    .or_else(|| tags.artist.clone()),
                album: sheet.title.clone().or_else(|| tags.album.clone()),
                start_frame: start,
                end_frame: end,
                sample_rate: rate,
                duration_s: until.map(|u| u.saturating_sub(start) as f64 / f64::from(rate.max(1))),
                gain,
            });
        }
    }
    Ok(out)
}
