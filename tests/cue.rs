//! Cue sheet tracks played through the real engine (decoder thread, ring, markers, render
//! function; `render SHEET.cue OUT.wav` and the offline engine): consecutive tracks join
//! bit-identically to the whole file, at its rate and resampled; a track alone is exactly its
//! range of source frames; seeks are relative to the track; a seek past a track's end goes on
//! with the next; the sheet's `REM REPLAYGAIN_*` gains are the ones applied.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

use rusty_audio::engine::{Engine, EngineConfig, QueueItem};
use rusty_audio::library::entries::entries_of;
use rusty_audio::library::files::AUDIO_EXTENSIONS;

const RATE: u32 = 44_100;

/// A 12 s stereo chirp with a little noise: every sample differs, so any dropped, repeated or
/// shifted frame shows.
fn material() -> Vec<f32> {
    let n = 12 * RATE as usize;
    let mut seed = 0x1234_5678u32;
    let mut out = Vec::with_capacity(n * 2);
    for i in 0..n {
        let t = i as f64 / f64::from(RATE);
        let phase = 2.0 * std::f64::consts::PI * (100.0 * t + 150.0 * t * t);
        for c in 0..2 {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (f64::from(seed >> 8) / f64::from(1u32 << 24) - 0.5) * 0.02;
            let s = (phase + c as f64).sin() * 0.4 + noise;
            out.push(s as f32);
        }
    }
    out
}

/// Three tracks, none starting on a FLAC block boundary (4096 frames): 00:00:00, 00:02:37
/// (109 956), 00:07:01 (309 288); the second with its own gain, the album gain for all.
const SHEET: &str = "PERFORMER \"Band\"\nTITLE \"Whole\"\n\
REM REPLAYGAIN_ALBUM_GAIN -3.00 dB\n\
FILE \"whole.flac\" WAVE\n\
  TRACK 01 AUDIO\n    TITLE \"One\"\n    REM REPLAYGAIN_TRACK_GAIN -6.00 dB\n    INDEX 01 00:00:00\n\
  TRACK 02 AUDIO\n    TITLE \"Two\"\n    REM REPLAYGAIN_TRACK_GAIN 0.00 dB\n    INDEX 01 00:02:37\n\
  TRACK 03 AUDIO\n    TITLE \"Three\"\n    REM REPLAYGAIN_TRACK_GAIN -1.50 dB\n    INDEX 01 00:07:01\n";
const STARTS: [usize; 3] = [0, 109_956, 309_288];

/// The image and its sheet in a fresh folder (needs flac).
fn album(tag: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = scratch(tag);
    let audio = flac_file(&dir, "whole.flac", RATE, &material(), &[]);
    let sheet = dir.join("whole.cue");
    std::fs::write(&sheet, SHEET).unwrap();
    (dir, audio, sheet)
}

use common::render_queue as render;

fn no_flac(test: &str) -> bool {
    skip_unless(test, have("flac"), "flac (Debian: flac)")
}

#[test]
fn a_sheet_renders_bit_identical_to_its_whole_file() {
    if no_flac("a_sheet_renders_bit_identical_to_its_whole_file") {
        return;
    }
    let (dir, audio, sheet) = album("cue_bit_identical");
    for rate in [None, Some("48000")] {
        let args: Vec<&str> = rate.map_or(vec![], |r| vec!["--rate", r]);
        let whole = render(&dir, "whole.wav", &[&audio], &args);
        let tracks = render(&dir, "tracks.wav", &[&sheet], &args);
        assert_eq!(whole.len(), tracks.len(), "rate {rate:?}: same length");
        let first_diff = whole.iter().zip(&tracks).position(|(a, b)| a != b);
        assert_eq!(first_diff, None, "rate {rate:?}: bit-identical");
        assert!(whole.iter().any(|&x| x.abs() > 0.3), "there is audio");
    }
    // Album gain applies to every track alike: still the whole file, at −3 dB.
    let whole = render(&dir, "whole.wav", &[&audio], &[]);
    let gained = render(&dir, "album.wav", &[&sheet], &["--replaygain", "album"]);
    let g = 10f64.powf(-3.0 / 20.0);
    let worst = whole
        .iter()
        .zip(&gained)
        .map(|(&a, &b)| (f64::from(a) * g - f64::from(b)).abs())
        .fold(0.0, f64::max);
    assert_eq!(whole.len(), gained.len());
    assert!(worst < 1e-6, "album gain from the sheet: off by {worst}");
}

#[test]
fn each_track_plays_at_its_own_gain_from_the_sheet() {
    if no_flac("each_track_plays_at_its_own_gain_from_the_sheet") {
        return;
    }
    let (dir, audio, sheet) = album("cue_track_gain");
    let whole = render(&dir, "whole.wav", &[&audio], &[]);
    let gained = render(&dir, "track.wav", &[&sheet], &["--replaygain", "track"]);
    assert_eq!(whole.len(), gained.len());
    // Past each join's 10 ms gain ramp, every sample is the whole file's at that track's gain.
    let ramp = (RATE / 100) as usize + 1;
    let ends = [STARTS[1], STARTS[2], whole.len() / 2];
    for (i, db) in [-6.0f64, 0.0, -1.5].into_iter().enumerate() {
        let from = if i == 0 { 0 } else { STARTS[i] + ramp };
        let g = 10f64.powf(db / 20.0);
        let worst = (from * 2..ends[i] * 2)
            .map(|k| (f64::from(whole[k]) * g - f64::from(gained[k])).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-6, "track {}: off by {worst} from {db} dB", i + 1);
    }
}

/// An offline engine at the file's rate, transparent chain.
fn engine() -> Engine {
    let cfg = EngineConfig {
        limiter: false,
        ..EngineConfig::default()
    };
    Engine::offline(RATE, 2, &cfg)
}

/// Render until the queue ends; frames after the end are dropped.
fn render_all(e: &mut Engine) -> Vec<f32> {
    let mut out = Vec::new();
    let mut buf = vec![0.0f32; 1024 * 2];
    while e.render_offline(&mut buf) {
        out.extend_from_slice(&buf);
    }
    out.extend_from_slice(&buf);
    out
}

#[test]
fn a_track_alone_is_exactly_its_range_and_seeks_are_relative_to_it() {
    if no_flac("a_track_alone_is_exactly_its_range_and_seeks_are_relative_to_it") {
        return;
    }
    let (_dir, audio, sheet) = album("cue_range");
    let (reference, ch, _) = our_decode(&audio);
    assert_eq!(ch, 2);
    let (entries, errors) = entries_of(&[sheet], AUDIO_EXTENSIONS);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(entries.len(), 3);
    let two = &entries[1];
    assert_eq!(
        (two.start_frame, two.end_frame),
        (STARTS[1] as u64, Some(STARTS[2] as u64))
    );

    // Track 2 alone: exactly frames 109 956..309 288, then silence.
    let mut e = engine();
    e.set_queue_items(vec![QueueItem::from(two)]);
    e.play_track(0);
    let out = render_all(&mut e);
    let range = &reference[STARTS[1] * 2..STARTS[2] * 2];
    assert_eq!(&out[..range.len()], range, "track 2 is its range");
    assert!(
        out[range.len()..].iter().all(|&x| x == 0.0),
        "and ends there"
    );

    // A seek is counted from the track's start (past the 5 ms fade-in, exact).
    let mut e = engine();
    e.set_queue_items(entries.iter().map(QueueItem::from).collect());
    e.play_from(1, 1000);
    let mut buf = vec![0.0f32; 2048 * 2];
    e.render_offline(&mut buf);
    let fade = (RATE / 200) as usize * 2;
    let at = (STARTS[1] + 1000) * 2;
    assert_eq!(&buf[fade..], &reference[at + fade..at + buf.len()]);
    let (track, s) = e.position().expect("playing");
    assert_eq!(track, 1);
    assert!(
        (s - (1000.0 + 2048.0) / f64::from(RATE)).abs() < 1e-3,
        "position within the track: {s}"
    );

    // A seek past the track's end lands on the next track's start.
    e.play_from(0, 10 * u64::from(RATE));
    e.render_offline(&mut buf);
    let at = STARTS[1] * 2;
    assert_eq!(&buf[fade..], &reference[at + fade..at + buf.len()]);
    assert_eq!(e.position().map(|p| p.0), Some(1), "now in track 2");

    // Played from track 2 to the end: the rest of the file, bit for bit, positions per track.
    e.play_track(1);
    let out = render_all(&mut e);
    let rest = &reference[STARTS[1] * 2..];
    assert_eq!(&out[..rest.len()], rest);
}

/// `list --json` of `path`.
fn list_json(path: &Path) -> Vec<serde_json::Value> {
    let o = Command::new(bin())
        .args(["list", "--json"])
        .arg(path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice::<serde_json::Value>(&o.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_flac_carrying_its_sheet_splits_into_its_tracks() {
    if skip_unless(
        "a_flac_carrying_its_sheet_splits_into_its_tracks",
        have("flac") && have("metaflac"),
        "flac, metaflac",
    ) {
        return;
    }
    let (dir, audio, sheet) = album("cue_embedded");
    let whole = render(&dir, "whole.wav", &[&audio], &[]);
    // A CUESHEET block (metaflac writes it from the sheet; it keeps no names or gains), and
    // then also a CUESHEET tag (the sheet's text, names and gains and all), which wins.
    let block = dir.join("block.flac");
    std::fs::copy(&audio, &block).unwrap();
    let ok = Command::new("metaflac")
        .arg(format!("--import-cuesheet-from={}", sheet.display()))
        .arg(&block)
        .status()
        .unwrap()
        .success();
    assert!(ok, "metaflac imports the sheet");
    let tagged = dir.join("tagged.flac");
    std::fs::copy(&block, &tagged).unwrap();
    let ok = Command::new("metaflac")
        .arg(format!("--set-tag-from-file=CUESHEET={}", sheet.display()))
        .arg(&tagged)
        .status()
        .unwrap()
        .success();
    assert!(ok, "metaflac embeds the sheet's text");
    std::fs::remove_file(&sheet).unwrap(); // nothing beside them now

    for (file, titles) in [
        (&block, [None, None, None]),
        (&tagged, [Some("One"), Some("Two"), Some("Three")]),
    ] {
        let v = list_json(file);
        let got: Vec<(u64, Option<&str>, Option<u64>)> = v
            .iter()
            .map(|e| {
                (
                    e["start_frame"].as_u64().unwrap(),
                    e["title"].as_str(),
                    e["cue_track"].as_u64(),
                )
            })
            .collect();
        let want: Vec<_> = STARTS
            .iter()
            .zip(titles)
            .enumerate()
            .map(|(i, (&s, t))| (s as u64, t, Some(i as u64 + 1)))
            .collect();
        assert_eq!(got, want, "{}", file.display());
        assert_eq!(v[2]["end_frame"], serde_json::Value::Null);
        // Played as tracks: the whole file still, bit for bit.
        let tracks = render(&dir, "split.wav", &[file.as_path()], &[]);
        assert_eq!(tracks, whole, "{}", file.display());
    }
    // The tag's gains are the tracks' own.
    let gained = render(&dir, "gained.wav", &[&tagged], &["--replaygain", "track"]);
    let g = 10f64.powf(-6.0 / 20.0);
    let worst = (0..STARTS[1] * 2)
        .map(|k| (f64::from(whole[k]) * g - f64::from(gained[k])).abs())
        .fold(0.0, f64::max);
    assert!(
        worst < 1e-6,
        "track 1 at −6 dB from the embedded sheet: {worst}"
    );
}
