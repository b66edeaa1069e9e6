//! The ALSA host (`--host alsa`), through the PulseAudio ALSA plugin into the test server's null
//! sink: the callback runs on ALSA's stream thread, which the app promotes to SCHED_FIFO, and
//! streams survive the plugin's start-up EIO. Its own binary: the host choice is process-wide.

mod common;
use common::*;

use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn the_callback_runs_on_a_real_time_thread_of_its_own() {
    if skip_without_pulse("the_callback_runs_on_a_real_time_thread_of_its_own") {
        return;
    }
    rusty_audio::engine::output::choose_host("alsa").unwrap();
    let dir = scratch("alsa_rt_thread");
    let tone = dir.join("tone.wav");
    write_wav_f32(&tone, 48_000, 2, &sine(48_000, 2, 440.0, 0.2, 5.0));
    let mut e = device_engine();
    assert_eq!(e.output_info().host, "ALSA");
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
    let comm = std::fs::read_to_string(format!("/proc/self/task/{}/comm", info.tid)).unwrap();
    assert_eq!(
        comm.trim(),
        "cpal_alsa_out",
        "ALSA's own stream thread: {info:?}"
    );
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
    if skip_unless(
        "the_callback_runs_on_a_real_time_thread_of_its_own (policy)",
        info.refused_errno.is_none(),
        "permission for SCHED_FIFO (root or RLIMIT_RTPRIO)",
    ) {
        return;
    }
    // SCHED_FIFO when it promoted itself, SCHED_RR when rtkit granted it.
    assert_eq!(
        kernel_policy(info.tid),
        if info.by_rtkit { 2 } else { 1 },
        "real-time per /proc, recorded {info:?}"
    );
    assert!(info.policy.is_realtime() && info.priority > 0, "{info:?}");
    assert!(
        !e.output_info().is_null,
        "{:?}",
        e.output_info().fallback_reason
    );
}

/// Three players starting at once on the idle server: the plugin answers `snd_pcm_avail_delay`
/// with EIO until its first timing update; every player must stay on the device (before the
/// error policy learnt that, two of three fell back to the null output), and report it.
#[test]
fn streams_starting_together_survive_the_plugins_start_up_errors() {
    if skip_without_pulse("streams_starting_together_survive_the_plugins_start_up_errors") {
        return;
    }
    let dir = scratch("alsa_together");
    let tone = dir.join("tone.wav");
    write_wav_f32(&tone, 48_000, 2, &sine(48_000, 2, 440.0, 0.1, 1.5));
    let players: Vec<_> = (0..3)
        .map(|_| {
            Command::new(bin())
                .args(["play", "--host", "alsa", "--json"])
                .arg(&tone)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for p in players {
        let o = p.wait_with_output().unwrap();
        let j = play_summary(&o); // succeeded, not on the null output
        assert_eq!(j["host"], "ALSA", "{j}");
        assert_eq!(j["frames_played"], 72_000, "{j}");
        assert!(j["xruns"].is_u64(), "{j}");
        if j["audio_thread"]["refused"].is_null() {
            let policy = j["audio_thread"]["policy"].as_str().unwrap_or_default();
            assert!(matches!(policy, "SCHED_FIFO" | "SCHED_RR"), "{j}");
        }
    }
}

#[test]
fn an_unknown_host_is_a_usage_error() {
    let o = Command::new(bin())
        .args(["--host", "nosuch", "devices"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no audio host \"nosuch\"") && err.contains("ALSA"),
        "{err}"
    );
}
