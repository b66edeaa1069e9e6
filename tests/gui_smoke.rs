//! Smoke test of the real binary in a real window: Xvfb (Mesa software rendering) plus the
//! PulseAudio null sink that `make test` starts. The app opens with a file, plays it, draws a
//! non-blank window, its audio reaches the sink, and Ctrl+Q closes it with a clean exit. And the
//! app started with a saved live input (issue 16) analyses it in the real window.

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
    let wid = window_id(&mut app, &display);
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
    let status = close_with_ctrl_q(&mut app, &wid, &display);
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

/// The window's id, once it is up. When it does not come (or the app ends first), the app is
/// stopped and what it said is in the failure.
fn window_id(app: &mut std::process::Child, display: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let o = Command::new("xdotool")
            .args(["search", "--name", "Rusty Audio"])
            .env("DISPLAY", display)
            .output()
            .unwrap();
        let wid = String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        if !wid.is_empty() {
            return wid;
        }
        let ended = app.try_wait().unwrap();
        if ended.is_some() || Instant::now() > deadline {
            let _ = app.kill();
            let _ = app.wait();
            let mut err = String::new();
            if let Some(mut e) = app.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            panic!("no window (the app {ended:?}); it said: {err}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Ctrl+Q, again every 2 s until the app is gone (a key sent while the window is still settling
/// its focus can be lost; a second Ctrl+Q is harmless).
fn close_with_ctrl_q(
    app: &mut std::process::Child,
    wid: &str,
    display: &str,
) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut next_key = Instant::now();
    loop {
        if let Some(s) = app.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > deadline {
            let _ = app.kill();
            panic!("the app did not close on Ctrl+Q");
        }
        if Instant::now() >= next_key {
            let _ = Command::new("xdotool")
                .args(["windowfocus", "--sync", wid, "key", "ctrl+q"])
                .env("DISPLAY", display)
                .stderr(Stdio::null())
                .status();
            next_key = Instant::now() + Duration::from_secs(2);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The real app in a real window, started with "Analyze: what this computer plays" saved from an
/// earlier run, while it plays a quiet 300 Hz file and `paplay` plays a 1 kHz tone into the same
/// sink: it opens its own capture stream on the server, and once a second and a half of that
/// monitor has gone by (counted in recorded frames, not waited for), its input's spectrum and
/// the one its window drew peak at 1 kHz, the input's callback ran without overruns, and the
/// choice is still saved at exit. (This binary's tests take turns on the sink: `SINK`; test
/// binaries run one after another.)
#[test]
fn real_window_analyzes_the_saved_input() {
    let _sink = SINK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if skip_unless(
        "real_window_analyzes_the_saved_input",
        have("Xvfb") && have("xdotool") && have("paplay") && have("parec") && pulse_running(),
        "Xvfb, xdotool, paplay/parec and a PulseAudio server",
    ) {
        return;
    }
    let dir = scratch("gui_input");
    let ours = tone_file(&dir, "ours.wav", 300.0, 0.02, 60.0);
    let outside = tone_file(&dir, "outside.wav", 1000.0, 0.1, 60.0);
    let config = dir.join("config");
    let _ = std::fs::remove_dir_all(&config);
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("settings.json"), r#"{"analyze": "monitor"}"#).unwrap();
    let _player = play_into_sink(&outside);
    let (_xvfb, display) = start_xvfb();
    let mut app = Command::new(bin())
        .arg(&ours)
        .arg("--new-window")
        .arg("--stats-on-exit")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("DISPLAY", &display)
        .env("RUSTY_AUDIO_CONFIG_DIR", &config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let app_guard = scopeguard_kill(app.id());
    let wid = window_id(&mut app, &display);
    // The app's own capture stream, on the server (cpal names it after the process).
    let pid = format!("\"cpal-capture-{}\"", app.id());
    wait_for("the app's capture stream on the server", 30, || {
        let o = Command::new("pactl")
            .args(["list", "source-outputs"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).contains(&pid)
    });
    let raw = dir.join("monitor.raw");
    let rec = Killer(start_recording(&raw));
    wait_for("1.5 s of the monitor recorded", 30, || {
        read_f32_raw(&raw).len() >= 2 * 72_000
    });
    drop(rec);
    let status = close_with_ctrl_q(&mut app, &wid, &display);
    drop(app_guard);
    let o = app.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(status.success(), "exit {status:?}: {err}");
    let stats: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)));
    let input = &stats["input"];
    assert!(
        input["device"]
            .as_str()
            .is_some_and(|d| d.starts_with("What this computer plays")),
        "{stats}\n{err}"
    );
    assert!(input["frames"].as_u64().unwrap() >= 48_000, "{input}");
    assert!(input["callbacks"].as_u64().unwrap() > 0, "{input}");
    assert_eq!(input["overruns"], 0, "{input}");
    let peak = input["spectrum_peak_hz"].as_f64().unwrap_or(0.0);
    assert!(
        (peak - 1000.0).abs() < 50.0,
        "the spectrum peaks at {peak} Hz: {input}"
    );
    // And the window's spectrum view drew it.
    let drawn = stats["spectrum_drawn_peak_hz"].as_f64().unwrap_or(0.0);
    assert!(
        (drawn - 1000.0).abs() < 50.0,
        "the view drew a peak at {drawn} Hz: {stats}"
    );
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(config.join("settings.json")).unwrap()).unwrap();
    assert_eq!(saved["analyze"], "monitor", "{saved}");
}

/// Kill the process `pid` if the test fails before it ends (a panic between spawn and exit).
fn scopeguard_kill(pid: u32) -> impl Drop {
    struct Guard(u32);
    impl Drop for Guard {
        fn drop(&mut self) {
            if std::thread::panicking() {
                let _ = Command::new("kill").arg(self.0.to_string()).status();
            }
        }
    }
    Guard(pid)
}
