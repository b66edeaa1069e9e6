//! `rusty-audio scan [--json] [--write-tags] FILE|DIR...`: ReplayGain 2.0 values measured with the engine's own
//! BS.1770 code (the same decode and loudness path as `analyze`, checked against ffmpeg).
//!
//! Per track: integrated loudness, true peak, gain to −18 LUFS. Per album (album + album-artist
//! tags, the folder when untagged; `library::replaygain::AlbumKey`): the loudness gated over all
//! of its tracks' 400 ms blocks together, as ReplayGain 2.0 defines it, and the highest track
//! peak. Peaks are true peaks (4× oversampled, BS.1770-4 Annex 2): a gain capped by them keeps
//! the reconstructed waveform, not only the samples, under full scale.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::analyze::{analyze_all, Report};
use crate::analysis::loudness::integrated_of;
use crate::decode::AudioSource;
use crate::library::gain_writer::{write_gain_tags, GainValues};
use crate::library::replaygain::{AlbumKey, REFERENCE_LUFS};

/// One file's ReplayGain values.
#[derive(Clone, Debug)]
pub struct TrackGain {
    pub path: PathBuf,
    pub integrated_lufs: Option<f64>,
    /// Linear true peak.
    pub peak: f64,
    /// −18 − integrated (None: nothing above the gate — silence).
    pub track_gain_db: Option<f64>,
    /// The album's name as shown (its tag, else the folder's name).
    pub album: String,
    pub album_gain_db: Option<f64>,
    pub album_peak: f64,
}

impl TrackGain {
    #[must_use]
    pub fn to_json(&self) -> Value {
        let r2 = |v: Option<f64>| v.map(|x| (x * 100.0).round() / 100.0);
        let r6 = |x: f64| (x * 1e6).round() / 1e6;
        let db = |x: f64| (x > 0.0).then(|| (20.0 * x.log10() * 100.0).round() / 100.0);
        json!({
            "path": self.path.display().to_string(),
            "integrated_lufs": r2(self.integrated_lufs),
            "true_peak_dbtp": db(self.peak),
            "track_gain_db": r2(self.track_gain_db),
            "track_peak": r6(self.peak),
            "album": self.album,
            "album_gain_db": r2(self.album_gain_db),
            "album_peak": r6(self.album_peak),
        })
    }
}

/// The gain that brings `lufs` to the ReplayGain 2.0 reference.
#[must_use]
pub fn gain_to_reference(lufs: f64) -> f64 {
    REFERENCE_LUFS - lufs
}

/// An album's key and the name shown for it, from the file's tags.
fn album_of(path: &Path) -> (AlbumKey, String) {
    let tags = AudioSource::open(path).ok().map(|mut s| s.tags(false).0);
    let t = tags.unwrap_or_default();
    let key = AlbumKey::of_tags(path, &t);
    let name = match &key {
        AlbumKey::Tagged { .. } => t.album.clone().unwrap_or_default(),
        AlbumKey::Folder(dir) => dir.file_name().map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
    };
    (key, name)
}

/// Measure `files` (in parallel) and compute track and album gains. Results in argument order;
/// a file that cannot be decoded is an `Err` with the one-line reason and counts for no album.
#[must_use]
pub fn scan(files: &[PathBuf]) -> Vec<Result<TrackGain, String>> {
    let reports = analyze_all(files);
    let albums: Vec<Option<(AlbumKey, String)>> = files
        .iter()
        .zip(&reports)
        .map(|(p, r)| r.is_ok().then(|| album_of(p)))
        .collect();
    // Pool each album's blocks and peaks.
    let mut pooled: HashMap<&AlbumKey, (Vec<f64>, f64)> = HashMap::new();
    for (a, r) in albums.iter().zip(&reports) {
        if let (Some((key, _)), Ok(rep)) = (a, r) {
            let e = pooled.entry(key).or_default();
            e.0.extend_from_slice(&rep.loudness_blocks);
            e.1 = e.1.max(f64::from(rep.true_peak));
        }
    }
    let album_values: HashMap<&AlbumKey, (Option<f64>, f64)> = pooled
        .into_iter()
        .map(|(k, (blocks, peak))| (k, (integrated_of(&blocks).map(gain_to_reference), peak)))
        .collect();
    files
        .iter()
        .zip(&reports)
        .zip(&albums)
        .map(|((path, r), a)| match (r, a) {
            (Ok(rep), Some((key, name))) => {
                let (album_gain_db, album_peak) = album_values[key];
                Ok(track_gain(path, rep, name, album_gain_db, album_peak))
            }
            (Err(e), _) => Err(e.to_string()),
            (Ok(_), None) => unreachable!("albums are read for every decoded file"),
        })
        .collect()
}

fn track_gain(
    path: &Path,
    rep: &Report,
    album: &str,
    album_gain_db: Option<f64>,
    album_peak: f64,
) -> TrackGain {
    TrackGain {
        path: path.to_path_buf(),
        integrated_lufs: rep.integrated_lufs,
        peak: f64::from(rep.true_peak),
        track_gain_db: rep.integrated_lufs.map(gain_to_reference),
        album: album.to_string(),
        album_gain_db,
        album_peak,
    }
}

/// Write each scanned file's values into its tags (see `library::gain_writer`). Returns how many
/// files were written and how many not (each one named on stderr with the reason).
fn write_tags(results: &[Result<TrackGain, String>]) -> (usize, usize) {
    let (mut written, mut failed) = (0, 0);
    for t in results.iter().flatten() {
        let (Some(track_gain_db), Some(album_gain_db)) = (t.track_gain_db, t.album_gain_db) else {
            eprintln!(
                "rusty-audio: {}: silent (nothing above the loudness gate): no gain to write",
                t.path.display()
            );
            failed += 1;
            continue;
        };
        let values = GainValues {
            track_gain_db,
            track_peak: t.peak,
            album_gain_db,
            album_peak: t.album_peak,
        };
        match write_gain_tags(&t.path, &values) {
            Ok(()) => written += 1,
            Err(e) => {
                eprintln!("rusty-audio: {e}");
                failed += 1;
            }
        }
    }
    (written, failed)
}

pub fn run(paths: &[PathBuf], as_json: bool, write: bool) -> i32 {
    let mut files = crate::library::files::expand(paths);
    // Gains are measured and written per file: a cue sheet's tracks share their image's tags.
    files.retain(|p| !crate::library::files::is_sheet(p));
    // A file named twice (`scan DIR DIR/x.flac`) is measured once: twice would weigh it double
    // in its album's loudness.
    let mut seen = std::collections::HashSet::new();
    files.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    if files.is_empty() {
        eprintln!("rusty-audio: nothing to scan (no audio files in the arguments)");
        return 1;
    }
    let results = scan(&files);
    let results_for_tags = results.clone();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = false;
    if !as_json {
        let _ = writeln!(
            out,
            "{:<40} {:>8} {:>8} {:>9} {:>9} {:>9}  album",
            "file", "LUFS", "truepk", "track dB", "album dB", "peak"
        );
    }
    let f2 = |v: Option<f64>| v.map_or("-".into(), |x| format!("{x:+.2}"));
    for (path, r) in files.iter().zip(results) {
        match r {
            Ok(t) if as_json => {
                let _ = writeln!(out, "{}", t.to_json());
            }
            Ok(t) => {
                let _ = writeln!(
                    out,
                    "{:<40} {:>8} {:>8} {:>9} {:>9} {:>9.6}  {}",
                    path.display(),
                    t.integrated_lufs
                        .map_or("-inf".into(), |x| format!("{x:.2}")),
                    if t.peak > 0.0 {
                        format!("{:.2}", 20.0 * t.peak.log10())
                    } else {
                        "-inf".into()
                    },
                    f2(t.track_gain_db),
                    f2(t.album_gain_db),
                    t.album_peak,
                    t.album
                );
            }
            Err(e) => {
                failed = true;
                eprintln!("rusty-audio: {e}");
                if as_json {
                    let _ = writeln!(
                        out,
                        "{}",
                        json!({"path": path.display().to_string(), "error": e})
                    );
                }
            }
        }
    }
    if write {
        let (written, not) = write_tags(&results_for_tags);
        eprintln!(
            "rusty-audio: wrote ReplayGain tags to {written} file(s){}",
            if not > 0 {
                format!(", {not} not written (see above)")
            } else {
                String::new()
            }
        );
        failed |= not > 0;
    }
    i32::from(failed)
}
