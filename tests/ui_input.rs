//! Issue 12, input: the real app (egui_kittest, paced null output) under quick hands. Every key
//! press of a frame counts, in order; relative seeks add up; play/pause follows an odd or even
//! number of presses; the volume is capped; a text field in a menu keeps the keyboard; a paused
//! track comes back paused after a restart.

mod common;
use common::app::*;
use common::*;

use egui_kittest::kittest::Queryable;
use rusty_audio::engine::PlayState;
use rusty_audio::ui::settings::{Settings, Store, MAX_VOLUME_DB};
use rusty_audio::ui::RustyApp;

/// The tests that play into the test server's sink, one at a time: the declick test records the
/// sink, and another test's stream (or its output switch) would be in the recording.
static SINK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn sink() -> std::sync::MutexGuard<'static, ()> {
    SINK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn long_tone(name: &str, seconds: f64) -> std::path::PathBuf {
    tone_file(&scratch(name), "tone.wav", 440.0, 0.1, seconds)
}

fn press(h: &egui_kittest::Harness<'static, RustyApp>, keys: &[egui::Key], times: usize) {
    for _ in 0..times {
        for &k in keys {
            h.key_press(k);
        }
    }
}

#[test]
fn every_volume_key_press_in_a_frame_counts_and_the_volume_is_capped() {
    let mut h = harness(app_with(vec![long_tone("keys_volume", 1.0)]));
    h.step();
    assert_eq!(h.state().volume_db, 0.0);
    // 20 presses delivered in one frame: 20 steps.
    press(&h, &[egui::Key::ArrowDown], 20);
    h.step();
    assert_eq!(h.state().volume_db, -20.0);
    // 10 × "Down Up": back where it was.
    press(&h, &[egui::Key::ArrowDown, egui::Key::ArrowUp], 10);
    h.step();
    assert_eq!(h.state().volume_db, -20.0);
    // 15 × "Up Down Down": −15.
    press(
        &h,
        &[
            egui::Key::ArrowUp,
            egui::Key::ArrowDown,
            egui::Key::ArrowDown,
        ],
        15,
    );
    h.step();
    assert_eq!(h.state().volume_db, -35.0);
    // A storm of Up stops at the cap.
    press(&h, &[egui::Key::ArrowUp], 60);
    h.step();
    assert_eq!(h.state().volume_db, MAX_VOLUME_DB);
    // The slider cannot go above it either.
    h.state_mut().set_volume_db(11.0);
    assert_eq!(h.state().volume_db, MAX_VOLUME_DB);
}

#[test]
fn quick_seeks_add_up_and_space_presses_alternate() {
    let mut h = harness(app_with(vec![long_tone("keys_seek", 60.0)]));
    h.step();
    play_until(&mut h, 0.2);
    let from = h.state().position().unwrap().1;
    // Three Right presses in one frame, then a fourth a frame later (before the first seek is
    // heard): four seeks of 5 s from where it was.
    press(&h, &[egui::Key::ArrowRight], 3);
    h.step();
    press(&h, &[egui::Key::ArrowRight], 1);
    h.step();
    step_until(&mut h, "the seek heard", |a| {
        a.position().is_some_and(|p| p.1 > from + 19.0)
    });
    let at = h.state().position().unwrap().1;
    assert!(
        at < from + 21.5,
        "four 5 s steps from {from:.2} s: now {at:.2} s"
    );
    // Left twice: −10 s.
    press(&h, &[egui::Key::ArrowLeft], 2);
    h.step();
    step_until(&mut h, "back 10 s", |a| {
        a.position().is_some_and(|p| p.1 < at - 8.0)
    });
    // Three Space presses in one frame: paused. Four: playing.
    press(&h, &[egui::Key::Space], 3);
    h.step();
    step_until(&mut h, "paused", |a| {
        a.engine.telemetry().state() == PlayState::Paused
    });
    assert!(h.state().engine.is_paused());
    press(&h, &[egui::Key::Space], 4);
    h.step();
    assert!(
        h.state().engine.is_paused(),
        "an even number changes nothing"
    );
    press(&h, &[egui::Key::Space], 1);
    h.step();
    step_until(&mut h, "playing again", |a| a.is_playing());
}

#[test]
fn previous_goes_back_a_track_early_in_one_and_restarts_later() {
    let a = long_tone("keys_prev_a", 10.0);
    let b = tone_file(&scratch("keys_prev_b"), "second.wav", 880.0, 0.1, 10.0);
    let mut h = harness(app_with(vec![a, b]));
    h.step();
    h.state_mut().play(1);
    step_until(&mut h, "track 2 playing", |a| {
        a.position().is_some_and(|p| p.0 == 1 && p.1 > 0.1)
    });
    // 0.1 s into the second track: Previous goes to the first.
    h.get_by_label("Previous").click();
    h.step();
    step_until(&mut h, "track 1", |a| {
        a.position().is_some_and(|p| p.0 == 0)
    });
    // Seek 5 s in: Previous restarts this track.
    h.state_mut()
        .apply(rusty_audio::ui::command::AppCommand::SeekTo(5.0));
    step_until(&mut h, "5 s in", |a| {
        a.position().is_some_and(|p| p.1 > 4.9)
    });
    h.get_by_label("Previous").click();
    h.step();
    step_until(&mut h, "restarted", |a| {
        a.position().is_some_and(|p| p.0 == 0 && p.1 < 1.0)
    });
}

#[test]
fn the_preset_name_field_in_the_presets_menu_keeps_the_keyboard() {
    let cfg = scratch("keys_preset_cfg");
    let _ = std::fs::remove_dir_all(&cfg);
    let store = Store::at(cfg.clone());
    let app = RustyApp::build(
        null_engine(),
        rusty_audio::ui::app::Startup {
            files: vec![long_tone("keys_preset", 30.0)],
            autoplay: true,
            store,
            settings: Settings::default(),
            warning: None,
        },
    );
    let mut h = harness(app);
    step_until(&mut h, "playing", |a| a.is_playing());
    h.get_by_label("Presets").click();
    h.step();
    h.step();
    let field = || egui::accesskit::Role::TextInput;
    h.get_by_role(field()).click();
    h.step();
    h.get_by_role(field()).type_text("my bass boost");
    h.step();
    // A Space key press (not only the typed character) while the field has the keyboard.
    h.key_press(egui::Key::Space);
    h.step();
    h.step();
    assert!(h.state().preset_name.starts_with("my bass boost"));
    assert!(
        h.state().is_playing() && !h.state().engine.is_paused(),
        "the spaces typed did not toggle playback"
    );
    // The menu stayed open: its Save button is there and saves the preset.
    h.get_by_label("Save").click();
    h.step();
    let saved = cfg.join("presets").join("my bass boost.txt");
    assert!(saved.is_file(), "{} written", saved.display());
}

#[test]
fn a_paused_track_comes_back_paused_after_a_restart() {
    let cfg = scratch("keys_restart_cfg");
    let _ = std::fs::remove_dir_all(&cfg);
    let tone = long_tone("keys_restart", 30.0);
    let start = |store: Store, settings: Settings| {
        RustyApp::build(
            null_engine(),
            rusty_audio::ui::app::Startup {
                files: Vec::new(),
                autoplay: true,
                store,
                settings,
                warning: None,
            },
        )
    };
    {
        let app = RustyApp::build(
            null_engine(),
            rusty_audio::ui::app::Startup {
                files: vec![tone.clone()],
                autoplay: false,
                store: Store::at(cfg.clone()),
                settings: Settings::default(),
                warning: None,
            },
        );
        let mut h = harness(app);
        h.state_mut().play(0);
        step_until(&mut h, "2 s in", |a| {
            a.position().is_some_and(|p| p.1 > 2.0)
        });
        h.key_press(egui::Key::Space);
        h.step();
        step_until(&mut h, "paused", |a| {
            a.engine.telemetry().state() == PlayState::Paused
        });
    } // closing the app saves the session
    let mut store = Store::at(cfg.clone());
    let (settings, warning) = store.load();
    assert!(warning.is_none(), "{warning:?}");
    assert!(settings.paused, "saved as paused");
    let held = settings.position_s;
    assert!(held > 2.0);
    let mut h = harness(start(store, settings));
    step_until(&mut h, "restored", |a| {
        a.engine.telemetry().state() == PlayState::Paused
    });
    for _ in 0..10 {
        h.step();
    }
    let (track, pos) = h.state().position().unwrap();
    assert_eq!(track, 0);
    assert!((pos - held).abs() < 0.05, "held at {held:.2}, now {pos:.2}");
    assert!(!h.state().is_playing());
    assert_eq!(
        h.state()
            .engine
            .telemetry()
            .frames_played
            .load(std::sync::atomic::Ordering::Relaxed),
        0,
        "nothing was played"
    );
    // Space resumes from there.
    h.key_press(egui::Key::Space);
    h.step();
    step_until(&mut h, "playing from the saved position", |a| {
        a.position().is_some_and(|p| p.1 > held + 0.2)
    });
}

/// The largest sample-to-sample step of the left channel of interleaved stereo.
fn largest_step(stereo: &[f32]) -> (f32, usize) {
    let left: Vec<f32> = stereo.iter().step_by(2).copied().collect();
    left.windows(2)
        .enumerate()
        .map(|(i, w)| ((w[1] - w[0]).abs(), i))
        .fold((0.0, 0), |m, x| if x.0 > m.0 { x } else { m })
}

/// Seeks (a key and two clicks on the waveform at arbitrary points, so the sine's phase jumps)
/// and Stop, played through the real device into the PulseAudio null sink and recorded back:
/// no sample-to-sample step larger than the sine's own (a cut from full amplitude is 7× that).
#[test]
fn seeks_and_stop_do_not_click_at_the_sink() {
    if skip_without_pulse("seeks_and_stop_do_not_click_at_the_sink") {
        return;
    }
    let _sink = sink();
    let dir = scratch("hands_declick");
    let tone = tone_file(&dir, "tone.wav", 1000.0, 0.1, 30.0); // −20 dBFS
    let raw = dir.join("recorded.raw");
    let rec = start_recording(&raw);
    let mut h = harness(RustyApp::new(device_engine(), vec![tone], false));
    h.step();
    play_until(&mut h, 0.5);
    let bar = h.get_by_label("Seek").rect();
    let mut seeks = 0;
    for at in [None, Some(0.37), Some(0.71)] {
        let before = h.state().position().unwrap().1;
        match at {
            None => h.key_press(egui::Key::ArrowRight),
            Some(f) => {
                let p = egui::pos2(bar.left() + bar.width() * f, bar.center().y);
                h.drag_at(p);
                h.step();
                h.drop_at(p);
            }
        }
        h.step();
        step_until(&mut h, "the seek heard and played on", |a| {
            a.position().is_some_and(|p| (p.1 - before).abs() > 2.0)
        });
        let landed = h.state().position().unwrap().1;
        step_until(&mut h, "0.3 s after the seek", |a| {
            a.position().is_some_and(|p| p.1 > landed + 0.3)
        });
        seeks += 1;
    }
    assert_eq!(seeks, 3);
    // No underrun around the seeks (the ring used to run dry right after a jump while the
    // decoder caught up; a jump now waits for 20 ms of audio).
    assert_eq!(
        h.state()
            .engine
            .telemetry()
            .underruns
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    h.get_by_label("Stop").click();
    h.step();
    step_until(&mut h, "stopped", |a| a.position().is_none());
    // Let what the device holds play out: the recording must include the fade-out.
    let played = h
        .state()
        .engine
        .telemetry()
        .frames_played
        .load(std::sync::atomic::Ordering::Relaxed);
    let stream_rate = 48_000usize;
    let want = (played as usize + stream_rate / 2) * 2;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while read_f32_raw(&raw).len() < want && std::time::Instant::now() < deadline {
        h.step();
        std::thread::yield_now();
    }
    drop(h);
    let recorded = stop_recording(rec, &raw);
    let heard = recorded.iter().filter(|x| x.abs() > 0.05).count();
    assert!(
        heard > 48_000,
        "the tone reached the sink ({heard} loud samples)"
    );
    let own = (0.1 * 2.0 * std::f64::consts::PI * 1000.0 / 48_000.0) as f32;
    let (step, at) = largest_step(&recorded);
    assert!(
        step <= own * 1.25,
        "a step of {step:.4} at {:.3} s (the sine's own: {own:.4})",
        at as f64 / 48_000.0
    );
}

/// Six unplayable files before a good one: one grouped notice, floating over the window; the
/// playlist rows under the pointer stay exactly where they were.
#[test]
fn notices_float_without_moving_the_playlist_and_failures_are_grouped() {
    let dir = scratch("hands_notices");
    let mut files = Vec::new();
    for i in 0..6 {
        let p = dir.join(format!("bad{i}.flac"));
        std::fs::write(&p, b"this is not audio").unwrap();
        files.push(p);
    }
    let good = tone_file(&dir, "good.wav", 440.0, 0.1, 30.0);
    files.push(good);
    let mut h = harness(app_with(files));
    h.step();
    h.step();
    let before = h
        .get_by_role_and_label(egui::accesskit::Role::ListItem, "good.wav")
        .rect();
    h.state_mut().play(0);
    step_until(&mut h, "the good file plays", |a| {
        a.position().is_some_and(|p| p.0 == 6 && p.1 > 0.1)
    });
    step_until(&mut h, "six failures reported", |a| {
        a.notices().iter().filter(|n| n.contains("bad")).count() == 6
    });
    h.step();
    let titles = h.state().notice_titles();
    assert!(
        titles.iter().any(|t| t == "6 files could not be played"),
        "{titles:?}"
    );
    assert_eq!(titles.len(), 1, "{titles:?}");
    assert_eq!(
        h.get_by_role_and_label(egui::accesskit::Role::ListItem, "good.wav")
            .rect(),
        before,
        "the row did not move"
    );
}

/// The meters have numbers (peak hold and RMS, dBFS) and say what loudness covers; their panel
/// keeps its size frame after frame (a row one item-spacing too wide grew it until it covered
/// the window).
#[test]
fn meters_show_numbers_and_their_panel_keeps_its_size() {
    let mut h = harness(app_with(vec![long_tone("hands_meters", 20.0)]));
    h.step();
    h.get_by_label("Play").click();
    h.step();
    // A −20 dBFS sine: peak hold −20.0, RMS −23.0 (a sine's RMS is 3 dB below its peak).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while h.query_all_by_label_contains("-20.0 -23.0").count() < 2 {
        assert!(std::time::Instant::now() < deadline, "no meter numbers");
        h.step();
        std::thread::yield_now();
    }
    assert!(h.query_by_label("Loudness (this track)").is_some());
    let before = h.get_by_label("Reset meters").rect();
    for _ in 0..60 {
        h.step();
    }
    assert_eq!(h.get_by_label("Reset meters").rect(), before);
    assert!(h.get_by_label("Spectrum").rect().right() < before.left());
}

/// Dragging an EQ handle straight up changes its gain only (the frequency stays exactly where it
/// was, whatever point of the handle was grabbed) and lands on a round value; Play/Pause does not
/// move the seek bar when its label changes.
#[test]
fn a_vertical_handle_drag_keeps_the_frequency_and_play_pause_keeps_the_seek_bar() {
    let mut h = harness(app_with(vec![long_tone("hands_eq", 20.0)]));
    h.step();
    h.get_by_label("Add band").click();
    h.step();
    h.step();
    // Grab 3 px right of and 2 px below the handle's centre, then move straight up.
    let c = h.get_by_label("EQ band 1 handle").rect().center() + egui::vec2(3.0, 2.0);
    h.hover_at(c);
    h.step();
    h.drag_at(c);
    h.step();
    for k in 1..=8 {
        h.hover_at(c + egui::vec2(0.0, -5.0 * k as f32));
        h.step();
    }
    h.drop_at(c + egui::vec2(0.0, -40.0));
    h.step();
    let b = h.state().engine.dsp().eq.bands()[0];
    assert_eq!(b.freq, 1000.0, "{b:?}");
    assert!(b.gain_db > 3.0, "{b:?}");
    assert_eq!(
        (b.gain_db * 10.0).round() / 10.0,
        b.gain_db,
        "a round value: {b:?}"
    );

    let bar = h.get_by_label("Seek").rect();
    h.get_by_label("Play").click();
    h.step();
    step_until(&mut h, "playing", |a| a.is_playing());
    h.step();
    assert!(h.query_by_label("Pause").is_some());
    assert_eq!(
        h.get_by_label("Seek").rect(),
        bar,
        "the seek bar stayed put"
    );
}

#[test]
fn lengths_under_ten_seconds_show_tenths() {
    assert_eq!(rusty_audio::ui::length_text(0.1), "0:00.1");
    assert_eq!(rusty_audio::ui::length_text(9.94), "0:09.9");
    assert_eq!(rusty_audio::ui::length_text(75.0), "1:15");
}

/// From 640×480 up, every control is inside the window (toolbars wrap, the middle scrolls, side
/// panels take a share of the width): nothing is cut off at the right edge.
#[test]
fn small_windows_keep_every_control_inside() {
    for size in [[640.0, 480.0], [800.0, 600.0], [1400.0, 900.0]] {
        let mut h = harness_sized(app_with(vec![long_tone("hands_layout", 5.0)]), size);
        for _ in 0..4 {
            h.step();
        }
        for label in [
            "Open…",
            "Play",
            "Next",
            "Seek",
            "Presets",
            "Bypass EQ",
            "Add band",
            "Reset meters",
            "Performance",
            "Volume (Up / Down arrow: 1 dB)",
        ] {
            let r = h.get_by_label(label).rect();
            assert!(
                r.left() >= 0.0 && r.right() <= size[0] + 0.5,
                "{size:?}: {label:?} at {r:?} is outside the window"
            );
        }
    }
}

/// Where no file dialog can open (no desktop portal on the session bus, no zenity, as on a bare X
/// session), Open… and Presets → Export… say so and offer a path field; what is typed there is
/// used; the audio plays on throughout, on the same output.
#[test]
fn without_a_file_dialog_a_path_field_is_offered_and_playback_goes_on() {
    let dir = scratch("hands_dialogs");
    let second = tone_file(&dir, "second.wav", 880.0, 0.1, 2.0);
    let mut h = harness(app_with(vec![long_tone("hands_dialogs_tone", 30.0)]));
    // What the app does when its check finds no portal and no zenity (the check itself is tested
    // in ui/dialogs.rs): a real dialog here would wait for a user.
    h.state_mut().dialogs.use_path_field_only();
    h.step();
    play_until(&mut h, 0.2);
    let device = h.state().engine.output_info().device.clone();

    h.get_by_label("Open…").click();
    h.step();
    step_until(&mut h, "the path field", |a| a.dialogs.typed.is_some());
    h.step();
    assert!(
        noticed(h.state(), "file dialog cannot open"),
        "{:?}",
        h.state().notices()
    );
    h.get_by_role(egui::accesskit::Role::TextInput)
        .type_text(second.to_str().unwrap());
    h.step();
    h.get_by_label("OK").click();
    h.step();
    assert_eq!(h.state().playlist.len(), 2, "the typed file was added");
    assert_eq!(*h.state().playlist[1].path, *second);

    // Export the EQ through the path field.
    let exported = dir.join("exported.txt");
    h.get_by_label("Presets").click();
    h.step();
    h.step();
    h.get_by_label("Export…").click();
    h.step();
    step_until(&mut h, "the path field", |a| a.dialogs.typed.is_some());
    h.step();
    h.get_by_role(egui::accesskit::Role::TextInput)
        .type_text(exported.to_str().unwrap());
    h.step();
    h.get_by_label("OK").click();
    h.step();
    assert!(exported.is_file(), "the EQ was written");

    let p = h.state().position().unwrap().1;
    step_until(&mut h, "still playing", |a| {
        a.position().is_some_and(|q| q.1 > p + 0.2)
    });
    assert_eq!(h.state().engine.output_info().device, device, "same output");
    assert!(h.state().engine.output_info().fallback_reason.is_none());
}

/// Dragging a playlist row shows where it would land (the drop marker) on the row under the
/// pointer, and dropping moves it there.
#[test]
fn dragging_a_playlist_row_shows_where_it_lands() {
    let dir = scratch("hands_drop");
    let files: Vec<_> = (0..3)
        .map(|i| tone_file(&dir, &format!("row{i}.wav"), 440.0, 0.1, 1.0))
        .collect();
    let mut h = harness(app_with(files));
    h.step();
    h.step();
    let row = |h: &egui_kittest::Harness<'static, RustyApp>, name: &str| {
        h.get_by_role_and_label(egui::accesskit::Role::ListItem, name)
            .rect()
            .center()
    };
    let (from, to) = (row(&h, "row0.wav"), row(&h, "row2.wav"));
    h.hover_at(from);
    h.step();
    h.drag_at(from);
    h.step();
    assert_eq!(
        h.state().drop_marker,
        None,
        "no marker on the row being dragged"
    );
    for k in 1..=6 {
        h.hover_at(from + (to - from) * (k as f32 / 6.0));
        h.step();
    }
    assert_eq!(
        h.state().drop_marker,
        Some(2),
        "the marker is on the row under the pointer"
    );
    h.drop_at(to);
    h.step();
    h.step();
    let order: Vec<_> = h
        .state()
        .playlist
        .iter()
        .map(|e| e.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(order, ["row1.wav", "row2.wav", "row0.wav"]);
    assert_eq!(h.state().drop_marker, None);
}

/// A limiter ceiling typed out of range is brought into range, and the user is told once.
#[test]
fn a_ceiling_typed_out_of_range_is_clamped_and_reported() {
    let mut h = harness(app_with(vec![long_tone("hands_ceiling", 2.0)]));
    h.step();
    h.get_by_label("Ceiling dBFS").click();
    h.step();
    h.step();
    // Clicked, the value is being edited in place, all of it selected.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.step();
    h.get_by_label("Ceiling dBFS").type_text("-25");
    h.step();
    h.key_press(egui::Key::Enter);
    h.step();
    h.step();
    assert_eq!(h.state().engine.dsp().limiter.ceiling_dbfs, -20.0);
    let said: Vec<_> = h
        .state()
        .notices()
        .into_iter()
        .filter(|n| n.contains("Limiter ceiling -25"))
        .map(str::to_owned)
        .collect();
    assert_eq!(said.len(), 1, "{:?}", h.state().notices());
    assert!(said[0].contains("set to -20.00 dBFS"), "{said:?}");
}

/// Seeking a paused track keeps it paused (at the new place).
#[test]
fn a_paused_track_seeked_stays_paused() {
    let mut h = harness(app_with(vec![long_tone("hands_paused_seek", 30.0)]));
    h.step();
    play_until(&mut h, 0.2);
    h.key_press(egui::Key::Space);
    h.step();
    step_until(&mut h, "paused", |a| {
        a.engine.telemetry().state() == PlayState::Paused
    });
    let at = h.state().position().unwrap().1;
    h.key_press(egui::Key::ArrowRight);
    h.step();
    step_until(&mut h, "the seek applied", |a| {
        a.position().is_some_and(|p| p.1 > at + 4.5)
    });
    for _ in 0..10 {
        h.step();
    }
    let now = h.state().position().unwrap().1;
    assert!(
        now < at + 5.1,
        "still paused at the new place: {at:.2} -> {now:.2}"
    );
    assert!(h.state().engine.is_paused());
}

/// The output picker offers the other audio hosts' outputs (here the PulseAudio client, served by
/// the test server's pipewire-pulse, next to the default PipeWire host); choosing one moves
/// playback there, same track, going on, and the choice is what gets saved.
#[test]
fn the_output_picker_offers_the_other_hosts() {
    if skip_without_pulse("the_output_picker_offers_the_other_hosts") {
        return;
    }
    let _sink = sink();
    let dir = scratch("hands_hosts");
    let tone = tone_file(&dir, "tone.wav", 440.0, 0.01, 30.0);
    let mut h = harness(RustyApp::new(device_engine(), vec![tone], false));
    h.step();
    assert_eq!(h.state().engine.output_info().host, "PipeWire");
    play_until(&mut h, 0.5);
    let before = h.state().position().unwrap();
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Output")
        .click();
    h.step();
    h.step();
    h.get_by_label("PulseAudio · default").click();
    h.step();
    step_until(&mut h, "playing on the PulseAudio host", |a| {
        a.engine.output_info().host == "PulseAudio"
    });
    assert!(!h.state().engine.output_info().is_null);
    assert_eq!(
        h.state().output_device.as_deref(),
        Some("pulseaudio:default")
    );
    // Same track, from where it was (not from the start), and going on.
    step_until(&mut h, "a position on the new output", |a| {
        a.position().is_some()
    });
    let at = h.state().position().unwrap();
    assert!(
        at.0 == before.0 && at.1 >= before.1 - 0.2,
        "went on where it was ({before:?}): {at:?}"
    );
    step_until(&mut h, "the same track going on there", |a| {
        a.position()
            .is_some_and(|p| p.0 == at.0 && p.1 > at.1 + 0.3)
    });
}
