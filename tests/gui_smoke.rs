//! Smoke test of the real binary in a real window: Xvfb (Mesa software rendering) plus the
//! PulseAudio null sink that `make test` starts. The app opens with a file, plays it, draws a
//! non-blank window, its audio reaches the sink, and Ctrl+Q closes it with a clean exit.

mod common;
use common::*;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The default renderer (glow, OpenGL).
#[test]
fn real_window_plays_draws_and_closes_cleanly() {
    window_plays_draws_and_closes("glow");
}

/// The other renderer stays selectable.
#[test]
fn real_window_with_wgpu_plays_draws_and_closes_cleanly() {
    window_plays_draws_and_closes("wgpu");
}

/// One app at a time: each checks that its own audio reaches the shared sink.
static SINK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn window_plays_draws_and_closes(renderer: &str) {
    let _sink = SINK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if skip_unless(
        "real_window_plays_draws_and_closes_cleanly",
        have("Xvfb") && have("import") && have("xdotool") && pulse_running(),
        "Xvfb, ImageMagick, xdotool and a PulseAudio server",
    ) {
        return;
    }
    let dir = scratch(&format!("gui_smoke_{renderer}"));
    let tone = dir.join("tone.wav");
    write_wav_f32(&tone, 48_000, 2, &sine(48_000, 2, 440.0, 0.3, 30.0));
    let (_xvfb, display) = start_xvfb();

    let raw = dir.join("sink.raw");
    let rec = Killer(start_recording(&raw));
    // Its own settings directory: the test never reads or writes the user's.
    let config = dir.join("config");
    let _ = std::fs::remove_dir_all(&config);
    let mut app = Command::new(bin())
        .arg(&tone)
        // Not the instance another test's app (or the user's) may be: a window of its own.
        .arg("--new-window")
        // Not the developer's session bus (MPRIS) or cache (covers).
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .args(["--renderer", renderer])
        .env("DISPLAY", &display)
        .env("RUSTY_AUDIO_CONFIG_DIR", &config)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let loud = || read_f32_raw(&raw).iter().any(|s| s.abs() > 0.1);
    wait_for("the app's audio at the sink", 30, loud);
    let mut wid = String::new();
    wait_for("the window", 30, || {
        let o = Command::new("xdotool")
            .args(["search", "--name", "Rusty Audio"])
            .env("DISPLAY", &display)
            .output()
            .unwrap();
        wid = String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        !wid.is_empty()
    });
    // Let it draw a few frames of the playing analyzer, then look at it.
    let shot = dir.join("shot.png");
    wait_for("a screenshot with the app drawn", 30, || {
        let ok = Command::new("import")
            .args(["-window", "root"])
            .arg(&shot)
            .env("DISPLAY", &display)
            .status()
            .is_ok_and(|s| s.success());
        let colours = Command::new("identify")
            .args(["-format", "%k"])
            .arg(&shot)
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .parse::<u32>()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        ok && colours > 50
    });
    drop(rec);
    // Ctrl+Q, again every 2 s until the app is gone (a key sent while the window is still
    // settling its focus can be lost; a second Ctrl+Q is harmless).
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut next_key = Instant::now();
    let status = loop {
        if let Some(s) = app.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = app.kill();
            panic!("the app did not close on Ctrl+Q");
        }
        if Instant::now() >= next_key {
            let _ = Command::new("xdotool")
                .args(["windowfocus", "--sync", &wid, "key", "ctrl+q"])
                .env("DISPLAY", &display)
                .stderr(Stdio::null())
                .status();
            next_key = Instant::now() + Duration::from_secs(2);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    use std::io::Read;
    let _ = app.stderr.take().unwrap().read_to_string(&mut err);
    assert!(status.success(), "exit {status:?}: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("internal error"),
        "{err}"
    );
    // Closing saved the session: the playlist and where it was.
    let saved: serde_json::Value = serde_json::from_slice(
        &std::fs::read(config.join("settings.json")).expect("settings.json written"),
    )
    .unwrap();
    assert_eq!(saved["playlist"][0].as_str(), Some(tone.to_str().unwrap()));
    assert_eq!(saved["current"], 0);
    assert!(saved["position_s"].as_f64().unwrap() > 0.0, "{saved}");
}
