//! `rusty-audio list`: playlist entries from files, folders and cue sheets (real FLAC files,
//! sheets as rippers write them): exact start frames (frames × rate / 75), end frames chained,
//! names from the sheet, a wrong FILE extension tolerated, a sheet found beside its audio file,
//! broken sheets named with their line.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

fn flac(dir: &Path, name: &str, seconds: f64) -> PathBuf {
    flac_file(
        dir,
        name,
        44_100,
        &sine(44_100, 2, 440.0, 0.1, seconds),
        &[],
    )
}

fn list(args: &[&Path]) -> (serde_json::Value, String, Option<i32>) {
    let o = Command::new(bin())
        .args(["list", "--json"])
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
    (
        v,
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code(),
    )
}

/// Windows-1252 "Beyoncé", CRLF, the sheet written for a WAV that is now a FLAC.
const SHEET: &[u8] = b"PERFORMER \"Beyonc\xe9\"\r\nTITLE \"Live Set\"\r\n\
REM REPLAYGAIN_ALBUM_GAIN -4.00 dB\r\n\
FILE \"Live Set.wav\" WAVE\r\n\
  TRACK 01 AUDIO\r\n    TITLE \"Intro\"\r\n    INDEX 01 00:00:00\r\n\
  TRACK 02 AUDIO\r\n    TITLE \"Song\"\r\n    PERFORMER \"Guest\"\r\n    REM REPLAYGAIN_TRACK_GAIN -6.50 dB\r\n    INDEX 00 00:09:00\r\n    INDEX 01 00:10:37\r\n\
  TRACK 03 AUDIO\r\n    TITLE \"Outro\"\r\n    INDEX 01 00:20:00\r\n";

#[test]
fn cue_tracks_become_entries_with_exact_frames() {
    if skip_unless(
        "cue_tracks_become_entries_with_exact_frames",
        have("flac"),
        "flac",
    ) {
        return;
    }
    let dir = scratch("list_cue");
    let audio = flac(&dir, "Live Set.flac", 30.0);
    let sheet = dir.join("Live Set.cue");
    std::fs::write(&sheet, SHEET).unwrap();
    let want_start = [0u64, 10 * 44_100 + 37 * 588, 20 * 44_100];
    for args in [
        vec![sheet.as_path()],
        vec![audio.as_path()],
        vec![dir.as_path()],
    ] {
        let (v, err, code) = list(&args);
        assert_eq!(code, Some(0), "{args:?}: {err}");
        let e = v.as_array().unwrap();
        assert_eq!(e.len(), 3, "{args:?}: one entry per track: {v}");
        for (i, t) in e.iter().enumerate() {
            assert_eq!(
                t["path"],
                audio.display().to_string(),
                "the FLAC, not the .wav"
            );
            assert_eq!(t["cue_track"], i + 1);
            assert_eq!(t["start_frame"], want_start[i], "{t}");
            assert_eq!(t["sample_rate"], 44_100);
            assert_eq!(t["album"], "Live Set");
            assert_eq!(t["album_gain_db"], -4.0);
        }
        assert_eq!(
            e[0]["end_frame"], want_start[1],
            "ends where the next starts"
        );
        assert_eq!(e[1]["end_frame"], want_start[2]);
        assert!(e[2]["end_frame"].is_null(), "the last runs to the end");
        assert_eq!(e[2]["duration_s"], 10.0);
        assert_eq!(e[0]["duration_s"], 10.493, "10 s 37/75");
        assert_eq!(e[1]["title"], "Song");
        assert_eq!(e[1]["artist"], "Guest");
        assert_eq!(
            e[0]["artist"], "Beyoncé",
            "the sheet's performer, from Windows-1252"
        );
        assert_eq!(e[1]["track_gain_db"], -6.5);
        assert!(e[0]["track_gain_db"].is_null());
    }
}

/// A folder with a two-file sheet named unlike its files (EAC's noncompliant layout): every
/// track once, none of the files listed whole as well.
#[test]
fn a_folder_with_a_multi_file_sheet_lists_each_track_once() {
    if skip_unless(
        "a_folder_with_a_multi_file_sheet_lists_each_track_once",
        have("flac"),
        "flac",
    ) {
        return;
    }
    let dir = scratch("list_multi");
    let one = flac(&dir, "01.flac", 6.0);
    let two = flac(&dir, "02.flac", 4.0);
    std::fs::write(
        dir.join("Album.cue"),
        "TITLE Album\nFILE \"01.wav\" WAVE\n TRACK 01 AUDIO\n  TITLE First\n  INDEX 01 00:00:00\n\
 TRACK 02 AUDIO\n  TITLE Second\n  INDEX 01 00:03:00\n TRACK 03 AUDIO\n  TITLE Third\n  INDEX 00 00:05:00\n\
FILE \"02.wav\" WAVE\n  INDEX 01 00:00:00\n",
    )
    .unwrap();
    let (v, err, code) = list(&[dir.as_path()]);
    assert_eq!(code, Some(0), "{err}");
    let e = v.as_array().unwrap();
    let got: Vec<(String, u64, String)> = e
        .iter()
        .map(|t| {
            (
                t["title"].as_str().unwrap_or("").to_string(),
                t["start_frame"].as_u64().unwrap(),
                t["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let (p1, p2) = (one.display().to_string(), two.display().to_string());
    assert_eq!(
        got,
        [
            ("First".to_string(), 0, p1.clone()),
            ("Second".to_string(), 3 * 44_100, p1),
            ("Third".to_string(), 0, p2)
        ],
        "{v}"
    );
    assert!(
        e[1]["end_frame"].is_null(),
        "the file's last track runs to its end: {v}"
    );
    assert_eq!(e[2]["duration_s"], 4.0);
    // The files named before their sheet (named unlike them): still each track once, in the
    // sheet's order, and the files not whole as well.
    let sheet = dir.join("Album.cue");
    let (again, err, _) = list(&[one.as_path(), two.as_path(), sheet.as_path()]);
    assert_eq!(again, v, "{err}");
}

#[test]
fn plain_files_and_broken_sheets() {
    if skip_unless("plain_files_and_broken_sheets", have("flac"), "flac") {
        return;
    }
    let dir = scratch("list_plain");
    let a = flac(&dir, "a.flac", 2.0);
    let (v, err, code) = list(&[a.as_path()]);
    assert_eq!(code, Some(0), "{err}");
    let e = &v[0];
    assert!(e["cue_track"].is_null() && e["end_frame"].is_null(), "{e}");
    assert_eq!(
        (e["start_frame"].as_u64(), e["duration_s"].as_f64()),
        (Some(0), Some(2.0))
    );

    // A sheet with a track lacking INDEX 01: refused with its line; the file beside it still
    // lists whole.
    let b = flac(&dir, "b.flac", 2.0);
    std::fs::write(
        dir.join("b.cue"),
        "FILE \"b.flac\" WAVE\nTRACK 01 AUDIO\nTITLE x\nTRACK 02 AUDIO\nINDEX 01 00:01:00\n",
    )
    .unwrap();
    let (v, err, code) = list(&[b.as_path()]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("b.cue: line 2: track 1 has no INDEX 01"),
        "{err}"
    );
    assert_eq!(v.as_array().map(Vec::len), Some(1), "b.flac whole: {v}");

    // A FILE that matches nothing while two audio files are there: named, not guessed.
    let c = dir.join("c.cue");
    std::fs::write(
        &c,
        "FILE \"gone.wav\" WAVE\nTRACK 01 AUDIO\nINDEX 01 00:00:00\n",
    )
    .unwrap();
    let (_, err, code) = list(&[c.as_path()]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("c.cue: FILE \"gone.wav\": no such audio file beside the sheet"),
        "{err}"
    );
}
