//! Soak: play through the real cpal → test server (PipeWire, the default host) null-sink path with
//! a 256-frame buffer while a process the test starts keeps the other core busy, and count
//! underruns (the callback finding the ring dry while the track still had audio, i.e. the decoder
//! did not keep up) and xruns (the device side running dry: a late callback).
//!
//! `make test` runs a short form (8 s); `make soak` runs 60 s in a release build
//! (RUSTY_AUDIO_SOAK_SECONDS). The numbers are printed for PERFORMANCE_GUIDE.md.

mod common;
use common::*;

use std::process::{Child, Command};

struct Busy(Vec<Child>);

impl Drop for Busy {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn no_underruns_with_a_small_buffer_and_a_busy_core() {
    if skip_without_pulse("soak") {
        return;
    }
    let seconds: f64 = std::env::var("RUSTY_AUDIO_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8.0);
    // 44.1 kHz material on a 48 kHz sink: the decoder resamples too.
    let file = scratch("soak").join(format!("soak_{seconds}.wav"));
    if !file.exists() {
        write_wav_i16(&file, 44_100, 2, &sine(44_100, 2, 997.0, 0.5, seconds));
    }
    // One spinning process per core but the audio one: the machine is loaded, not idle.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let busy = Busy(
        (0..cores.saturating_sub(1).max(1))
            .map(|_| {
                Command::new("sh")
                    .args(["-c", "while :; do :; done"])
                    .spawn()
                    .expect("sh runs")
            })
            .collect(),
    );
    let out = Command::new(bin())
        .args(["play", "--json", "--buffer", "256"])
        .arg(&file)
        .output()
        .unwrap();
    drop(busy);
    let j = play_summary(&out); // succeeded, on the test server's sink
    eprintln!(
        "soak {seconds} s, 256-frame buffer, {} busy process(es): {j}",
        cores.saturating_sub(1).max(1)
    );
    assert_eq!(j["buffer_frames"], 256);
    assert_eq!(j["host"], "PipeWire", "the default host: {j}");
    if j["audio_thread"]["refused"].is_null() {
        // Promoted itself (FIFO), or granted by rtkit (RR).
        let policy = j["audio_thread"]["policy"].as_str().unwrap_or_default();
        assert!(matches!(policy, "SCHED_FIFO" | "SCHED_RR"), "{j}");
    } else {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root: {j}");
    }
    assert_eq!(j["underruns"], 0, "the decoder kept the ring fed: {j}");
    assert_eq!(
        j["xruns"], 0,
        "the device never ran dry (callbacks on time): {j}"
    );
    // Everything was played: 48 kHz frames for the whole file (± the resampler's edges).
    let played = j["frames_played"].as_f64().unwrap();
    assert!(
        (played / 48_000.0 - seconds).abs() < 0.05,
        "{played} frames for {seconds} s"
    );
}
