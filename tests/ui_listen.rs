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

/// The frequency of the spectrum's strongest bin in the views' own frame, and that frame's
/// sequence number.
fn spectrum_peak(app: &mut RustyApp) -> (u64, Option<f32>) {
    let f = app.spectrum();
    let peak = (0..f.len)
        .max_by(|&a, &b| f.db[a].total_cmp(&f.db[b]))
        .filter(|&i| f.db[i] > -60.0)
        .map(|i| f.freq[i]);
    (f.seq, peak)
}

fn near(hz: Option<f32>, want: f32) -> bool {
    hz.is_some_and(|f| (f - want).abs() < want * 0.05)
}

/// Step until a spectrum frame newer than the one shown now (a fresh computation, not a frame
/// left from before a switch) peaks near `want` (bounded: 20 s).
fn step_until_peak(h: &mut egui_kittest::Harness<'static, RustyApp>, want: f32, what: &str) {
    let (seq0, _) = spectrum_peak(h.state_mut());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        h.step();
        let (seq, peak) = spectrum_peak(h.state_mut());
        if seq > seq0 && near(peak, want) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: the spectrum peaks at {peak:?}, not {want} Hz (frame {seq}, from {seq0})"
        );
        std::thread::yield_now();
    }
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
    let _player = play_into_sink(&outside);
    let ours = tone_file(&dir, "ours.wav", 300.0, 0.5, 60.0);
    let mut h = harness(app_with(vec![ours]));
    h.step();
    play_until(&mut h, 0.2);
    step_until_peak(&mut h, 300.0, "the player's tone");

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
    step_until_peak(&mut h, 1000.0, "the input's tone");
    // The meters follow too: the input's −20 dBFS peak (the player's tone is at −6), on both
    // channels, once the meter thread has read a window of it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        h.step();
        let m = h.state_mut().meters().meters;
        let db = |x: f32| 20.0 * x.log10();
        if (db(m.peak[0]) + 20.0).abs() < 1.0 && (db(m.peak[1]) + 20.0).abs() < 1.0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the meters show {:.1} / {:.1} dBFS, not the input's −20",
            db(m.peak[0]),
            db(m.peak[1])
        );
    }
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

    // Back to the player: its spectrum is computed again (a new frame), at its tone.
    h.get_by_label("Analyze").click();
    h.step();
    h.step();
    h.get_by_label("Player").click();
    h.step();
    assert!(!h.state().analyzing_input());
    step_until_peak(&mut h, 300.0, "the player's tone again");
}
