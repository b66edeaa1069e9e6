//! Title/artist/album and cover art from a file's metadata (ID3v2/v1, Vorbis comments, FLAC
//! pictures, MP4 atoms, RIFF INFO, APE — whatever symphonia's probe and reader found).
//!
//! Read on a background thread for the playlist and the now-playing area; never on the audio
//! thread.

use symphonia::core::formats::FormatReader;
use symphonia::core::meta::{RawValue, StandardTag, StandardVisualKey, Visual};

use crate::library::replaygain::GainTags;

/// The tags a player shows and plays by. Empty fields stay `None` so the UI can fall back to the
/// file name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrackTags {
    pub title: Option<String>,
    /// The track's artist (the album artist when the file names no other).
    pub artist: Option<String>,
    pub album_artist: Option<String>,
    pub album: Option<String>,
    pub track_number: Option<u64>,
    /// ReplayGain (or Opus R128) values.
    pub gain: GainTags,
}

/// An embedded picture, still encoded (JPEG/PNG bytes as stored in the file).
#[derive(Clone, Debug)]
pub struct CoverArt {
    pub media_type: Option<String>,
    pub data: Box<[u8]>,
}

fn clean(s: &str) -> Option<String> {
    let t = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    (!t.is_empty()).then(|| t.to_string())
}

/// ReplayGain values from the ID3v2 chunk of a WAV or AIFF file (where taggers — and `scan
/// --write-tags` — put them; symphonia reads only RIFF INFO, which has no field for them).
/// Empty for other files or when there is none.
#[must_use]
pub fn riff_id3_gain(path: &std::path::Path) -> GainTags {
    use lofty::prelude::*;
    let mut gain = GainTags::default();
    let riff = path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        matches!(
            e.to_ascii_lowercase().as_str(),
            "wav" | "wave" | "aif" | "aiff"
        )
    });
    if !riff {
        return gain;
    }
    let Ok(file) = lofty::read_from_path(path) else {
        return gain;
    };
    if let Some(tag) = file.tag(lofty::tag::TagType::Id3v2) {
        for (key, name) in [
            (ItemKey::ReplayGainTrackGain, "replaygain_track_gain"),
            (ItemKey::ReplayGainTrackPeak, "replaygain_track_peak"),
            (ItemKey::ReplayGainAlbumGain, "replaygain_album_gain"),
            (ItemKey::ReplayGainAlbumPeak, "replaygain_album_peak"),
        ] {
            if let Some(v) = tag.get_string(key) {
                gain.take(name, v);
            }
        }
    }
    gain
}

/// Collect tags and (if `want_cover`) the best picture from every metadata revision the reader
/// holds. Later revisions win for tags (a trailing ID3v1 never overrides an ID3v2 title because
/// ID3v1 is read first by the probe); the front cover wins over other pictures.
pub fn collect(reader: &mut dyn FormatReader, want_cover: bool) -> (TrackTags, Option<CoverArt>) {
    let mut tags = TrackTags::default();
    let mut cover: Option<(u8, &Visual)> = None;
    let mut meta = reader.metadata();
    let mut revisions = Vec::new();
    while let Some(r) = meta.pop() {
        revisions.push(r);
    }
    if let Some(r) = meta.current() {
        revisions.push(r.clone());
    }
    for rev in &revisions {
        let containers =
            std::iter::once(&rev.media).chain(rev.per_track.iter().map(|t| &t.metadata));
        for c in containers {
            for tag in &c.tags {
                match &tag.std {
                    Some(StandardTag::TrackTitle(s)) => tags.title = clean(s).or(tags.title.take()),
                    Some(StandardTag::Artist(s)) => tags.artist = clean(s).or(tags.artist.take()),
                    Some(StandardTag::AlbumArtist(s)) => {
                        tags.album_artist = clean(s).or(tags.album_artist.take());
                    }
                    Some(StandardTag::Album(s)) => tags.album = clean(s).or(tags.album.take()),
                    Some(StandardTag::TrackNumber(n)) => tags.track_number = Some(*n),
                    // symphonia maps the Vorbis/APE/ID3v2 TXXX/iTunes names; one parser for
                    // all of them (`GainTags::take`).
                    Some(StandardTag::ReplayGainTrackGain(s)) => {
                        tags.gain.take("replaygain_track_gain", s);
                    }
                    Some(StandardTag::ReplayGainTrackPeak(s)) => {
                        tags.gain.take("replaygain_track_peak", s);
                    }
                    Some(StandardTag::ReplayGainAlbumGain(s)) => {
                        tags.gain.take("replaygain_album_gain", s);
                    }
                    Some(StandardTag::ReplayGainAlbumPeak(s)) => {
                        tags.gain.take("replaygain_album_peak", s);
                    }
                    // Opus's R128 gains have no standard tag: by their raw name.
                    _ => {
                        if let RawValue::String(v) = &tag.raw.value {
                            tags.gain.take(&tag.raw.key, v);
                        }
                    }
                }
            }
            if want_cover {
                for v in &c.visuals {
                    let rank = match v.usage {
                        Some(StandardVisualKey::FrontCover) => 3,
                        None | Some(StandardVisualKey::Other) => 2,
                        Some(_) => 1,
                    };
                    if !v.data.is_empty() && cover.is_none_or(|(r, _)| rank > r) {
                        cover = Some((rank, v));
                    }
                }
            }
        }
    }
    if tags.artist.is_none() {
        tags.artist.clone_from(&tags.album_artist);
    }
    let cover = cover.map(|(_, v)| CoverArt {
        media_type: v.media_type.clone(),
        data: v.data.clone(),
    });
    (tags, cover)
}
