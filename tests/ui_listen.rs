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

/// Open the "Analyze" picker and pick what this computer plays, as a user does; it opens.
fn pick_what_this_computer_plays(h: &mut egui_kittest::Harness<'static, RustyApp>) {
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

    pick_what_this_computer_plays(&mut h);
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

/// The Analyze choice is kept between runs, as a user expects of a setting: picked in one run,
/// the next start follows the same input. An input that is away at a start (unplugged) is a
/// notice naming it, the views show the player, and the choice stays saved for the start after
/// (closing the app does not forget it); picking the player is saved too.
#[test]
fn the_analyze_choice_is_remembered_between_runs() {
    if skip_without_pulse("the_analyze_choice_is_remembered_between_runs") {
        return;
    }
    let dir = scratch("ui_listen_saved").join("cfg");
    let _ = std::fs::remove_dir_all(&dir);
    let tone = tone_file(&scratch("ui_listen_saved"), "t.wav", 300.0, 0.5, 5.0);
    let start = || harness(app_stored(&dir, vec![tone.clone()]));
    let saved = || -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join("settings.json")).unwrap()).unwrap()
    };
    {
        let mut h = start();
        h.step();
        assert!(!h.state().analyzing_input(), "the player by default");
        pick_what_this_computer_plays(&mut h);
        // Closing the app (dropping it) writes the settings.
    }
    assert_eq!(saved()["analyze"], "monitor");
    {
        let mut h = start();
        h.step();
        assert!(
            h.state().analyzing_input(),
            "the saved input is followed at start: {:?}",
            h.state().notices()
        );
        assert!(
            h.state()
                .analyze_label()
                .starts_with("What this computer plays"),
            "{}",
            h.state().analyze_label()
        );
    }
    // An input that is not there at start (a name no device has).
    let mut s = saved();
    s["analyze"] = "no such microphone".into();
    std::fs::write(dir.join("settings.json"), s.to_string()).unwrap();
    {
        let mut h = start();
        h.step();
        assert!(!h.state().analyzing_input());
        assert!(
            noticed(h.state(), "no such microphone"),
            "a notice names the input: {:?}",
            h.state().notices()
        );
        // A change elsewhere makes the app write its settings: the choice is still in them.
        h.state_mut().set_volume_db(-4.0);
        h.step();
    }
    assert_eq!(
        saved()["volume_db"],
        -4.0,
        "the settings were written again"
    );
    assert_eq!(
        saved()["analyze"],
        "no such microphone",
        "kept for the next start"
    );
    // Picking the player is saved as such.
    {
        let mut h = start();
        h.step();
        h.state_mut()
            .set_analyze_source(rusty_audio::ui::app::analyze_source::AnalyzeSource::Player);
        h.state_mut().set_volume_db(-5.0);
        h.step();
    }
    assert!(saved()["analyze"].is_null(), "{}", saved());
}
