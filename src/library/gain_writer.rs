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
///
/// Refused, leaving the file alone: read-only files, files owned by another user (replacing them
/// would change their owner), files with other hard links (they would keep the old content). A
/// symlink is followed: the file it points to is tagged and the link stays a link.
pub fn write_gain_tags(path: &Path, values: &GainValues) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let shown = path.display().to_string();
    let real = std::fs::canonicalize(path).map_err(|e| format!("{shown}: {e}"))?;
    let meta = std::fs::metadata(&real).map_err(|e| format!("{shown}: {e}"))?;
    let refuse = |why: &str| Err(format!("{shown}: {why}; file left as it was"));
    // A read-only file is the user saying "do not change this" (renaming over it would work).
    if meta.permissions().readonly() {
        return refuse("read-only");
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    if meta.uid() != unsafe { libc::geteuid() } {
        return refuse("owned by another user");
    }
    if meta.nlink() > 1 {
        return refuse("it has other hard links, which would keep the old content");
    }
    let name = real
        .file_name()
        .ok_or_else(|| format!("{shown}: not a file"))?
        .to_string_lossy()
        .into_owned();
    let dir = real.parent().unwrap_or(Path::new("/"));
    // Hidden (folder expansion skips hidden files), with the original's extension (lofty picks
    // the format by it, then checks it).
    let ext = real
        .extension()
        .map_or(String::new(), |e| format!(".{}", e.to_string_lossy()));
    let tmp = TempCopy(dir.join(format!(".{name}.tagging-{}{ext}", std::process::id())));
    write_into_copy(&real, &shown, &tmp.0, values)?;
    std::fs::rename(&tmp.0, &real).map_err(|e| format!("{shown}: cannot replace the file: {e}"))?;
    std::mem::forget(tmp); // renamed: nothing to remove
                           // The rename is durable once the folder is synced.
    let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    Ok(())
}

/// The tagged copy, removed on every way out but success (an error, a panic).
struct TempCopy(PathBuf);

impl Drop for TempCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn write_into_copy(
    path: &Path,
    shown: &str,
    tmp: &Path,
    values: &GainValues,
) -> Result<(), String> {
    use lofty::config::{ParseOptions, ParsingMode};
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("{shown}: {what}: {e}");
    // The copy keeps the original's permissions (std::fs::copy copies them).
    std::fs::copy(path, tmp).map_err(|e| fail("cannot copy for tagging", &e))?;
    // Strict: a tag lofty cannot read fully is an error, never a field silently emptied and
    // written back.
    let file = lofty::probe::Probe::open(tmp)
        .map_err(|e| fail("cannot read its tags", &e))?
        .options(ParseOptions::new().parsing_mode(ParsingMode::Strict))
        .read()
        .map_err(|e| fail("cannot read its tags", &e))?;
    let items = [
        (
            ItemKey::ReplayGainTrackGain,
            format!("{:+.2} dB", values.track_gain_db),
        ),
        (
            ItemKey::ReplayGainTrackPeak,
            format!("{:.6}", values.track_peak),
        ),
        (
            ItemKey::ReplayGainAlbumGain,
            format!("{:+.2} dB", values.album_gain_db),
        ),
        (
            ItemKey::ReplayGainAlbumPeak,
            format!("{:.6}", values.album_peak),
        ),
    ];
    // Every tag the file already has gets the new values (an MP3 with ID3v2 and APE must not keep
    // stale gains in one of them), and only those tags are written; a file without a tag gets
    // its format's usual one.
    let mut tags: Vec<Tag> = file.tags().to_vec();
    if tags.is_empty() {
        tags.push(Tag::new(file.primary_tag_type()));
    }
    let mut written = 0;
    for mut tag in tags {
        let kind = tag.tag_type();
        if !items
            .iter()
            .all(|(key, text)| tag.insert_text(key.clone(), text.clone()))
        {
            continue; // this tag type has no ReplayGain fields (e.g. RIFF INFO)
        }
        // Keep ID3v2.3 files at 2.3 (what older players read).
        let v23 = kind == lofty::tag::TagType::Id3v2 && id3v2_major(path) == Some(3);
        tag.save_to_path(tmp, WriteOptions::new().use_id3v23(v23))
            .map_err(|e| fail("cannot write tags", &e))?;
        written += 1;
    }
    if written == 0 {
        return Err(format!(
            "{shown}: its tags cannot hold ReplayGain values; file left as it was"
        ));
    }
    same_audio(path, shown, tmp)?;
    std::fs::OpenOptions::new()
        .write(true)
        .open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| fail("cannot sync the tagged copy", &e))
}

/// The major version of an ID3v2 tag at the start of the file (3 or 4), if there is one.
fn id3v2_major(path: &Path) -> Option<u8> {
    use std::io::Read;
    let mut head = [0u8; 4];
    std::fs::File::open(path).ok()?.read_exact(&mut head).ok()?;
    (&head[..3] == b"ID3").then_some(head[3])
}

/// Decode both files and compare every sample (bit for bit) and the format.
fn same_audio(original: &Path, shown: &str, tagged: &Path) -> Result<(), String> {
    let differs = || {
        format!("{shown}: the tagged copy did not decode to the same audio; file left as it was")
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
