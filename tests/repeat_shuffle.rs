//! Repeat and shuffle through the real engine (offline: the decoder follows the play order at
//! each track's natural end; the output is checked frame for frame) and `rusty-audio play`
//! (`--repeat`, `--shuffle`, on the null output: the order tracks open in, from its summary).

mod common;
use common::*;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rusty_audio::engine::order::{PlayOrder, Repeat};
use rusty_audio::engine::{Engine, EngineConfig};

/// A stereo WAV at 44.1 kHz of `seconds` of a sine at `freq`.
fn tone(dir: &Path, name: &str, freq: f64, seconds: f64) -> PathBuf {
    let p = dir.join(name);
    write_wav_f32(&p, 44_100, 2, &sine(44_100, 2, freq, 0.3, seconds));
    p
}

fn short(dir: &Path, name: &str, freq: f64) -> PathBuf {
    tone(dir, name, freq, 0.25)
}

fn render_n(e: &mut Engine, frames: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; frames * 2];
    for chunk in out.chunks_mut(512 * 2) {
        e.render_offline(chunk);
        let _ = e.poll();
    }
    out
}

fn engine() -> Engine {
    Engine::offline(
        44_100,
        2,
        &EngineConfig {
            limiter: false,
            ..EngineConfig::default()
        },
    )
}

#[test]
fn the_decoder_follows_repeat_and_the_shuffled_order_gaplessly() {
    let dir = scratch("order_engine");
    let (a, b) = (short(&dir, "a.wav", 440.0), short(&dir, "b.wav", 1000.0));
    let (ra, _, _) = our_decode(&a);
    let (rb, _, _) = our_decode(&b);
    let n = ra.len() / 2;
    let cat = |parts: &[&[f32]]| parts.concat();

    // Repeat one: a, a, a… joined without a gap, bit for bit.
    let mut e = engine();
    e.set_queue(vec![a.clone(), b.clone()]);
    e.set_play_order(PlayOrder {
        repeat: Repeat::One,
        shuffled: vec![],
    });
    e.play_track(0);
    let out = render_n(&mut e, 3 * n);
    assert_eq!(out, cat(&[&ra, &ra, &ra]), "repeat one");
    // A skip leaves the repeated track.
    e.next();
    let out = render_n(&mut e, 1024);
    let fade = 221 * 2;
    assert_eq!(
        &out[fade..1024 * 2],
        &rb[fade..1024 * 2],
        "next goes on to b"
    );

    // Repeat all in a shuffled order: b, a, b, a…
    let mut e = engine();
    e.set_queue(vec![a.clone(), b.clone()]);
    let keys = e.keys().to_vec();
    e.set_play_order(PlayOrder {
        repeat: Repeat::All,
        shuffled: vec![keys[1], keys[0]],
    });
    e.play_track(1);
    let out = render_n(&mut e, 4 * n);
    assert_eq!(out, cat(&[&rb, &ra, &rb, &ra]), "repeat all, shuffled");

    // Off, shuffled: b, a, then the end (silence).
    let mut e = engine();
    e.set_queue(vec![a, b]);
    let keys = e.keys().to_vec();
    e.set_play_order(PlayOrder {
        repeat: Repeat::Off,
        shuffled: vec![keys[1], keys[0]],
    });
    e.play_track(1);
    let out = render_n(&mut e, 3 * n);
    assert_eq!(&out[..2 * n * 2], &cat(&[&rb, &ra])[..], "shuffled once");
    assert!(out[2 * n * 2..].iter().all(|&x| x == 0.0), "then the end");
}

/// `play --json` of `files` with `args` on the null output; the queue entries in the order
/// they opened.
fn played(files: &[&Path], args: &[&str]) -> Vec<usize> {
    let o = Command::new(bin())
        .args(["--output", "null", "play", "--json"])
        .args(args)
        .args(files)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["played"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

#[test]
fn play_shuffles_albums_whole_and_repeats_until_interrupted() {
    let dir = scratch("order_play");
    let (one, two) = (dir.join("one"), dir.join("two"));
    for d in [&one, &two] {
        std::fs::create_dir_all(d).unwrap();
    }
    // Two albums (by folder, untagged), two tracks each.
    let files = [
        tone(&one, "1.wav", 300.0, 0.1),
        tone(&one, "2.wav", 400.0, 0.1),
        tone(&two, "1.wav", 500.0, 0.1),
        tone(&two, "2.wav", 600.0, 0.1),
    ];
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let mut orders = std::collections::HashSet::new();
    for _ in 0..12 {
        let p = played(&refs, &["--shuffle", "albums"]);
        assert!(
            p == [0, 1, 2, 3] || p == [2, 3, 0, 1],
            "albums whole, each in order: {p:?}"
        );
        orders.insert(p);
    }
    assert_eq!(orders.len(), 2, "both album orders come up in 12 runs");
    let p = played(&refs, &["--shuffle", "tracks"]);
    let mut sorted = p.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [0, 1, 2, 3], "every track once: {p:?}");

    // Repeat all goes round until interrupted: the tracks open a, b, a, b…; the summary
    // still comes out on SIGINT.
    let mut child = Command::new(bin())
        .args(["--output", "null", "play", "--json", "--repeat", "all"])
        .args(&refs[..2])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut opens = 0;
    for line in lines.by_ref() {
        if line.unwrap().starts_with('[') {
            opens += 1;
            if opens == 5 {
                break;
            }
        }
    }
    // Keep reading its stderr (a closed pipe would end it before its summary).
    let drain = std::thread::spawn(move || lines.count());
    assert_eq!(opens, 5, "five opens of two tracks");
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let o = child.wait_with_output().unwrap();
    drain.join().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let p: Vec<u64> = v["played"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    assert!(p.len() >= 5, "{p:?}");
    assert!(
        p.iter().enumerate().all(|(i, &t)| t == (i % 2) as u64),
        "round and round: {p:?}"
    );
}

/// How far `out` (stereo, from the jump to A on) is from `passes` exact A–B passes of the
/// decoded file `r` (44.1 kHz): each the frames A.. straight, then the 5 ms equal-power seam
/// mixing the frames before B with those before A. The jump's own 5 ms fade-in is left out.
fn ab_passes_error(out: &[f32], r: &[f32], a: usize, b: usize, passes: usize) -> f32 {
    use rusty_audio::engine::crossfade::gains;
    let (p, d) = (b - a, 221usize);
    let mut worst = 0.0f32;
    for k in d..passes * p {
        let j = k % p;
        for c in 0..2 {
            let want = if j < p - d {
                r[(a + j) * 2 + c]
            } else {
                let t = j - (p - d);
                let (ga, gb) = gains(t as u64, d as u64);
                r[(b - d + t) * 2 + c] * ga + r[(a - d + t) * 2 + c] * gb
            };
            worst = worst.max((out[k * 2 + c] - want).abs());
        }
    }
    worst
}

/// An A–B loop is sample-exact: after the jump to A, each pass is exactly B − A frames: the
/// file's frames A.. straight, then a 5 ms equal-power seam mixing the frames before B with the
/// frames before A. Cleared, playback goes on past B.
#[test]
fn an_ab_loop_repeats_its_range_exactly_with_a_short_seam() {
    let dir = scratch("order_ab");
    let f = tone(&dir, "t.wav", 523.25, 3.0);
    let (r, _, _) = our_decode(&f);
    let mut e = engine();
    e.set_queue(vec![f]);
    e.play_track(0);
    render_n(&mut e, 44_100); // 1 s in (the decoder is half a second ahead)
    e.set_ab_loop(Some((0.5, 0.8)));
    let (a, b) = (22_050usize, 35_280usize);
    let out = render_n(&mut e, 3 * (b - a) + 1000);
    let worst = ab_passes_error(&out, &r, a, b, 3);
    assert!(
        worst < 1e-6,
        "every pass is the range, seam mixed: off by {worst}"
    );
    let (_, s) = e.position().unwrap();
    assert!(
        (0.5..0.8).contains(&s),
        "the position stays inside the loop: {s}"
    );

    // Cleared: the pass under way goes on past B.
    e.set_ab_loop(None);
    let mut past_b = false;
    for _ in 0..200 {
        render_n(&mut e, 512);
        if e.position().is_some_and(|(_, s)| s > 0.9) {
            past_b = true;
            break;
        }
    }
    assert!(past_b, "playback leaves the loop once cleared");
}

/// Entries that play nothing (an empty file, a cue range of no length) are not reopened for
/// ever by repeat: the queue ends (the render finishes), and around them the others repeat.
#[test]
fn repeat_does_not_spin_on_an_entry_that_plays_nothing() {
    use rusty_audio::engine::{Bound, PlayState, QueueItem};
    let dir = scratch("order_empty");
    let empty = dir.join("empty.wav");
    write_wav_f32(&empty, 44_100, 2, &[]);
    let tone_file = tone(&dir, "t.wav", 440.0, 0.2);
    for repeat in [Repeat::One, Repeat::All] {
        let mut e = engine();
        let zero = QueueItem {
            path: tone_file.clone(),
            start: Bound::Frame(100),
            end: Some(Bound::Frame(100)),
            gain: None,
        };
        e.set_queue_items(vec![QueueItem::file(empty.clone()), zero]);
        e.set_play_order(PlayOrder {
            repeat,
            shuffled: vec![],
        });
        e.play_track(0);
        let mut buf = vec![0.0f32; 1024];
        let mut blocks = 0;
        while e.render_offline(&mut buf) {
            blocks += 1;
            assert!(blocks < 1000, "{repeat:?}: the queue never ends");
        }
        assert_eq!(e.telemetry().state(), PlayState::Ended, "{repeat:?}");
    }
}

/// An A–B loop on a FLAC (4096-frame packets: A and the seam fall inside packets, so each pass
/// reopens mid-packet and splits another at the seam) is exact pass after pass.
#[test]
fn an_ab_loop_on_a_flac_is_exact_whatever_the_packets() {
    if skip_unless(
        "an_ab_loop_on_a_flac_is_exact_whatever_the_packets",
        have("flac"),
        "flac",
    ) {
        return;
    }
    let dir = scratch("order_ab_flac");
    let f = flac_file(
        &dir,
        "t.flac",
        44_100,
        &sine(44_100, 2, 311.0, 0.3, 3.0),
        &[],
    );
    let (r, _, _) = our_decode(&f);
    let mut e = engine();
    e.set_queue(vec![f]);
    e.play_track(0);
    render_n(&mut e, 22_050);
    e.set_ab_loop(Some((1.0, 1.26)));
    let (a, b) = (44_100usize, 55_566usize);
    let p = b - a;
    let out = render_n(&mut e, 4 * p + 1000);
    let worst = ab_passes_error(&out, &r, a, b, 4);
    assert!(worst < 1e-6, "every pass exact: off by {worst}");
}
