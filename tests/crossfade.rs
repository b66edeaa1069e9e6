//! Crossfade through the real engine (`render IN... OUT.wav --crossfade S` and the offline
//! engine; real FLAC files tagged by metaflac): tracks of two albums overlap by exactly the fade
//! (len(A) + len(B) − fade, ± 1 frame), every frame of the overlap is A·cos + B·sin of the tracks
//! rendered alone; tracks of one album stay bit-identical to the gapless join unless
//! --crossfade-albums; tracks of different rates meet in the output format; the display switches
//! at the midpoint, and a seek in the overlap leaves only the track sought.

mod common;
use common::*;

use std::path::{Path, PathBuf};

use rusty_audio::engine::crossfade::{gains, Crossfade};
use rusty_audio::engine::{Engine, EngineConfig};

fn tools_or_skip(test: &str) -> bool {
    skip_unless(
        test,
        have("flac") && have("metaflac"),
        "flac, metaflac (Debian: flac)",
    )
}

/// A stereo FLAC of `seconds` of a sine at `freq` (slightly different per channel), tagged with
/// its album.
fn track(dir: &Path, name: &str, rate: u32, freq: f64, seconds: f64, album: &str) -> PathBuf {
    let mut pcm = sine(rate, 2, freq, 0.3, seconds);
    for f in pcm.chunks_mut(2) {
        f[1] *= 0.8;
    }
    flac_file(
        dir,
        name,
        rate,
        &pcm,
        &[&format!("ALBUM={album}"), "ARTIST=Someone"],
    )
}

use common::render_queue as render;

#[test]
fn tracks_of_two_albums_overlap_by_the_fade_frame_for_frame() {
    if tools_or_skip("tracks_of_two_albums_overlap_by_the_fade_frame_for_frame") {
        return;
    }
    let dir = scratch("crossfade_two_albums");
    let rate = 44_100usize;
    let a = track(&dir, "a.flac", 44_100, 440.0, 6.0, "First");
    let b = track(&dir, "b.flac", 44_100, 1000.0, 5.0, "Second");
    let ra = render(&dir, "ra.wav", &[&a], &[]);
    let rb = render(&dir, "rb.wav", &[&b], &[]);
    let out = render(&dir, "ab.wav", &[&a, &b], &["--crossfade", "3"]);
    let fade = 3 * rate;
    let (la, lb) = (ra.len() / 2, rb.len() / 2);
    assert_eq!(out.len() / 2, la + lb - fade, "len(A) + len(B) − 3 s");
    let f0 = la - fade;
    assert_eq!(&out[..f0 * 2], &ra[..f0 * 2], "A alone before the fade");
    let mut worst = 0.0f32;
    for t in 0..fade {
        let (ga, gb) = gains(t as u64, fade as u64);
        for c in 0..2 {
            let want = ra[(f0 + t) * 2 + c] * ga + rb[t * 2 + c] * gb;
            worst = worst.max((out[(f0 + t) * 2 + c] - want).abs());
        }
    }
    assert!(worst < 1e-6, "the overlap is A·cos + B·sin: off by {worst}");
    assert_eq!(&out[la * 2..], &rb[fade * 2..], "B alone after the fade");
    // Both are heard in the overlap: at its middle each carries half the power.
    let mid = f0 + fade / 2;
    let corr = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
    let win = 4410;
    let seg = &out[mid * 2..(mid + win) * 2];
    let a_part = corr(seg, &ra[mid * 2..(mid + win) * 2])
        / corr(&ra[mid * 2..(mid + win) * 2], &ra[mid * 2..(mid + win) * 2]);
    let b_part = corr(seg, &rb[(mid - f0) * 2..(mid - f0 + win) * 2])
        / corr(
            &rb[(mid - f0) * 2..(mid - f0 + win) * 2],
            &rb[(mid - f0) * 2..(mid - f0 + win) * 2],
        );
    assert!(
        (0.6..0.8).contains(&a_part) && (0.6..0.8).contains(&b_part),
        "both at about −3 dB mid-fade: A {a_part}, B {b_part}"
    );
}

#[test]
fn one_album_stays_gapless_unless_asked() {
    if tools_or_skip("one_album_stays_gapless_unless_asked") {
        return;
    }
    let dir = scratch("crossfade_one_album");
    let a = track(&dir, "a.flac", 44_100, 440.0, 4.0, "Same");
    let b = track(&dir, "b.flac", 44_100, 1000.0, 4.0, "Same");
    let plain = render(&dir, "plain.wav", &[&a, &b], &[]);
    let faded = render(&dir, "faded.wav", &[&a, &b], &["--crossfade", "3"]);
    assert_eq!(faded, plain, "one album: the gapless join, bit for bit");
    let asked = render(
        &dir,
        "asked.wav",
        &[&a, &b],
        &["--crossfade", "1.5", "--crossfade-albums"],
    );
    assert_eq!(
        asked.len() / 2,
        plain.len() / 2 - 66_150,
        "faded when asked"
    );
}

#[test]
fn tracks_of_different_rates_meet_in_the_output_format() {
    if tools_or_skip("tracks_of_different_rates_meet_in_the_output_format") {
        return;
    }
    let dir = scratch("crossfade_rates");
    let a = track(&dir, "a.flac", 44_100, 440.0, 5.0, "First");
    let b = track(&dir, "b.flac", 48_000, 1000.0, 4.0, "Second");
    let args = ["--rate", "48000"];
    let la = render(&dir, "ra.wav", &[&a], &args).len() / 2;
    let lb = render(&dir, "rb.wav", &[&b], &args).len() / 2;
    let out = render(
        &dir,
        "ab.wav",
        &[&a, &b],
        &["--rate", "48000", "--crossfade", "2"],
    );
    let want = (la + lb - 2 * 48_000) as i64;
    assert!(
        (out.len() as i64 / 2 - want).abs() <= 1,
        "{} frames, want {want} ± 1",
        out.len() / 2
    );
}

/// An offline engine at 44.1 kHz, transparent chain, crossfading 2 s.
fn engine() -> Engine {
    Engine::offline(
        44_100,
        2,
        &EngineConfig {
            limiter: false,
            crossfade: Crossfade {
                seconds: 2.0,
                across_albums: false,
            },
            ..EngineConfig::default()
        },
    )
}

#[test]
fn the_display_switches_mid_fade_and_a_seek_there_leaves_one_track() {
    if tools_or_skip("the_display_switches_mid_fade_and_a_seek_there_leaves_one_track") {
        return;
    }
    let dir = scratch("crossfade_engine");
    let a = track(&dir, "a.flac", 44_100, 440.0, 4.0, "First");
    let b = track(&dir, "b.flac", 44_100, 1000.0, 4.0, "Second");
    let (rb, _, _) = our_decode(&b);
    let mut e = engine();
    e.set_queue(vec![a, b]);
    e.play_track(0);
    // The fade runs from 2.0 s to 4.0 s of A; its midpoint is at 3.0 s.
    let block = 441;
    let mut buf = vec![0.0f32; block * 2];
    let mut rendered = 0;
    let mut seen = Vec::new();
    while rendered < 44_100 * 7 / 2 {
        e.render_offline(&mut buf);
        let _ = e.poll(); // as the app and `play` do each turn (a play lands, events arrive)
        rendered += block;
        seen.push((rendered, e.position().unwrap()));
    }
    for &(at, (track, s)) in &seen {
        let t = at as f64 / 44_100.0;
        if t < 2.99 {
            assert_eq!(track, 0, "A shown at {t:.3} s");
            assert!((s - t).abs() < 1e-6, "A's position at {t:.3} s: {s}");
        } else if t > 3.01 {
            assert_eq!(track, 1, "B shown at {t:.3} s");
            assert!(
                (s - (t - 2.0)).abs() < 1e-3,
                "B's position at {t:.3} s: {s}"
            );
        }
    }
    // 3.5 s into the stream (1.5 s into B, mid-fade): seek B to 0.5 s. What follows is B
    // alone from there (past the 5 ms fade-in), A is gone.
    e.seek(0.5);
    e.render_offline(&mut buf);
    let fade_in = 221 * 2;
    let at = 22_050 * 2;
    assert_eq!(&buf[fade_in..], &rb[at + fade_in..at + buf.len()]);
    assert_eq!(e.position().map(|p| p.0), Some(1));
}

/// Pause in the middle of a fade pauses both tracks (silence), and resume goes on with the mix
/// exactly where it was held: the output after the resume's fade-in is the uninterrupted render's,
/// from the frame the pause held.
#[test]
fn a_pause_mid_fade_holds_both_tracks() {
    if tools_or_skip("a_pause_mid_fade_holds_both_tracks") {
        return;
    }
    let dir = scratch("crossfade_pause");
    let a = track(&dir, "a.flac", 44_100, 440.0, 4.0, "First");
    let b = track(&dir, "b.flac", 44_100, 1000.0, 4.0, "Second");
    let block = 441;
    let render = |e: &mut Engine, frames: usize| {
        let mut out = vec![0.0f32; frames * 2];
        for c in out.chunks_mut(block * 2) {
            e.render_offline(c);
            let _ = e.poll();
        }
        out
    };
    let mut plain = engine();
    plain.set_queue(vec![a.clone(), b.clone()]);
    plain.play_track(0);
    let u = render(&mut plain, 44_100 * 6);

    let mut e = engine();
    e.set_queue(vec![a, b]);
    e.play_track(0);
    let k = 44_100 * 5 / 2; // 2.5 s: half a second into the 2 s fade
    let before = render(&mut e, k);
    assert_eq!(before, u[..k * 2], "the same up to the pause");
    e.pause();
    let held = render(&mut e, 8_820);
    assert!(
        held[held.len() - 4_410 * 2..].iter().all(|&x| x == 0.0),
        "both tracks silent while paused"
    );
    e.resume();
    let after = render(&mut e, 44_100);
    // Past the resume's fade-in, the mix goes on from where the pause held it.
    let skip = 882 * 2;
    let probe = &after[skip..skip + 4_410 * 2];
    let j = (k.saturating_sub(2_000)..k + 2_000)
        .find(|&j| &u[j * 2 + skip..j * 2 + skip + probe.len()] == probe)
        .expect("the mix resumes exactly, within 45 ms of where it was paused");
    assert!(j >= k, "nothing replayed from before the pause: {j} < {k}");
}
