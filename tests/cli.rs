//! The real binary on good and bad input: exit codes, one clear stderr line per failure naming the
//! file, never a panic, and the JSON contracts of DESIGN §3.

mod common;
use common::*;

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(bin()).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_no_panic(o: &Output) {
    let e = stderr(o);
    assert!(
        !e.contains("panicked") && !e.contains("internal error"),
        "panic output: {e}"
    );
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A real file in a container we read holding a codec we do not decode: AC-3 in Matroska.
fn unsupported_codec_file(dir: &Path) -> std::path::PathBuf {
    let out = dir.join("ac3.mka");
    let ok = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(media_file("prog_s16.wav"))
        .args(["-t", "1", "-c:a", "ac3"])
        .arg(&out)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ffmpeg AC-3 encode");
    out
}

#[test]
fn analyze_json_lines_in_argument_order() {
    let names = [
        "prog.flac",
        "prog.opus",
        "prog_quad.wav",
        "bad/empty.wav",
        "prog8k_mulaw.wav",
    ];
    let ac3 = unsupported_codec_file(&scratch("analyze_json_lines"));
    let paths: Vec<String> = names
        .iter()
        .map(|n| p(&media_file(n)).to_string())
        .chain([p(&ac3).to_string()])
        .collect();
    let mut args = vec!["analyze", "--json"];
    args.extend(paths.iter().map(String::as_str));
    let o = run(&args);
    assert_no_panic(&o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a failed file makes the exit code 1"
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), paths.len());
    for (line, path) in lines.iter().zip(&paths) {
        assert_eq!(line["path"], path.as_str());
    }
    for key in [
        "container",
        "codec",
        "sample_rate",
        "channels",
        "frames",
        "duration_s",
        "peak_dbfs",
        "rms_dbfs",
        "clipped_samples",
    ] {
        assert!(!lines[0][key].is_null(), "missing {key}");
    }
    for key in ["true_peak_dbtp", "integrated_lufs", "lra_lu"] {
        assert!(lines[0].get(key).is_some(), "missing {key}");
    }
    assert_eq!(lines[0]["frames"], 882_000);
    assert_eq!(lines[2]["channels"], 4);
    assert_eq!(lines[4]["sample_rate"], 8000);
    assert_eq!(lines[1]["codec"], "opus");
    assert_eq!(lines[1]["frames"], 960_000);
    assert!(lines[5]["error"]
        .as_str()
        .unwrap()
        .contains("unsupported codec: ac3"));
    assert!(lines[3]["error"].as_str().unwrap().contains("empty file"));
    assert_eq!(
        stderr(&o).lines().count(),
        2,
        "one stderr line per failed file: {}",
        stderr(&o)
    );
}

/// sox `stats` "Overall" peak and RMS levels (over all channels).
fn sox_levels(path: &Path) -> (f64, f64) {
    let o = Command::new("sox")
        .arg(path)
        .args(["-n", "stats"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stderr);
    let field = |name: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {text}"));
        line.split_whitespace().nth(3).unwrap().parse().unwrap()
    };
    (field("Pk lev dB"), field("RMS lev dB"))
}

#[test]
fn analyze_levels_agree_with_sox() {
    for name in ["prog_s16.wav", "prog.flac", "prog_mono.wav"] {
        let path = media_file(name);
        let o = run(&["analyze", "--json", p(&path)]);
        assert!(o.status.success());
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let (peak, rms) = sox_levels(&path);
        // sox prints two decimals, so agreement is checked to its rounding.
        assert!(
            (v["peak_dbfs"].as_f64().unwrap() - peak).abs() <= 0.0051,
            "{name} peak {} vs sox {peak}",
            v["peak_dbfs"]
        );
        assert!(
            (v["rms_dbfs"].as_f64().unwrap() - rms).abs() <= 0.0051,
            "{name} rms {} vs sox {rms}",
            v["rms_dbfs"]
        );
    }
}

#[test]
fn bad_inputs_fail_with_one_line_naming_the_file() {
    let dir = scratch("bad_inputs");
    let missing = dir.join("does-not-exist.flac");
    let cases = [
        (media_file("bad/empty.wav"), "empty file"),
        (media_file("bad/random.mp3"), "not a recognised audio file"),
        (media_file("bad/text.ogg"), "not a recognised audio file"),
        (unsupported_codec_file(&dir), "unsupported codec: ac3"),
        (missing, "cannot open"),
    ];
    for (path, reason) in &cases {
        for cmd in [&["analyze"][..], &["play", "--output", "null"][..]] {
            let mut args = cmd.to_vec();
            args.push(p(path));
            let o = run(&args);
            assert_no_panic(&o);
            assert_eq!(
                o.status.code(),
                Some(1),
                "{cmd:?} {}: {}",
                path.display(),
                stderr(&o)
            );
            let err_lines: Vec<String> = stderr(&o)
                .lines()
                .filter(|l| l.starts_with("rusty-audio:"))
                .map(String::from)
                .collect();
            assert_eq!(
                err_lines.len(),
                1,
                "{cmd:?}: exactly one error line: {err_lines:?}"
            );
            assert!(
                err_lines[0].contains(p(path)) && err_lines[0].contains(reason),
                "{cmd:?}: {:?}",
                err_lines[0]
            );
        }
    }
}

#[test]
fn oversized_header_lengths_play_the_data_that_is_there() {
    // RIFF and data sizes claim ~4 GiB (data within RIFF): the second that exists is played.
    let dir = scratch("oversized_header");
    let path = dir.join("huge_sizes.wav");
    write_wav_i16(&path, 8000, 1, &sine(8000, 1, 440.0, 0.5, 1.0));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[4..8].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    bytes[40..44].copy_from_slice(&0xFFFF_FF00u32.to_le_bytes());
    std::fs::write(&path, bytes).unwrap();
    let o = run(&["analyze", "--json", p(&path)]);
    assert_no_panic(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["frames"], 8000);
}

#[test]
fn truncated_files_play_what_is_there() {
    let o = run(&["analyze", "--json", p(&media_file("bad/truncated.flac"))]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let frames = v["frames"].as_u64().unwrap();
    assert!(
        frames > 400_000 && frames < 882_000,
        "decoded up to the cut: {frames}"
    );

    // Play a short truncated file through the paced null output.
    let dir = scratch("truncated_play");
    let wav = dir.join("short.wav");
    write_wav_i16(&wav, 48_000, 2, &sine(48_000, 2, 440.0, 0.5, 0.6));
    let flac = dir.join("short.flac");
    assert!(Command::new("flac")
        .args(["-s", "-f", "--no-padding", "-o", p(&flac), p(&wav)])
        .status()
        .unwrap()
        .success());
    let bytes = std::fs::read(&flac).unwrap();
    let cut = dir.join("cut.flac");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let o = run(&["play", "--output", "null", "--json", p(&cut)]);
    assert_no_panic(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let played = v["frames_played"].as_u64().unwrap();
    // Half the bytes hold about half of the seven 4096-frame FLAC blocks.
    assert!(
        played >= 3 * 4096 && played < 28_800,
        "played the part before the cut: {played}"
    );
}

#[test]
fn play_skips_a_bad_file_and_plays_the_rest() {
    let dir = scratch("play_mixed");
    let good = dir.join("good.wav");
    write_wav_f32(&good, 48_000, 2, &sine(48_000, 2, 440.0, 0.5, 0.3));
    let o = run(&[
        "play",
        "--output",
        "null",
        "--json",
        p(&media_file("bad/text.ogg")),
        p(&good),
    ]);
    assert_no_panic(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["frames_played"], 14_400);
    assert_eq!(v["tracks_played"], 1);
    assert_eq!(v["tracks_failed"], 1);
    assert!(stderr(&o).contains("text.ogg"));
    for key in [
        "duration_s",
        "underruns",
        "device",
        "sample_rate",
        "buffer_frames",
    ] {
        assert!(!v[key].is_null(), "missing {key}");
    }
    for q in ["p50", "p95", "p99", "p999", "max"] {
        assert!(v["callback_ns"][q].as_u64().unwrap() > 0, "callback_ns.{q}");
    }
    assert!(v["callback_ns"]["p50"].as_u64() <= v["callback_ns"]["max"].as_u64());
}

#[test]
fn missing_device_falls_back_to_null_output() {
    let dir = scratch("no_device");
    let good = dir.join("good.wav");
    write_wav_f32(&good, 48_000, 2, &sine(48_000, 2, 440.0, 0.5, 0.2));
    // No reachable sound server and no ALSA card: what a machine without audio looks like.
    std::fs::write(dir.join("empty-asound.conf"), "").unwrap();
    let o = Command::new(bin())
        .args(["play", "--json", p(&good)])
        .env("PULSE_SERVER", "unix:/nonexistent/pulse")
        // No PipeWire socket there (cpal looks in PIPEWIRE_RUNTIME_DIR, XDG_RUNTIME_DIR and
        // the latter's parent).
        .env("XDG_RUNTIME_DIR", p(&dir))
        .env_remove("PIPEWIRE_RUNTIME_DIR")
        .env("ALSA_CONFIG_PATH", p(&dir.join("empty-asound.conf")))
        .output()
        .unwrap();
    assert_no_panic(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["null_output"], true);
    assert_eq!(v["frames_played"], 9_600);
    assert!(
        stderr(&o).contains("playing to the null output"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn unknown_device_name_is_an_error() {
    let o = run(&[
        "play",
        "--output",
        "No Such Speaker",
        p(&media_file("prog8k_alaw.wav")),
    ]);
    assert_no_panic(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("No Such Speaker"), "{}", stderr(&o));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["analyze"]).status.code(), Some(2));
    for bad in ["0", "-1", "nan", "inf", "soon"] {
        let o = run(&["listen", &format!("--seconds={bad}")]);
        assert_eq!(o.status.code(), Some(2), "listen --seconds {bad}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("above 0"));
    }
    assert_eq!(
        run(&["play", "--buffer", "lots", "x.wav"]).status.code(),
        Some(2)
    );
}

#[test]
fn devices_lists_something_or_says_why() {
    let o = run(&["devices"]);
    assert_no_panic(&o);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("host "));
}

/// On a machine without a sound card (and, here, no sound server either) libasound prints a
/// screen of `ALSA lib …` lines while devices are enumerated; we keep at most one line of it.
#[test]
fn devices_without_any_audio_stays_quiet() {
    let o = Command::new(bin())
        .arg("devices")
        .env("PULSE_SERVER", "unix:/nonexistent/pulse")
        .env("XDG_RUNTIME_DIR", "/nonexistent")
        .env_remove("PIPEWIRE_RUNTIME_DIR")
        .output()
        .unwrap();
    assert_no_panic(&o);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.lines().count() <= 1, "stderr: {err}");
    assert!(!err.contains("ALSA lib"), "stderr: {err}");
}

/// Several files on a terminal: a progress bar on stderr (run under a pseudo-terminal with
/// util-linux `script`); without a terminal, stderr stays clean for logs.
#[test]
fn analyze_shows_a_progress_bar_on_a_terminal_only() {
    let files = [
        media_file("prog.flac"),
        media_file("prog.mp3"),
        media_file("prog_s16.wav"),
    ];
    let list: Vec<String> = files.iter().map(|p| format!("'{}'", p.display())).collect();
    let cmd = format!("'{}' analyze {} >/dev/null", bin(), list.join(" "));
    let o = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .expect("util-linux script");
    assert!(o.status.success());
    let tty = String::from_utf8_lossy(&o.stdout);
    assert!(
        tty.contains("] 1/3 files") && tty.contains("] 3/3 files"),
        "{tty:?}"
    );
    let piped = std::process::Command::new(bin())
        .arg("analyze")
        .args(&files)
        .output()
        .unwrap();
    assert!(
        piped.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
}

/// Folders expand alike for `analyze`, `list` and `play`: their audio files, recursively, each
/// folder once (a symlink loop ends), without broken symlinks or hidden files.
#[test]
fn folders_expand_once_past_loops_and_broken_links() {
    let dir = scratch("expand_hostile");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let tone = sine(48_000, 2, 440.0, 0.2, 0.2);
    write_wav_f32(&dir.join("a.wav"), 48_000, 2, &tone);
    write_wav_f32(&dir.join("sub/b.wav"), 48_000, 2, &tone);
    write_wav_f32(&dir.join(".hidden.wav"), 48_000, 2, &tone);
    std::os::unix::fs::symlink(dir.join("nowhere.wav"), dir.join("broken.wav")).unwrap();
    std::os::unix::fs::symlink(&dir, dir.join("sub/loop")).unwrap();
    std::os::unix::fs::symlink(dir.join("sub"), dir.join("again")).unwrap();
    let o = run(&["analyze", "--json", p(&dir)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let paths: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["path"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let names: Vec<&str> = paths
        .iter()
        .map(|s| s.strip_prefix(&format!("{}/", dir.display())).unwrap_or(s))
        .collect();
    // `again` is a second way into `sub`: read once, under whichever name comes first.
    assert_eq!(names, ["a.wav", "again/b.wav"], "{paths:?}");
    let o = run(&["list", "--json", p(&dir)]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2, "{v}");
}

/// Files and folders the user may not read (permissions): each is named, with the reason, on one
/// line; everything else is analyzed; the exit code says something failed (a folder alone is
/// enough). As root (where DAC permissions do not apply) the binary runs without the two
/// capabilities that bypass them — from every set a child could regain them from (`setpriv`) —
/// so the permissions bind it as they bind a user; that they do is checked first.
#[test]
fn unreadable_files_and_folders_are_named_and_the_rest_is_read() {
    let root = is_root();
    if root && skip_unless("unreadable_files", have("setpriv"), "setpriv (util-linux)") {
        return;
    }
    let dir = scratch("unreadable");
    std::fs::create_dir_all(dir.join("closed")).unwrap();
    let tone = sine(48_000, 2, 440.0, 0.2, 0.2);
    let (a, locked, closed) = (
        dir.join("a.wav"),
        dir.join("locked.wav"),
        dir.join("closed"),
    );
    write_wav_f32(&a, 48_000, 2, &tone);
    write_wav_f32(&locked, 48_000, 2, &tone);
    write_wav_f32(&closed.join("c.wav"), 48_000, 2, &tone);
    /// Sets a mode now and gives the path its old mode back when dropped (a failed assertion
    /// included), so a rerun can clear the scratch folder.
    struct Mode(std::path::PathBuf, u32);
    impl Mode {
        fn set(path: &Path, mode: u32) -> Self {
            use std::os::unix::fs::PermissionsExt;
            let old = std::fs::metadata(path).unwrap().permissions().mode();
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
            Self(path.to_path_buf(), old)
        }
    }
    impl Drop for Mode {
        fn drop(&mut self) {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(self.1));
        }
    }
    let command = |program: &str| {
        if root {
            let mut c = Command::new("setpriv");
            let drop = "-dac_override,-dac_read_search";
            c.args([
                "--inh-caps",
                drop,
                "--ambient-caps",
                drop,
                "--bounding-set",
                drop,
            ]);
            c.args(["--", program]);
            c
        } else {
            Command::new(program)
        }
    };
    let closed_mode = Mode::set(&closed, 0o000);
    let locked_mode = Mode::set(&locked, 0o000);
    let readable = command("cat").arg(&locked).output().unwrap();
    assert!(
        !readable.status.success(),
        "the permissions must bind the binary (as root: setpriv must drop the capabilities)"
    );
    let analyze = || {
        let o = command(bin())
            .args(["analyze", "--json", p(&dir)])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout).to_string();
        let stderr = String::from_utf8_lossy(&o.stderr).to_string();
        let ok: Vec<String> = stdout
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v.get("error").is_none())
            .filter_map(|v| v["path"].as_str().map(str::to_string))
            .collect();
        (o.status.success(), ok, format!("{stdout}\n{stderr}"))
    };
    let said = |all: &str, who: &Path| {
        let who = who.display().to_string();
        all.lines()
            .any(|l| l.contains(&who) && l.to_lowercase().contains("permission denied"))
    };
    let (success, ok, all) = analyze();
    assert_eq!(ok, [p(&a)], "{all}");
    assert!(
        said(&all, &locked),
        "the locked file, with the reason:\n{all}"
    );
    assert!(
        said(&all, &closed),
        "the closed folder, with the reason:\n{all}"
    );
    assert!(!success, "a file could not be read: the exit code says so");
    // The folder alone still fails the run; the file is read again.
    drop(locked_mode);
    let (success, ok, all) = analyze();
    assert_eq!(ok, [p(&a), p(&locked)], "{all}");
    assert!(said(&all, &closed), "{all}");
    assert!(
        !success,
        "a folder could not be read: the exit code says so"
    );
    drop(closed_mode);
}

/// `devices` lists each host's inputs too, with the monitor of the default output named as what
/// this computer plays: on PipeWire (the test server) its synthetic default-sink device, on
/// PulseAudio (pipewire-pulse on the same server) the default sink's `.monitor` source.
#[test]
fn devices_lists_inputs_and_what_this_computer_plays() {
    if skip_without_pulse("devices_lists_inputs_and_what_this_computer_plays") {
        return;
    }
    // The input lines `host`'s section gives as what this computer plays.
    let plays = |o: &Output, host: &str| -> Vec<String> {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .skip_while(|l| !l.starts_with(&format!("host {host}")))
            .skip(1)
            .take_while(|l| !l.starts_with("host "))
            .skip_while(|l| l.trim() != "inputs:")
            .filter(|l| {
                l.contains("What this computer plays") || l.contains("(what this computer plays)")
            })
            .map(|l| l.trim().to_string())
            .collect()
    };
    // Every host is listed, whichever is chosen.
    let o = run(&["devices"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    let pulse = plays(&o, "PulseAudio");
    assert_eq!(pulse.len(), 1, "one monitor of the default output:\n{out}");
    assert!(
        pulse[0].ends_with("[nullsink.monitor]"),
        "the null sink's monitor: {pulse:?}\n{out}"
    );
    // The test server is PipeWire (scripts/start_sound_server.sh).
    let pw = plays(&o, "PipeWire");
    assert_eq!(pw.len(), 1, "{out}");
    assert!(pw[0].ends_with("[sink_default]"), "{pw:?}\n{out}");
    assert!(
        out.lines().any(|l| l.trim().starts_with("Monitor of ")),
        "the sink's own monitor is listed too:\n{out}"
    );
}
