//! The real desktop app (`RustyApp`) driven by egui_kittest: no display needed. The engine plays
//! to the paced null output (same render function as a device), so positions advance in real
//! time; waits are bounded loops on a condition, not sleeps.

mod common;
use common::*;

use std::time::{Duration, Instant};

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use rusty_audio::engine::{Engine, EngineConfig, OutputChoice};
use rusty_audio::ui::RustyApp;

fn app_with(files: Vec<std::path::PathBuf>) -> RustyApp {
    let engine = Engine::start(&EngineConfig {
        output: OutputChoice::Null,
        buffer_frames: Some(512),
        ..EngineConfig::default()
    })
    .unwrap();
    RustyApp::new(engine, files, false)
}

fn harness(app: RustyApp) -> Harness<'static, RustyApp> {
    Harness::builder()
        .with_size([1200.0, 800.0])
        .build_ui_state(|ui, app: &mut RustyApp| app.show(ui), app)
}

fn step_until(h: &mut Harness<'static, RustyApp>, what: &str, cond: impl Fn(&RustyApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond(h.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        h.step();
        std::thread::yield_now();
    }
}

fn tone(name: &str) -> std::path::PathBuf {
    let p = scratch(name).join("tone.wav");
    write_wav_f32(&p, 48_000, 2, &sine(48_000, 2, 1000.0, 0.3, 3.0));
    p
}

#[test]
fn play_advances_the_position_and_pause_holds_it() {
    let mut h = harness(app_with(vec![tone("ui_play")]));
    h.step();
    h.get_by_label("Play").click();
    h.step();
    step_until(&mut h, "position past 0.3 s", |a| {
        a.position().is_some_and(|p| p.1 > 0.3)
    });
    step_until(&mut h, "meters moving", |a| {
        a.engine
            .telemetry()
            .frames_played
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    });
    h.get_by_label("Pause").click();
    h.step();
    step_until(&mut h, "paused", |a| {
        a.engine.telemetry().state() == rusty_audio::engine::PlayState::Paused
    });
    let held = h.state().position().unwrap().1;
    for _ in 0..5 {
        h.step();
    }
    assert!(
        (h.state().position().unwrap().1 - held).abs() < 0.05,
        "position holds while paused"
    );
    assert!(
        h.query_by_label("Play").is_some(),
        "the button offers Play again"
    );
}

#[test]
fn eq_edits_and_presets_reach_the_engine() {
    let mut h = harness(app_with(vec![]));
    h.step();
    h.get_by_label("Add band").click();
    h.step();
    assert_eq!(
        h.state().engine.dsp().eq.len(),
        1,
        "the engine received the new band"
    );
    assert_eq!(h.state().engine.dsp().eq.bands()[0].freq, 1000.0);
    h.get_by_label("Presets").click();
    h.step();
    h.step();
    h.get_by_label("Bass boost").click();
    h.step();
    let eq = h.state().engine.dsp().eq;
    assert_eq!(eq.preamp_db, -6.0, "the built-in preset reached the engine");
    assert_eq!(
        eq.bands()[0].kind,
        rusty_audio::dsp::biquad::FilterKind::LowShelf
    );
    h.get_by_label("Bypass EQ").click();
    h.step();
    assert!(h.state().engine.dsp().eq.bypass);
    h.get_by_label("Remove").click();
    h.step();
    assert!(h.state().engine.dsp().eq.is_empty());
}

#[test]
fn importing_a_preset_file_reports_bad_lines() {
    let dir = scratch("ui_import");
    let p = dir.join("autoeq.txt");
    std::fs::write(
        &p,
        "Preamp: -3.5 dB\nFilter 1: ON PK Fc 120 Hz Gain 2 dB Q 1.1\nNonsense here\n",
    )
    .unwrap();
    let (eq, warnings) = rusty_audio::ui::eq_view::import(&p).unwrap();
    assert_eq!((eq.preamp_db, eq.len()), (-3.5, 1));
    assert!(
        warnings.len() == 1 && warnings[0].contains("line 3"),
        "{warnings:?}"
    );
    assert!(rusty_audio::ui::eq_view::import(&dir.join("missing.txt"))
        .unwrap_err()
        .contains("missing.txt"));
}

#[test]
fn playlist_entries_can_be_removed_and_views_toggled() {
    let a = tone("ui_list_a");
    let b = scratch("ui_list_b").join("other.wav");
    std::fs::copy(&a, &b).unwrap();
    let mut h = harness(app_with(vec![a, b]));
    h.step();
    assert_eq!(h.state().playlist.len(), 2);
    h.get_by_label("other.wav").click();
    h.step();
    h.key_press(egui::Key::Delete);
    h.step();
    assert_eq!(h.state().playlist.len(), 1);
    assert_eq!(
        h.state().engine.queue().len(),
        1,
        "the engine's queue follows the playlist"
    );
    h.get_by_label("Spectrum").click();
    h.step();
    assert!(!h.state().show_spectrum);
    h.get_by_label("EQ editor").click();
    h.step();
    assert!(!h.state().show_eq);
}
