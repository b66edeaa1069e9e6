//! The real desktop app (`RustyApp`) in an egui_kittest harness, on the paced null output.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use rusty_audio::engine::{Engine, EngineConfig, OutputChoice};
use rusty_audio::ui::RustyApp;

pub fn null_engine() -> Engine {
    Engine::start(&EngineConfig {
        output: OutputChoice::Null,
        buffer_frames: Some(512),
        ..EngineConfig::default()
    })
    .unwrap()
}

pub fn app_with(files: Vec<PathBuf>) -> RustyApp {
    RustyApp::new(null_engine(), files, false)
}

/// The app as a user starts it: settings loaded from (and saved to) `config`, `files` queued
/// (none: the saved playlist), not playing.
pub fn app_stored(config: &std::path::Path, files: Vec<PathBuf>) -> RustyApp {
    use rusty_audio::ui::app::Startup;
    use rusty_audio::ui::settings::Store;
    let mut store = Store::at(config);
    let (settings, warning) = store.load();
    RustyApp::build(
        null_engine(),
        Startup {
            files,
            autoplay: false,
            store,
            settings,
            warning,
        },
    )
}

pub fn harness(app: RustyApp) -> Harness<'static, RustyApp> {
    harness_sized(app, [1200.0, 800.0])
}

pub fn harness_sized(app: RustyApp, size: [f32; 2]) -> Harness<'static, RustyApp> {
    Harness::builder()
        .with_size(size)
        .build_ui_state(|ui, app: &mut RustyApp| app.show(ui), app)
}

/// Step the app until `cond` holds (bounded: a condition, not a sleep).
pub fn step_until(
    h: &mut Harness<'static, RustyApp>,
    what: &str,
    cond: impl Fn(&RustyApp) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond(h.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        h.step();
        std::thread::yield_now();
    }
}

/// Whether a notice shown contains `needle`.
pub fn noticed(a: &RustyApp, needle: &str) -> bool {
    a.notices().iter().any(|n| n.contains(needle))
}

/// Click Play and step until the position is past `seconds`.
pub fn play_until(h: &mut Harness<'static, RustyApp>, seconds: f64) {
    use egui_kittest::kittest::Queryable;
    h.get_by_label("Play").click();
    h.step();
    step_until(h, "playing", |a| {
        a.position().is_some_and(|p| p.1 > seconds)
    });
}

/// The desktop app loses its sound server mid-play and gets it back (the body of
/// tests/ui_device_loss*.rs, one binary per server kind: it points this process's
/// XDG_RUNTIME_DIR/PULSE_SERVER at a private server, so it must be the only test in its binary).
/// A notice says so, the app moves to the null output and the track goes on (nothing marked as
/// bad, position advancing); when the server is back the app returns to it by itself, same
/// track, where it was.
pub fn lose_and_regain_the_server(kind: super::ServerKind) {
    use super::*;
    use egui_kittest::kittest::Queryable;
    let server = PrivatePulse::start_kind(&format!("uiloss-{kind:?}"), kind);
    // The only test in this binary: nothing else reads the environment concurrently.
    std::env::set_var("XDG_RUNTIME_DIR", &server.runtime);
    std::env::set_var("PULSE_SERVER", &server.server);
    std::env::remove_var("PIPEWIRE_RUNTIME_DIR");

    let tone = scratch(&format!("ui_device_loss_{kind:?}")).join("tone.wav");
    write_wav_f32(&tone, 48_000, 2, &sine(48_000, 2, 440.0, 0.2, 20.0));
    let engine = device_engine(); // on the private server
    let host = match kind {
        ServerKind::PulseAudio => "PulseAudio",
        ServerKind::PipeWire => "PipeWire",
    };
    assert_eq!(
        engine.output_info().host,
        host,
        "the default host for this server"
    );
    let mut h = Harness::builder()
        .with_size([1200.0, 800.0])
        .build_ui_state(
            |ui, app: &mut RustyApp| app.show(ui),
            RustyApp::new(engine, vec![tone], false),
        );
    h.step();
    h.get_by_label("Play").click();
    step_paced(&mut h, "playback on the device", |a| {
        a.position().is_some_and(|p| p.1 > 0.5)
    });
    assert!(server.has_stream());

    server.kill();
    step_paced(&mut h, "a notice about the lost device", |a| {
        a.notices()
            .iter()
            .any(|n| n.contains("failed") && n.contains("null output"))
    });
    assert!(h.state().engine.output_info().is_null);
    let at = h.state().position().unwrap();
    step_paced(&mut h, "the same track going on", |a| {
        a.position()
            .is_some_and(|p| p.0 == at.0 && p.1 > at.1 + 0.5)
    });
    assert!(
        h.state().playlist.iter().all(|e| e.error.is_none()),
        "a lost device is not a bad file"
    );

    // The device comes back: the app moves back to it by itself, same track, going on.
    let before = h.state().position().unwrap();
    server.launch();
    step_paced(&mut h, "back on the device", |a| {
        !a.engine.output_info().is_null
    });
    assert_eq!(
        h.state().engine.output_info().host,
        host,
        "back on the same host"
    );
    assert!(noticed(h.state(), "is back"), "{:?}", h.state().notices());
    step_paced(&mut h, "a position on the device", |a| {
        a.position().is_some()
    });
    let resumed = h.state().position().unwrap();
    assert!(
        resumed.0 == before.0 && resumed.1 >= before.1 - 0.2,
        "went on where it was ({before:?}), not from the start: {resumed:?}"
    );
    step_paced(&mut h, "playing on the device again", |a| {
        a.position()
            .is_some_and(|p| p.0 == before.0 && p.1 > before.1 + 0.3)
    });
    assert!(server.has_stream(), "our stream is on the server again");
}

/// `step_until`, sleeping 5 ms between frames: with a real device the audio threads (ours and the
/// private server's) need the CPU more than the harness does.
fn step_paced(h: &mut Harness<'static, RustyApp>, what: &str, cond: impl Fn(&RustyApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond(h.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
}
