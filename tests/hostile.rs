//! Hostile files (issue 15): every class either plays what is valid or fails with one clear line
//! naming the file and the reason; never a panic, never memory sized by an untrusted header.
//! (Empty, random and renamed-text files, and unreadable folders, are in tests/cli.rs.)

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(bin()).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Exit 0, or exit 1 with exactly one `rusty-audio:` line that names the file; never a panic.
/// True when it succeeded.
fn succeeded_or_said_why(o: &Output, path: &Path, what: &str) -> bool {
    let e = stderr(o);
    assert!(
        !e.contains("panicked") && !e.contains("internal error"),
        "{what}: panic: {e}"
    );
    assert!(
        !e.contains(" at src/"),
        "{what}: a panic in our own code, contained: {e}"
    );
    if o.status.success() {
        return true;
    }
    assert_eq!(o.status.code(), Some(1), "{what}: {e}");
    let lines: Vec<&str> = e
        .lines()
        .filter(|l| l.starts_with("rusty-audio:"))
        .collect();
    assert_eq!(lines.len(), 1, "{what}: one error line: {e}");
    assert!(
        lines[0].contains(p(path)),
        "{what}: names the file: {}",
        lines[0]
    );
    false
}

fn analyze_json(path: &Path) -> (Output, Option<serde_json::Value>) {
    let o = run(&["analyze", "--json", p(path)]);
    let v = o
        .status
        .success()
        .then(|| serde_json::from_slice(&o.stdout).unwrap());
    (o, v)
}

#[test]
fn truncated_files_of_every_format_play_what_is_there() {
    let dir = scratch("hostile_truncated");
    // An M4A with its index first (`-movflags +faststart`, as streaming services serve them).
    let faststart = dir.join("faststart_aac.m4a");
    let ok = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(media_file("prog_aac.m4a"))
        .args(["-c", "copy", "-movflags", "+faststart"])
        .arg(&faststart)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ffmpeg faststart remux");
    for name in [
        "faststart_aac.m4a",
        "prog.flac",
        "prog.mp3",
        "prog_s16.wav",
        "prog.ogg",
        "prog.opus",
        "prog_aac.m4a",
        "prog_alac.m4a",
    ] {
        let src = if name.starts_with("faststart") {
            faststart.clone()
        } else {
            media_file(name)
        };
        let bytes = std::fs::read(src).unwrap();
        let cut = dir.join(format!("cut_{name}"));
        // 37 %: inside a packet, not on any boundary.
        std::fs::write(&cut, &bytes[..bytes.len() * 37 / 100]).unwrap();
        let (o, v) = analyze_json(&cut);
        let played = succeeded_or_said_why(&o, &cut, name);
        if name.starts_with("prog") && name.ends_with(".m4a") && !played {
            // ffmpeg writes the MP4 index (`moov`) at the end: a cut file has no index, and no
            // player can find its samples. That must be said, by name.
            assert!(
                stderr(&o).contains("not a recognised") || stderr(&o).contains("malformed"),
                "{name}: {}",
                stderr(&o)
            );
            continue;
        }
        assert!(played, "{name}: {}", stderr(&o));
        let v = v.unwrap();
        let d = v["duration_s"].as_f64().unwrap();
        // The part that is there: some, not all (compressed formats are not uniform in rate: the
        // programme's silent second costs FLAC almost nothing).
        assert!(
            (1.0..19.0).contains(&d),
            "{name}: {d} s of 20 s at 37 % of the bytes"
        );
        // And it renders (the playback chain) to the same length.
        let out = dir.join(format!("cut_{name}.wav"));
        let o = run(&["render", p(&cut), p(&out)]);
        assert!(
            succeeded_or_said_why(&o, &cut, name),
            "{name}: render: {}",
            stderr(&o)
        );
        let frames = hound::WavReader::open(&out).unwrap().duration();
        let rate = v["sample_rate"].as_f64().unwrap();
        assert!(
            (f64::from(frames) / rate - d).abs() < 1e-6,
            "{name}: render {frames} frames vs analyze {d} s"
        );
    }
}

/// A 16-bit stereo WAV whose RIFF and data sizes are replaced by `riff` and `data` (None: kept),
/// with `extra` bytes (not a whole frame) appended.
fn wav_with_sizes(
    dir: &Path,
    name: &str,
    riff: Option<u32>,
    data: Option<u32>,
    extra: usize,
) -> PathBuf {
    let path = dir.join(name);
    write_wav_i16(&path, 8000, 2, &sine(8000, 2, 440.0, 0.5, 1.0));
    let mut bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[36..40], b"data", "hound writes a 44-byte header");
    if let Some(r) = riff {
        bytes[4..8].copy_from_slice(&r.to_le_bytes());
    }
    if let Some(d) = data {
        bytes[40..44].copy_from_slice(&d.to_le_bytes());
    }
    bytes.extend(std::iter::repeat_n(0x55, extra));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn wav_sizes_that_overrun_the_file_play_the_audio_there_as_ffmpeg_does() {
    let dir = scratch("hostile_wav_sizes");
    for (name, riff, data, extra) in [
        ("data_overruns.wav", None, Some(1_000_000), 0),
        ("both_4gib.wav", Some(0xFFFF_FF00), Some(0xFFFF_FFF0), 0),
        ("streaming.wav", Some(u32::MAX), Some(u32::MAX), 0),
        ("never_filled.wav", Some(0), Some(0), 0),
        ("data_zero.wav", None, Some(0), 0),
        ("riff_zero.wav", Some(0), None, 0),
        ("crashed_mid_frame.wav", Some(u32::MAX), Some(u32::MAX), 3),
    ] {
        let path = wav_with_sizes(&dir, name, riff, data, extra);
        let (o, v) = analyze_json(&path);
        assert!(
            succeeded_or_said_why(&o, &path, name),
            "{name}: {}",
            stderr(&o)
        );
        assert_eq!(v.unwrap()["frames"], 8000, "{name}");
        // Sample for sample what ffmpeg decodes (a partial last frame is left out by both).
        let out = dir.join(format!("{name}.render.wav"));
        let o = run(&["render", p(&path), p(&out)]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let ours: Vec<f32> = hound::WavReader::open(&out)
            .unwrap()
            .samples::<f32>()
            .map(Result::unwrap)
            .collect();
        let theirs = ffmpeg_decode(&path);
        assert_eq!(ours.len(), theirs.len(), "{name}: length against ffmpeg");
        assert!(ours == theirs, "{name}: samples differ from ffmpeg's");
    }
    // The file on disk is untouched.
    let bytes = std::fs::read(dir.join("streaming.wav")).unwrap();
    assert_eq!(&bytes[40..44], &u32::MAX.to_le_bytes());
}

#[test]
fn a_zero_length_data_chunk_says_there_is_no_audio() {
    let dir = scratch("hostile_zero_data");
    let path = dir.join("zero.wav");
    write_wav_i16(&path, 8000, 1, &[]);
    for cmd in [&["analyze"][..], &["render"][..]] {
        let mut args = cmd.to_vec();
        args.push(p(&path));
        let out = dir.join("zero.out.wav");
        if cmd[0] == "render" {
            args.push(p(&out));
        }
        let o = run(&args);
        assert!(
            !succeeded_or_said_why(&o, &path, cmd[0]),
            "{cmd:?} of no audio succeeded"
        );
        assert!(stderr(&o).contains("no audio"), "{cmd:?}: {}", stderr(&o));
    }
}

/// Overwrite `len` little-endian bytes at `at` in a copy of a good WAV.
fn wav_field(dir: &Path, name: &str, at: usize, value: u32, len: usize) -> PathBuf {
    let path = dir.join(name);
    write_wav_i16(&path, 8000, 2, &sine(8000, 2, 440.0, 0.5, 0.5));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[at..at + len].copy_from_slice(&value.to_le_bytes()[..len]);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn absurd_header_fields_fail_with_a_reason_and_bounded_memory() {
    let dir = scratch("hostile_absurd");
    // fmt chunk: channels at 22 (u16), rate at 24 (u32), byte rate 28, block align 32 (u16),
    // bits 34 (u16).
    let cases = [
        wav_field(&dir, "rate0.wav", 24, 0, 4),
        wav_field(&dir, "rate4g.wav", 24, u32::MAX, 4),
        wav_field(&dir, "channels0.wav", 22, 0, 2),
        wav_field(&dir, "channels65535.wav", 22, 65_535, 2),
        wav_field(&dir, "bits0.wav", 34, 0, 2),
        wav_field(&dir, "bits255.wav", 34, 255, 2),
        wav_field(&dir, "align0.wav", 32, 0, 2),
        wav_field(&dir, "align65535.wav", 32, 65_535, 2),
    ];
    for path in &cases {
        for cmd in ["analyze", "render"] {
            let out = dir.join("out.wav");
            let (o, peak) = if cmd == "render" {
                run_with_peak_rss(&[cmd, p(path), p(&out)])
            } else {
                run_with_peak_rss(&[cmd, p(path)])
            };
            // Some of these are still decodable (symphonia derives what it needs); either way,
            // no panic and one line when not, and nothing sized by the absurd field.
            succeeded_or_said_why(&o, path, &format!("{cmd} {}", path.display()));
            assert!(peak < 100.0, "{cmd} {}: {peak:.0} MiB", path.display());
        }
    }
    // A FLAC whose STREAMINFO claims 2^36 − 1 frames (about 18 days at 44.1 kHz) but holds 20 s:
    // the decoded length is what counts, and nothing is sized by the claim.
    let flac = dir.join("claims_forever.flac");
    let mut bytes = std::fs::read(media_file("prog.flac")).unwrap();
    assert_eq!(&bytes[..4], b"fLaC");
    // STREAMINFO body at 8: total samples are the low 36 bits of bytes 21..26 (4 bits + 4 bytes).
    bytes[21] |= 0x0F;
    bytes[22..26].copy_from_slice(&[0xFF; 4]);
    std::fs::write(&flac, &bytes).unwrap();
    let (o, peak) = run_with_peak_rss(&["analyze", "--json", p(&flac)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["frames"], 882_000);
    assert!(peak < 100.0, "{peak:.0} MiB for a claim of 2^36 frames");
}

/// An ID3v2.3 tag holding one APIC (front cover) frame with `picture` as its data.
fn id3_with_picture(picture: &[u8]) -> Vec<u8> {
    let mut frame = vec![0u8]; // ISO-8859-1
    frame.extend(b"image/jpeg\0");
    frame.push(3); // front cover
    frame.push(0); // empty description
    frame.extend(picture);
    let mut body = b"APIC".to_vec();
    body.extend(u32::try_from(frame.len()).unwrap().to_be_bytes());
    body.extend([0, 0]);
    body.extend(frame);
    let n = u32::try_from(body.len()).unwrap();
    let syncsafe = [
        (n >> 21) as u8 & 0x7F,
        (n >> 14) as u8 & 0x7F,
        (n >> 7) as u8 & 0x7F,
        n as u8 & 0x7F,
    ];
    let mut tag = b"ID3\x03\x00\x00".to_vec();
    tag.extend(syncsafe);
    tag.extend(body);
    tag
}

/// `prog.mp3` with its own ID3v2 tag replaced by `tag`.
fn mp3_with_tag(dir: &Path, name: &str, tag: &[u8]) -> PathBuf {
    let mp3 = std::fs::read(media_file("prog.mp3")).unwrap();
    assert_eq!(&mp3[..3], b"ID3");
    let old = 10
        + mp3[6..10]
            .iter()
            .fold(0usize, |a, &b| (a << 7) | usize::from(b));
    let path = dir.join(name);
    let mut out = tag.to_vec();
    out.extend(&mp3[old..]);
    std::fs::write(&path, out).unwrap();
    path
}

/// This process's peak resident set (VmHWM), in MiB.
fn own_peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb / 1024.0
}

/// A PNG whose header claims `w` × `h` 8-bit RGBA pixels, with no pixel data after it (a
/// decoder that trusts the header allocates w·h·4 bytes before finding out).
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 6, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(13u32.to_be_bytes());
    png.extend(&ihdr);
    png.extend(crc32(&ihdr).to_be_bytes());
    png
}

#[test]
fn enormous_and_bombing_covers_are_left_out_and_the_file_plays() {
    use rusty_audio::decode::{AudioSource, CoverArt};
    use rusty_audio::ui::scanner::{decode_cover, COVER_PX};
    let dir = scratch("hostile_covers");
    // A 50 MB embedded picture: the file plays, the picture is not taken.
    let mut big = vec![0xFF, 0xD8, 0xFF, 0xE0];
    big.resize(50 << 20, 0x5A);
    let mp3 = mp3_with_tag(&dir, "big_cover.mp3", &id3_with_picture(&big));
    drop(big);
    let (o, v) = analyze_json(&mp3);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(v.unwrap()["frames"], 882_000);
    let mut src = AudioSource::open(&mp3).unwrap();
    assert!(src.tags(true).1.is_none(), "a 50 MB picture is not a cover");
    drop(src);
    // A small real cover is taken and shrunk.
    let mut png = Vec::new();
    image::DynamicImage::new_rgb8(1000, 600)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let mp3 = mp3_with_tag(&dir, "cover.mp3", &id3_with_picture(&png));
    let cover = AudioSource::open(&mp3)
        .unwrap()
        .tags(true)
        .1
        .expect("the cover");
    let img = decode_cover(&cover).expect("decodes");
    assert_eq!(img.size[0].max(img.size[1]), COVER_PX as usize);
    // A picture whose header claims 30 000 × 30 000 RGBA (3.6 GB): refused by its header,
    // before anything that size is allocated.
    let before = own_peak_rss_mib();
    for (w, h) in [(30_000, 30_000), (8192, 8193), (100_000, 10)] {
        let bomb = CoverArt {
            media_type: Some("image/png".into()),
            data: png_claiming(w, h).into(),
        };
        assert!(decode_cover(&bomb).is_none(), "{w}×{h}");
    }
    let grew = own_peak_rss_mib() - before;
    assert!(
        grew < 200.0,
        "decoding the bombs raised the peak by {grew:.0} MiB"
    );
    // A real 6000 × 6000 RGBA picture (144 MB decoded, 0.1 MB as PNG): over the decoder's
    // allocation bound, so not shown (image's own default would decode it).
    let mut png = Vec::new();
    image::DynamicImage::new_rgba8(6000, 6000)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    assert!(png.len() < 4 << 20, "{} bytes", png.len());
    let bomb = CoverArt {
        media_type: Some("image/png".into()),
        data: png.into(),
    };
    assert!(decode_cover(&bomb).is_none(), "6000² RGBA");
}

/// An ID3v2.3 tag with one text frame `id` holding `text` (ISO-8859-1), its size as given.
fn id3_text(id: &[u8; 4], text: &[u8], claimed: Option<u32>) -> Vec<u8> {
    let mut frame = vec![0u8];
    frame.extend(text);
    let mut body = id.to_vec();
    body.extend(
        claimed
            .unwrap_or(u32::try_from(frame.len()).unwrap())
            .to_be_bytes(),
    );
    body.extend([0, 0]);
    body.extend(frame);
    let n = u32::try_from(body.len()).unwrap();
    let mut tag = b"ID3\x03\x00\x00".to_vec();
    tag.extend([
        (n >> 21) as u8 & 0x7F,
        (n >> 14) as u8 & 0x7F,
        (n >> 7) as u8 & 0x7F,
        n as u8 & 0x7F,
    ]);
    tag.extend(body);
    tag
}

#[test]
fn enormous_and_corrupt_tags_are_cut_or_skipped_and_the_file_plays() {
    use rusty_audio::decode::tags::MAX_TAG_CHARS;
    use rusty_audio::decode::AudioSource;
    let dir = scratch("hostile_tags");
    // A 5 MB title: kept to MAX_TAG_CHARS.
    let mp3 = mp3_with_tag(
        &dir,
        "long_title.mp3",
        &id3_text(b"TIT2", &vec![b'a'; 5 << 20], None),
    );
    let (tags, _) = AudioSource::open(&mp3).unwrap().tags(false);
    assert_eq!(tags.title.map(|t| t.chars().count()), Some(MAX_TAG_CHARS));
    // A frame claiming 2 GB inside a small tag, and one claiming less than its header: the tag
    // is damaged, the audio is not.
    for (name, claimed) in [("frame_2gb.mp3", 0x7FFF_FFF0u32), ("frame_0.mp3", 0)] {
        let mp3 = mp3_with_tag(&dir, name, &id3_text(b"TIT2", b"title", Some(claimed)));
        let (o, peak) = run_with_peak_rss(&["analyze", "--json", p(&mp3)]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["frames"], 882_000, "{name}");
        assert!(peak < 100.0, "{name}: {peak:.0} MiB");
    }
}
