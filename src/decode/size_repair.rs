//! Files whose sizes claim more than the file holds: play the audio that is there.
//!
//! - **WAV.** A recorder that crashed, or one that streams (and never comes back to fill the
//!   sizes in), leaves a RIFF header whose `data` chunk says 0, 0xFFFFFFFF or simply more bytes
//!   than follow, and a RIFF size to match. symphonia refuses such a file ("chunk length exceeds
//!   parent").
//! - **MP4/M4A** with the index first (`faststart`, as streamed) and the `mdat` box cut short by
//!   an interrupted download: symphonia's reader finds no packet at all ("no atom pending read").
//!
//! ffmpeg plays the data up to the end of the file; so do we. Before symphonia reads the file,
//! the sizes are checked against the file's length, and where they overrun (or a WAV data size is
//! 0 with bytes after it) the stream symphonia reads shows the sizes the file actually has (WAV:
//! rounded down to whole frames). The file itself is never written.

use std::io::{Read, Seek, SeekFrom};

use symphonia::core::io::MediaSource;

/// At most this many chunks are walked looking for `data` (a real file has a handful).
const MAX_CHUNKS: usize = 256;

/// Bytes of the header shown differently from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    pub at: u64,
    pub bytes: Vec<u8>,
}

/// The size fields to correct in a stream of `len` bytes, or none (not a WAV or MP4, sizes
/// consistent, or damaged in a way this does not repair). The reader is left at the start.
pub fn patches<R: Read + Seek>(media: &mut R, len: u64) -> Vec<Patch> {
    let mut head = [0u8; 12];
    let found = media
        .seek(SeekFrom::Start(0))
        .and_then(|_| media.read_exact(&mut head))
        .ok()
        .and_then(|()| {
            if &head[..4] == b"RIFF" && &head[8..12] == b"WAVE" {
                wav(media, len, &head)
            } else if &head[4..8] == b"ftyp" {
                mp4(media, len)
            } else {
                None
            }
        })
        .unwrap_or_default();
    let _ = media.seek(SeekFrom::Start(0));
    found
}

/// An `mdat` box (top level) that runs past the end of the file is shown ending there.
fn mp4<R: Read + Seek>(media: &mut R, len: u64) -> Option<Vec<Patch>> {
    let mut pos = 0u64;
    for _ in 0..MAX_CHUNKS {
        let mut hdr = [0u8; 16];
        media.seek(SeekFrom::Start(pos)).ok()?;
        media.read_exact(&mut hdr[..8]).ok()?;
        let mut size = u64::from(u32::from_be_bytes(hdr[..4].try_into().ok()?));
        let large = size == 1;
        if large {
            media.read_exact(&mut hdr[8..16]).ok()?;
            size = u64::from_be_bytes(hdr[8..16].try_into().ok()?);
        }
        if size == 0 {
            return None; // "to the end of the file": nothing overruns
        }
        let end = pos.checked_add(size)?;
        if end > len {
            if &hdr[4..8] != b"mdat" {
                return None;
            }
            let real = len - pos;
            return Some(vec![if large {
                Patch {
                    at: pos + 8,
                    bytes: real.to_be_bytes().to_vec(),
                }
            } else {
                Patch {
                    at: pos,
                    bytes: u32::try_from(real).ok()?.to_be_bytes().to_vec(),
                }
            }]);
        }
        if size < 8 || end == len {
            return None;
        }
        pos = end;
    }
    None
}

fn wav<R: Read + Seek>(media: &mut R, len: u64, head: &[u8; 12]) -> Option<Vec<Patch>> {
    let riff_size = u64::from(u32::from_le_bytes(head[4..8].try_into().ok()?));
    let mut block_align = 1u64;
    let mut pos = 12u64;
    for _ in 0..MAX_CHUNKS {
        let mut hdr = [0u8; 8];
        media.seek(SeekFrom::Start(pos)).ok()?;
        media.read_exact(&mut hdr).ok()?;
        let size = u64::from(u32::from_le_bytes(hdr[4..8].try_into().ok()?));
        let body = pos + 8;
        let available = len.saturating_sub(body);
        if &hdr[..4] == b"fmt " {
            let mut fmt = [0u8; 14];
            media.read_exact(&mut fmt).ok()?;
            block_align = u64::from(u16::from_le_bytes([fmt[12], fmt[13]])).max(1);
        }
        if &hdr[..4] == b"data" {
            let fits = size != 0 && size <= available;
            // What follows the header, in whole frames, and no more than a 32-bit size can say
            // (a WAV over 4 GiB reads its first 4 GiB: RF64 is not read).
            let most = u64::from(u32::MAX) - u64::from(u32::MAX) % block_align;
            let data = if fits {
                size
            } else {
                (available - available % block_align).min(most)
            };
            let mut out = Vec::new();
            if !fits {
                out.push(Patch {
                    at: pos + 4,
                    bytes: u32::try_from(data).ok()?.to_le_bytes().to_vec(),
                });
            }
            // The RIFF size must cover the data as it now reads: a recorder may have filled in
            // the data size but left the RIFF size 0 (symphonia: "invalid riff length").
            let riff_needed = body + data - 8;
            if riff_size < riff_needed {
                // Past 32 bits (data near 4 GiB): the streaming value, which symphonia reads as
                // "to the end" rather than as a size to check.
                let riff = u32::try_from(riff_needed).unwrap_or(u32::MAX);
                out.push(Patch {
                    at: 4,
                    bytes: riff.to_le_bytes().to_vec(),
                });
            }
            return Some(out);
        }
        // Chunks are padded to an even length.
        pos = body.checked_add(size + (size & 1))?;
        if pos >= len {
            return None;
        }
    }
    None
}

/// A media source read through `patches` (the underlying bytes are never changed).
pub struct Patched {
    inner: Box<dyn MediaSource>,
    patches: Vec<Patch>,
    pos: u64,
}

impl Patched {
    #[must_use]
    pub fn new(inner: Box<dyn MediaSource>, patches: Vec<Patch>) -> Self {
        Self {
            inner,
            patches,
            pos: 0,
        }
    }
}

impl Read for Patched {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let (from, to) = (self.pos, self.pos + n as u64);
        for p in &self.patches {
            for (k, &b) in p.bytes.iter().enumerate() {
                let at = p.at + k as u64;
                if (from..to).contains(&at) {
                    buf[(at - from) as usize] = b;
                }
            }
        }
        self.pos = to;
        Ok(n)
    }
}

impl Seek for Patched {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = self.inner.seek(to)?;
        Ok(self.pos)
    }
}

impl MediaSource for Patched {
    fn is_seekable(&self) -> bool {
        self.inner.is_seekable()
    }

    fn byte_len(&self) -> Option<u64> {
        self.inner.byte_len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A 16-bit stereo WAV (block align 4) with `frames` frames and the given size fields.
    fn wav(frames: usize, riff: Option<u32>, data: Option<u32>, tail: &[u8]) -> Vec<u8> {
        let body = frames * 4;
        let mut b = b"RIFF".to_vec();
        b.extend(
            riff.unwrap_or((36 + body + tail.len()) as u32)
                .to_le_bytes(),
        );
        b.extend(b"WAVEfmt ");
        b.extend(16u32.to_le_bytes());
        b.extend(1u16.to_le_bytes()); // PCM
        b.extend(2u16.to_le_bytes());
        b.extend(8000u32.to_le_bytes());
        b.extend(32_000u32.to_le_bytes());
        b.extend(4u16.to_le_bytes());
        b.extend(16u16.to_le_bytes());
        b.extend(b"data");
        b.extend(data.unwrap_or(body as u32).to_le_bytes());
        b.extend((0..body).map(|i| i as u8));
        b.extend(tail);
        b
    }

    fn read_through(bytes: &[u8]) -> Vec<u8> {
        let mut c = Cursor::new(bytes.to_vec());
        let p = patches(&mut c, bytes.len() as u64);
        let mut r = Patched::new(Box::new(Cursor::new(bytes.to_vec())), p);
        let mut out = Vec::new();
        // In odd-sized reads, so patches straddle read boundaries.
        let mut buf = [0u8; 3];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out
    }

    fn sizes(b: &[u8]) -> (u32, u32) {
        (
            u32::from_le_bytes(b[4..8].try_into().unwrap()),
            u32::from_le_bytes(b[40..44].try_into().unwrap()),
        )
    }

    #[test]
    fn consistent_files_are_left_alone() {
        let b = wav(100, None, None, b"LIST\x04\x00\x00\x00abcd");
        let mut c = Cursor::new(b.clone());
        assert!(patches(&mut c, b.len() as u64).is_empty());
        assert_eq!(read_through(&b), b);
        // A RIFF size that overruns but a data size that fits: symphonia copes; untouched.
        let b = wav(100, Some(u32::MAX), None, &[]);
        assert_eq!(read_through(&b), b);
    }

    #[test]
    fn overrunning_zero_and_streaming_sizes_become_what_the_file_holds() {
        for (riff, data) in [
            (None, Some(100_000)),                  // data claims more, RIFF right
            (Some(0xFFFF_FF00), Some(0xFFFF_FFF0)), // both huge
            (Some(u32::MAX), Some(u32::MAX)),       // streaming recorder
            (None, Some(0)),                        // never filled in
            (Some(0), Some(0)),
        ] {
            let b = wav(100, riff, data, &[]);
            let out = read_through(&b);
            assert_eq!(out.len(), b.len());
            let (r, d) = sizes(&out);
            assert_eq!(d, 400, "{riff:?} {data:?}");
            assert!(r >= 436, "{riff:?} {data:?}: RIFF {r}");
            assert_eq!(out[44..], b[44..], "the samples are untouched");
        }
    }

    /// The data size right but the RIFF size 0 or short of it: the RIFF size is shown covering
    /// the data, which plays whole.
    #[test]
    fn a_riff_size_short_of_a_right_data_size_is_extended() {
        for riff in [0, 4, 100] {
            let b = wav(100, Some(riff), None, &[]);
            let out = read_through(&b);
            assert_eq!(sizes(&out), (436, 400), "RIFF {riff}");
            assert_eq!(
                out[8..],
                b[8..],
                "RIFF {riff}: only its size is shown otherwise"
            );
        }
    }

    #[test]
    fn a_cut_frame_at_the_end_is_left_out() {
        let mut b = wav(100, None, Some(u32::MAX), &[]);
        b.truncate(b.len() - 3); // 1 byte of the last frame left
        assert_eq!(sizes(&read_through(&b)).1, 396);
    }

    #[test]
    fn an_mp4_mdat_cut_short_ends_at_the_end_of_the_file() {
        let mut b = Vec::new();
        b.extend(16u32.to_be_bytes());
        b.extend(b"ftypM4A \0\0\0\0");
        b.extend(16u32.to_be_bytes());
        b.extend(b"moov12345678");
        b.extend(1000u32.to_be_bytes()); // mdat claims 1000 bytes, 108 are there
        b.extend(b"mdat");
        b.extend([7u8; 100]);
        let out = read_through(&b);
        assert_eq!(&out[32..36], &108u32.to_be_bytes());
        assert_eq!(out[36..], b[36..]);
        // Whole: untouched.
        let mut whole = b.clone();
        whole[32..36].copy_from_slice(&108u32.to_be_bytes());
        assert_eq!(read_through(&whole), whole);
        // A 64-bit size.
        let mut large = b[..32].to_vec();
        large.extend(1u32.to_be_bytes());
        large.extend(b"mdat");
        large.extend(5000u64.to_be_bytes());
        large.extend([7u8; 10]);
        assert_eq!(&read_through(&large)[40..48], &26u64.to_be_bytes());
    }

    #[test]
    fn not_a_wav_or_damaged_before_the_data_is_not_touched() {
        let mut c = Cursor::new(b"OggS\0\0\0\0\0\0\0\0\0\0".to_vec());
        assert!(patches(&mut c, 14).is_empty());
        // fmt claims to run past the end: no data chunk to find.
        let mut b = wav(10, None, None, &[]);
        b[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        let len = b.len() as u64;
        assert!(patches(&mut Cursor::new(b), len).is_empty());
    }
}
