//! The desktop app loses its sound device mid-play: a notice says so, the app moves to the null
//! output and the track goes on (nothing marked as bad, position still advancing). The real app
//! (egui_kittest) on a real cpal stream into a private PulseAudio server that the test kills.
//! Its own test binary because it points this process's PULSE_SERVER at the private server.

mod common;
use common::app::noticed;
use common::*;

use std::time::{Duration, Instant};

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use rusty_audio::ui::RustyApp;

fn step_until(h: &mut Harness<'static, RustyApp>, what: &str, cond: impl Fn(&RustyApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond(h.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn losing_the_device_notifies_and_playback_goes_on() {
    if skip_without_pulse("losing_the_device_notifies_and_playback_goes_on") {
        return;
    }
    let server = PrivatePulse::start("uiloss");
    // The only test in this binary: nothing else reads the environment concurrently.
    std::env::set_var("XDG_RUNTIME_DIR", &server.runtime);
    std::env::set_var("PULSE_SERVER", &server.server);

    let tone = scratch("ui_device_loss").join("tone.wav");
    write_wav_f32(&tone, 48_000, 2, &sine(48_000, 2, 440.0, 0.2, 20.0));
    let engine = device_engine(); // on the private server
    let mut h = Harness::builder()
        .with_size([1200.0, 800.0])
        .build_ui_state(
            |ui, app: &mut RustyApp| app.show(ui),
            RustyApp::new(engine, vec![tone], false),
        );
    h.step();
    h.get_by_label("Play").click();
    step_until(&mut h, "playback on the device", |a| {
        a.position().is_some_and(|p| p.1 > 0.5)
    });
    assert!(server.has_stream());

    server.kill();
    step_until(&mut h, "a notice about the lost device", |a| {
        a.notices()
            .iter()
            .any(|n| n.contains("failed") && n.contains("null output"))
    });
    assert!(h.state().engine.output_info().is_null);
    let at = h.state().position().unwrap();
    step_until(&mut h, "the same track going on", |a| {
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
    step_until(&mut h, "back on the device", |a| {
        !a.engine.output_info().is_null
    });
    assert!(noticed(h.state(), "is back"), "{:?}", h.state().notices());
    step_until(&mut h, "a position on the device", |a| {
        a.position().is_some()
    });
    let resumed = h.state().position().unwrap();
    assert!(
        resumed.0 == before.0 && resumed.1 >= before.1 - 0.2,
        "went on where it was ({before:?}), not from the start: {resumed:?}"
    );
    step_until(&mut h, "playing on the device again", |a| {
        a.position()
            .is_some_and(|p| p.0 == before.0 && p.1 > before.1 + 0.3)
    });
    assert!(server.has_stream(), "our stream is on the server again");
}
