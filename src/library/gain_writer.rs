//! Writing ReplayGain tags into a user's file (`scan --write-tags`), never corrupting it: the tags
//! are written into a copy beside the file (lofty: Vorbis comments for FLAC/Ogg, ID3v2 TXXX for
//! MP3/WAV/AIFF, APE, MP4 freeform atoms), the copy is decoded and must give exactly the same
//! samples as the original, then it is synced and renamed over the original. Any failure leaves
//! the original as it was and removes the copy.

use std::path::{Path, PathBuf};

use lofty::config::WriteOptions;
use lofty::prelude::*;
use lofty::tag::Tag;

use crate::decode::AudioSource;

/// The values written (gains in dB relative to −18 LUFS, peaks linear), in the usual text form:
/// "−6.54 dB" with two decimals, peaks with six.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GainValues {
    pub track_gain_db: f64,
    pub track_peak: f64,
    pub album_gain_db: f64,
    pub album_peak: f64,
}

/// Write `values` into `path` (see the module doc). The error is one line naming the file.
pub fn write_gain_tags(path: &Path, values: &GainValues) -> Result<(), String> {
    let name = path
        .file_name()
        .ok_or_else(|| format!("{}: not a file", path.display()))?
        .to_string_lossy()
        .into_owned();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // A read-only file is the user saying "do not change this" (renaming over it would work).
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.permissions().readonly() {
        return Err(format!(
            "{}: read-only; file left as it was",
            path.display()
        ));
    }
    // Hidden, and with the original's extension (lofty picks the format by it, then checks it).
    let ext = path
        .extension()
        .map_or(String::new(), |e| format!(".{}", e.to_string_lossy()));
    let tmp = dir.join(format!(".{name}.tagging-{}{ext}", std::process::id()));
    let result = write_into_copy(path, &tmp, values);
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn write_into_copy(path: &Path, tmp: &PathBuf, values: &GainValues) -> Result<(), String> {
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("{}: {what}: {e}", path.display());
    // The copy keeps the original's permissions (std::fs::copy copies them).
    std::fs::copy(path, tmp).map_err(|e| fail("cannot copy for tagging", &e))?;
    let mut file = lofty::read_from_path(tmp).map_err(|e| fail("cannot read its tags", &e))?;
    let kind = file.primary_tag_type();
    if file.tag(kind).is_none() {
        file.insert_tag(Tag::new(kind));
    }
    let tag = file.tag_mut(kind).expect("inserted above");
    let items = [
        (
            ItemKey::ReplayGainTrackGain,
            format!("{:.2} dB", values.track_gain_db),
        ),
        (
            ItemKey::ReplayGainTrackPeak,
            format!("{:.6}", values.track_peak),
        ),
        (
            ItemKey::ReplayGainAlbumGain,
            format!("{:.2} dB", values.album_gain_db),
        ),
        (
            ItemKey::ReplayGainAlbumPeak,
            format!("{:.6}", values.album_peak),
        ),
    ];
    for (key, text) in items {
        if !tag.insert_text(key, text) {
            return Err(format!(
                "{}: its {kind:?} tag cannot hold ReplayGain values; file left as it was",
                path.display()
            ));
        }
    }
    file.save_to_path(tmp, WriteOptions::default())
        .map_err(|e| fail("cannot write tags", &e))?;
    same_audio(path, tmp)?;
    std::fs::File::open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| fail("cannot sync the tagged copy", &e))?;
    std::fs::rename(tmp, path).map_err(|e| fail("cannot replace the file", &e))
}

/// Decode both files and compare every sample (bit for bit) and the format.
fn same_audio(original: &Path, tagged: &Path) -> Result<(), String> {
    let differs = || {
        format!(
            "{}: the tagged copy did not decode to the same audio; file left as it was",
            original.display()
        )
    };
    let open = |p: &Path| AudioSource::open(p).map_err(|e| e.to_string());
    let (mut a, mut b) = (open(original)?, open(tagged).map_err(|_| differs())?);
    let (ia, ib) = (a.info(), b.info());
    if (ia.sample_rate, ia.channels) != (ib.sample_rate, ib.channels) {
        return Err(differs());
    }
    let (mut ba, mut bb) = (Vec::new(), Vec::new());
    loop {
        // Packets may split differently; compare what both have decoded so far.
        if ba.is_empty() && a.read(&mut ba).map_err(|e| e.to_string())? == 0 {
            return if bb.is_empty() && b.read(&mut bb).map_err(|_| differs())? == 0 {
                Ok(())
            } else {
                Err(differs())
            };
        }
        if bb.is_empty() && b.read(&mut bb).map_err(|_| differs())? == 0 {
            return Err(differs());
        }
        let n = ba.len().min(bb.len());
        if ba[..n]
            .iter()
            .zip(&bb[..n])
            .any(|(x, y)| x.to_bits() != y.to_bits())
        {
            return Err(differs());
        }
        ba.drain(..n);
        bb.drain(..n);
    }
}
