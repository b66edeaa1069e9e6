//! The whole engine — decoder thread, PCM ring, markers, render function — driven offline (the
//! same render function the device callback runs, pulled without a clock).

mod common;
use common::*;

use rusty_audio::engine::{Engine, EngineConfig, EngineEvent, PlayState};

fn render_all(engine: &mut Engine, block: usize, channels: usize) -> Vec<f32> {
    let mut out = Vec::new();
    let mut buf = vec![0.0f32; block * channels];
    while engine.render_offline(&mut buf) {
        out.extend_from_slice(&buf);
    }
    out.extend_from_slice(&buf);
    out
}

/// Drop trailing silence rendered after the end of the queue.
fn trim_tail(mut v: Vec<f32>, frames: usize, ch: usize) -> Vec<f32> {
    v.truncate(frames * ch);
    v
}

/// An offline engine at `path`'s own rate and channel count, transparent chain, playing it;
/// with our reference decode of the file.
fn playing_at_its_rate(path: &std::path::Path) -> (Engine, Vec<f32>, usize, u32) {
    let (reference, ch, rate) = our_decode(path);
    let mut e = Engine::offline(rate, ch, &transparent());
    e.set_queue(vec![path.to_path_buf()]);
    e.play_track(0);
    (e, reference, ch, rate)
}

#[test]
fn renders_a_file_exactly_when_rates_match() {
    let path = media_file("prog.flac");
    let (mut e, reference, ch, _) = playing_at_its_rate(&path);
    let out = render_all(&mut e, 512, ch);
    assert!(out.len() >= reference.len());
    assert_eq!(&out[..reference.len()], &reference[..]);
    assert!(
        out[reference.len()..].iter().all(|&x| x == 0.0),
        "silence after the end"
    );
    assert_eq!(e.telemetry().state(), PlayState::Ended);
    assert_eq!(
        e.telemetry()
            .underruns
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

#[test]
fn seek_renders_frame_n_first() {
    for name in ["prog.flac", "prog_s16.wav"] {
        let path = media_file(name);
        let (mut e, reference, ch, rate) = playing_at_its_rate(&path);
        let mut buf = vec![0.0f32; 256 * ch];
        for _ in 0..10 {
            e.render_offline(&mut buf); // play a little so the ring holds stale audio
        }
        // A landing inside the track fades in over 5 ms (the declick): exact from there on,
        // and below the reference (same sign) during it.
        let fade = (rate / 200) as usize * ch;
        for n in [441_000u64, 17, 600_123, 3] {
            e.play_from(0, n);
            e.render_offline(&mut buf);
            let start = n as usize * ch;
            assert_eq!(
                &buf[fade..],
                &reference[start + fade..start + buf.len()],
                "{name}: after seek to {n}"
            );
            for (i, (&o, &r)) in buf[..fade].iter().zip(&reference[start..]).enumerate() {
                assert!(
                    o.abs() <= r.abs() && (o == 0.0 || o.signum() == r.signum()),
                    "{name}: seek to {n}, fade-in sample {i}: {o} vs {r}"
                );
            }
            let (track, pos) = e.position().unwrap();
            assert_eq!(track, 0);
            assert!(
                (pos - (n as f64 + 256.0) / f64::from(rate)).abs() < 1e-9,
                "position {pos}"
            );
        }
    }
}

#[test]
fn seek_in_seconds_uses_the_audible_track() {
    let path = media_file("prog.flac");
    let (reference, ch, rate) = our_decode(&path);
    let mut e = Engine::offline(rate, ch, &transparent());
    e.set_queue(vec![media_file("prog_s16.wav"), path]);
    e.play_track(1);
    let mut buf = vec![0.0f32; 128 * ch];
    e.render_offline(&mut buf);
    e.seek(10.0);
    let mut buf = vec![0.0f32; 512 * ch];
    e.render_offline(&mut buf);
    // Exact once the 5 ms fade-in is over.
    let (start, fade) = (441_000 * ch, (rate / 200) as usize * ch);
    assert_eq!(&buf[fade..], &reference[start + fade..start + buf.len()]);
}

#[test]
fn gapless_halves_render_identical_to_the_whole() {
    let dir = scratch("gapless");
    let (whole, ch, rate) = our_decode(&media_file("prog_s16.wav"));
    // Cut at an odd frame so no block size lines up with the boundary.
    let cut = 441_001 * ch;
    let (a, b) = (dir.join("a.wav"), dir.join("b.wav"));
    write_wav_i16(&a, rate, ch as u16, &whole[..cut]);
    write_wav_i16(&b, rate, ch as u16, &whole[cut..]);
    for block in [64usize, 441, 4096] {
        let mut e = Engine::offline(rate, ch, &transparent());
        e.set_queue(vec![a.clone(), b.clone()]);
        e.play_track(0);
        let out = trim_tail(render_all(&mut e, block, ch), whole.len() / ch, ch);
        assert_eq!(out.len(), whole.len(), "block {block}");
        let diff = out.iter().zip(&whole).position(|(x, y)| x != y);
        assert_eq!(
            diff, None,
            "block {block}: first difference at sample {diff:?} (cut at {cut})"
        );
        let events = e.poll();
        assert!(events
            .iter()
            .any(|ev| matches!(ev, EngineEvent::TrackOpened { track: 1, .. })));
    }
}

#[test]
fn resampled_playback_keeps_length_and_pitch() {
    // A 44.1 kHz file on a 48 kHz output: exact length and a 1 kHz tone still at 1 kHz.
    let dir = scratch("resample");
    let tone = sine(44_100, 2, 1000.0, 0.5, 2.0);
    let p = dir.join("tone.wav");
    write_wav_f32(&p, 44_100, 2, &tone);
    let mut e = Engine::offline(48_000, 2, &transparent());
    e.set_queue(vec![p.clone(), p]);
    e.play_track(0);
    let out = trim_tail(render_all(&mut e, 1000, 2), 192_000, 2);
    assert_eq!(out.len(), 192_000 * 2);
    let ideal = sine(48_000, 2, 1000.0, 0.5, 2.0);
    // Inside each track and across the gapless boundary the tone is continuous.
    let err = out[4000..380_000]
        .iter()
        .zip(ideal.iter().cycle().skip(4000))
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(err < 1e-4, "resampled tone deviates by {err}");
}

#[test]
fn every_rate_from_8k_to_192k_plays_at_the_right_pitch_and_length() {
    let dir = scratch("rates");
    for rate in [
        8_000u32, 11_025, 22_050, 32_000, 88_200, 96_000, 176_400, 192_000,
    ] {
        let p = dir.join(format!("tone{rate}.wav"));
        write_wav_f32(&p, rate, 1, &sine(rate, 1, 1000.0, 0.5, 1.0));
        let mut e = Engine::offline(48_000, 2, &transparent());
        e.set_queue(vec![p]);
        e.play_track(0);
        let out = trim_tail(render_all(&mut e, 480, 2), 48_000, 2);
        assert_eq!(out.len(), 96_000, "{rate} Hz: one second at 48 kHz");
        let ideal = sine(48_000, 2, 1000.0, 0.5, 1.0);
        let err = out[2_000..94_000]
            .iter()
            .zip(&ideal[2_000..94_000])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(err < 2e-3, "{rate} Hz → 48 kHz deviates by {err}");
    }
}

#[test]
fn pause_holds_position_and_resume_continues() {
    let path = media_file("prog.flac");
    let (mut e, reference, ch, _) = playing_at_its_rate(&path);
    let mut buf = vec![0.0f32; 1024 * ch];
    for _ in 0..4 {
        e.render_offline(&mut buf);
    }
    e.pause();
    e.render_offline(&mut buf); // fades out over 10 ms (441 frames) inside this block
    let faded = &buf[441 * ch..];
    assert!(faded.iter().all(|&x| x == 0.0), "silent after the fade");
    let held = e
        .telemetry()
        .frames_played
        .load(std::sync::atomic::Ordering::Relaxed);
    for _ in 0..5 {
        e.render_offline(&mut buf);
        assert!(buf.iter().all(|&x| x == 0.0));
    }
    assert_eq!(
        e.telemetry()
            .frames_played
            .load(std::sync::atomic::Ordering::Relaxed),
        held,
        "no audio consumed while paused"
    );
    assert_eq!(e.telemetry().state(), PlayState::Paused);
    assert_eq!(
        e.telemetry()
            .underruns
            .load(std::sync::atomic::Ordering::Relaxed),
        0,
        "a pause is not an underrun"
    );
    e.resume();
    e.render_offline(&mut buf);
    // Resumes exactly where it stopped, fading in.
    let start = held as usize * ch;
    let tail = 800 * ch;
    assert_eq!(&buf[tail..], &reference[start + tail..start + buf.len()]);
}

/// A pause longer than `REST_PAUSED_AFTER_S` makes the renderer rest (it says so, stops feeding
/// the meters, and the engine reports them at rest); one longer than `DORMANT_AFTER_S` makes it
/// dormant (the engine may then suspend the device). Any command restarts the count, and
/// resuming after a dormant stretch continues sample-exactly where the pause held. Idle silence
/// (stopped) rests only when it goes dormant.
#[test]
fn a_long_pause_goes_dormant_and_any_command_wakes_it() {
    use rusty_audio::engine::render::{DORMANT_AFTER_S, REST_PAUSED_AFTER_S};
    use std::sync::atomic::Ordering::Relaxed;
    let path = media_file("prog.flac");
    let (mut e, reference, ch, rate) = playing_at_its_rate(&path);
    let block = 1024;
    let mut buf = vec![0.0f32; block * ch];
    for _ in 0..4 {
        e.render_offline(&mut buf);
    }
    let dormant = |e: &Engine| e.telemetry().dormant.load(Relaxed) != 0;
    e.pause();
    e.render_offline(&mut buf); // the fade-out
    let held = e.telemetry().frames_played.load(Relaxed);
    let rest_blocks = ((rate * REST_PAUSED_AFTER_S) as usize).div_ceil(block);
    for _ in 0..rest_blocks - 1 {
        e.render_offline(&mut buf);
        assert!(
            !e.is_resting(),
            "not resting before {REST_PAUSED_AFTER_S} s of silence"
        );
    }
    e.render_offline(&mut buf);
    assert!(
        e.is_resting() && !dormant(&e),
        "resting (not yet dormant) after {REST_PAUSED_AFTER_S} s of paused silence"
    );
    assert!(buf.iter().all(|&x| x == 0.0), "and silent");
    let m = e.meters().meters;
    assert!(
        m.rms[..ch].iter().all(|&r| r == 0.0) && m.short_term == f32::NEG_INFINITY,
        "a resting renderer's meters read silence: {:?} {}",
        &m.rms[..ch],
        m.short_term
    );
    let held_blocks = ((rate * DORMANT_AFTER_S) as usize).div_ceil(block);
    for _ in rest_blocks..held_blocks - 1 {
        e.render_offline(&mut buf);
        assert!(!dormant(&e), "not dormant before {DORMANT_AFTER_S} s");
        assert!(e.is_resting());
    }
    e.render_offline(&mut buf);
    assert!(
        dormant(&e),
        "dormant after {DORMANT_AFTER_S} s of paused silence"
    );
    assert!(buf.iter().all(|&x| x == 0.0), "and silent");

    // A volume change (any command) restarts the count: awake at once, dormant again later.
    e.set_volume(1.0);
    e.render_offline(&mut buf);
    assert!(
        !dormant(&e) && !e.is_resting(),
        "a command wakes the renderer"
    );
    for _ in 0..=held_blocks {
        e.render_offline(&mut buf);
    }
    assert!(dormant(&e));

    e.resume();
    e.render_offline(&mut buf);
    assert!(!dormant(&e) && !e.is_resting(), "playing is never dormant");
    let start = held as usize * ch;
    let tail = 800 * ch;
    assert_eq!(
        &buf[tail..],
        &reference[start + tail..start + buf.len()],
        "continues exactly where the pause held"
    );
    assert_eq!(e.telemetry().underruns.load(Relaxed), 0);

    // Stopped (idle) silence goes dormant too, after the longer wait.
    e.stop();
    let idle_blocks = ((rate * DORMANT_AFTER_S) as usize).div_ceil(block);
    for _ in 0..idle_blocks - 2 {
        e.render_offline(&mut buf);
        assert!(
            !dormant(&e) && !e.is_resting(),
            "idle: neither before {DORMANT_AFTER_S} s"
        );
    }
    for _ in 0..4 {
        e.render_offline(&mut buf);
    }
    assert!(dormant(&e) && e.is_resting(), "idle silence goes dormant");
    e.play_track(0);
    e.render_offline(&mut buf);
    assert!(!dormant(&e), "playing again wakes it");
    assert!(buf.iter().any(|&x| x != 0.0), "and is heard");
}

#[test]
fn volume_ramps_without_steps() {
    let dir = scratch("volume");
    let p = dir.join("dc.wav");
    write_wav_f32(&p, 48_000, 1, &vec![0.5f32; 48_000]);
    let mut e = Engine::offline(48_000, 1, &transparent());
    e.set_queue(vec![p]);
    e.play_track(0);
    let mut buf = vec![0.0f32; 256];
    e.render_offline(&mut buf);
    e.set_volume_db(-6.0);
    let mut out = Vec::new();
    for _ in 0..10 {
        e.render_offline(&mut buf);
        out.extend_from_slice(&buf);
    }
    let target = 0.5 * 10f32.powf(-6.0 / 20.0);
    assert!((out.last().unwrap() - target).abs() < 1e-6);
    let max_step = out
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0f32, f32::max);
    // A 20 ms ramp of a 0.25 change at 48 kHz moves < 0.0003 per sample; a jump would be 0.25.
    assert!(max_step < 0.001, "volume change stepped by {max_step}");
}

#[test]
fn bad_track_in_the_queue_is_skipped_with_an_event() {
    let good = media_file("prog8k_mulaw.wav");
    let (reference, _, _) = our_decode(&good);
    let mut e = Engine::offline(8000, 1, &transparent());
    e.set_queue(vec![
        media_file("bad/text.ogg"),
        good.clone(),
        media_file("bad/empty.wav"),
        good,
    ]);
    e.play_track(0);
    let out = trim_tail(render_all(&mut e, 512, 1), reference.len() * 2, 1);
    assert_eq!(&out[..reference.len()], &reference[..]);
    assert_eq!(&out[reference.len()..], &reference[..]);
    let failed: Vec<String> = e
        .poll()
        .into_iter()
        .filter_map(|ev| {
            if let EngineEvent::TrackFailed { error, .. } = ev {
                Some(error)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(
        failed[0].contains("text.ogg") && failed[1].contains("empty.wav"),
        "{failed:?}"
    );
}

#[test]
fn stop_silences_and_goes_idle() {
    let path = media_file("prog.flac");
    let mut e = Engine::offline(44_100, 2, &transparent());
    e.set_queue(vec![path]);
    e.play_track(0);
    let mut buf = vec![0.0f32; 512 * 2];
    e.render_offline(&mut buf);
    assert!(buf.iter().any(|&x| x != 0.0));
    e.stop();
    e.render_offline(&mut buf);
    assert!(buf.iter().all(|&x| x == 0.0));
    assert_eq!(e.telemetry().state(), PlayState::Idle);
    assert_eq!(e.position(), None);
}

/// The transport tests check the ring, markers and timing: no limiter (its lookahead delays the
/// output by 1.5 ms) and a flat EQ make the chain an exact identity.
fn transparent() -> EngineConfig {
    EngineConfig {
        limiter: false,
        ..EngineConfig::default()
    }
}

#[test]
fn meters_and_spectrum_follow_what_is_played() {
    let path = scratch("meters_follow").join("tone.wav");
    write_wav_f32(&path, 48_000, 2, &sine(48_000, 2, 1000.0, 0.5, 3.0));
    let mut e = Engine::offline(48_000, 2, &transparent());
    e.set_queue(vec![path]);
    e.play_track(0);
    let mut buf = vec![0.0f32; 512 * 2];
    let mut rendered = 0u64;
    // The meter thread measures asynchronously: offline rendering runs far faster than real time,
    // so wait (bounded) for it to catch up every 20 000 frames — its ring holds 0.5 s.
    let catch_up = |e: &mut Engine, rendered: u64| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let m = e.meters();
            if m.meters.frames >= rendered || std::time::Instant::now() > deadline {
                return m;
            }
            std::thread::yield_now();
        }
    };
    for i in 0..200 {
        e.render_offline(&mut buf);
        rendered += 512;
        if i % 39 == 38 {
            catch_up(&mut e, rendered);
        }
    }
    let m = catch_up(&mut e, rendered);
    assert_eq!(m.meters.frames, rendered, "every played frame was metered");
    assert_eq!(m.dropped_samples, 0);
    let db = |x: f32| 20.0 * x.log10();
    assert!((db(m.meters.peak_max[0]) + 6.02).abs() < 0.01);
    assert!(
        (m.meters.momentary + 6.02).abs() < 0.1,
        "momentary {}",
        m.meters.momentary
    );
    let s = e.spectrum();
    let (i, peak) = s
        .db()
        .iter()
        .enumerate()
        .fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
    assert!(
        (s.freqs()[i] / 1000.0 - 1.0).abs() < 0.03 && (peak + 6.02).abs() < 1.5,
        "spectrum peak {peak} dB at {} Hz",
        s.freqs()[i]
    );
}
