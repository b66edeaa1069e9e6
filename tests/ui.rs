//! The real desktop app (`RustyApp`) driven by egui_kittest: no display needed. The engine plays
//! to the paced null output (same render function as a device), so positions advance in real
//! time; waits are bounded loops on a condition, not sleeps.

mod common;
use common::app::*;
use common::*;

use egui_kittest::kittest::Queryable;

use rusty_audio::ui::RustyApp;

/// The playlist's files, in order.
fn paths(app: &RustyApp) -> Vec<std::path::PathBuf> {
    app.playlist.iter().map(|e| e.path.to_path_buf()).collect()
}

fn tone(name: &str) -> std::path::PathBuf {
    tone_file(&scratch(name), "tone.wav", 1000.0, 0.3, 3.0)
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

#[test]
fn dragging_an_eq_handle_changes_the_band_in_the_engine() {
    let mut h = harness(app_with(vec![tone("ui_drag")]));
    h.step();
    h.get_by_label("Add band").click();
    h.step();
    h.step();
    let before = h.state().engine.dsp().eq.bands()[0];
    assert_eq!((before.freq, before.gain_db), (1000.0, 0.0));
    let start = h.get_by_label("EQ band 1 handle").rect().center();
    // Drag right (higher frequency) and up (boost) in small pointer steps, like a hand.
    h.hover_at(start);
    h.step();
    h.drag_at(start);
    h.step();
    for k in 1..=10 {
        h.hover_at(start + egui::vec2(8.0 * k as f32, -4.0 * k as f32));
        h.step();
    }
    h.drop_at(start + egui::vec2(80.0, -40.0));
    h.step();
    let after = h.state().engine.dsp().eq.bands()[0];
    assert!(
        after.freq > 1500.0,
        "frequency followed the pointer: {after:?}"
    );
    assert!(after.gain_db > 3.0, "gain followed the pointer: {after:?}");
    assert_eq!(after.kind, before.kind);
}

#[test]
fn reordering_keeps_the_playing_track_playing() {
    let a = tone("ui_order_a");
    let b = scratch("ui_order_b").join("second.wav");
    let c = scratch("ui_order_c").join("third.wav");
    std::fs::copy(&a, &b).unwrap();
    std::fs::copy(&a, &c).unwrap();
    let mut h = harness(app_with(vec![a.clone(), b.clone(), c.clone()]));
    h.step();
    h.state_mut().play(0);
    step_until(&mut h, "first track audible", |a| {
        a.position().is_some_and(|p| p.0 == 0 && p.1 > 0.2)
    });
    let played = h
        .state()
        .engine
        .telemetry()
        .frames_played
        .load(std::sync::atomic::Ordering::Relaxed);
    let (_, pos_before) = h.state().position().unwrap();
    // Drag the playing row (row 1) below the third one.
    let from = h
        .get_by_role_and_label(egui::accesskit::Role::ListItem, "tone.wav")
        .rect()
        .center();
    let to = h
        .get_by_role_and_label(egui::accesskit::Role::ListItem, "third.wav")
        .rect()
        .center();
    h.hover_at(from);
    h.step();
    h.drag_at(from);
    h.step();
    for k in 1..=8 {
        h.hover_at(from + (to - from) * (k as f32 / 8.0));
        h.step();
    }
    h.drop_at(to);
    h.step();
    let names = paths(h.state());
    assert_eq!(names, vec![b.clone(), c.clone(), a.clone()]);
    let queued: Vec<_> = h
        .state()
        .engine
        .queue()
        .iter()
        .map(|q| q.path.clone())
        .collect();
    assert_eq!(queued, names, "the engine's queue follows");
    // Still the same track, now at index 2, and its position went on (no restart, no flush).
    step_until(&mut h, "position keeps advancing at the new index", |app| {
        app.position()
            .is_some_and(|p| p.0 == 2 && p.1 > pos_before + 0.2)
    });
    assert_eq!(
        h.state()
            .engine
            .telemetry()
            .underruns
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    assert!(
        h.state()
            .engine
            .telemetry()
            .frames_played
            .load(std::sync::atomic::Ordering::Relaxed)
            > played
    );
    // Alt+Up moves the selected entry up.
    h.get_by_role_and_label(egui::accesskit::Role::ListItem, "third.wav")
        .click();
    h.step();
    h.key_press_modifiers(egui::Modifiers::ALT, egui::Key::ArrowUp);
    h.step();
    let names = paths(h.state());
    assert_eq!(names, vec![c, b, a]);
    assert_eq!(
        h.state().selected,
        Some(0),
        "the selection moves with the entry"
    );
}

#[test]
fn a_bad_file_is_marked_notified_and_playback_goes_on() {
    let dir = scratch("ui_bad");
    let bad = dir.join("broken.flac");
    std::fs::write(&bad, b"fLaC but then nothing sensible at all").unwrap();
    let good = tone("ui_bad_good");
    let mut h = harness(app_with(vec![bad.clone(), good]));
    h.step();
    h.state_mut().play(0);
    step_until(&mut h, "the next track plays", |a| {
        a.position().is_some_and(|p| p.0 == 1 && p.1 > 0.1)
    });
    let e = &h.state().playlist[0];
    let err = e.error.as_deref().expect("the entry is marked");
    assert!(err.contains("broken.flac"), "{err}");
    assert!(
        noticed(h.state(), "broken.flac"),
        "a notification names the file: {:?}",
        h.state().notices()
    );
}

#[test]
fn tags_duration_overview_and_spectrogram_appear() {
    let p = tone("ui_scan");
    let mut h = harness(app_with(vec![p]));
    h.step();
    h.state_mut().play(0);
    step_until(&mut h, "duration from the scanner", |a| {
        a.playlist[0]
            .duration_s
            .is_some_and(|d| (d - 3.0).abs() < 0.01)
    });
    step_until(&mut h, "the waveform overview of the playing track", |a| {
        a.overview
            .as_ref()
            .is_some_and(|o| o.key == a.playlist[0].key)
    });
    step_until(&mut h, "spectrogram columns", |a| a.spectrogram.head() > 3);
    // The 1 kHz tone is the loudest row of the newest column.
    let app = h.state();
    let col = (app.spectrogram.head() - 1) % rusty_audio::ui::spectrogram_view::COLUMNS;
    let rows = rusty_audio::ui::spectrogram_view::ROWS;
    let loudest = (0..rows)
        .max_by(|&x, &y| {
            app.spectrogram
                .level_db(col, x)
                .total_cmp(&app.spectrogram.level_db(col, y))
        })
        .unwrap();
    let f = rusty_audio::ui::axis::f_of((loudest as f64 + 0.5) / rows as f64);
    assert!((f / 1000.0 - 1.0).abs() < 0.05, "loudest row at {f:.0} Hz");
    h.get_by_label("Spectrogram").click();
    h.step();
    assert!(!h.state().show_spectrogram);
}

#[test]
fn settings_survive_a_restart_and_a_corrupt_file_is_kept() {
    let dir = scratch("ui_settings").join("cfg");
    let _ = std::fs::remove_dir_all(&dir);
    let a = tone("ui_settings_a");
    let b = scratch("ui_settings_b").join("b.wav");
    std::fs::copy(&a, &b).unwrap();
    let start = |files: Vec<std::path::PathBuf>| app_stored(&dir, files);
    {
        let mut h = harness(start(vec![a.clone(), b.clone()]));
        h.step();
        h.state_mut().set_volume_db(-9.0);
        h.get_by_label("Add band").click();
        h.step();
        h.get_by_label("Spectrogram").click();
        h.step();
        h.state_mut().play(1);
        step_until(&mut h, "second track at 0.5 s", |a| {
            a.position().is_some_and(|p| p.0 == 1 && p.1 > 0.5)
        });
        // Closing the app (dropping it) writes the settings.
    }
    let mut h = harness(start(vec![]));
    h.step();
    let app = h.state();
    assert_eq!(paths(app), vec![a.clone(), b.clone()], "playlist restored");
    assert_eq!(app.volume_db, -9.0);
    assert_eq!(app.engine.dsp().eq.len(), 1, "EQ restored");
    assert!(!app.show_spectrogram, "layout restored");
    assert_eq!(app.selected, Some(1), "current track restored");
    drop(h);
    // A damaged file: defaults, a notice naming it, and the damaged file kept aside.
    let file = dir.join("settings.json");
    std::fs::write(&file, b"{\"volume_db\": -3, oops").unwrap();
    let h = harness(start(vec![a]));
    assert!(
        h.state()
            .notices()
            .iter()
            .any(|n| n.contains("settings.json") && n.contains("corrupt-1")),
        "{:?}",
        h.state().notices()
    );
    assert_eq!(h.state().volume_db, 0.0);
    assert_eq!(
        std::fs::read(dir.join("settings.json.corrupt-1")).unwrap(),
        b"{\"volume_db\": -3, oops"
    );
}

/// Settings are written off the UI thread; a failure still reaches the user as a notice naming
/// the file, the app keeps playing, and what is in the way is not touched.
#[test]
fn a_settings_write_failure_is_reported_not_fatal() {
    use rusty_audio::ui::app::Startup;
    use rusty_audio::ui::settings::Store;
    let base = scratch("ui_settings_fail");
    let dir = base.join("cfg");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&dir);
    let mut store = Store::at(&dir);
    let (settings, warning) = store.load(); // nothing there yet: defaults, no warning
    assert_eq!(warning, None);
    let mut h = harness(RustyApp::build(
        null_engine(),
        Startup {
            files: vec![tone("ui_settings_fail")],
            autoplay: false,
            store,
            settings,
            warning,
        },
    ));
    // Something else takes the config directory's name: the write cannot succeed (even as root).
    std::fs::write(&dir, b"keep me").unwrap();
    h.step();
    h.state_mut().set_volume_db(-6.0);
    h.state_mut().save_now();
    step_until(&mut h, "a notice about the settings file", |a| {
        a.notices()
            .iter()
            .any(|n| n.contains("settings.json") && n.contains("cannot save settings"))
    });
    h.get_by_label("Play").click();
    step_until(&mut h, "playback despite the failure", |a| {
        a.position().is_some_and(|p| p.1 > 0.2)
    });
    assert_eq!(std::fs::read(&dir).unwrap(), b"keep me");
}

#[test]
fn switching_the_output_keeps_track_and_position() {
    let mut h = harness(app_with(vec![tone("ui_switch")]));
    h.step();
    h.state_mut().play(0);
    step_until(&mut h, "playing past 0.5 s", |a| {
        a.position().is_some_and(|p| p.1 > 0.5)
    });
    let (_, before) = h.state().position().unwrap();
    h.state_mut().switch_output(Some("null".into()), Some(256));
    assert_eq!(h.state().engine.output_info().buffer_frames, Some(256));
    step_until(&mut h, "playing on the new output from where it was", |a| {
        a.position().is_some_and(|p| p.0 == 0 && p.1 >= before)
    });
    let (_, after) = h.state().position().unwrap();
    assert!(
        after - before < 1.0,
        "resumed near {before:.2} s, not restarted: {after:.2}"
    );
}

#[test]
fn f12_opens_the_performance_panel_with_live_figures() {
    let mut h = harness(app_with(vec![tone("ui_perf")]));
    h.step();
    h.state_mut().play(0);
    step_until(&mut h, "playing", |a| {
        a.position().is_some_and(|p| p.1 > 0.3)
    });
    assert!(!h.state().show_perf);
    h.key_press(egui::Key::F12);
    h.step();
    assert!(h.state().show_perf);
    h.step();
    // The panel reads the real callback histogram: callbacks have been recorded.
    assert!(h.state().engine.telemetry().perf.callback_snapshot().count > 10);
    h.get_by_label("Reset").click();
    h.step();
    assert!(
        h.state().engine.telemetry().perf.callback_snapshot().count < 10,
        "reset clears the statistics"
    );
    h.key_press(egui::Key::F12);
    h.step();
    assert!(!h.state().show_perf, "F12 closes it again");
}

/// Issue 12: a truncated FLAC (its header still claims the full length) is listed with the length
/// that decodes once the overview knows it, and keeps it when a seek reopens the file.
#[test]
fn a_truncated_files_decoded_length_is_shown_and_kept() {
    let dir = scratch("ui_truncated");
    let whole = std::fs::read(media_file("prog.flac")).unwrap();
    let cut = dir.join("cut.flac");
    std::fs::write(&cut, &whole[..whole.len() / 3]).unwrap();
    let declared = rusty_audio::decode::AudioSource::open(&cut)
        .unwrap()
        .info()
        .duration_s()
        .expect("the header declares a length");
    let mut h = harness(app_with(vec![cut]));
    h.step();
    h.state_mut().play(0);
    step_until(&mut h, "the decoded length", |a| {
        a.playlist[0].duration_exact
    });
    let decoded = h.state().playlist[0].duration_s.unwrap();
    assert!(
        decoded < declared * 0.8,
        "decoded {decoded:.2} s of the declared {declared:.2} s"
    );
    // A seek near the end reopens the file (whose header says more): the length stays.
    h.state_mut()
        .apply(rusty_audio::ui::command::AppCommand::SeekTo(decoded - 1.0));
    step_until(&mut h, "playing near the end", |a| {
        a.position().is_some_and(|p| p.1 > decoded - 1.2)
    });
    for _ in 0..5 {
        h.step();
    }
    assert_eq!(h.state().playlist[0].duration_s, Some(decoded));

    // After a restart the list shows the decoded length from the start (kept in the settings
    // while the file is unchanged), not the header's, and the scanner does not undo it.
    let saved = h.state().snapshot(true);
    drop(h);
    let app = RustyApp::build(
        null_engine(),
        rusty_audio::ui::app::Startup {
            files: Vec::new(),
            autoplay: false,
            store: rusty_audio::ui::settings::Store::in_memory(),
            settings: saved,
            warning: None,
        },
    );
    assert_eq!(app.playlist[0].duration_s, Some(decoded));
    let mut h = harness(app);
    for _ in 0..20 {
        h.step();
    }
    assert_eq!(h.state().playlist[0].duration_s, Some(decoded));
}
