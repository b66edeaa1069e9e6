//! Playlist entries: what the app's playlist and `rusty-audio list` show for a set of paths. A
//! plain audio file is one entry; a cue sheet (opened directly, or found beside its audio file
//! with the same name) makes one entry per track, each a range of its file.
//!
//! A file may also carry its sheet (a `CUESHEET` tag, or a FLAC CUESHEET block): such a file is
//! split into its tracks once it is opened (`embedded_tracks`); its tracks name the file itself
//! as their sheet.
//!
//! Two levels: `list` reads only the sheets (small text files), so the app can fill its playlist
//! without opening any audio file on the UI thread (a cue track's range stays in cue frames until
//! its file's rate is known); `entries_of` also opens each audio file once, for rates, exact
//! source frames, tags and lengths (`list`, `play`, `render`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::cue::{self, CueSheet, CueTime, CUE_FPS};
use super::replaygain::GainTags;
use crate::decode::AudioSource;

/// Where a track starts or ends in its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// A source frame.
    Frame(u64),
    /// A cue sheet's time (1/75 s): converted at the file's rate once the file is open (the app
    /// lists a sheet's tracks without opening their audio file).
    Cue(CueTime),
}

impl Bound {
    /// The source frame at `rate`.
    #[must_use]
    pub fn frame(self, rate: u32) -> u64 {
        match self {
            Bound::Frame(f) => f,
            Bound::Cue(t) => t.to_frame(rate),
        }
    }

    /// In seconds (a source frame needs the rate).
    #[must_use]
    pub fn seconds(self, rate: Option<u32>) -> Option<f64> {
        match self {
            Bound::Frame(f) => rate.map(|r| f as f64 / f64::from(r.max(1))),
            Bound::Cue(t) => Some(t.0 as f64 / CUE_FPS as f64),
        }
    }
}

/// A cue track as its sheet describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct CueRef {
    /// The sheet; for a sheet the audio file carries, the file itself.
    pub sheet: PathBuf,
    pub track: u32,
    pub title: Option<String>,
    /// The track's performer, else the sheet's.
    pub performer: Option<String>,
    /// The sheet's title.
    pub album: Option<String>,
    /// INDEX 01.
    pub start: Bound,
    /// The next track's INDEX 01 in the same file; None: the file's end.
    pub end: Option<Bound>,
    /// The file's rate, when known (an embedded sheet, read from the open file): what turns
    /// frame bounds into seconds.
    pub rate: Option<u32>,
    /// The track's `REM REPLAYGAIN_TRACK_*` and the sheet's `REM REPLAYGAIN_ALBUM_*`.
    pub gain: GainTags,
}

impl CueRef {
    /// Its length in seconds, when the sheet says where it ends.
    #[must_use]
    pub fn length_s(&self) -> Option<f64> {
        Some((self.end?.seconds(self.rate)? - self.start_s()).max(0.0))
    }

    /// Its start in seconds.
    #[must_use]
    pub fn start_s(&self) -> f64 {
        self.start.seconds(self.rate).unwrap_or(0.0)
    }
}

/// A path's place in a playlist before its audio file is opened.
#[derive(Clone, Debug, PartialEq)]
pub struct Listed {
    pub path: PathBuf,
    pub cue: Option<CueRef>,
}

impl Listed {
    /// How a command line names it: the file, or the sheet's track.
    #[must_use]
    pub fn describe(&self) -> String {
        match &self.cue {
            None => self.path.display().to_string(),
            Some(c) => format!(
                "{} track {}{}",
                c.sheet.display(),
                c.track,
                c.title
                    .as_ref()
                    .map_or(String::new(), |t| format!(" \"{t}\""))
            ),
        }
    }

    /// Its length, given its whole file's (see `CueRef`).
    #[must_use]
    pub fn length_from_file(&self, file_s: f64) -> f64 {
        match &self.cue {
            Some(c) => c
                .length_s()
                .unwrap_or_else(|| (file_s - c.start_s()).max(0.0)),
            None => file_s,
        }
    }
}

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

use super::files::is_sheet;

fn canon(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The playlist `paths` make (files and cue sheets, in order; folders already expanded), reading
/// only the sheets. Each problem is one line naming the file and the reason; the other paths
/// still give their entries.
///
/// A sheet's tracks come once, at the first path that names the sheet or one of its audio files;
/// an audio file a sheet splits is not listed whole as well (a sheet and its file both given, a
/// folder holding both, `./x.flac` and `x.flac`, a sheet named unlike its file). A broken sheet
/// beside a file leaves the file whole, and says why.
#[must_use]
pub fn list(paths: &[PathBuf], audio_ext: &[&str]) -> (Vec<Listed>, Vec<String>) {
    let mut errors = Vec::new();
    // First every sheet involved, read once, and the audio files their tracks cover.
    let mut sheets: HashMap<PathBuf, Result<Vec<Listed>, String>> = HashMap::new();
    let mut covered: HashSet<PathBuf> = HashSet::new();
    let sheet_of = |p: &PathBuf| {
        if is_sheet(p) {
            Some(p.clone())
        } else {
            sheet_beside(p)
        }
    };
    for p in paths {
        let Some(sheet) = sheet_of(p) else { continue };
        let key = canon(&sheet);
        if sheets.contains_key(&key) {
            continue;
        }
        let read = sheet_tracks(&sheet, audio_ext);
        if let Ok(tracks) = &read {
            covered.extend(tracks.iter().map(|t| canon(&t.path)));
        }
        sheets.insert(key, read);
    }
    let mut out = Vec::new();
    let mut done: HashSet<PathBuf> = HashSet::new();
    let mut reported: HashSet<PathBuf> = HashSet::new();
    for p in paths {
        if let Some(sheet) = sheet_of(p) {
            let key = canon(&sheet);
            match &sheets[&key] {
                Ok(tracks) => {
                    if done.insert(key) {
                        out.extend(tracks.iter().cloned());
                    }
                    continue;
                }
                Err(e) => {
                    if reported.insert(key) {
                        errors.push(e.clone());
                    }
                    if is_sheet(p) {
                        continue;
                    }
                }
            }
        }
        if !covered.contains(&canon(p)) {
            out.push(Listed {
                path: p.clone(),
                cue: None,
            });
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

/// The audio tracks of a sheet, with their files resolved (not opened).
///
/// # Errors
/// The sheet's path and why it cannot be read, parsed, or its audio file found, in one line.
pub fn sheet_tracks(sheet_path: &Path, audio_ext: &[&str]) -> Result<Vec<Listed>, String> {
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
        out.extend(file_tracks(&sheet, f, &audio, sheet_path));
    }
    Ok(out)
}

/// The audio tracks of one FILE of `sheet`, playing `audio`.
fn file_tracks(sheet: &CueSheet, f: &cue::CueFile, audio: &Path, sheet_path: &Path) -> Vec<Listed> {
    let mut out = Vec::new();
    for (i, t) in f.tracks.iter().enumerate() {
        if !t.audio {
            continue; // a data track: nothing to play (it still ends the track before it)
        }
        let mut gain = t.gain;
        gain.album_gain_db = sheet.gain.album_gain_db;
        gain.album_peak = sheet.gain.album_peak;
        out.push(Listed {
            path: audio.to_path_buf(),
            cue: Some(CueRef {
                sheet: sheet_path.to_path_buf(),
                track: t.number,
                title: t.title.clone(),
                performer: t.performer.clone().or_else(|| sheet.performer.clone()),
                album: sheet.title.clone(),
                start: Bound::Cue(t.start),
                end: f.tracks.get(i + 1).map(|n| Bound::Cue(n.start)),
                rate: None,
                gain,
            }),
        });
    }
    out
}

/// The tracks of a sheet `path` carries (see `TrackTags::embedded_cue`; `rate` is the file's).
/// A `CUESHEET` tag's FILE names are not looked at: the sheet is this file's. A FLAC CUESHEET
/// block's tracks are numbered in order and have no names (the file's tags stand in). None:
/// the file carries no sheet.
///
/// # Errors
/// A `CUESHEET` tag that does not parse, with the file's path and the line.
pub fn embedded_tracks(
    path: &Path,
    tags: &crate::decode::TrackTags,
    rate: u32,
) -> Option<Result<Vec<Listed>, String>> {
    use crate::decode::EmbeddedCue;
    match tags.embedded_cue.as_ref()? {
        EmbeddedCue::Text(text) => Some(
            cue::parse(text)
                .map_err(|e| format!("{}: its CUESHEET tag: {e}", path.display()))
                .map(|sheet| {
                    // Every FILE line means this file (one, in practice).
                    let mut out = Vec::new();
                    for f in &sheet.files {
                        out.extend(file_tracks(&sheet, f, path, path));
                    }
                    for l in &mut out {
                        if let Some(c) = &mut l.cue {
                            c.rate = Some(rate);
                        }
                    }
                    out
                }),
        ),
        EmbeddedCue::Points(points) => Some(Ok(points
            .iter()
            .enumerate()
            .map(|(i, &p)| Listed {
                path: path.to_path_buf(),
                cue: Some(CueRef {
                    sheet: path.to_path_buf(),
                    track: i as u32 + 1,
                    title: None,
                    performer: None,
                    album: None,
                    start: Bound::Frame(p),
                    end: points.get(i + 1).map(|&n| Bound::Frame(n)),
                    rate: Some(rate),
                    gain: GainTags::default(),
                }),
            })
            .collect())),
    }
}

/// The tracks of the sheet `path` (a `.cue`, or an audio file that carries one), read as it is
/// now (restoring a saved playlist).
///
/// # Errors
/// One line naming the file and why its tracks cannot be had.
pub fn tracks_of_sheet(path: &Path, audio_ext: &[&str]) -> Result<Vec<Listed>, String> {
    if is_sheet(path) {
        return sheet_tracks(path, audio_ext);
    }
    let mut src = AudioSource::open(path).map_err(|e| e.to_string())?;
    let (tags, _) = src.tags(false);
    embedded_tracks(path, &tags, src.info().sample_rate)
        .unwrap_or_else(|| Err(format!("{}: no longer carries a cue sheet", path.display())))
}

/// Whether a file may carry a cue sheet worth opening it for (`split_embedded`): a FLAC image.
/// (A `CUESHEET` tag in other formats is found when the app's scanner reads their tags.)
fn may_embed(p: &Path) -> bool {
    p.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("flac"))
}

/// `listed` with each whole FLAC file that carries a cue sheet replaced by its tracks (opens
/// those files: for `play` and `render`, not the UI thread). Problems as in `list`.
#[must_use]
pub fn split_embedded(listed: Vec<Listed>) -> (Vec<Listed>, Vec<String>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for l in listed {
        if l.cue.is_some() || !may_embed(&l.path) {
            out.push(l);
            continue;
        }
        let found = AudioSource::open(&l.path).ok().and_then(|mut src| {
            let (tags, _) = src.tags(false);
            embedded_tracks(&l.path, &tags, src.info().sample_rate)
        });
        match found {
            Some(Ok(tracks)) if !tracks.is_empty() => out.extend(tracks),
            Some(Err(e)) => {
                errors.push(e);
                out.push(l);
            }
            _ => out.push(l),
        }
    }
    (out, errors)
}

/// Entries for `paths` (see `list`), each audio file opened once for its rate, tags and length.
#[must_use]
pub fn entries_of(paths: &[PathBuf], audio_ext: &[&str]) -> (Vec<PlaylistEntry>, Vec<String>) {
    let (listed, mut errors) = list(paths, audio_ext);
    let mut probed: HashMap<
        PathBuf,
        Option<(crate::decode::SourceInfo, crate::decode::TrackTags)>,
    > = HashMap::new();
    let mut out = Vec::new();
    for l in listed {
        let probe =
            probed
                .entry(l.path.clone())
                .or_insert_with(|| match AudioSource::open(&l.path) {
                    Ok(mut src) => {
                        let (tags, _) = src.tags(false);
                        Some((src.info().clone(), tags))
                    }
                    Err(e) => {
                        errors.push(e.to_string());
                        None
                    }
                });
        let Some((info, tags)) = probe else { continue };
        let embedded = l
            .cue
            .is_none()
            .then(|| embedded_tracks(&l.path, tags, info.sample_rate))
            .flatten();
        match embedded {
            Some(Ok(tracks)) if !tracks.is_empty() => {
                out.extend(tracks.iter().map(|t| entry_of(t, info, tags)));
            }
            Some(Err(e)) => {
                errors.push(e);
                out.push(entry_of(&l, info, tags));
            }
            _ => out.push(entry_of(&l, info, tags)),
        }
    }
    (out, errors)
}

/// The entry `l` makes, given its file's stream and tags.
#[must_use]
pub fn entry_of(
    l: &Listed,
    info: &crate::decode::SourceInfo,
    tags: &crate::decode::TrackTags,
) -> PlaylistEntry {
    let rate = info.sample_rate;
    let Some(c) = &l.cue else {
        return PlaylistEntry {
            path: l.path.clone(),
            cue: None,
            title: tags.title.clone(),
            artist: tags.artist.clone(),
            album: tags.album.clone(),
            start_frame: 0,
            end_frame: None,
            sample_rate: rate,
            duration_s: info.duration_s(),
            gain: tags.gain,
        };
    };
    let start = c.start.frame(rate);
    let end = c.end.map(|e| e.frame(rate));
    let until = end.or(info.declared_frames);
    PlaylistEntry {
        path: l.path.clone(),
        cue: Some((c.sheet.clone(), c.track)),
        title: c.title.clone(),
        artist: c.performer.clone().or_else(|| tags.artist.clone()),
        album: c.album.clone().or_else(|| tags.album.clone()),
        start_frame: start,
        end_frame: end,
        sample_rate: rate,
        duration_s: until.map(|u| u.saturating_sub(start) as f64 / f64::from(rate.max(1))),
        gain: cue_gain(c.gain, &tags.gain),
    }
}

/// A cue track's gains: its sheet's, with the album's from the file's own tags when the sheet
/// has none (the file's *track* gain is the whole image's, so it is not a track's).
#[must_use]
pub fn cue_gain(sheet: GainTags, file: &GainTags) -> GainTags {
    GainTags {
        album_gain_db: sheet.album_gain_db.or(file.album_gain_db),
        album_peak: sheet.album_peak.or(file.album_peak),
        ..sheet
    }
}
