//! Cue sheets: the text format that splits one audio file (an album ripped whole) into tracks.
//! This is the parser and the resolution of `FILE` names; turning tracks into playlist entries
//! that play exact source-frame ranges is the engine's side.
//!
//! What is read: `PERFORMER`, `TITLE`, `FILE "name" TYPE`, `TRACK nn AUDIO`, `INDEX 00/01
//! mm:ss:ff` (75 frames a second), `REM REPLAYGAIN_{ALBUM,TRACK}_{GAIN,PEAK}`, `REM DATE`,
//! `REM GENRE`. Other lines (`CATALOG`, `FLAGS`, `ISRC`, `PREGAP`, …) are skipped. Sheets are
//! often written by old Windows tools: a UTF-8 BOM is dropped and text that is not UTF-8 is read
//! as Windows-1252 (Latin-1 with the 0x80–0x9F punctuation).

use std::path::{Path, PathBuf};

use super::replaygain::GainTags;

/// Cue frames (sectors) per second.
pub const CUE_FPS: u64 = 75;

/// A `mm:ss:ff` time, in cue frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct CueTime(pub u64);

impl CueTime {
    /// The source frame this time falls on at `rate` (exact: `frames × rate / 75`).
    #[must_use]
    pub fn to_frame(self, rate: u32) -> u64 {
        self.0 * u64::from(rate) / CUE_FPS
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CueTrack {
    pub number: u32,
    pub title: Option<String>,
    pub performer: Option<String>,
    /// INDEX 00 (the pregap's start), if given.
    pub index00: Option<CueTime>,
    /// INDEX 01: where the track starts.
    pub start: CueTime,
    pub gain: GainTags,
    /// `TRACK nn AUDIO` (false: a data track, e.g. MODE1/2352 — not an entry).
    pub audio: bool,
    /// The sheet line of its TRACK command (for errors).
    pub line: usize,
}

/// The tracks of one `FILE` line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CueFile {
    /// The name as written in the sheet.
    pub name: String,
    pub tracks: Vec<CueTrack>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CueSheet {
    /// The album's title and performer.
    pub title: Option<String>,
    pub performer: Option<String>,
    pub date: Option<String>,
    pub genre: Option<String>,
    /// Album gain/peak (`REM REPLAYGAIN_ALBUM_*` before the first track).
    pub gain: GainTags,
    pub files: Vec<CueFile>,
}

/// Why a sheet could not be read (one line, with the line number where it applies).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CueError {
    pub line: usize,
    pub reason: String,
}

impl std::fmt::Display for CueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: {}", self.line, self.reason)
        } else {
            f.write_str(&self.reason)
        }
    }
}

/// Sheet bytes → text: without a BOM, UTF-8 if valid, else Windows-1252.
#[must_use]
pub fn decode_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| windows_1252(b)).collect(),
    }
}

fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž',
        '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// Split a line into words; a double-quoted word may hold spaces (no escapes: cue sheets have
/// none). An unterminated quote runs to the end of the line.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.trim().chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            let w: String = chars.by_ref().take_while(|&c| c != '"').collect();
            out.push(w);
        } else {
            let mut w = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                w.push(c);
                chars.next();
            }
            out.push(w);
        }
    }
    out
}

fn parse_time(s: &str) -> Option<CueTime> {
    let mut parts = s.split(':');
    let (m, sec, f) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (m, sec, f): (u64, u64, u64) = (m.parse().ok()?, sec.parse().ok()?, f.parse().ok()?);
    if sec >= 60 || f >= CUE_FPS {
        return None;
    }
    // Bounded so that `to_frame` at any rate stays far from overflow (a day is plenty).
    (m < 24 * 60).then(|| CueTime((m * 60 + sec) * CUE_FPS + f))
}

fn clean(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Parse a sheet's text. Structural errors (a `TRACK` before any `FILE`, a track without `INDEX
/// 01`, tracks out of order within a file, an unreadable time) are refused with the line.
///
/// EAC's "noncompliant" layout (a track's `TRACK` and `INDEX 00` at the end of one file, then
/// `FILE` and its `INDEX 01` in the next) is read as the track starting in the next file.
pub fn parse(text: &str) -> Result<CueSheet, CueError> {
    let mut sheet = CueSheet::default();
    let err = |line: usize, reason: String| CueError { line, reason };
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let w = words(raw);
        let Some(cmd) = w.first() else { continue };
        let arg = |k: usize| w.get(k).map(String::as_str).unwrap_or("");
        // Everything after the command word (an unquoted title with spaces).
        let rest = || w[1..].join(" ");
        let in_track = sheet
            .files
            .last()
            .is_some_and(|f: &CueFile| !f.tracks.is_empty());
        match cmd.to_ascii_uppercase().as_str() {
            "FILE" => {
                if w.len() < 2 {
                    return Err(err(n, "FILE without a name".into()));
                }
                // FILE "name" TYPE; an unquoted name with spaces is everything but the type.
                let name = if w.len() > 3 {
                    w[1..w.len() - 1].join(" ")
                } else {
                    arg(1).to_string()
                };
                sheet.files.push(CueFile {
                    name,
                    tracks: Vec::new(),
                });
            }
            "TRACK" => {
                let Some(file) = sheet.files.last_mut() else {
                    return Err(err(n, "TRACK before any FILE".into()));
                };
                let number = arg(1)
                    .parse()
                    .map_err(|_| err(n, format!("track number {:?}", arg(1))))?;
                file.tracks.push(CueTrack {
                    number,
                    // A missing INDEX 01 is caught at the end.
                    start: CueTime(u64::MAX),
                    audio: arg(2).eq_ignore_ascii_case("AUDIO"),
                    line: n,
                    ..CueTrack::default()
                });
            }
            "INDEX" => {
                let time = parse_time(arg(2))
                    .ok_or_else(|| err(n, format!("time {:?} (want mm:ss:ff)", arg(2))))?;
                let which: u32 = arg(1)
                    .parse()
                    .map_err(|_| err(n, format!("index number {:?}", arg(1))))?;
                let files = sheet.files.len();
                if which == 1 && files >= 2 && sheet.files[files - 1].tracks.is_empty() {
                    // Noncompliant layout: the previous file's last track, still without its
                    // start, starts here.
                    let prev = &mut sheet.files[files - 2].tracks;
                    if prev.last().is_some_and(|t| t.start == CueTime(u64::MAX)) {
                        let t = prev.pop().expect("checked");
                        sheet.files[files - 1].tracks.push(t);
                    }
                }
                let Some(t) = sheet.files.last_mut().and_then(|f| f.tracks.last_mut()) else {
                    return Err(err(n, "INDEX outside a TRACK".into()));
                };
                match which {
                    0 => t.index00 = Some(time),
                    1 => t.start = time,
                    _ => {} // sub-indexes: markers inside a track, not boundaries
                }
            }
            "TITLE" | "PERFORMER" => {
                let v = clean(&rest());
                let upper = cmd.to_ascii_uppercase();
                match (in_track, upper.as_str()) {
                    (true, "TITLE") => track_mut(&mut sheet).title = v,
                    (true, _) => track_mut(&mut sheet).performer = v,
                    (false, "TITLE") => sheet.title = v,
                    (false, _) => sheet.performer = v,
                }
            }
            "REM" => {
                let key = arg(1).to_ascii_uppercase();
                let value = w[2.min(w.len())..].join(" ");
                match key.as_str() {
                    "DATE" => sheet.date = clean(&value),
                    "GENRE" => sheet.genre = clean(&value),
                    k if k.starts_with("REPLAYGAIN_ALBUM_") => sheet.gain.take(k, &value),
                    k if k.starts_with("REPLAYGAIN_TRACK_") && in_track => {
                        track_mut(&mut sheet).gain.take(k, &value);
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    // Files left without tracks (a noncompliant sheet's last FILE, whose tracks all moved) go.
    sheet.files.retain(|f| !f.tracks.is_empty());
    if sheet.files.is_empty() {
        return Err(err(0, "no tracks".into()));
    }
    for f in &sheet.files {
        if let Some(t) = f.tracks.iter().find(|t| t.start == CueTime(u64::MAX)) {
            return Err(err(t.line, format!("track {} has no INDEX 01", t.number)));
        }
        if let Some(w) = f.tracks.windows(2).find(|w| w[1].start <= w[0].start) {
            return Err(err(
                w[1].line,
                format!(
                    "track {} does not start after track {}",
                    w[1].number, w[0].number
                ),
            ));
        }
    }
    Ok(sheet)
}

fn track_mut(sheet: &mut CueSheet) -> &mut CueTrack {
    sheet
        .files
        .last_mut()
        .and_then(|f| f.tracks.last_mut())
        .expect("only called inside a track")
}

/// The audio file a sheet's `FILE` line means, beside the sheet: the name as written (a relative
/// path kept, Windows separators read as `/`, then the bare file name); else an audio file with
/// the same stem and another extension, compared without case (a sheet written for the WAV, the
/// rip since converted to FLAC); else, when `only_file_ok` (the sheet has one FILE line) and the
/// sheet's folder holds exactly one audio file, that one. None: not found.
#[must_use]
pub fn resolve_file(
    sheet_path: &Path,
    name: &str,
    audio_ext: &[&str],
    only_file_ok: bool,
) -> Option<PathBuf> {
    let dir = sheet_path.parent().unwrap_or(Path::new("."));
    let audio = |p: &Path| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| audio_ext.contains(&e.to_ascii_lowercase().as_str()))
    };
    let relative = name.replace('\\', "/");
    let base = relative.rsplit('/').next().unwrap_or(&relative).to_string();
    for candidate in [dir.join(relative.trim_start_matches('/')), dir.join(&base)] {
        if candidate.is_file() && audio(&candidate) {
            return Some(candidate);
        }
    }
    let stem = Path::new(&base)
        .file_stem()?
        .to_string_lossy()
        .to_lowercase();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && audio(p))
        .collect();
    entries.sort();
    if let Some(p) = entries.iter().find(|p| {
        p.file_stem()
            .is_some_and(|s| s.to_string_lossy().to_lowercase() == stem)
    }) {
        return Some(p.clone());
    }
    match entries.as_slice() {
        [only] if only_file_ok => Some(only.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHEET: &str = "\u{FEFF}REM GENRE Jazz\r\nREM DATE 1959\r\n\
PERFORMER \"Miles Davis\"\r\nTITLE \"Kind of Blue\"\r\n\
REM REPLAYGAIN_ALBUM_GAIN -3.21 dB\r\nREM REPLAYGAIN_ALBUM_PEAK 0.987\r\n\
FILE \"Kind of Blue.wav\" WAVE\r\n\
  TRACK 01 AUDIO\r\n    TITLE \"So What\"\r\n    REM REPLAYGAIN_TRACK_GAIN -2.50 dB\r\n    INDEX 01 00:00:00\r\n\
  TRACK 02 AUDIO\r\n    TITLE \"Freddie Freeloader\"\r\n    PERFORMER \"Miles Davis Sextet\"\r\n    INDEX 00 09:20:60\r\n    INDEX 01 09:22:00\r\n\
  TRACK 03 AUDIO\r\n    TITLE \"Blue in Green\"\r\n    INDEX 01 19:08:74\r\n";

    #[test]
    fn a_typical_sheet_reads_whole() {
        let s = parse(&decode_text(SHEET.as_bytes())).unwrap();
        assert_eq!(s.title.as_deref(), Some("Kind of Blue"));
        assert_eq!(s.performer.as_deref(), Some("Miles Davis"));
        assert_eq!(
            (s.date.as_deref(), s.genre.as_deref()),
            (Some("1959"), Some("Jazz"))
        );
        assert_eq!(s.gain.album_gain_db, Some(-3.21));
        assert_eq!(s.gain.album_peak, Some(0.987));
        assert_eq!(s.files.len(), 1);
        let f = &s.files[0];
        assert_eq!(f.name, "Kind of Blue.wav");
        let t: Vec<_> = f.tracks.iter().map(|t| (t.number, t.start.0)).collect();
        assert_eq!(
            t,
            [
                (1, 0),
                (2, (9 * 60 + 22) * 75),
                (3, (19 * 60 + 8) * 75 + 74)
            ]
        );
        assert_eq!(f.tracks[1].index00, Some(CueTime((9 * 60 + 20) * 75 + 60)));
        assert_eq!(f.tracks[0].gain.track_gain_db, Some(-2.5));
        assert_eq!(f.tracks[1].performer.as_deref(), Some("Miles Davis Sextet"));
        assert_eq!(f.tracks[2].title.as_deref(), Some("Blue in Green"));
        assert!(
            f.tracks[0].performer.is_none(),
            "the album's is the fallback, not copied"
        );
    }

    /// frames × rate / 75, exact at every common rate (75 divides none of them but 44100·k).
    #[test]
    fn cue_times_map_to_exact_source_frames() {
        let t = CueTime((9 * 60 + 22) * 75 + 37);
        assert_eq!(t.to_frame(44_100), (9 * 60 + 22) * 44_100 + 37 * 588);
        assert_eq!(t.to_frame(48_000), (9 * 60 + 22) * 48_000 + 37 * 640);
        assert_eq!(CueTime(1).to_frame(96_000), 1280);
        assert_eq!(parse_time("00:00:75"), None, "75 frames is a second");
        assert_eq!(parse_time("00:60:00"), None);
        assert_eq!(
            parse_time("120:00:00"),
            Some(CueTime(120 * 60 * 75)),
            "long mixes"
        );
        assert_eq!(parse_time("1:2"), None);
    }

    #[test]
    fn broken_sheets_are_refused_with_the_line() {
        let e = parse("TRACK 01 AUDIO\n").unwrap_err();
        assert_eq!((e.line, e.reason.as_str()), (1, "TRACK before any FILE"));
        let e = parse(
            "FILE \"a.flac\" WAVE\nTRACK 01 AUDIO\nTITLE x\nTRACK 02 AUDIO\nINDEX 01 00:01:00\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.reason.contains("track 1 has no INDEX 01"), "{e}");
        // In an earlier FILE too (a sheet of several files).
        let e = parse("FILE a.flac WAVE\nTRACK 01 AUDIO\nINDEX 00 00:00:00\nTITLE x\nFILE b.flac WAVE\nTRACK 02 AUDIO\nINDEX 01 00:00:00\n")
            .unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = parse("FILE a.flac WAVE\nTRACK 01 AUDIO\nINDEX 01 00:xx:00\n").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        let e = parse("FILE a.flac WAVE\nTRACK 01 AUDIO\nINDEX 01 01:00:00\nTRACK 02 AUDIO\nINDEX 01 00:30:00\n")
            .unwrap_err();
        assert!(
            e.reason.contains("track 2 does not start after track 1"),
            "{e}"
        );
        assert_eq!(e.line, 4);
        assert!(
            parse_time("99999999999999999:00:00").is_none(),
            "no overflow"
        );
        assert!(parse("REM nothing\n").is_err());
        assert!(parse("").is_err());
    }

    /// EAC's noncompliant multi-file sheet: TRACK 02 and its pregap (INDEX 00) at the end of
    /// file 1, its INDEX 01 in file 2; a data track is kept as such; unquoted titles whole.
    #[test]
    fn eac_noncompliant_sheets_and_data_tracks() {
        let s = parse(
            "FILE \"01.wav\" WAVE\n  TRACK 01 AUDIO\n    TITLE One Two\n    INDEX 01 00:00:00\n\
  TRACK 02 AUDIO\n    TITLE \"Second\"\n    INDEX 00 03:10:00\n\
FILE \"02.wav\" WAVE\n    INDEX 01 00:00:00\n  TRACK 03 AUDIO\n    INDEX 01 04:00:00\n\
  TRACK 04 MODE1/2352\n    INDEX 01 05:00:00\n",
        )
        .unwrap();
        assert_eq!(s.files.len(), 2);
        assert_eq!(s.files[0].tracks.len(), 1);
        assert_eq!(s.files[0].tracks[0].title.as_deref(), Some("One Two"));
        let f2: Vec<_> = s.files[1]
            .tracks
            .iter()
            .map(|t| (t.number, t.start.0, t.audio))
            .collect();
        assert_eq!(
            f2,
            [(2, 0, true), (3, 240 * 75, true), (4, 300 * 75, false)]
        );
        assert_eq!(s.files[1].tracks[0].title.as_deref(), Some("Second"));
        assert_eq!(s.files[1].tracks[0].index00, Some(CueTime(190 * 75)));
    }

    #[test]
    fn windows_1252_and_unquoted_words() {
        let bytes = b"PERFORMER Beyonc\xe9\nTITLE \"Caf\xe9 \x93Live\x94\"\nFILE disc.flac WAVE\nTRACK 1 AUDIO\nINDEX 01 00:00:00\n";
        let s = parse(&decode_text(bytes)).unwrap();
        assert_eq!(s.performer.as_deref(), Some("Beyoncé"));
        assert_eq!(s.title.as_deref(), Some("Café “Live”"));
        assert_eq!(s.files[0].name, "disc.flac");
    }

    #[test]
    fn file_names_resolve_beside_the_sheet_with_tolerance() {
        let dir = std::env::temp_dir().join(format!("rusty-cue-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let sheet = dir.join("album.cue");
        std::fs::write(&sheet, "x").unwrap();
        std::fs::write(dir.join("Album Rip.flac"), "x").unwrap();
        let ext = ["flac", "wav"];
        // As written; another extension; a Windows path; the only audio file.
        assert_eq!(
            resolve_file(&sheet, "Album Rip.flac", &ext, true),
            Some(dir.join("Album Rip.flac"))
        );
        assert_eq!(
            resolve_file(&sheet, "album rip.WAV", &ext, true),
            Some(dir.join("Album Rip.flac"))
        );
        assert_eq!(
            resolve_file(&sheet, "C:\\rips\\Album Rip.wav", &ext, true),
            Some(dir.join("Album Rip.flac"))
        );
        assert_eq!(
            resolve_file(&sheet, "renamed.ape", &ext, true),
            Some(dir.join("Album Rip.flac"))
        );
        assert_eq!(
            resolve_file(&sheet, "renamed.ape", &ext, false),
            None,
            "not for a sheet of several files"
        );
        // Two candidates and no match by name: not guessed.
        std::fs::write(dir.join("other.wav"), "x").unwrap();
        assert_eq!(resolve_file(&sheet, "renamed.ape", &ext, true), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
