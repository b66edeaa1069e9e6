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
    /// A cue sheet the file carries for itself (an album ripped to one file).
    pub embedded_cue: Option<EmbeddedCue>,
}

/// A cue sheet inside an audio file.
#[derive(Clone, Debug, PartialEq)]
pub enum EmbeddedCue {
    /// A `CUESHEET` tag: the text of a sheet (foobar2000, EAC and others embed it so).
    Text(String),
    /// A FLAC CUESHEET block: where each track starts (its INDEX 01, else its first index), in
    /// source frames, in order; the lead-out is left out. The block has no names.
    Points(Vec<u64>),
}

/// The track starts of a FLAC CUESHEET block, as symphonia reads it into chapters (one group
/// per track, one chapter per index, times from sample offsets, the lead-out last).
#[must_use]
pub fn cue_points(reader: &dyn FormatReader, rate: u32) -> Option<Vec<u64>> {
    use symphonia::core::meta::ChapterGroupItem;
    let group = reader.chapters()?;
    let frame = |c: &symphonia::core::meta::Chapter| {
        // Times were made from whole samples: rounding the nanoseconds gives them back.
        let n = c.start_time.as_nanos().max(0) * i128::from(rate);
        u64::try_from((n + 500_000_000) / 1_000_000_000).ok()
    };
    let index_of = |c: &symphonia::core::meta::Chapter| {
        c.tags.iter().find_map(|t| match t.std {
            Some(StandardTag::CdTrackIndex(i)) => Some(i),
            _ => None,
        })
    };
    let mut points = Vec::new();
    for item in &group.items {
        let start = match item {
            ChapterGroupItem::Chapter(c) => frame(c),
            ChapterGroupItem::Group(g) => {
                let chapters: Vec<_> = g
                    .items
                    .iter()
                    .filter_map(|i| match i {
                        ChapterGroupItem::Chapter(c) => Some(c),
                        ChapterGroupItem::Group(_) => None,
                    })
                    .collect();
                chapters
                    .iter()
                    .find(|c| index_of(c) == Some(1))
                    .or(chapters.first())
                    .and_then(|c| frame(c))
            }
        };
        points.push(start?);
    }
    points.pop(); // the lead-out
    (!points.is_empty() && points.windows(2).all(|w| w[0] < w[1])).then_some(points)
}

/// An embedded picture, still encoded (JPEG/PNG bytes as stored in the file).
#[derive(Clone, Debug)]
pub struct CoverArt {
    pub media_type: Option<String>,
    pub data: Box<[u8]>,
}

/// The longest title/artist/album kept, in characters: a tag is the file's word, and a
/// multi-megabyte "title" would be kept per playlist entry and laid out every frame.
pub const MAX_TAG_CHARS: usize = 1024;

fn clean(s: &str) -> Option<String> {
    let t = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    let t = match t.char_indices().nth(MAX_TAG_CHARS) {
        Some((end, _)) => &t[..end],
        None => t,
    };
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

/// Pictures larger than this are not shown (a 16 MiB JPEG is already far beyond any real cover;
/// the largest FLAC picture block is 16 MiB too). The file still plays; only the picture is left
/// out, so a 50 MB embedded scan costs no copy and no decode.
pub const MAX_COVER_BYTES: usize = 16 << 20;

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
                    // Opus's R128 gains have no standard tag: by their raw name; so is a
                    // `CUESHEET`.
                    _ => {
                        if let RawValue::String(v) = &tag.raw.value {
                            if tag.raw.key.eq_ignore_ascii_case("cuesheet") {
                                tags.embedded_cue = Some(EmbeddedCue::Text(v.to_string()));
                            } else {
                                tags.gain.take(&tag.raw.key, v);
                            }
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
                    let fits = !v.data.is_empty() && v.data.len() <= MAX_COVER_BYTES;
                    if fits && cover.is_none_or(|(r, _)| rank > r) {
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
