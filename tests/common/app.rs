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
