//! `rusty-audio listen`: the analyzers on a live input (a microphone, a line-in, or what this
//! computer plays). Live meters on stderr while it runs (a line that updates, on a terminal), and
//! at the end a summary: text, or one JSON object with `--json`.
//!
//! The input callback only converts and queues (`engine::capture`); everything here runs on the
//! main thread, which drains the ring every 20 ms. `--seconds N` analyses exactly N seconds of
//! the input's frames (not of the wall clock), so a summary covers what was asked.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering::Acquire, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringbuf::traits::{Consumer, Observer};
use serde_json::json;

use crate::analysis::dominant::Dominant;
use crate::analysis::levels::Levels;
use crate::analysis::loudness::LoudnessMeter;
use crate::analysis::true_peak::TruePeak;
use crate::engine::capture::{self, Capture};
use crate::engine::input::InputChoice;
use crate::engine::rtkit::RtWatch;

pub struct ListenOptions {
    pub input: InputChoice,
    /// Stop after this many seconds of audio (None: at Ctrl-C).
    pub seconds: Option<f64>,
    pub json: bool,
}

/// How long the input may deliver nothing before `listen` gives up on it.
const SILENT_DEVICE: Duration = Duration::from_secs(5);

/// The summary's measurements, fed from the ring on the main thread.
struct Summary {
    channels: usize,
    frames: u64,
    levels: Levels,
    loudness: LoudnessMeter,
    true_peak: TruePeak,
    dominant: Dominant,
}

impl Summary {
    fn new(channels: usize, rate: u32) -> Self {
        Self {
            channels,
            frames: 0,
            levels: Levels::default(),
            loudness: LoudnessMeter::offline(channels, rate),
            true_peak: TruePeak::new(channels, rate),
            dominant: Dominant::new(channels, rate),
        }
    }

    fn add(&mut self, buf: &[f32]) {
        self.levels.add(buf);
        self.loudness.add(buf);
        self.true_peak.add(buf);
        self.dominant.add(buf);
        self.frames += (buf.len() / self.channels) as u64;
    }
}

fn db(v: Option<f64>) -> String {
    v.map_or("-inf".into(), |x| format!("{x:.1}"))
}

pub fn run(opts: &ListenOptions) -> i32 {
    let feed = capture::Feed {
        samples: Some(2.0),
        analysis: false,
    };
    let mut cap = match capture::open(&opts.input, feed) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rusty-audio: {e}");
            return 1;
        }
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        let _ = ctrlc::set_handler(move || flag.store(true, Relaxed));
    }
    let info = cap.info.clone();
    let ch = info.channels;
    let rate = info.sample_rate;
    // Said once audio arrives (a device that opens but delivers nothing is an error below).
    let listening = format!(
        "listening to {} ({} {} Hz, {} ch, {}){}",
        info.device,
        info.host,
        rate,
        ch,
        info.sample_format,
        if opts.seconds.is_some() {
            ""
        } else {
            "; Ctrl-C ends"
        }
    );
    let mut said_listening = false;
    let want = opts
        .seconds
        .map(|s| (s.max(0.0) * f64::from(rate)).round() as u64);
    let tty = std::io::stderr().is_terminal();
    let mut summary = Summary::new(ch, rate);
    // The live line: the last quarter second's peak and RMS.
    let mut live = Levels::default();
    let mut last_line = Instant::now();
    let mut last_data = Instant::now();
    let mut buf = vec![0.0f32; 8192 * ch];
    let mut failure = None;
    let mut last_error = None;
    // The input thread's scheduling, judged as the output's is: rtkit when its own promotion
    // was refused.
    let mut rt = RtWatch::default();
    loop {
        // Errors the stream survived are said as they come (the ring keeps room for the one
        // that may end it).
        while let Some(e) = cap.errors.try_pop() {
            eprintln!("rusty-audio: {}: {e}", info.device);
            last_error = Some(e.to_string());
        }
        if let Some(notice) = rt.watch(&cap.telemetry.thread, "the input thread") {
            eprintln!("rusty-audio: {notice}");
        }
        let done = drain(&mut cap, &mut buf, &mut summary, &mut live, want);
        if done > 0 {
            last_data = Instant::now();
            if !said_listening {
                said_listening = true;
                eprintln!("{listening}");
            }
        }
        if want.is_some_and(|w| summary.frames >= w) || interrupted.load(Relaxed) {
            break;
        }
        if cap.telemetry.health.failed.load(Acquire) {
            failure = Some(
                cap.errors
                    .try_pop()
                    .map(|e| e.to_string())
                    .or(last_error)
                    .unwrap_or_else(|| "the input stream failed".into()),
            );
            break;
        }
        if last_data.elapsed() > SILENT_DEVICE {
            failure = Some(format!(
                "no audio from the input for {} s",
                SILENT_DEVICE.as_secs()
            ));
            break;
        }
        if tty && last_line.elapsed() >= Duration::from_millis(250) {
            last_line = Instant::now();
            eprint!(
                "\r\x1b[K  {:>7.1} s  peak {:>6} dBFS  RMS {:>6} dBFS  {:>8}  overruns {}",
                summary.frames as f64 / f64::from(rate),
                db(live.peak_dbfs()),
                db(live.rms_dbfs()),
                summary
                    .dominant
                    .frequency()
                    .map_or("-".into(), |f| format!("{f:.0} Hz")),
                cap.telemetry.overruns.load(Relaxed)
            );
            let _ = std::io::stderr().flush();
            live = Levels::default();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // What the callback queued before the stream stops belongs to the run (up to `want`).
    drain(&mut cap, &mut buf, &mut summary, &mut live, want);
    if tty {
        eprint!("\r\x1b[K");
    }
    if interrupted.load(Relaxed) {
        eprintln!("rusty-audio: interrupted");
    }
    // The run's figures as it ended (not counting the wait below).
    let t = cap.telemetry.clone();
    let snap = t.perf.callback_snapshot();
    let overruns = t.overruns.load(Relaxed);
    let dropped_frames = t.dropped_frames.load(Relaxed);
    let host_xruns = t.host_xruns.load(Relaxed);
    // The summary reports the input thread as it ends up: an rtkit request still under way (it
    // answers in milliseconds) is waited for, the input drained and dropped meanwhile. Bounded
    // as a whole (a thread demoted and promoted again would start a new request) and by Ctrl-C.
    let deadline = Instant::now() + crate::engine::rtkit::ANSWER_WITHIN + Duration::from_secs(1);
    while !rt.settled(&t.thread) && Instant::now() < deadline && !interrupted.load(Relaxed) {
        if let Some(notice) = rt.watch(&t.thread, "the input thread") {
            eprintln!("rusty-audio: {notice}");
        }
        if let Some(samples) = cap.samples.as_mut() {
            samples.clear();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // Read before the stream stops: cpal's PipeWire host reports an error while it tears down a
    // stream on a named node, and the error handler demotes the thread then.
    let thread = t.thread.get();
    drop(cap);
    let s = &summary;
    if opts.json {
        println!(
            "{}",
            json!({
                "device": info.device,
                "device_id": info.id,
                "host": info.host,
                "sample_rate": rate,
                "channels": ch,
                "sample_format": info.sample_format,
                "buffer_frames": info.buffer_frames,
                "frames": s.frames,
                "duration_s": s.frames as f64 / f64::from(rate),
                "overruns": overruns,
                "dropped_frames": dropped_frames,
                "host_xruns": host_xruns,
                "peak_dbfs": s.levels.peak_dbfs(),
                "rms_dbfs": s.levels.rms_dbfs(),
                "true_peak_dbtp": crate::analysis::levels::to_db(f64::from(s.true_peak.peak())),
                "integrated_lufs": s.loudness.integrated(),
                "dominant_hz": s.dominant.frequency(),
                "callbacks": snap.count,
                "callback_ns": {"p50": snap.quantile(0.5), "p99": snap.quantile(0.99), "max": snap.max},
                "input_thread": {
                    "tid": thread.tid,
                    "policy": thread.policy.name(),
                    "priority": thread.priority,
                    "refused": thread.refused_errno.map(|e| std::io::Error::from_raw_os_error(e).to_string()),
                    // As `play`'s audio_thread (`AudioThreadInfo::granted_by`).
                    "granted_by": thread.granted_by(info.host),
                },
                "error": failure,
            })
        );
    } else {
        eprintln!(
            "{:.2} s from {} ({} Hz, {} ch): peak {} dBFS, RMS {} dBFS, true peak {} dBTP, {} LUFS, dominant {}; {} overrun(s); callback p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
            s.frames as f64 / f64::from(rate),
            info.device,
            rate,
            ch,
            db(s.levels.peak_dbfs()),
            db(s.levels.rms_dbfs()),
            db(crate::analysis::levels::to_db(f64::from(s.true_peak.peak()))),
            db(s.loudness.integrated()),
            s.dominant
                .frequency()
                .map_or("-".into(), |f| format!("{f:.1} Hz")),
            overruns,
            snap.quantile(0.5) as f64 / 1e3,
            snap.quantile(0.99) as f64 / 1e3,
            snap.max as f64 / 1e3,
        );
    }
    if let Some(why) = failure {
        eprintln!("rusty-audio: {}: {why}", info.device);
        return 1;
    }
    0
}

/// Move what the ring holds into the summary (and the live line), no further than `want`
/// frames in all. Returns the frames taken.
fn drain(
    cap: &mut Capture,
    buf: &mut [f32],
    summary: &mut Summary,
    live: &mut Levels,
    want: Option<u64>,
) -> u64 {
    let ch = summary.channels;
    let mut taken = 0;
    loop {
        let left = want.map_or(u64::MAX, |w| w.saturating_sub(summary.frames));
        let Some(samples) = cap.samples.as_mut() else {
            return taken;
        };
        if left == 0 || samples.occupied_len() < ch {
            return taken;
        }
        let frames = (buf.len() / ch).min(left.min(usize::MAX as u64) as usize);
        let n = samples.pop_slice(&mut buf[..frames * ch]);
        // The callback pushes whole frames only, so `n` is a multiple of `ch`.
        let n = n - n % ch;
        if n == 0 {
            return taken;
        }
        summary.add(&buf[..n]);
        live.add(&buf[..n]);
        taken += (n / ch) as u64;
    }
}
