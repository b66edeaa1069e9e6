//! Loudness normalization end to end: real encoded files tagged by real taggers (metaflac for
//! FLAC Vorbis comments, ffmpeg for ID3v2 TXXX and Ogg Vorbis comments), rendered through the
//! real engine with `rusty-audio render IN... OUT.wav --replaygain …`, compared sample by sample
//! with the un-normalized render. Also `render` of a queue (gapless joins) and `play --json`'s
//! report of the gain in use.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

fn tools_or_skip(test: &str, tools: &[&str]) -> bool {
    skip_unless(
        test,
        tools.iter().all(|t| have(t)),
        &format!("{} (Debian: flac, ffmpeg)", tools.join(", ")),
    )
}

/// A 1 s, 44.1 kHz stereo FLAC of a −20 dBFS sine at `freq`, tagged with `tags` (KEY=VALUE).
fn flac_with(dir: &Path, name: &str, freq: f64, tags: &[&str]) -> PathBuf {
    let pcm = sine(44_100, 2, freq, 0.1, 1.0);
    flac_file(dir, &format!("{name}.flac"), 44_100, &pcm, tags)
}

use common::render_queue as render;

/// Every sample of `got` is `want` × 10^(db/20) (float32 rounding allowed).
fn assert_scaled(got: &[f32], want: &[f32], db: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let g = 10f64.powf(db / 20.0);
    let worst = got
        .iter()
        .zip(want)
        .map(|(&a, &b)| (f64::from(a) - f64::from(b) * g).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-6, "{what}: off by {worst} from ×{g} ({db} dB)");
    assert!(
        want.iter().any(|&x| x.abs() > 0.05),
        "{what}: a real signal"
    );
}

#[test]
fn modes_preamp_and_the_peak_cap_scale_a_tagged_flac_exactly() {
    if tools_or_skip(
        "modes_preamp_and_the_peak_cap_scale_a_tagged_flac_exactly",
        &["flac", "metaflac"],
    ) {
        return;
    }
    let dir = scratch("rg_modes");
    let f = flac_with(
        &dir,
        "tagged",
        1000.0,
        &[
            "REPLAYGAIN_TRACK_GAIN=-6.00 dB",
            "REPLAYGAIN_TRACK_PEAK=0.100000",
            "REPLAYGAIN_ALBUM_GAIN=-3.50 dB",
            "REPLAYGAIN_ALBUM_PEAK=0.125000",
        ],
    );
    let plain = render(&dir, "plain.wav", &[&f], &[]);
    let off = render(&dir, "off.wav", &[&f], &["--replaygain", "off"]);
    assert_eq!(off, plain, "off changes nothing");
    let track = render(&dir, "track.wav", &[&f], &["--replaygain", "track"]);
    assert_scaled(&track, &plain, -6.0, "track gain");
    let album = render(&dir, "album.wav", &[&f], &["--replaygain", "album"]);
    assert_scaled(&album, &plain, -3.5, "album gain");
    // A lone track is no album run: auto plays its track gain.
    let auto = render(&dir, "auto.wav", &[&f], &["--replaygain", "auto"]);
    assert_scaled(&auto, &plain, -6.0, "auto, alone");
    let pre = render(
        &dir,
        "preamp.wav",
        &[&f],
        &["--replaygain", "track", "--rg-preamp", "2.5"],
    );
    assert_scaled(&pre, &plain, -3.5, "track gain + pre-amp");
    // +24 dB pre-amp → +18 dB asked; the tagged peak 0.1 allows +20 dB: not capped. With the
    // album's peak 0.125 and −3.5 + 24 = +20.5 dB asked, the cap holds it at +18.06 dB.
    let loud = render(
        &dir,
        "capped.wav",
        &[&f],
        &["--replaygain", "album", "--rg-preamp", "24"],
    );
    assert_scaled(
        &loud,
        &plain,
        -20.0 * 0.125f64.log10(),
        "capped at the peak",
    );
    let free = render(
        &dir,
        "uncapped.wav",
        &[&f],
        &[
            "--replaygain",
            "album",
            "--rg-preamp",
            "24",
            "--rg-allow-clipping",
        ],
    );
    assert_scaled(&free, &plain, 20.5, "cap off");
}

/// The integrated loudness `analyze --json` measures for `path`.
fn lufs_of(path: &Path) -> f64 {
    let o = Command::new(bin())
        .args(["analyze", "--json"])
        .arg(path)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["integrated_lufs"].as_f64().unwrap()
}

/// Untagged: measured (BS.1770) and played at −18 LUFS plus the pre-amp (a render measures its
/// untagged inputs first; the measurement lands in the cache); Opus-style R128 gains (Q7.8,
/// −23 LUFS) are moved to −18 LUFS.
#[test]
fn untagged_files_are_measured_and_r128_tags_are_converted() {
    if tools_or_skip(
        "untagged_files_are_measured_and_r128_tags_are_converted",
        &["flac", "metaflac"],
    ) {
        return;
    }
    let dir = scratch("rg_fallback");
    let _ = std::fs::remove_dir_all(dir.join("cache"));
    let bare = flac_with(&dir, "bare", 500.0, &[]);
    let plain = render(&dir, "plain.wav", &[&bare], &[]);
    let fb = render(
        &dir,
        "measured.wav",
        &[&bare],
        &[
            "--replaygain",
            "track",
            "--rg-fallback",
            "-7",
            "--rg-preamp",
            "3",
        ],
    );
    let want = -18.0 - lufs_of(&bare) + 3.0;
    assert_scaled(&fb, &plain, want, "measured gain plus pre-amp");
    let cache = std::fs::read_to_string(dir.join("cache/rusty-audio/loudness.json")).unwrap();
    assert!(cache.contains("bare.flac"), "kept in the cache: {cache}");

    // R128_TRACK_GAIN −2560 = −10 dB to −23 LUFS = −5 dB to −18 LUFS.
    let r128 = flac_with(&dir, "r128", 500.0, &["R128_TRACK_GAIN=-2560"]);
    let plain = render(&dir, "r128_plain.wav", &[&r128], &[]);
    let got = render(&dir, "r128.wav", &[&r128], &["--replaygain", "track"]);
    assert_scaled(&got, &plain, -5.0, "R128 track gain");
}

/// ID3v2 TXXX (MP3) and Ogg Vorbis comments as ffmpeg writes them.
#[test]
fn mp3_and_ogg_gain_tags_are_read() {
    if tools_or_skip("mp3_and_ogg_gain_tags_are_read", &["ffmpeg"]) {
        return;
    }
    let dir = scratch("rg_formats");
    let wav = dir.join("src.wav");
    write_wav_i16(&wav, 44_100, 2, &sine(44_100, 2, 700.0, 0.1, 1.0));
    for (ext, codec) in [("mp3", "libmp3lame"), ("ogg", "libvorbis")] {
        let f = dir.join(format!("t.{ext}"));
        let ok = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(&wav)
            .args(["-c:a", codec, "-metadata", "REPLAYGAIN_TRACK_GAIN=-4.00 dB"])
            .args(["-metadata", "REPLAYGAIN_TRACK_PEAK=0.2"])
            .arg(&f)
            .status()
            .unwrap()
            .success();
        assert!(ok, "ffmpeg writes {ext}");
        let plain = render(&dir, &format!("{ext}_plain.wav"), &[&f], &[]);
        let got = render(
            &dir,
            &format!("{ext}_rg.wav"),
            &[&f],
            &["--replaygain", "track"],
        );
        assert_scaled(&got, &plain, -4.0, ext);
    }
}

/// A queue: the render of A B is A's render followed by B's, to the sample (gapless, nothing
/// added or lost); in auto mode the two tracks of one album play at album gain, the stranger at
/// its track gain.
#[test]
fn a_queue_renders_gapless_and_auto_follows_the_album() {
    if tools_or_skip(
        "a_queue_renders_gapless_and_auto_follows_the_album",
        &["flac", "metaflac"],
    ) {
        return;
    }
    let dir = scratch("rg_queue");
    // Each album its own album gain, each track its own track gain: picking a neighbour's
    // tags, or the wrong kind, shows.
    let tags = |album: &'static str, track_db: &'static str, album_db: &'static str| {
        vec![
            format!("ALBUM={album}"),
            "ARTIST=Testers".to_string(),
            format!("REPLAYGAIN_TRACK_GAIN={track_db} dB"),
            format!("REPLAYGAIN_ALBUM_GAIN={album_db} dB"),
        ]
    };
    let mk = |name: &str, freq: f64, t: Vec<String>| {
        let refs: Vec<&str> = t.iter().map(String::as_str).collect();
        flac_with(&dir, name, freq, &refs)
    };
    let a1 = mk("a1", 400.0, tags("One", "-6.00", "-2.00"));
    let a2 = mk("a2", 600.0, tags("One", "-8.00", "-2.00"));
    let b = mk("b", 800.0, tags("Two", "-4.00", "-9.00"));
    let parts: Vec<Vec<f32>> = [&a1, &a2, &b]
        .iter()
        .enumerate()
        .map(|(i, f)| render(&dir, &format!("part{i}.wav"), &[f], &[]))
        .collect();
    let whole = render(&dir, "queue.wav", &[&a1, &a2, &b], &[]);
    assert_eq!(whole, parts.concat(), "the queue is its tracks end to end");

    let auto = render(
        &dir,
        "queue_auto.wav",
        &[&a1, &a2, &b],
        &["--replaygain", "auto"],
    );
    let n = parts[0].len();
    assert_scaled(
        &auto[..n],
        &parts[0],
        -2.0,
        "a1 in its album run: album gain",
    );
    assert_scaled(&auto[n..2 * n], &parts[1], -2.0, "a2: album gain");
    assert_scaled(&auto[2 * n..], &parts[2], -4.0, "b alone: track gain");
    let track = render(
        &dir,
        "queue_track.wav",
        &[&a1, &a2, &b],
        &["--replaygain", "track"],
    );
    assert_scaled(&track[n..2 * n], &parts[1], -8.0, "a2: track gain");
    let album = render(
        &dir,
        "queue_album.wav",
        &[&a1, &a2, &b],
        &["--replaygain", "album"],
    );
    assert_scaled(&album[2 * n..], &parts[2], -9.0, "b: its own album's gain");

    // Through the resampler (44.1 → 48 kHz, carried across the joins): each track at its own
    // gain; only the resampler's filter length around a join mixes the two.
    let rs = |out: &str, extra: &[&str]| {
        let mut args = vec!["--rate", "48000"];
        args.extend_from_slice(extra);
        render(&dir, out, &[&a1, &a2, &b], &args)
    };
    let plain48 = rs("q48.wav", &[]);
    let track48 = rs("q48_track.wav", &["--replaygain", "track"]);
    assert_eq!(plain48.len(), track48.len());
    let n48 = (n / 2) * 48_000 / 44_100 * 2; // samples of one track at 48 kHz
    let margin = 2 * 512;
    for (i, db) in [(0usize, -6.0), (1, -8.0), (2, -4.0)] {
        let from = (i * n48 + margin).min(plain48.len());
        let to = ((i + 1) * n48).saturating_sub(margin).min(plain48.len());
        let g = 10f64.powf(db / 20.0);
        let worst = track48[from..to]
            .iter()
            .zip(&plain48[from..to])
            .map(|(&a, &b)| (f64::from(a) - f64::from(b) * g).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-5, "track {i} at 48 kHz: off by {worst}");
    }
}

/// The gain is applied before the chain: into a limiter, a normalized track is limited by its
/// normalized level (gain after the limiter would give a different, quieter result).
#[test]
fn the_gain_comes_before_the_limiter() {
    if tools_or_skip("the_gain_comes_before_the_limiter", &["flac", "metaflac"]) {
        return;
    }
    let dir = scratch("rg_order");
    // Peak 0.1 (−20 dBFS) +14 dB = −6 dBFS into a −9 dBFS limiter: held at −9 dBFS. Were the
    // gain applied after the limiter, −20 dBFS would pass it untouched and come out at −6.
    let f = flac_with(&dir, "o", 1000.0, &["REPLAYGAIN_TRACK_GAIN=+14.00 dB"]);
    let out = render(
        &dir,
        "limited.wav",
        &[&f],
        &["--replaygain", "track", "--limit", "-9"],
    );
    let peak = out.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let db = 20.0 * f64::from(peak).log10();
    assert!((db + 9.0).abs() < 0.1, "peak {db:.2} dBFS, want −9");
}

/// `play --json` reports each track's gain and where it came from.
#[test]
fn play_reports_the_gain_in_use() {
    if tools_or_skip("play_reports_the_gain_in_use", &["flac", "metaflac"]) {
        return;
    }
    let dir = scratch("rg_play");
    let f = flac_with(
        &dir,
        "p",
        1000.0,
        &[
            "REPLAYGAIN_TRACK_GAIN=-6.50 dB",
            "REPLAYGAIN_TRACK_PEAK=0.1",
        ],
    );
    let bare = flac_with(&dir, "q", 1000.0, &[]);
    // Silent: nothing to measure (below the gate): the fallback gain.
    let silent = flac_file(&dir, "s.flac", 44_100, &vec![0.0; 44_100 * 2], &[]);
    let _ = std::fs::remove_dir_all(dir.join("cache"));
    // Measured beforehand (a render measures first), so `play` finds it in the cache.
    render(&dir, "warm.wav", &[&bare], &["--replaygain", "track"]);
    let o = Command::new(bin())
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .args([
            "--output",
            "null",
            "play",
            "--json",
            "--replaygain",
            "track",
        ])
        .args(["--rg-fallback", "-3"])
        .arg(&f)
        .arg(&bare)
        .arg(&silent)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["gains"][0]["db"], -6.5, "{v}");
    assert_eq!(v["gains"][0]["source"], "track", "{v}");
    let measured = -18.0 - lufs_of(&bare);
    let db = v["gains"][1]["db"].as_f64().unwrap();
    assert!(
        (db - measured).abs() < 1e-3,
        "{db} vs {measured} (analyze rounds to 1e-4): {v}"
    );
    assert_eq!(v["gains"][1]["source"], "measured", "{v}");
    assert_eq!(v["gains"][2]["db"], -3.0, "{v}");
    assert_eq!(v["gains"][2]["source"], "fallback", "{v}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("ReplayGain track -6.50 dB"), "{err}");
}

#[test]
fn bad_normalization_options_are_refused_with_a_reason() {
    let o = Command::new(bin())
        .args(["render", "a.flac", "b.wav", "--rg-preamp", "40"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--rg-preamp 40"), "{err}");
    let o = Command::new(bin())
        .args(["render", "a.flac", "b.wav", "--replaygain", "loud"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "clap refuses an unknown mode");
}
