//! The app's analyzer views on a live input (issue 16), in the real app (egui_kittest) on the
//! test sound server: the player plays a 300 Hz tone to the null output while `paplay` plays a
//! 1 kHz tone into the server's default sink. Switching "Analyze" to what this computer plays
//! moves the spectrum's peak to 1 kHz and the meters to the tone's level while playback goes on;
//! switching back returns them to the player. Its own binary: it plays into the shared sink.

mod common;
use common::app::*;
use common::*;

use egui_kittest::kittest::Queryable;
use rusty_audio::ui::RustyApp;
use std::process::{Command, Stdio};

/// The frequency of the spectrum's strongest bin (the views' own frame).
fn spectrum_peak_hz(app: &mut RustyApp) -> Option<f32> {
    let f = app.spectrum();
    (0..f.len)
        .max_by(|&a, &b| f.db[a].total_cmp(&f.db[b]))
        .filter(|&i| f.db[i] > -60.0)
        .map(|i| f.freq[i])
}

fn near(hz: Option<f32>, want: f32) -> bool {
    hz.is_some_and(|f| (f - want).abs() < want * 0.05)
}

#[test]
fn analyze_follows_what_this_computer_plays_and_back() {
    if skip_without_pulse("analyze_follows_what_this_computer_plays_and_back")
        || skip_unless("ui_listen", have("paplay"), "paplay (pulseaudio-utils)")
    {
        return;
    }
    let dir = scratch("ui_listen");
    let outside = tone_file(&dir, "outside.wav", 1000.0, 0.1, 60.0);
    let _player = Killer(
        Command::new("paplay")
            .arg(&outside)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let ours = tone_file(&dir, "ours.wav", 300.0, 0.5, 60.0);
    let mut h = harness(app_with(vec![ours]));
    h.step();
    play_until(&mut h, 0.2);
    let mut seen = None;
    for _ in 0..2000 {
        h.step();
        seen = spectrum_peak_hz(h.state_mut());
        if near(seen, 300.0) {
            break;
        }
    }
    assert!(near(seen, 300.0), "the player's tone: {seen:?}");

    h.get_by_label("Analyze").click();
    h.step();
    h.step();
    h.get_by_label("What this computer plays (the default output's monitor)")
        .click();
    h.step();
    assert!(
        h.state().analyzing_input(),
        "notices: {:?}",
        h.state().notices()
    );
    let before = h.state().position().unwrap().1;
    for _ in 0..4000 {
        h.step();
        seen = spectrum_peak_hz(h.state_mut());
        if near(seen, 1000.0) {
            break;
        }
        std::thread::yield_now();
    }
    assert!(near(seen, 1000.0), "the input's tone: {seen:?}");
    // The meters follow too: the input's −20 dBFS peak (the player's tone is at −6).
    let peak = h.state_mut().meters().meters.peak[0];
    assert!(
        (20.0 * peak.log10() + 20.0).abs() < 1.0,
        "the input's peak: {} dBFS",
        20.0 * peak.log10()
    );
    step_until(&mut h, "playback going on meanwhile", |a| {
        a.position().is_some_and(|p| p.1 > before + 0.2)
    });
    // The performance panel shows the input's callback beside the output's.
    h.get_by_label("Performance").click();
    h.step();
    h.step();
    assert!(h.query_by_label("Input callback p50 / p99 / max").is_some());
    h.key_press(egui::Key::F12); // and closed again
    h.step();
    assert!(h.query_by_label("Input callback p50 / p99 / max").is_none());

    // Back to the player.
    h.get_by_label("Analyze").click();
    h.step();
    h.step();
    h.get_by_label("Player").click();
    h.step();
    assert!(!h.state().analyzing_input());
    for _ in 0..4000 {
        h.step();
        seen = spectrum_peak_hz(h.state_mut());
        if near(seen, 300.0) {
            break;
        }
    }
    assert!(near(seen, 300.0), "the player's tone again: {seen:?}");
}
