//! Encoder priming of MP4/M4A audio, read from the edit list.
//!
//! Why: AAC encoders prepend priming frames (1024 for ffmpeg's encoder, 2112 for Apple's) and
//! record them in the track's edit list (`moov/trak/edts/elst`, media_time). symphonia 0.6's MP4
//! reader ignores the edit list, so without this every AAC track would start with ~23 ms of
//! priming — audible as a gap between gapless tracks and a misaligned seek.

use std::io::{Read, Seek, SeekFrom};

/// Largest `moov` box we are willing to read into memory (sample tables of very long files).
const MAX_MOOV: u64 = 64 << 20;

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Iterate the child boxes of `data`: (type, body).
fn boxes(data: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let size = be_u32(data, pos)? as u64;
        let kind: [u8; 4] = data.get(pos + 4..pos + 8)?.try_into().ok()?;
        let (header, size) = match size {
            1 => (16, be_u64(data, pos + 8)?),
            0 => (8, (data.len() - pos) as u64),
            s => (8, s),
        };
        let end = pos.checked_add(usize::try_from(size).ok()?)?;
        if size < header as u64 || end > data.len() {
            return None;
        }
        let body = &data[pos + header..end];
        pos = end;
        Some((kind, body))
    })
}

fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    boxes(data).find(|(k, _)| k == kind).map(|(_, b)| b)
}

/// Priming of the first sound track, in that track's media timescale units, with the timescale.
fn priming_in_moov(moov: &[u8]) -> Option<(u64, u32)> {
    for (kind, trak) in boxes(moov) {
        if &kind != b"trak" {
            continue;
        }
        let mdia = child(trak, b"mdia")?;
        let hdlr = child(mdia, b"hdlr")?;
        if hdlr.get(8..12) != Some(b"soun") {
            continue;
        }
        let mdhd = child(mdia, b"mdhd")?;
        let timescale = if mdhd.first() == Some(&1) {
            be_u32(mdhd, 20)?
        } else {
            be_u32(mdhd, 12)?
        };
        let elst = child(child(trak, b"edts")?, b"elst")?;
        let version = *elst.first()?;
        let count = be_u32(elst, 4)?;
        if count == 0 {
            return None;
        }
        let media_time = if version == 1 {
            be_u64(elst, 8 + 8)? as i64
        } else {
            i64::from(be_u32(elst, 8 + 4)? as i32)
        };
        return (media_time > 0).then_some((media_time as u64, timescale));
    }
    None
}

/// Priming declared by an MP4 edit list, in the track's media timescale: the timescale is
/// independent of the sample rate (an encoder may write 90 kHz or 2× the rate), so it is only
/// turned into frames once the decoder knows the rate (`frames_at`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Priming {
    pub media_time: u64,
    pub timescale: u32,
}

/// Longest priming taken at its word: real encoders prime by 1024–2112 frames; a larger value is
/// a damaged or crafted edit list and is ignored (the audio then starts with whatever is there).
const MAX_PRIMING_S: u64 = 1;

impl Priming {
    /// The priming in frames at `sample_rate` (rounded down), or None when it is implausible. No
    /// overflow for any 64-bit media time (computed in 128 bits).
    #[must_use]
    pub fn frames_at(&self, sample_rate: u32) -> Option<u64> {
        if self.timescale == 0 || sample_rate == 0 {
            return None;
        }
        let frames =
            u128::from(self.media_time) * u128::from(sample_rate) / u128::from(self.timescale);
        (frames <= u128::from(MAX_PRIMING_S * u64::from(sample_rate))).then_some(frames as u64)
    }
}

/// The priming an MP4 file's edit list declares; None for other files. Leaves `media` at its
/// start.
pub fn mp4_priming<R: Read + Seek>(media: &mut R) -> Option<Priming> {
    let result = (|| {
        let mut head = [0u8; 8];
        media.seek(SeekFrom::Start(0)).ok()?;
        media.read_exact(&mut head).ok()?;
        if &head[4..8] != b"ftyp" {
            return None;
        }
        // Walk top-level boxes to `moov`.
        let mut pos = 0u64;
        loop {
            media.seek(SeekFrom::Start(pos)).ok()?;
            let mut hdr = [0u8; 16];
            media.read_exact(&mut hdr[..8]).ok()?;
            let mut size = u64::from(be_u32(&hdr, 0)?);
            let mut header = 8;
            if size == 1 {
                media.read_exact(&mut hdr[8..16]).ok()?;
                size = be_u64(&hdr, 8)?;
                header = 16;
            }
            if &hdr[4..8] == b"moov" {
                if size > MAX_MOOV || size < header {
                    return None;
                }
                let mut moov = vec![0u8; (size - header) as usize];
                media.read_exact(&mut moov).ok()?;
                let (media_time, timescale) = priming_in_moov(&moov)?;
                return Some(Priming {
                    media_time,
                    timescale,
                });
            }
            if size < header {
                return None;
            }
            pos = pos.checked_add(size)?;
        }
    })();
    let _ = media.seek(SeekFrom::Start(0));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priming_converts_from_the_media_timescale_to_the_rate() {
        let p = Priming {
            media_time: 2048,
            timescale: 96_000,
        };
        assert_eq!(p.frames_at(48_000), Some(1024));
        let p = Priming {
            media_time: 1024,
            timescale: 44_100,
        };
        assert_eq!(p.frames_at(44_100), Some(1024));
    }

    /// A crafted version-1 edit list: a 64-bit media time that overflowed `frames * rate` in
    /// 64 bits (a panic in debug builds, a wrong trim in release). Now it is simply implausible.
    #[test]
    fn a_huge_media_time_is_ignored_not_overflowed() {
        let p = Priming {
            media_time: u64::MAX / 3,
            timescale: 1,
        };
        assert_eq!(p.frames_at(192_000), None);
        let p = Priming {
            media_time: 3 * 48_000,
            timescale: 48_000,
        };
        assert_eq!(p.frames_at(48_000), None, "3 s of priming is not priming");
    }
}
