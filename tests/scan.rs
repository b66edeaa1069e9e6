//! `rusty-audio scan`: ReplayGain 2.0 values of real encoded files, checked against the ebur128
//! crate (a port of libebur128) on ffmpeg's decode of the same files — track loudness per file
//! and the album's loudness gated over all of its tracks (`loudness_global_multiple`) — within
//! 0.1 dB; albums grouped by tags, untagged files by folder; the values, once tagged, make
//! `render --replaygain` land on −18 LUFS.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

use ebur128::{EbuR128, Mode};

/// A 6 s, 44.1 kHz stereo FLAC: a sine at `freq` and `amp`, then the same at a quarter of the
/// amplitude (so the gating has something to do), tagged with `tags`.
fn flac(dir: &Path, name: &str, freq: f64, amp: f64, tags: &[&str]) -> PathBuf {
    let mut pcm = sine(44_100, 2, freq, amp, 3.0);
    pcm.extend(sine(44_100, 2, freq * 1.5, amp / 4.0, 3.0));
    flac_file(dir, &format!("{name}.flac"), 44_100, &pcm, tags)
}

fn reference_meter(path: &Path) -> EbuR128 {
    let pcm = ffmpeg_decode(path);
    let mut m = EbuR128::new(2, 44_100, Mode::I | Mode::TRUE_PEAK).unwrap();
    m.add_frames_f32(&pcm).unwrap();
    m
}

/// `render SRC OUT --replaygain track`, then `analyze` OUT: its integrated loudness.
fn normalized_lufs(src: &Path, out: &Path) -> f64 {
    let r = Command::new(bin())
        .arg("render")
        .arg(src)
        .arg(out)
        .args(["--replaygain", "track"])
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let a = Command::new(bin())
        .args(["analyze", "--json"])
        .arg(out)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    v["integrated_lufs"].as_f64().unwrap()
}

fn scan_json(args: &[&Path]) -> (Vec<serde_json::Value>, std::process::Output) {
    let o = Command::new(bin())
        .args(["scan", "--json"])
        .args(args)
        .output()
        .unwrap();
    let lines = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (lines, o)
}

#[test]
fn track_and_album_gains_match_libebur128_and_albums_follow_tags_and_folders() {
    if skip_unless(
        "track_and_album_gains_match_libebur128_and_albums_follow_tags_and_folders",
        have("flac") && have("metaflac") && have("ffmpeg"),
        "flac, metaflac, ffmpeg",
    ) {
        return;
    }
    let dir = scratch("scan_albums");
    let loose = dir.join("loose");
    std::fs::create_dir_all(&loose).unwrap();
    let album = ["ALBUM=Gains", "ARTIST=The Meters"];
    let a1 = flac(&dir, "a1", 1000.0, 0.5, &album);
    let a2 = flac(&dir, "a2", 300.0, 0.08, &album);
    let b1 = flac(&loose, "b1", 2000.0, 0.3, &[]);
    let b2 = flac(&loose, "b2", 700.0, 0.2, &[]);
    let (rows, o) = scan_json(&[&dir]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Folders expand sorted: a1, a2, loose/b1, loose/b2.
    let paths: Vec<&str> = rows.iter().map(|r| r["path"].as_str().unwrap()).collect();
    let want: Vec<String> = [&a1, &a2, &b1, &b2]
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(paths, want);

    let meters: Vec<EbuR128> = [&a1, &a2, &b1, &b2]
        .iter()
        .map(|p| reference_meter(p))
        .collect();
    for (row, m) in rows.iter().zip(&meters) {
        let want_i = m.loudness_global().unwrap();
        let i = row["integrated_lufs"].as_f64().unwrap();
        assert!(
            (i - want_i).abs() < 0.1,
            "{row}: {i} vs libebur128 {want_i}"
        );
        let g = row["track_gain_db"].as_f64().unwrap();
        assert!((g - (-18.0 - want_i)).abs() < 0.1, "{row}: track gain");
        let tp = m.true_peak(0).unwrap().max(m.true_peak(1).unwrap());
        let peak = row["track_peak"].as_f64().unwrap();
        assert!(
            (20.0 * (peak / tp).log10()).abs() < 0.2,
            "{row}: true peak {peak} vs {tp}"
        );
    }
    // Album = all of its tracks' blocks gated together (not the mean of the tracks).
    let album_ref =
        |ms: &[&EbuR128]| EbuR128::loudness_global_multiple(ms.iter().copied()).unwrap();
    let tagged = album_ref(&[&meters[0], &meters[1]]);
    let folder = album_ref(&[&meters[2], &meters[3]]);
    for (row, want, name) in [
        (&rows[0], tagged, "Gains"),
        (&rows[1], tagged, "Gains"),
        (&rows[2], folder, "loose"),
        (&rows[3], folder, "loose"),
    ] {
        let g = row["album_gain_db"].as_f64().unwrap();
        assert!(
            (g - (-18.0 - want)).abs() < 0.1,
            "{row}: album gain vs {want}"
        );
        assert_eq!(row["album"], name, "{row}");
    }
    let mean = (rows[0]["integrated_lufs"].as_f64().unwrap()
        + rows[1]["integrated_lufs"].as_f64().unwrap())
        / 2.0;
    assert!(
        (tagged - mean).abs() > 0.5,
        "the test's album is one where pooling differs from averaging ({tagged} vs {mean})"
    );
    let peak = |r: &serde_json::Value, k: &str| r[k].as_f64().unwrap();
    assert_eq!(
        peak(&rows[0], "album_peak"),
        peak(&rows[0], "track_peak").max(peak(&rows[1], "track_peak"))
    );

    // Tagged with what scan measured, the track renders at −18 LUFS (measured by analyze).
    let g = rows[1]["track_gain_db"].as_f64().unwrap();
    let p = rows[1]["track_peak"].as_f64().unwrap();
    assert!(Command::new("metaflac")
        .arg(format!("--set-tag=REPLAYGAIN_TRACK_GAIN={g:.2} dB"))
        .arg(format!("--set-tag=REPLAYGAIN_TRACK_PEAK={p:.6}"))
        .arg(&a2)
        .status()
        .unwrap()
        .success());
    let lufs = normalized_lufs(&a2, &dir.join("normalized.wav"));
    assert!((lufs + 18.0).abs() < 0.1, "rendered at {lufs} LUFS");
}

#[test]
fn a_bad_file_is_reported_and_the_rest_are_scanned() {
    if skip_unless(
        "a_bad_file_is_reported_and_the_rest_are_scanned",
        have("flac") && have("metaflac"),
        "flac, metaflac",
    ) {
        return;
    }
    let dir = scratch("scan_bad");
    let good = flac(&dir, "good", 1000.0, 0.3, &[]);
    let bad = dir.join("bad.flac");
    std::fs::write(&bad, b"not audio at all").unwrap();
    let before = std::fs::read(&bad).unwrap();
    let (rows, o) = scan_json(&[&bad, &good]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.flac") && !err.contains("panicked"),
        "{err}"
    );
    assert!(rows[0]["error"].is_string(), "{}", rows[0]);
    assert!(rows[1]["track_gain_db"].is_f64(), "{}", rows[1]);
    assert_eq!(std::fs::read(&bad).unwrap(), before, "nothing written");
}

/// `--write-tags` writes the measured values into FLAC (Vorbis comments, other tags kept), MP3
/// (ID3v2 TXXX) and WAV (an ID3v2 chunk); the audio decodes exactly as before; the tags are what
/// playback reads (normalized render at −18 LUFS); a read-only file is left alone.
#[test]
fn write_tags_keeps_the_audio_and_playback_reads_them() {
    if skip_unless(
        "write_tags_keeps_the_audio_and_playback_reads_them",
        have("flac") && have("metaflac") && have("ffmpeg"),
        "flac, metaflac, ffmpeg",
    ) {
        return;
    }
    let dir = scratch("scan_write");
    let f = flac(&dir, "t", 1000.0, 0.4, &["TITLE=Keep Me", "ALBUM=W"]);
    let mp3 = dir.join("m.mp3");
    let wav = dir.join("w.wav");
    write_wav_i16(&wav, 44_100, 2, &sine(44_100, 2, 500.0, 0.2, 4.0));
    assert!(Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&wav)
        .args(["-c:a", "libmp3lame"])
        .arg(&mp3)
        .status()
        .unwrap()
        .success());
    let files = [&f, &mp3, &wav];
    // Compared with ffmpeg's decode: the writer's own check uses ours.
    let before: Vec<Vec<f32>> = files.iter().map(|p| ffmpeg_decode(p)).collect();
    let (rows, _) = scan_json(&[f.as_path(), mp3.as_path(), wav.as_path()]);
    let o = Command::new(bin())
        .args(["scan", "--write-tags"])
        .args(files)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("wrote ReplayGain tags to 3 file(s)"), "{err}");
    for (p, b) in files.iter().zip(&before) {
        assert_eq!(&ffmpeg_decode(p), b, "{}: same audio", p.display());
    }
    let show = Command::new("metaflac")
        .args(["--show-tag=TITLE", "--show-tag=REPLAYGAIN_TRACK_GAIN"])
        .arg(&f)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&show.stdout);
    let g = rows[0]["track_gain_db"].as_f64().unwrap();
    assert!(
        shown.contains("TITLE=Keep Me")
            && shown.contains(&format!("REPLAYGAIN_TRACK_GAIN={g:.2} dB")),
        "{shown}"
    );
    for (i, p) in files.iter().enumerate() {
        let lufs = normalized_lufs(p, &dir.join(format!("n{i}.wav")));
        assert!(
            (lufs + 18.0).abs() < 0.1,
            "{}: rendered at {lufs} LUFS",
            p.display()
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("tagging"))
        .collect();
    assert!(leftovers.is_empty(), "no copies left: {leftovers:?}");

    // A symlink: the file it points to is tagged, the link stays a link.
    let target = flac(&dir, "target", 600.0, 0.3, &[]);
    let link = dir.join("link.flac");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let o = Command::new(bin())
        .args(["scan", "--write-tags"])
        .arg(&link)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let show = Command::new("metaflac")
        .arg("--show-tag=REPLAYGAIN_TRACK_GAIN")
        .arg(&target)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&show.stdout).contains("REPLAYGAIN_TRACK_GAIN="),
        "the target is tagged"
    );
    // A file with another hard link: refused (the other name would keep the old content).
    let linked = flac(&dir, "linked", 650.0, 0.3, &[]);
    std::fs::hard_link(&linked, dir.join("other-name.flac")).unwrap();
    let bytes = std::fs::read(&linked).unwrap();
    let o = Command::new(bin())
        .args(["scan", "--write-tags"])
        .arg(&linked)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("hard links") && err.contains("0 file(s)"),
        "{err}"
    );
    assert_eq!(std::fs::read(&linked).unwrap(), bytes);

    // Read-only: refused with the reason, untouched.
    let ro = flac(&dir, "ro", 800.0, 0.3, &[]);
    let bytes = std::fs::read(&ro).unwrap();
    let mut perm = std::fs::metadata(&ro).unwrap().permissions();
    perm.set_readonly(true);
    std::fs::set_permissions(&ro, perm).unwrap();
    let o = Command::new(bin())
        .args(["scan", "--write-tags"])
        .arg(&ro)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("ro.flac: read-only"), "{err}");
    assert_eq!(std::fs::read(&ro).unwrap(), bytes);
}
