//! Crossfade in the real app (egui_kittest, null output): the transport's Crossfade menu sets
//! the length (its slider, through the command path) and the within-an-album switch; the engine
//! plays it (the next track of another album is shown from the fade's midpoint, already a
//! second in); the setting survives a restart.

mod common;
use common::app::*;
use common::*;

use egui_kittest::kittest::Queryable;
use rusty_audio::ui::RustyApp;

#[test]
fn the_crossfade_menu_is_heard_and_kept() {
    if skip_unless(
        "the_crossfade_menu_is_heard_and_kept",
        have("flac") && have("metaflac"),
        "flac, metaflac",
    ) {
        return;
    }
    let dir = scratch("ui_crossfade");
    let config = dir.join("config");
    let _ = std::fs::remove_dir_all(&config);
    let tone = |name: &str, freq: f64, album: &str| {
        flac_file(
            &dir,
            name,
            44_100,
            &sine(44_100, 2, freq, 0.3, 4.0),
            &[&format!("ALBUM={album}")],
        )
    };
    let (a, b) = (tone("a.flac", 440.0, "One"), tone("b.flac", 880.0, "Two"));
    let start = |files: Vec<std::path::PathBuf>| app_stored(&config, files);
    let mut h = harness(start(vec![a, b]));
    h.step();
    h.get_by_label("Crossfade off").click();
    h.step();
    h.step();
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "Crossfade")
        .set_value_accesskit(2.0);
    h.step();
    h.step();
    assert_eq!(h.state().crossfade.seconds, 2.0);
    assert!(!h.state().crossfade.across_albums);

    // Heard: from 1.5 s into A (4 s long), B is shown once the fade is half over, at 3 s of
    // A: by then B has played for a second (a plain join would show it from 0).
    h.state_mut().play(0);
    h.state_mut()
        .apply(rusty_audio::ui::command::AppCommand::SeekTo(1.5));
    step_until(&mut h, "B shown", |a| {
        a.position().is_some_and(|p| p.0 == 1)
    });
    let (_, s) = h.state().position().unwrap();
    assert!(
        (0.9..1.5).contains(&s),
        "B shown from the fade's midpoint: {s}"
    );

    h.get_by_label("Within an album too").click();
    h.step();
    assert!(h.state().crossfade.across_albums);

    drop(h);
    let h = harness(start(vec![]));
    assert_eq!(h.state().crossfade.seconds, 2.0, "kept");
    assert!(h.state().crossfade.across_albums, "kept");
}

/// The transport's Repeat button goes round off → all → one, and the Shuffle picker makes the
/// engine's play order (albums kept whole); both survive a restart. Repeat one is heard: the
/// track opens again at its end.
#[test]
fn repeat_and_shuffle_controls_set_the_play_order_and_are_kept() {
    use rusty_audio::engine::order::{Repeat, Shuffle};
    let dir = scratch("ui_repeat_shuffle");
    let config = dir.join("config");
    let _ = std::fs::remove_dir_all(&config);
    let mut files = Vec::new();
    for album in ["x", "y"] {
        let d = dir.join(album);
        std::fs::create_dir_all(&d).unwrap();
        for n in 1..=3 {
            let p = d.join(format!("{n}.wav"));
            write_wav_f32(
                &p,
                44_100,
                2,
                &sine(44_100, 2, 300.0 * f64::from(n), 0.2, 0.3),
            );
            files.push(p);
        }
    }
    let start = |files: Vec<std::path::PathBuf>| app_stored(&config, files);
    let mut h = harness(start(files));
    h.step();
    h.get_by_label("Repeat off").click();
    h.step();
    h.step();
    assert_eq!(h.state().repeat, Repeat::All);
    h.get_by_label("Repeat all").click();
    h.step();
    h.step();
    assert_eq!(h.state().repeat, Repeat::One);
    assert_eq!(h.state().engine.play_order().repeat, Repeat::One);

    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Shuffle")
        .click();
    h.step();
    h.step();
    h.get_by_label("Shuffle albums").click();
    h.step();
    h.step();
    assert_eq!(h.state().shuffle, Shuffle::Albums);
    let keys: Vec<u32> = h.state().playlist.iter().map(|e| e.key).collect();
    let order = h.state().engine.play_order().shuffled.clone();
    assert!(
        order == keys || order == [&keys[3..], &keys[..3]].concat(),
        "albums whole, each in order: {order:?} of {keys:?}"
    );

    // Repeat one heard: the first track, 0.3 s long, is opened again after its end.
    h.state_mut().play(0);
    step_until(&mut h, "the track again", |a| {
        a.position().is_some_and(|(t, s)| t == 0 && s > 0.25)
    });
    step_until(&mut h, "back at its start", |a| {
        if let Some((t, s)) = a.position() {
            assert_eq!(t, 0, "repeat one stays on the track");
            s < 0.2
        } else {
            false
        }
    });

    drop(h);
    let h = harness(start(vec![]));
    assert_eq!(h.state().repeat, Repeat::One, "kept");
    assert_eq!(h.state().shuffle, Shuffle::Albums, "kept");
    assert_eq!(h.state().engine.play_order().repeat, Repeat::One);
}

/// A–B repeat from the keyboard: `[` sets A, `]` sets B and loops (playback goes back to A and
/// stays between A and B, coming round again), a third press clears it and playback goes on
/// past B. The transport's buttons light up with it.
#[test]
fn ab_repeat_from_the_keys_loops_and_clears() {
    let dir = scratch("ui_ab");
    let f = dir.join("t.wav");
    write_wav_f32(&f, 44_100, 2, &sine(44_100, 2, 440.0, 0.2, 6.0));
    let mut h = harness(RustyApp::new(null_engine(), vec![f], false));
    h.step();
    h.state_mut().play(0);
    step_until(&mut h, "at 0.5 s", |a| {
        a.position().is_some_and(|p| p.1 > 0.5)
    });
    h.key_press(egui::Key::OpenBracket);
    h.step();
    let a = h.state().ab.a.expect("A set");
    step_until(&mut h, "0.6 s past A", |app| {
        app.position().is_some_and(|p| p.1 > a + 0.6)
    });
    h.key_press(egui::Key::CloseBracket);
    h.step();
    assert!(h.state().ab.looping(), "B set: looping");
    let b = h.state().ab.b.unwrap();
    assert!(h.query_by_label("Loop B").is_some());
    // Back at A, then round again, twice, never leaving the loop.
    for _ in 0..2 {
        step_until(&mut h, "back near A", |app| {
            app.position().is_some_and(|(_, s)| s < a + 0.1)
        });
        step_until(&mut h, "on through the loop", |app| {
            let (_, s) = app.position().unwrap();
            assert!(s < b + 0.05, "inside the loop: {s} (B {b})");
            s > a + 0.3
        });
    }
    // The third press clears: playback goes past B.
    h.key_press(egui::Key::CloseBracket);
    h.step();
    assert!(!h.state().ab.looping() && h.state().ab.a.is_none());
    step_until(&mut h, "past B", |app| {
        app.position().is_some_and(|(_, s)| s > b + 0.2)
    });
}
