//! Tags, cover art and waveform overviews of real files made by ffmpeg, read the way the app's
//! background scanner reads them.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rusty_audio::analysis::overview::Overview;
use rusty_audio::decode::AudioSource;
use rusty_audio::ui::scanner::{decode_cover, Found, Scanner, COVER_PX};

/// A 3 s stereo tone with title/artist/album and (if `cover`) a 400×300 attached picture.
fn tagged(dir: &Path, name: &str, codec_args: &[&str], cover: bool) -> PathBuf {
    let out = dir.join(name);
    let mut cmd = Command::new("ffmpeg");
    cmd.args([
        "-y",
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=3",
    ]);
    if cover {
        cmd.args(["-f", "lavfi", "-i", "testsrc=size=400x300:duration=1"]);
        cmd.args([
            "-map",
            "0",
            "-map",
            "1",
            "-frames:v",
            "1",
            "-c:v",
            "mjpeg",
            "-disposition:v",
            "attached_pic",
        ]);
    }
    cmd.args(["-ac", "2"]).args(codec_args).args([
        "-metadata",
        "title=Tone Poem",
        "-metadata",
        "artist=The Sines",
        "-metadata",
        "album=Waveforms",
        "-metadata",
        "track=7",
    ]);
    let st = cmd.arg(&out).status().expect("ffmpeg runs");
    assert!(st.success(), "ffmpeg made {name}");
    out
}

#[test]
fn tags_and_covers_from_flac_mp3_and_m4a() {
    let dir = scratch("tags_formats");
    let files = [
        tagged(&dir, "t.flac", &[], true),
        tagged(&dir, "t.mp3", &["-id3v2_version", "3"], true),
        tagged(&dir, "t.m4a", &["-c:a", "aac"], true),
        tagged(&dir, "t.ogg", &["-c:a", "libvorbis"], false),
    ];
    for f in &files {
        let mut src = AudioSource::open(f).unwrap();
        let (tags, cover) = src.tags(true);
        assert_eq!(tags.title.as_deref(), Some("Tone Poem"), "{}", f.display());
        assert_eq!(tags.artist.as_deref(), Some("The Sines"), "{}", f.display());
        assert_eq!(tags.album.as_deref(), Some("Waveforms"), "{}", f.display());
        let is_ogg = f.extension().unwrap() == "ogg";
        if is_ogg {
            assert!(cover.is_none());
        } else {
            let img = decode_cover(&cover.unwrap_or_else(|| panic!("{}: cover", f.display())))
                .expect("the JPEG decodes");
            // Shrunk to COVER_PX on the long side, aspect kept (400×300 → 256×192).
            assert_eq!(img.size, [COVER_PX as usize, 192], "{}", f.display());
        }
    }
}

#[test]
fn untagged_files_have_no_tags_and_no_cover() {
    let mut src = AudioSource::open(&media_file("prog_s16.wav")).unwrap();
    let (tags, cover) = src.tags(true);
    assert_eq!(tags, Default::default());
    assert!(cover.is_none());
}

#[test]
fn overview_matches_the_decoded_signal() {
    // 2 s of silence then 2 s of a 0.5 tone: the overview is flat, then ±0.5.
    let dir = scratch("tags_overview");
    let p = dir.join("half.wav");
    let mut s = vec![0.0f32; 2 * 48_000 * 2];
    s.extend(sine(48_000, 2, 500.0, 0.5, 2.0));
    write_wav_f32(&p, 48_000, 2, &s);
    let ov = Overview::of_file(&p, || false).unwrap().unwrap();
    assert_eq!(ov.total_frames, 4 * 48_000);
    assert!((ov.duration_s() - 4.0).abs() < 1e-9);
    let cols = ov.columns(40);
    assert!(cols[..19].iter().all(|&(lo, hi)| lo == 0.0 && hi == 0.0));
    assert!(cols[21..]
        .iter()
        .all(|&(lo, hi)| (hi - 0.5).abs() < 0.01 && (lo + 0.5).abs() < 0.01));
    // Cancelled before it starts: no overview.
    assert!(Overview::of_file(&p, || true).unwrap().is_none());
}

#[test]
fn scanner_reports_tags_failures_overview_and_cover() {
    let dir = scratch("tags_scanner");
    let good = tagged(&dir, "good.flac", &[], true);
    let bad = dir.join("bad.flac");
    std::fs::write(&bad, b"this is not audio at all").unwrap();
    let sc = Scanner::start();
    sc.tags(1, good.clone());
    sc.tags(2, bad.clone());
    sc.now_playing(1, good.into());
    let (mut tags, mut failed, mut overview, mut cover) = (false, false, false, false);
    while !(tags && failed && overview && cover) {
        match sc
            .wait(Duration::from_secs(60))
            .expect("the scanner answers")
        {
            Found::Tags {
                key,
                tags: t,
                duration_s,
                embedded,
            } => {
                assert_eq!(key, 1);
                assert!(embedded.is_empty(), "no sheet in it");
                assert_eq!(t.title.as_deref(), Some("Tone Poem"));
                assert!((duration_s.unwrap() - 3.0).abs() < 0.01);
                tags = true;
            }
            Found::Unplayable { key, error } => {
                assert_eq!(key, 2);
                assert!(error.contains("bad.flac"), "{error}");
                failed = true;
            }
            Found::Overview { key, overview: o } => {
                assert_eq!(key, 1);
                assert!((o.duration_s() - 3.0).abs() < 0.01);
                overview = true;
            }
            Found::Cover { key, image, file } => {
                assert_eq!(key, 1);
                assert!(image.is_some());
                // Written to the cache for the desktop's media controls (mpris:artUrl).
                assert!(file.as_ref().is_some_and(|f| f.is_file()), "{file:?}");
                cover = true;
            }
        }
    }
}
