//! Cue sheets in the real app (egui_kittest, null output): a sheet, or a folder holding the image
//! and its sheet, becomes one playlist row per track with the sheet's names and exact lengths;
//! a track played from its row is heard from its own start (position 0 of that track, shown in
//! the now-playing area); the session is saved as sheet tracks and comes back as them.

mod common;
use common::app::*;
use common::*;

use egui_kittest::kittest::Queryable;
use rusty_audio::ui::settings::SavedEntry;
use rusty_audio::ui::RustyApp;

const SHEET: &str = "PERFORMER \"Band\"\nTITLE \"Live\"\nFILE \"image.flac\" WAVE\n\
  TRACK 01 AUDIO\n    TITLE \"Opening\"\n    INDEX 01 00:00:00\n\
  TRACK 02 AUDIO\n    TITLE \"Middle\"\n    PERFORMER \"Guest\"\n    INDEX 01 00:04:30\n\
  TRACK 03 AUDIO\n    TITLE \"Closing\"\n    INDEX 01 00:09:00\n";

#[test]
fn sheet_tracks_are_rows_that_play_their_range_and_are_kept() {
    if skip_unless(
        "sheet_tracks_are_rows_that_play_their_range_and_are_kept",
        have("flac"),
        "flac",
    ) {
        return;
    }
    let dir = scratch("ui_cue");
    let config = dir.join("config");
    let _ = std::fs::remove_dir_all(&config);
    let music = dir.join("music");
    std::fs::create_dir_all(&music).unwrap();
    flac_file(
        &music,
        "image.flac",
        44_100,
        &sine(44_100, 2, 440.0, 0.2, 14.0),
        &["ARTIST=Tagged Artist", "ALBUM=Tagged Album"],
    );
    let sheet = music.join("image.cue");
    std::fs::write(&sheet, SHEET).unwrap();
    let start = |files: Vec<std::path::PathBuf>| app_stored(&config, files);

    // The folder holds the image and its sheet: three tracks, not the image as well.
    let mut h = harness(start(vec![music.clone()]));
    h.step();
    let titles: Vec<String> = h.state().playlist.iter().map(|e| e.title()).collect();
    assert_eq!(titles, ["Opening", "Middle", "Closing"]);
    step_until(&mut h, "the last track's length from its file", |a| {
        a.playlist[2].duration_s.is_some()
    });
    let lengths: Vec<f64> = h
        .state()
        .playlist
        .iter()
        .map(|e| e.duration_s.unwrap())
        .collect();
    assert!((lengths[0] - 4.4).abs() < 1e-9, "{lengths:?}");
    assert!((lengths[1] - 4.6).abs() < 1e-9, "{lengths:?}");
    assert!((lengths[2] - 5.0).abs() < 0.01, "{lengths:?}");
    assert_eq!(h.state().playlist[1].subtitle(), "Guest · Live");
    assert_eq!(h.state().playlist[2].subtitle(), "Band · Live");

    // Play the middle track from its row's menu.
    h.get_by_label("Middle").click_secondary();
    h.step();
    h.step();
    // (The menu's "Play", not the transport's: the popup is laid out last.)
    h.get_all_by_label("Play").last().unwrap().click();
    h.step();
    step_until(&mut h, "the middle track audible", |a| {
        a.position().is_some_and(|(t, s)| t == 1 && s > 0.05)
    });
    let (_, s) = h.state().position().unwrap();
    assert!(s < 2.0, "counted from the track's own start: {s}");
    h.step();
    assert!(
        h.query_by_label("Guest").is_some(),
        "now playing names the track's performer"
    );

    // Saved as sheet tracks; a restart brings them back, on the track that played.
    let saved = h.state().snapshot(true);
    assert_eq!(
        saved.playlist,
        (1..=3)
            .map(|track| SavedEntry::Cue {
                sheet: sheet.clone(),
                track
            })
            .collect::<Vec<_>>()
    );
    assert_eq!(saved.current, Some(1));
    drop(h);
    let mut h = harness(start(vec![]));
    h.step();
    let titles: Vec<String> = h.state().playlist.iter().map(|e| e.title()).collect();
    assert_eq!(titles, ["Opening", "Middle", "Closing"]);
    assert_eq!(h.state().selected, Some(1));
}

/// A FLAC that carries its sheet (a `CUESHEET` tag) is one row until the scanner has read it,
/// then its tracks; autoplayed, it goes on in the track that holds the position. Saved, its
/// tracks come back from the file.
#[test]
fn a_flac_carrying_its_sheet_becomes_its_tracks() {
    if skip_unless(
        "a_flac_carrying_its_sheet_becomes_its_tracks",
        have("flac") && have("metaflac"),
        "flac, metaflac",
    ) {
        return;
    }
    let dir = scratch("ui_cue_embedded");
    let image = flac_file(
        &dir,
        "image.flac",
        44_100,
        &sine(44_100, 2, 440.0, 0.2, 14.0),
        &[],
    );
    let sheet = dir.join("sheet.txt");
    std::fs::write(&sheet, SHEET).unwrap();
    let ok = std::process::Command::new("metaflac")
        .arg(format!("--set-tag-from-file=CUESHEET={}", sheet.display()))
        .arg(&image)
        .status()
        .unwrap()
        .success();
    assert!(ok, "metaflac embeds the sheet");
    let mut h = harness(RustyApp::new(null_engine(), vec![image.clone()], true));
    step_until(&mut h, "the file split into its tracks", |a| {
        a.playlist.len() == 3
    });
    let titles: Vec<String> = h.state().playlist.iter().map(|e| e.title()).collect();
    assert_eq!(titles, ["Opening", "Middle", "Closing"]);
    step_until(&mut h, "playing the first track", |a| {
        a.position().is_some_and(|(t, s)| t == 0 && s > 0.05)
    });
    let saved = h.state().snapshot(false);
    assert_eq!(
        saved.playlist[1],
        SavedEntry::Cue {
            sheet: image.clone(),
            track: 2
        }
    );
    drop(h);

    use rusty_audio::ui::app::Startup;
    use rusty_audio::ui::settings::Store;
    let mut settings = saved;
    settings.playlist.remove(0);
    settings.current = Some(0);
    let app = RustyApp::build(
        null_engine(),
        Startup {
            files: vec![],
            autoplay: false,
            store: Store::in_memory(),
            settings,
            warning: None,
        },
    );
    let titles: Vec<String> = app.playlist.iter().map(|e| e.title()).collect();
    assert_eq!(
        titles,
        ["Middle", "Closing"],
        "restored from the file's sheet"
    );
    assert!(
        (app.playlist[0].duration_s.unwrap() - 4.6).abs() < 1e-9,
        "with its length"
    );
}
