//! End to end on a real audio server: `rusty-audio play` → cpal → PulseAudio null sink, recorded
//! back from the sink's monitor with `parec`, then checked for frequency, level and dropouts.
//! `make test` starts the server; without one these tests say so loudly and skip.

mod common;
use common::*;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct ToneCheck {
    freq_hz: f64,
    peak_dbfs: f64,
    longest_gap_ms: f64,
    tone_seconds: f64,
}

/// Measure the left channel of a recorded tone between its first and last audible sample.
fn measure(stereo: &[f32], rate: f64) -> ToneCheck {
    let left: Vec<f32> = stereo.chunks_exact(2).map(|f| f[0]).collect();
    let audible = |x: &f32| x.abs() > 0.01;
    let first = left
        .iter()
        .position(audible)
        .expect("the tone reached the sink");
    let last = left.len() - 1 - left.iter().rev().position(audible).unwrap();
    let tone = &left[first..=last];
    // Frequency: interpolated positive-going zero crossings over the whole tone.
    let mut crossings = Vec::new();
    for i in 1..tone.len() {
        if tone[i - 1] < 0.0 && tone[i] >= 0.0 {
            let frac = f64::from(-tone[i - 1]) / f64::from(tone[i] - tone[i - 1]);
            crossings.push(i as f64 - 1.0 + frac);
        }
    }
    let freq_hz = (crossings.len() - 1) as f64 * rate / (crossings.last().unwrap() - crossings[0]);
    // Level: RMS of the steady part (skip 50 ms at each end) → sine peak.
    let trim = (0.05 * rate) as usize;
    let body = &tone[trim..tone.len() - trim];
    let rms = (body
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        / body.len() as f64)
        .sqrt();
    let peak_dbfs = 20.0 * (rms * std::f64::consts::SQRT_2).log10();
    // Dropouts: the longest run of near-silence inside the tone (a 1 kHz sine at −20 dBFS is
    // below −60 dBFS for well under one sample around each zero crossing).
    let (mut longest, mut run) = (0usize, 0usize);
    for &x in tone {
        if x.abs() < 0.001 {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    ToneCheck {
        freq_hz,
        peak_dbfs,
        longest_gap_ms: longest as f64 * 1000.0 / rate,
        tone_seconds: tone.len() as f64 / rate,
    }
}

/// The tests share one sink and its monitor, and a 2-core machine: one at a time (a second
/// player and sound server running beside a 256-frame stream make the server miss deadlines).
static SINK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn play_and_record(name: &str, file_rate: u32, extra: &[&str]) -> (ToneCheck, serde_json::Value) {
    let (recorded, summary) = play_and_record_raw(name, file_rate, extra);
    (measure(&recorded, 48_000.0), summary)
}

fn play_and_record_raw(
    name: &str,
    file_rate: u32,
    extra: &[&str],
) -> (Vec<f32>, serde_json::Value) {
    let _sink = SINK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = scratch(name);
    let tone_path = dir.join("tone.wav");
    write_wav_f32(
        &tone_path,
        file_rate,
        2,
        &sine(file_rate, 2, 1000.0, 0.1, 2.0),
    ); // −20 dBFS peak
    let raw = dir.join("recorded.raw");
    let rec = start_recording(&raw);
    let mut args = vec!["play", "--json"];
    args.extend_from_slice(extra);
    args.push(tone_path.to_str().unwrap());
    let o = Command::new(bin()).args(&args).output().unwrap();
    let recorded = stop_recording(rec, &raw);
    (recorded, play_summary(&o))
}

/// Whether a recording is clean (the checks of `assert_clean_tone`).
fn is_clean(c: &ToneCheck, summary: &serde_json::Value) -> bool {
    (c.freq_hz - 1000.0).abs() <= 1.0
        && (c.peak_dbfs + 20.0).abs() <= 0.5
        && c.longest_gap_ms <= 5.0
        && c.tone_seconds > 1.8
        && summary["underruns"] == 0
}

/// `play_and_record` for the dropout tests, on a 2-core VM whose virtual CPUs can stall: a
/// recording with a dropout is taken again only when the player itself saw the stall — the
/// longest time between two callbacks over two periods, so the system did not run our
/// real-time thread (or the server's graph) in time, which no player can make up for. A
/// dropout with the callbacks on time is ours and fails at once; so do three stalled tries.
fn play_and_record_clean(
    name: &str,
    file_rate: u32,
    extra: &[&str],
) -> (ToneCheck, serde_json::Value) {
    let mut tries = 0;
    loop {
        tries += 1;
        let (c, summary) = play_and_record(name, file_rate, extra);
        let period_ns = summary["buffer_frames"].as_f64().unwrap_or(1024.0) * 1e9
            / summary["sample_rate"].as_f64().unwrap_or(48_000.0);
        let stalled = summary["interval_ns"]["max"]
            .as_f64()
            .is_some_and(|m| m > 2.0 * period_ns);
        if is_clean(&c, &summary) || !stalled || tries == 3 {
            return (c, summary);
        }
        eprintln!(
            "{name}: a dropout of {:.2} ms while the system stalled our callback ({} ns between \
             two callbacks, period {period_ns:.0} ns): recording again",
            c.longest_gap_ms, summary["interval_ns"]["max"]
        );
    }
}

fn assert_clean_tone(c: &ToneCheck, summary: &serde_json::Value) {
    assert!(
        (c.freq_hz - 1000.0).abs() <= 1.0,
        "frequency {:.3} Hz (a gap shifts it; longest gap {:.2} ms): {summary}",
        c.freq_hz,
        c.longest_gap_ms
    );
    assert!(
        (c.peak_dbfs + 20.0).abs() <= 0.5,
        "level {:.3} dBFS",
        c.peak_dbfs
    );
    assert!(
        c.longest_gap_ms <= 5.0,
        "dropout of {:.2} ms inside the tone: {summary}",
        c.longest_gap_ms
    );
    assert!(
        c.tone_seconds > 1.8,
        "only {:.2} s of the 2 s tone reached the sink",
        c.tone_seconds
    );
    assert_eq!(summary["underruns"], 0, "{summary}");
}

/// On the test server (PipeWire, as on current desktops) the default host is cpal's PipeWire
/// host; the thread that runs the callback is the one the callback recorded (checked in /proc,
/// not the control thread), a thread of the stream's own (not the control thread, not shared with
/// another stream), and real-time: SCHED_FIFO per the kernel. The native PulseAudio host is
/// tested on private PulseAudio servers (the device-loss tests), ALSA in alsa_host.rs.
#[test]
fn the_callback_runs_on_a_real_time_thread_of_its_own() {
    if skip_without_pulse("the_callback_runs_on_a_real_time_thread_of_its_own") {
        return;
    }
    let _sink = SINK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = scratch("e2e_rt_thread");
    let tone = dir.join("tone.wav");
    write_wav_f32(&tone, 48_000, 2, &sine(48_000, 2, 440.0, 0.2, 5.0));
    let mut e = device_engine();
    e.set_queue(vec![tone]);
    e.play_track(0);
    let t = e.telemetry().clone();
    let deadline = Instant::now() + Duration::from_secs(10);
    while t.audio_thread.get().tid == 0
        || t.frames_played.load(std::sync::atomic::Ordering::Relaxed) == 0
    {
        e.poll();
        assert!(Instant::now() < deadline, "the callback never ran");
        std::thread::sleep(Duration::from_millis(10));
    }
    let info = t.audio_thread.get();
    assert_ne!(info.tid, this_thread_id(), "not the control thread");
    // Seek latency as the performance panel shows it: command → first frame of the new position
    // read for the device (printed for PERFORMANCE_GUIDE.md; the test asserts it is measured).
    e.seek(3.0);
    let deadline = Instant::now() + Duration::from_secs(10);
    let seek = loop {
        e.poll();
        if let Some(d) = t.last_jump_latency() {
            break d;
        }
        assert!(Instant::now() < deadline, "the seek was never heard");
        std::thread::sleep(Duration::from_millis(5));
    };
    let (_, pos) = e.position().expect("playing");
    assert!(pos >= 3.0, "playing from the new position: {pos}");
    eprintln!(
        "seek on {}: {:.2} ms to the device + {:.2} ms host latency estimate",
        e.output_info().host,
        seek.as_secs_f64() * 1e3,
        t.device_latency_ns
            .load(std::sync::atomic::Ordering::Relaxed) as f64
            / 1e6
    );
    assert_eq!(
        e.output_info().host,
        "PipeWire",
        "the default host on a PipeWire server"
    );
    let other = e2e_second_engine_thread();
    assert_ne!(info.tid, other, "each stream has a thread of its own");
    if skip_unless(
        "the_callback_runs_on_a_real_time_thread_of_its_own (policy)",
        info.refused_errno.is_none(),
        "permission for SCHED_FIFO (root or RLIMIT_RTPRIO)",
    ) {
        return;
    }
    // SCHED_FIFO when the thread promoted itself (root, RLIMIT_RTPRIO); SCHED_RR when rtkit
    // granted it.
    let expect = if info.by_rtkit { 2 } else { 1 };
    assert_eq!(
        kernel_policy(info.tid),
        expect,
        "real-time per /proc, recorded {info:?}"
    );
    assert!(info.policy.is_realtime() && info.priority > 0, "{info:?}");
}

/// The callback thread of a second engine playing at the same time (to tell a stream's own
/// thread from a thread the client library shares between streams).
fn e2e_second_engine_thread() -> u32 {
    let dir = scratch("e2e_rt_thread_2");
    let tone = dir.join("tone.wav");
    write_wav_f32(&tone, 48_000, 2, &sine(48_000, 2, 440.0, 0.01, 2.0));
    let mut e = device_engine();
    e.set_queue(vec![tone]);
    e.play_track(0);
    let t = e.telemetry().clone();
    let deadline = Instant::now() + Duration::from_secs(10);
    while t.audio_thread.get().tid == 0 {
        e.poll();
        assert!(Instant::now() < deadline, "the second callback never ran");
        std::thread::sleep(Duration::from_millis(10));
    }
    t.audio_thread.get().tid
}

/// This thread's kernel id, from /proc (no libc call needed in the test).
fn this_thread_id() -> u32 {
    std::fs::read_link("/proc/thread-self")
        .unwrap()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn play_json_reports_the_audio_thread_and_xruns() {
    if skip_without_pulse("play_json_reports_the_audio_thread_and_xruns") {
        return;
    }
    let (_, summary) = play_and_record("e2e_json_thread", 48_000, &[]);
    assert_eq!(
        summary["audio_thread"]["host"], summary["host"],
        "{summary}"
    );
    assert!(
        summary["audio_thread"]["tid"].as_u64().unwrap() > 0,
        "{summary}"
    );
    assert!(summary["xruns"].is_u64(), "{summary}");
    assert!(summary["start_ms"].as_f64().unwrap() > 0.0, "{summary}");
}

#[test]
fn tone_reaches_the_sink_intact() {
    if skip_without_pulse("tone_reaches_the_sink_intact") {
        return;
    }
    let (c, summary) = play_and_record_clean("e2e_tone", 48_000, &[]);
    assert_clean_tone(&c, &summary);
    assert_eq!(summary["sample_rate"], 48_000);
}

#[test]
fn resampled_tone_with_small_buffer_reaches_the_sink_intact() {
    if skip_without_pulse("resampled_tone_with_small_buffer_reaches_the_sink_intact") {
        return;
    }
    // A 44.1 kHz file on the 48 kHz sink: the resampler is in the path; 256-frame callbacks.
    let (c, summary) = play_and_record_clean("e2e_resampled", 44_100, &["--buffer", "256"]);
    assert_clean_tone(&c, &summary);
    assert_eq!(summary["buffer_frames"], 256);
}

#[test]
fn volume_option_changes_the_recorded_level() {
    if skip_without_pulse("volume_option_changes_the_recorded_level") {
        return;
    }
    let (c, _) = play_and_record("e2e_volume", 48_000, &["--volume", "-6"]);
    assert!(
        (c.peak_dbfs + 26.0).abs() <= 0.5,
        "level {:.3} dBFS with --volume -6",
        c.peak_dbfs
    );
}

#[test]
fn eq_and_limiter_are_heard_on_the_sink() {
    if skip_without_pulse("eq_and_limiter_are_heard_on_the_sink") {
        return;
    }
    // +6 dB bell on the 1 kHz tone (−20 dBFS) → −14 dBFS at the sink.
    let (c, _) = play_and_record("e2e_eq", 48_000, &["--eq", "PK 1000 6 1.0"]);
    assert!(
        (c.peak_dbfs + 14.0).abs() <= 0.5,
        "level {:.3} dBFS with a +6 dB band",
        c.peak_dbfs
    );
    // Monitor mode "side" of a centred (L = R) tone is silence at the sink.
    let (rec, summary) = play_and_record_raw("e2e_side", 48_000, &["--monitor", "side"]);
    assert_eq!(summary["frames_played"], 96_000, "{summary}");
    let loudest = rec.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    assert!(
        rec.len() > 48_000 && loudest < 1e-4,
        "side of a centred tone: peak {loudest} over {} samples",
        rec.len()
    );
    // +30 dB of volume into a −6 dBFS limiter: held at the ceiling, still a clean tone.
    let (c, _) = play_and_record("e2e_limit", 48_000, &["--volume", "30", "--limit", "-6"]);
    assert!(
        c.peak_dbfs <= -6.0 + 0.05 && c.peak_dbfs > -6.5,
        "limited level {:.3} dBFS",
        c.peak_dbfs
    );
}

/// The sound server dies mid-play: playback moves to the null output and finishes the track with
/// nothing lost. Uses its own throwaway server so the shared one survives: PipeWire (the default
/// host's server) and PulseAudio (the PulseAudio host's).
#[test]
fn losing_the_device_mid_play_falls_back_and_finishes() {
    if skip_without_pulse("losing_the_device_mid_play_falls_back_and_finishes") {
        return;
    }
    let stderr = lose_the_server_mid_play(ServerKind::PipeWire);
    assert!(stderr.contains("PipeWire"), "played on PipeWire: {stderr}");
}

#[test]
fn losing_the_pulseaudio_server_mid_play_falls_back_and_finishes() {
    if skip_without_pulse("losing_the_pulseaudio_server_mid_play_falls_back_and_finishes") {
        return;
    }
    lose_the_server_mid_play(ServerKind::PulseAudio);
}

/// Play a 3 s tone on a private server of `kind`, kill the server once the stream is there, and
/// check the play finished on the null output with every frame played. Returns play's stderr.
fn lose_the_server_mid_play(kind: ServerKind) -> String {
    let _sink = SINK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let server = PrivatePulse::start_kind(&format!("loss-{kind:?}"), kind);

    let dir = scratch(&format!("e2e_device_loss_{kind:?}"));
    let tone = dir.join("tone.wav");
    write_wav_f32(&tone, 48_000, 2, &sine(48_000, 2, 440.0, 0.1, 3.0));
    let mut play = Command::new(bin());
    play.args(["play", "--json", tone.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    server.env(&mut play);
    let child = play.spawn().unwrap();

    // Wait until our stream is playing on the private server, then kill the server.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.has_stream() {
        assert!(
            Instant::now() < deadline,
            "playback never reached the private server"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    server.kill();

    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("failed") && stderr.contains("null output"),
        "the user is told: {stderr}"
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["null_output"], true, "{v}");
    assert_eq!(
        v["frames_played"], 144_000,
        "the whole track played, nothing lost or repeated: {v}"
    );
    stderr.into_owned()
}

/// `Corked:` of this process's playback stream on the server (None: no stream of ours).
fn our_stream_corked() -> Option<bool> {
    let o = Command::new("pactl")
        .args(["list", "sink-inputs"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    // A PulseAudio client stream carries its process id; a PipeWire stream (seen through
    // pipewire-pulse) carries it in the name cpal gives it.
    let pid = format!("application.process.id = \"{}\"", std::process::id());
    let name = format!("media.name = \"cpal-playback-{}\"", std::process::id());
    text.split("Sink Input #")
        .find(|block| block.contains(&pid) || block.contains(&name))
        .and_then(|block| {
            block
                .lines()
                .find_map(|l| l.trim().strip_prefix("Corked: "))
                .map(|v| v == "yes")
        })
}

/// Poll the engine until `done` or fail after `limit` (waiting for a condition, not timing it).
fn poll_until(
    e: &mut rusty_audio::engine::Engine,
    limit: Duration,
    what: &str,
    mut done: impl FnMut(&mut rusty_audio::engine::Engine) -> bool,
) {
    let deadline = Instant::now() + limit;
    loop {
        e.poll();
        if done(e) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Paused with the window open the app must cost next to nothing: once the pause has faded out
/// and the meters show silence, the engine corks its PulseAudio stream (the server sees
/// `Corked: yes`), and resuming uncorks it and continues from the held position, with no
/// underrun and without the pause showing up as one enormous callback interval.
#[test]
fn a_long_pause_suspends_the_device_stream_and_resume_continues() {
    if skip_without_pulse("a_long_pause_suspends_the_device_stream_and_resume_continues") {
        return;
    }
    // It plays into the shared sink: not while another test records it.
    let _sink = SINK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = scratch("e2e_suspend");
    let tone = dir.join("tone.wav");
    write_wav_f32(&tone, 48_000, 2, &sine(48_000, 2, 440.0, 0.3, 30.0));
    let mut e = device_engine();
    e.set_queue(vec![tone]);
    e.play_track(0);
    poll_until(&mut e, Duration::from_secs(10), "playback", |e| {
        e.position().is_some_and(|p| p.1 > 0.5)
    });
    assert_eq!(our_stream_corked(), Some(false), "playing: stream running");
    assert!(!e.is_suspended());

    e.pause();
    assert!(e.suspend_due().is_some(), "paused: the engine will suspend");
    poll_until(
        &mut e,
        Duration::from_secs(20),
        "the stream to be suspended",
        |e| e.is_suspended(),
    );
    assert_eq!(
        our_stream_corked(),
        Some(true),
        "the server sees the stream corked"
    );
    assert_eq!(e.suspend_due(), None);
    let held = e.position().unwrap().1;
    let m = e.meters().meters;
    // A suspended stream's renderer is dormant: the engine reports the windowed meters at rest
    // (the meter thread is fed nothing), the integrating ones keep what the tone measured.
    assert!(
        e.telemetry()
            .dormant
            .load(std::sync::atomic::Ordering::Relaxed)
            != 0
            && e.is_resting(),
        "suspended only once the renderer is dormant"
    );
    assert!(
        m.rms[0] == 0.0 && m.rms[1] == 0.0 && m.short_term == f32::NEG_INFINITY,
        "meters at rest while suspended: {:?} {}",
        &m.rms[..2],
        m.short_term
    );
    assert!(
        m.integrated.is_finite() && m.integrated > -40.0,
        "integrated loudness of the tone kept: {}",
        m.integrated
    );
    let intervals_before = e.telemetry().perf.interval_ns.snapshot();

    e.resume();
    assert!(!e.is_suspended());
    assert_eq!(our_stream_corked(), Some(false), "resume uncorks at once");
    poll_until(
        &mut e,
        Duration::from_secs(10),
        "playback to continue",
        |e| e.position().is_some_and(|p| p.1 > held + 0.5),
    );
    let (track, pos) = e.position().unwrap();
    assert_eq!(track, 0);
    assert!(
        pos < held + 5.0,
        "continued from {held:.2} s, not elsewhere: {pos:.2}"
    );
    assert_eq!(
        e.telemetry()
            .underruns
            .load(std::sync::atomic::Ordering::Relaxed),
        0,
        "no underrun around the suspension"
    );
    let intervals = e.telemetry().perf.interval_ns.snapshot();
    assert!(intervals.count > intervals_before.count, "callbacks again");
    assert!(
        intervals.max < 1_000_000_000,
        "the pause is not recorded as a callback interval: max {} ns",
        intervals.max
    );
}

/// In `rusty-audio play` on PipeWire, both threads the server's wake-up passes through are
/// real-time: libpipewire's data loop (module-rt, loaded by the client-rt configuration `main`
/// selects) and the stream loop that runs our callback (promoted by us).
#[test]
fn the_whole_wake_up_chain_is_real_time_in_play() {
    if skip_without_pulse("the_whole_wake_up_chain_is_real_time_in_play") {
        return;
    }
    let _sink = SINK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = scratch("e2e_rt_chain");
    let tone = dir.join("tone.wav");
    write_wav_f32(&tone, 48_000, 2, &sine(48_000, 2, 440.0, 0.01, 3.0));
    let child = Command::new(bin())
        .args(["play", "--json"])
        .arg(&tone)
        .env_remove("PIPEWIRE_CONFIG_NAME")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let policies = |pid: u32| -> Vec<u32> {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .map(|d| {
                d.filter_map(|t| {
                    let t = t.ok()?.path();
                    let comm = std::fs::read_to_string(t.join("comm")).ok()?;
                    (comm.trim() == "pw_out").then(|| {
                        let stat = std::fs::read_to_string(t.join("stat")).unwrap_or_default();
                        stat.rsplit(')')
                            .next()
                            .and_then(|f| f.split_whitespace().nth(38))
                            .and_then(|p| p.parse().ok())
                            .unwrap_or(0)
                    })
                })
                .collect()
            })
            .unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let seen = loop {
        let p = policies(child.id());
        if p.len() >= 2 && p.iter().all(|&x| x != 0) {
            break p;
        }
        if Instant::now() > deadline {
            break p;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let o = child.wait_with_output().unwrap();
    let j = play_summary(&o);
    if j["audio_thread"]["refused"].is_null() {
        assert!(
            seen.len() >= 2 && seen.iter().all(|&p| p == 1 || p == 2),
            "stream loop and data loop real-time (policies {seen:?}): {j}"
        );
    } else {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root: {j}");
    }
}
