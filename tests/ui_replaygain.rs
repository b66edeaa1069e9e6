//! Loudness normalization in the real app (egui_kittest, null output): the transport's picker
//! changes the mode through the command path, the playlist and the now-playing area show the
//! gain, the engine plays at it (read on the meters), a live change is heard, and the setting
//! survives a restart.

mod common;
use common::app::*;
use common::*;

use egui_kittest::kittest::Queryable;
use rusty_audio::library::replaygain::{GainMode, GainSource};
use rusty_audio::ui::RustyApp;

/// A 20 s FLAC of a 1 kHz sine at peak 0.5, tagged −6 dB (track) / −3 dB (album).
fn tagged(dir: &std::path::Path) -> std::path::PathBuf {
    flac_file(
        dir,
        "t.flac",
        48_000,
        &sine(48_000, 2, 1000.0, 0.5, 20.0),
        &[
            "TITLE=Tagged",
            "REPLAYGAIN_TRACK_GAIN=-6.00 dB",
            "REPLAYGAIN_ALBUM_GAIN=-3.00 dB",
        ],
    )
}

/// Step until the meters' sample peak of the left channel settles near `want` (the PPM fall
/// needs time to come down from a louder level; bounded, a condition, not a sleep).
fn peak_settles_at(h: &mut egui_kittest::Harness<'static, RustyApp>, want: f32, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let p = h.state_mut().engine.meters().meters.peak[0];
        if (p - want).abs() < want * 0.03 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}: peak {p}"
        );
        h.step();
        std::thread::yield_now();
    }
}

#[test]
fn the_normalization_picker_is_heard_shown_and_kept() {
    if skip_unless(
        "the_normalization_picker_is_heard_shown_and_kept",
        have("flac") && have("metaflac"),
        "flac, metaflac",
    ) {
        return;
    }
    let dir = scratch("ui_replaygain");
    let config = dir.join("config");
    let _ = std::fs::remove_dir_all(&config);
    let start = |files: Vec<std::path::PathBuf>| app_stored(&config, files);
    let f = tagged(&dir);
    let mut h = harness(start(vec![f.clone()]));
    h.step();
    step_until(&mut h, "tags read", |a| {
        a.playlist[0].tags.gain.track_gain_db == Some(-6.0)
    });
    assert!(h.state().planned_gain(0).is_none(), "off: no gain shown");
    play_until(&mut h, 0.2);
    peak_settles_at(&mut h, 0.5, "unnormalized peak 0.5");

    let picker = |h: &egui_kittest::Harness<'static, RustyApp>| {
        h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Normalize")
            .click();
    };
    picker(&h);
    h.step();
    h.step();
    h.get_by_label("Track gain").click();
    h.step();
    h.step();
    assert_eq!(h.state().normalization.mode, GainMode::Track);
    assert_eq!(h.state().planned_gain(0).map(|g| g.db), Some(-6.0));
    // The engine reports the gain it applies (a live change: the track being decoded).
    step_until(&mut h, "the engine's gain", |a| {
        a.playlist[0]
            .gain
            .is_some_and(|g| g.source == GainSource::Track && g.db == -6.0)
    });
    h.step();
    assert!(
        h.query_by_label_contains("ReplayGain track -6.00 dB")
            .is_some(),
        "now playing shows the gain"
    );
    peak_settles_at(&mut h, 0.5 * 10f32.powf(-6.0 / 20.0), "peak at −6 dB");

    picker(&h);
    h.step();
    h.step();
    h.get_by_label("Album gain").click();
    h.step();
    peak_settles_at(
        &mut h,
        0.5 * 10f32.powf(-3.0 / 20.0),
        "peak at −3 dB (album)",
    );

    // Closing the app (dropping it) writes the settings; a new app starts with them and
    // gives them to its engine.
    drop(h);
    let mut h = harness(start(vec![]));
    h.step();
    assert_eq!(h.state().normalization.mode, GainMode::Album);
    h.state_mut().play(0);
    step_until(&mut h, "the restored gain applied", |a| {
        a.playlist[0]
            .gain
            .is_some_and(|g| g.source == GainSource::Album && g.db == -3.0)
    });
}
