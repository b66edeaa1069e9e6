//! Ogg Opus (libopus through `decode::opus`): decoded like opusdec (libopus' own reference
//! player), exact length after the pre-skip and end trim, the header's output gain applied, seeks
//! exact (320 ms pre-roll), surround channels in place, gapless between tracks.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

use rusty_audio::decode::AudioSource;

fn skip_without_opusdec(test: &str) -> bool {
    skip_unless(test, have("opusdec"), "opusdec (opus-tools)")
}

/// opusdec's float decode at 48 kHz (it applies the pre-skip, the end trim and the output gain).
fn opusdec(path: &Path) -> Vec<f32> {
    let out = path.with_extension("opusdec.wav");
    let o = Command::new("opusdec")
        .args(["--quiet", "--float", "--rate", "48000"])
        .arg(path)
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "opusdec: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    read_wav_f32(&out)
}

/// Encode interleaved float samples (48 kHz) to Ogg Opus with ffmpeg's libopus.
fn encode(dir: &Path, name: &str, channels: u16, samples: &[f32], extra: &[&str]) -> PathBuf {
    let wav = dir.join(format!("{name}.wav"));
    write_wav_f32(&wav, 48_000, channels, samples);
    let out = dir.join(format!("{name}.opus"));
    let ok = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(&wav)
        .args(["-c:a", "libopus", "-b:a", "256k"])
        .args(extra)
        .arg(&out)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ffmpeg libopus encode of {name}");
    out
}

fn decode_all(path: &Path) -> (Vec<f32>, usize) {
    let (v, ch, rate) = our_decode(path);
    assert_eq!(rate, 48_000);
    (v, ch)
}

#[test]
fn decodes_like_opusdec_with_the_exact_length() {
    if skip_without_opusdec("decodes_like_opusdec_with_the_exact_length") {
        return;
    }
    let path = media_file("prog.opus");
    let (ours, ch) = decode_all(&path);
    assert_eq!(ch, 2);
    // The 20 s programme, resampled to 48 kHz by the encoder: exactly 960 000 frames once the
    // pre-skip (312) and the last page's padding are trimmed.
    assert_eq!(ours.len() / ch, 960_000);
    let reference = opusdec(&path);
    assert_eq!(reference.len(), ours.len(), "opusdec's length");
    // The same library decodes both: anything but float rounding would be a misalignment or a
    // missed trim (one frame off scores near 0 dB on this programme).
    let snr = snr_db(&reference, &ours);
    assert!(snr > 100.0, "SNR against opusdec {snr:.1} dB");
    // And the info the player shows.
    let src = AudioSource::open(&path).unwrap();
    assert_eq!(src.info().codec, "opus");
    assert_eq!(src.info().declared_frames, Some(960_000));
}

/// An Ogg page's CRC (RFC 3533: CRC-32, polynomial 0x04c11db7, no reflection, initial 0, over
/// the page with its CRC field zeroed).
fn ogg_crc(page: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &b in page {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The file with the OpusHead's output gain set to `q78` (Q7.8 dB) and the first page's CRC
/// recomputed.
fn with_output_gain(src: &Path, out: &Path, q78: i16) {
    let mut bytes = std::fs::read(src).unwrap();
    assert_eq!(&bytes[..4], b"OggS");
    let segments = usize::from(bytes[26]);
    let body = 27 + segments;
    let page_len = body
        + bytes[27..body]
            .iter()
            .map(|&s| usize::from(s))
            .sum::<usize>();
    assert_eq!(&bytes[body..body + 8], b"OpusHead");
    bytes[body + 16..body + 18].copy_from_slice(&q78.to_le_bytes());
    bytes[22..26].fill(0);
    let crc = ogg_crc(&bytes[..page_len]);
    bytes[22..26].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(out, bytes).unwrap();
}

#[test]
fn the_headers_output_gain_is_applied() {
    if skip_without_opusdec("the_headers_output_gain_is_applied") {
        return;
    }
    let dir = scratch("opus_gain");
    let plain = media_file("prog.opus");
    let (base, _) = decode_all(&plain);
    for q78 in [-6 * 256, 3 * 256 + 128] {
        let gained = dir.join(format!("gain{q78}.opus"));
        with_output_gain(&plain, &gained, q78);
        let (ours, _) = decode_all(&gained);
        let factor = 10f64.powf(f64::from(q78) / 5120.0);
        let expect: Vec<f32> = base
            .iter()
            .map(|&x| (f64::from(x) * factor) as f32)
            .collect();
        let snr = snr_db(&expect, &ours);
        assert!(
            snr > 100.0,
            "gain {q78}/256 dB: SNR {snr:.1} dB against the scaled decode"
        );
        // opusdec applies the header gain too.
        let snr = snr_db(&opusdec(&gained), &ours);
        assert!(
            snr > 100.0,
            "gain {q78}/256 dB: SNR {snr:.1} dB against opusdec"
        );
    }
}

#[test]
fn seeks_are_exact_with_preroll() {
    let path = media_file("prog.opus");
    let (all, ch) = decode_all(&path);
    check_seeks(&path, &all, ch);
    // Near the end: exactly what is left.
    let mut src = AudioSource::open(&path).unwrap();
    src.seek(959_000).unwrap();
    let mut got = Vec::new();
    while src.read(&mut got).unwrap() > 0 {}
    assert_eq!(got.len(), 1000 * ch, "the last 1000 frames");
    let snr = snr_db(&all[959_000 * ch..], &got);
    assert!(
        snr > 50.0,
        "the last 1000 frames (fading out, so quieter): SNR {snr:.1} dB"
    );
    // Past the end: nothing, no error.
    let mut src = AudioSource::open(&path).unwrap();
    src.seek(2_000_000).unwrap();
    let mut got = Vec::new();
    assert_eq!(src.read(&mut got).unwrap(), 0);
}

/// Seeks into `path` read what the straight decode `all` has there.
fn check_seeks(path: &Path, all: &[f32], ch: usize) {
    // 0 and the first packet (inside the pre-skip's shadow), odd frames, across page ends.
    for target in [0u64, 1, 311, 960, 123_457, 480_000, 700_001, 900_000] {
        let mut src = AudioSource::open(&path).unwrap();
        src.seek(target).unwrap();
        let mut got = Vec::new();
        while got.len() < 4096 * ch && src.read(&mut got).unwrap() > 0 {}
        let start = target as usize * ch;
        let n = got.len().min(4096 * ch).min(all.len() - start);
        assert_eq!(
            n,
            (4096 * ch).min(all.len() - start),
            "seek to {target}: short read"
        );
        // From the very first frame (no lead-in is skipped here): with the pre-roll the decoder
        // has converged by the target (75–115 dB here, by content). With RFC 7845's minimum
        // 80 ms this reads 28 dB; one frame off, under 25 dB.
        let snr = snr_db(&all[start..start + n], &got[..n]);
        assert!(
            snr > 70.0,
            "seek to {target}: SNR {snr:.1} dB against the linear decode"
        );
        assert_eq!(src.position(), target + (got.len() / ch) as u64);
    }
}

/// Matroska's timestamps are whole milliseconds: seeks into the first 320 ms (the pre-roll)
/// restart from the file's start and are exact, sample for sample.
fn check_matroska_seeks(path: &Path, all: &[f32], ch: usize) {
    let n = 4096;
    for target in [0u64, 1, 311, 960, 7_000] {
        let mut src = AudioSource::open(path).unwrap();
        src.seek(target).unwrap();
        let mut got = Vec::new();
        while got.len() < n * ch && src.read(&mut got).unwrap() > 0 {}
        let start = target as usize * ch;
        assert!(
            got[..n * ch] == all[start..start + n * ch],
            "{}: seek to {target} is not exact",
            path.display()
        );
    }
    // Later seeks are not exact: they land by Matroska's millisecond timestamps, measured off
    // by a millisecond and more (a named shortcut).
}

/// A copy of `src` at `out` with `patch` applied to the bytes from the first `tag` on.
fn patched_copy(src: &Path, out: &Path, tag: &[u8; 4], patch: impl FnOnce(&mut [u8])) -> PathBuf {
    let mut bytes = std::fs::read(src).unwrap();
    let at = bytes.windows(4).position(|w| w == tag).unwrap_or_else(|| {
        panic!(
            "no {} box in {}",
            String::from_utf8_lossy(tag),
            src.display()
        )
    });
    patch(&mut bytes[at..]);
    std::fs::write(out, bytes).unwrap();
    out.to_path_buf()
}

/// The same Opus packets remuxed (`ffmpeg -c copy`) into `ext`'s container.
fn remux(src: &Path, dir: &Path, ext: &str) -> PathBuf {
    let out = dir.join(format!("prog.{ext}"));
    let ok = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(src)
        .args(["-c", "copy"])
        .arg(&out)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ffmpeg remux to {ext}");
    out
}

#[test]
fn opus_in_webm_matroska_and_mp4_plays_like_ogg() {
    // The packets are the same, so the samples must be: the pre-skip dropped (Matroska keeps it
    // in the OpusHead and takes its CodecDelay off the timestamps; MP4 has an edit list and a
    // big-endian `dOps` box), MP4's seeks land on the same frames, and its output gain is read
    // in its own byte order.
    let dir = scratch("opus_containers");
    let ogg = media_file("prog.opus");
    let (all, ch) = decode_all(&ogg);
    for ext in ["webm", "mka", "mp4"] {
        let path = remux(&ogg, &dir, ext);
        let (ours, c) = decode_all(&path);
        assert_eq!(c, ch);
        let frames = ours.len() / ch;
        if ext == "mp4" {
            assert_eq!(frames, 960_000, "{ext}: the edit list's length");
        } else {
            // Matroska's end trim (the last block's DiscardPadding) is not read by symphonia:
            // at most one Opus frame (20 ms) of padding remains (a named shortcut).
            assert!(
                (960_000..=960_000 + 960).contains(&frames),
                "{ext}: {frames} frames"
            );
        }
        assert!(
            ours[..all.len()] == all[..],
            "{ext}: the samples differ from the Ogg decode of the same packets"
        );
        if ext == "mp4" {
            check_seeks(&path, &all, ch);
        } else {
            check_matroska_seeks(&path, &all, ch);
        }
    }
    // MP4 without its edit list: the pre-skip then comes from the dOps box (big-endian).
    let mp4 = dir.join("prog.mp4");
    let no_edts = patched_copy(&mp4, &dir.join("no_edts.mp4"), b"edts", |b| {
        b[..4].copy_from_slice(b"free")
    });
    let (ours, _) = decode_all(&no_edts);
    assert!(
        ours.len() >= all.len() && ours[..all.len()] == all[..],
        "MP4 without an edit list: the dOps pre-skip (312) dropped"
    );
    check_seeks(&no_edts, &all, ch);
    // MP4's dOps output gain (big-endian Q7.8): −6 dB.
    let gained = patched_copy(&mp4, &dir.join("gained.mp4"), b"dOps", |b| {
        b[12..14].copy_from_slice(&(-6i16 * 256).to_be_bytes())
    });
    let (ours, _) = decode_all(&gained);
    let factor = 10f64.powf(-6.0 / 20.0);
    let expect: Vec<f32> = all
        .iter()
        .map(|&x| (f64::from(x) * factor) as f32)
        .collect();
    let snr = snr_db(&expect, &ours);
    assert!(snr > 100.0, "MP4 output gain −6 dB: SNR {snr:.1} dB");
}

#[test]
fn surround_channels_land_in_their_places() {
    // 5.1 (mapping family 1, Vorbis order L C R RL RR LFE inside the stream): a different tone on
    // each channel; after decoding, each plays on its own channel of our (WAVE) order
    // FL FR FC LFE BL BR.
    let dir = scratch("opus_51");
    let freqs = [300.0, 500.0, 700.0, 60.0, 1100.0, 1300.0]; // FL FR FC LFE BL BR
    let frames = 48_000;
    let mut pcm = vec![0f32; frames * 6];
    for (c, f) in freqs.iter().enumerate() {
        for i in 0..frames {
            pcm[i * 6 + c] =
                (0.3 * (2.0 * std::f64::consts::PI * f * i as f64 / 48_000.0).sin()) as f32;
        }
    }
    let path = encode(&dir, "surround", 6, &pcm, &["-mapping_family", "1"]);
    let src = AudioSource::open(&path).unwrap();
    assert_eq!(src.info().channels, 6);
    let (ours, ch) = decode_all(&path);
    assert_eq!(ours.len() / ch, frames, "exact length");
    for (c, f) in freqs.iter().enumerate() {
        let chan: Vec<f32> = ours.iter().skip(c).step_by(6).copied().collect();
        let want: Vec<f32> = pcm.iter().skip(c).step_by(6).copied().collect();
        // Middle of the second (away from the start's onset).
        let snr = snr_db(&want[8_000..40_000], &chan[8_000..40_000]);
        assert!(
            snr > 15.0,
            "channel {c} ({f} Hz): SNR {snr:.1} dB — in the wrong place?"
        );
    }
}

#[test]
fn two_opus_tracks_join_gaplessly() {
    let dir = scratch("opus_gapless");
    // A continuous tone cut at an odd frame: any gap, overlap or leftover pre-skip at the join is a
    // phase jump the error shows.
    let whole = sine(48_000, 2, 441.0, 0.5, 2.0);
    let cut = 48_001 * 2;
    let a = encode(&dir, "a", 2, &whole[..cut], &[]);
    let b = encode(&dir, "b", 2, &whole[cut..], &[]);
    let out = render_queue(&dir, "joined.wav", &[&a, &b], &[]);
    assert_eq!(out.len(), whole.len(), "exactly the two lengths");
    // Around the join (±10 ms) as clean as inside each track.
    let seam = snr_db(&whole[cut - 960..cut + 960], &out[cut - 960..cut + 960]);
    let inside = snr_db(&whole[40_000..60_000], &out[40_000..60_000]);
    assert!(inside > 30.0, "inside a track: {inside:.1} dB");
    assert!(
        seam > 25.0,
        "at the join: {seam:.1} dB (inside: {inside:.1} dB)"
    );
}

#[test]
fn analyze_and_play_accept_opus() {
    let path = media_file("prog.opus");
    let o = Command::new(bin())
        .args(["analyze", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let first = if v.is_array() { &v[0] } else { &v };
    assert_eq!(first["codec"], "opus", "{v}");
    assert!(
        (first["duration_s"].as_f64().unwrap() - 20.0).abs() < 1e-9,
        "{v}"
    );
}

/// A copy of the Ogg file `src` at `out` with every audio page's granule position raised by
/// `offset` and its CRC recomputed: a stream cut from a live broadcast or a longer recording,
/// whose first page does not start at granule 0 (RFC 7845 §4.5, RFC 3533).
fn with_granules_from(src: &Path, out: &Path, offset: i64) -> PathBuf {
    let mut bytes = std::fs::read(src).unwrap();
    let mut at = 0;
    let mut shifted = 0;
    while at < bytes.len() {
        assert_eq!(&bytes[at..at + 4], b"OggS", "a page at {at}");
        let segments = usize::from(bytes[at + 26]);
        let body = at + 27 + segments;
        let len = body - at
            + bytes[at + 27..body]
                .iter()
                .map(|&s| usize::from(s))
                .sum::<usize>();
        let granule = i64::from_le_bytes(bytes[at + 6..at + 14].try_into().unwrap());
        // Header pages (0) and pages where no packet ends (−1) keep theirs.
        if granule > 0 {
            bytes[at + 6..at + 14].copy_from_slice(&(granule + offset).to_le_bytes());
            shifted += 1;
        }
        bytes[at + 22..at + 26].fill(0);
        let crc = ogg_crc(&bytes[at..at + len]);
        bytes[at + 22..at + 26].copy_from_slice(&crc.to_le_bytes());
        at += len;
    }
    assert!(shifted > 10, "audio pages shifted: {shifted}");
    std::fs::write(out, bytes).unwrap();
    out.to_path_buf()
}

/// An Ogg stream that starts at a granule above 0 (cut from a stream) plays like the same
/// packets from 0: every sample, the same length, and seeks as exact. Vorbis too, which shares
/// the container.
#[test]
fn ogg_streams_starting_past_granule_zero_play_and_seek_alike() {
    let dir = scratch("ogg_granule_offset");
    let path = media_file("prog.opus");
    let (all, ch) = decode_all(&path);
    // 100 s in, and far past 2³² (a long-running broadcast).
    for offset in [4_800_000i64, 1 << 40] {
        let shifted = with_granules_from(&path, &dir.join(format!("from_{offset}.opus")), offset);
        let (got, got_ch) = decode_all(&shifted);
        assert_eq!(got_ch, ch);
        assert_eq!(got.len(), all.len(), "offset {offset}: the length");
        assert!(got == all, "offset {offset}: the samples");
        // The length the playlist shows before decoding: from the granules, less the offset.
        assert_eq!(
            AudioSource::open(&shifted).unwrap().info().declared_frames,
            Some(960_000),
            "offset {offset}: the declared length"
        );
        check_seeks(&shifted, &all, ch);
    }
    let vorbis = media_file("prog.ogg");
    let (all, ch, rate) = our_decode(&vorbis);
    let shifted = with_granules_from(&vorbis, &dir.join("from.ogg"), 4_800_000);
    let (got, got_ch, got_rate) = our_decode(&shifted);
    assert_eq!((got_ch, got_rate), (ch, rate));
    assert_eq!(got.len(), all.len(), "Vorbis: the length");
    assert!(got == all, "Vorbis: the samples");
    assert_eq!(
        AudioSource::open(&shifted).unwrap().info().declared_frames,
        Some((all.len() / ch) as u64),
        "Vorbis: the declared length"
    );
    // Seeks into the shifted file read what the same seeks into the original read (Vorbis seeks
    // are not sample-exact against a linear decode: the MDCT overlap), near the start too.
    let read_from = |path: &Path, target: u64| {
        let mut src = AudioSource::open(path).unwrap();
        src.seek(target).unwrap();
        let mut read = Vec::new();
        while read.len() < 8192 * ch && src.read(&mut read).unwrap() > 0 {}
        assert_eq!(src.position(), target + (read.len() / ch) as u64);
        read
    };
    for target in [0u64, 1, 4_410, 123_457, 700_001] {
        let want = read_from(&vorbis, target);
        assert!(want.len() >= 8192 * ch, "seek to {target} in the original");
        assert!(
            read_from(&shifted, target) == want,
            "Vorbis: seek to {target} reads otherwise"
        );
    }
}
