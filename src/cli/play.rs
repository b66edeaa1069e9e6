//! `rusty-audio play`: headless playback through the real engine, with position on stderr and a
//! summary (text, or one JSON object with `--json`) at the end.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::engine::{Engine, EngineConfig, EngineEvent, OutputChoice, PlayState, QueueItem};
use crate::library::replaygain::AppliedGain;

pub struct PlayOptions {
    pub output: OutputChoice,
    pub buffer_frames: Option<u32>,
    pub volume_db: f32,
    pub json: bool,
    pub files: Vec<PathBuf>,
    pub dsp: crate::dsp::chain::DspSettings,
    pub gain: crate::library::replaygain::GainSettings,
    pub crossfade: crate::engine::crossfade::Crossfade,
    pub repeat: crate::engine::order::Repeat,
    pub shuffle: crate::engine::order::Shuffle,
}

/// The shuffled play order of `files` (queue `keys`): albums from each file's tags (a cue
/// track's sheet), read only for an album shuffle.
fn shuffle_order(
    files: &[crate::library::entries::Listed],
    keys: &[u32],
    mode: crate::engine::order::Shuffle,
) -> Vec<u32> {
    use crate::library::replaygain::AlbumKey;
    let album = |l: &crate::library::entries::Listed| -> Option<AlbumKey> {
        if mode != crate::engine::order::Shuffle::Albums {
            return None;
        }
        if let Some(c) = &l.cue {
            return Some(AlbumKey::of(
                &c.sheet,
                c.album.as_deref(),
                None,
                c.performer.as_deref(),
            ));
        }
        let mut src = crate::decode::AudioSource::open(&l.path).ok()?;
        Some(AlbumKey::of_tags(&l.path, &src.tags(false).0))
    };
    let entries: Vec<(u32, Option<AlbumKey>)> = keys
        .iter()
        .zip(files)
        .map(|(&k, l)| (k, album(l)))
        .collect();
    crate::engine::order::shuffled(&entries, mode, None)
}

fn mmss(s: f64) -> String {
    let s = s.max(0.0) as u64;
    format!("{:02}:{:02}", s / 60, s % 60)
}

pub fn run(opts: PlayOptions) -> i32 {
    // For `start_ms`: how long the process has run before this point, and this point's time on
    // the renderer's clock.
    let age_at_run = crate::perf::process::age().unwrap_or_default();
    crate::perf::clock::init();
    let run_ns = crate::perf::clock::now_ns();
    let (files, mut errors) = crate::library::entries::list(
        &crate::library::files::expand(&opts.files),
        crate::library::files::AUDIO_EXTENSIONS,
    );
    let (files, embedded_errors) = crate::library::entries::split_embedded(files);
    errors.extend(embedded_errors);
    for e in &errors {
        eprintln!("rusty-audio: {e}");
    }
    if files.is_empty() {
        eprintln!("rusty-audio: nothing to play");
        return 1;
    }
    let cfg = EngineConfig {
        output: opts.output.clone(),
        buffer_frames: opts.buffer_frames,
        dsp: opts.dsp,
        volume: 10f32.powf(opts.volume_db / 20.0),
        gain: opts.gain,
        crossfade: opts.crossfade,
        ..Default::default()
    };
    let mut engine = match Engine::start(&cfg) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("rusty-audio: {e}");
            return 1;
        }
    };
    if let Some(why) = &engine.output_info().fallback_reason {
        eprintln!("rusty-audio: {why}; playing to the null output");
    }
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        let _ = ctrlc::set_handler(move || flag.store(true, Relaxed));
    }
    engine.set_queue_items(files.iter().map(QueueItem::from).collect());
    let shuffled = shuffle_order(&files, engine.keys(), opts.shuffle);
    let first = shuffled
        .first()
        .and_then(|&k| engine.index_of(k))
        .unwrap_or(0);
    engine.set_play_order(crate::engine::order::PlayOrder {
        repeat: opts.repeat,
        shuffled,
    });
    engine.play_track(first);

    let tty = std::io::stderr().is_terminal();
    let mut durations: Vec<Option<f64>> = vec![None; files.len()];
    let mut gains = vec![None; files.len()];
    let (mut opened, mut failed) = (std::collections::BTreeSet::new(), 0usize);
    let mut played: Vec<usize> = Vec::new();
    let mut last_line = Instant::now() - Duration::from_secs(10);
    let telemetry = engine.telemetry().clone();
    let mut queue_ended = false;
    loop {
        for ev in engine.poll() {
            match ev {
                EngineEvent::TrackOpened {
                    track, info, gain, ..
                } => {
                    gains[track] = Some(gain);
                    // Each time a track opens (a repeat, a shuffle's order) it is named.
                    played.push(track);
                    opened.insert(track);
                    {
                        durations[track] =
                            info.duration_s().map(|d| files[track].length_from_file(d));
                        if tty {
                            eprint!("\r\x1b[K");
                        }
                        eprintln!(
                            "[{}/{}] {} ({} {}, {} Hz, {} ch{})",
                            track + 1,
                            files.len(),
                            files[track].describe(),
                            info.container,
                            info.codec,
                            info.sample_rate,
                            info.channels,
                            gain.describe().map_or(String::new(), |d| format!(", {d}"))
                        );
                    }
                }
                EngineEvent::TrackFailed { error, .. } => {
                    failed += 1;
                    if tty {
                        eprint!("\r\x1b[K");
                    }
                    eprintln!("rusty-audio: {error}");
                }
                EngineEvent::OutputChanged { reason, .. } | EngineEvent::Notice(reason) => {
                    eprintln!("rusty-audio: {reason}")
                }
                EngineEvent::GainChanged { track, gain, .. } => gains[track] = Some(gain),
                EngineEvent::QueueEnded => queue_ended = true,
                EngineEvent::Synced(_) => {}
            }
        }
        let state = telemetry.state();
        if state == PlayState::Ended
            || (queue_ended && opened.is_empty())
            || interrupted.load(Relaxed)
        {
            break;
        }
        if tty && last_line.elapsed() >= Duration::from_millis(250) {
            last_line = Instant::now();
            if let Some((t, pos)) = engine.position() {
                let total = durations
                    .get(t)
                    .copied()
                    .flatten()
                    .map_or("--:--".into(), mmss);
                eprint!(
                    "\r\x1b[K  {} / {}  [{}/{}]",
                    mmss(pos),
                    total,
                    t + 1,
                    files.len()
                );
                let _ = std::io::stderr().flush();
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if tty {
        eprint!("\r\x1b[K");
    }
    if interrupted.load(Relaxed) {
        engine.pause(); // fade out instead of cutting mid-waveform
        eprintln!("rusty-audio: interrupted");
    }
    // Let the device play out what it already holds before the stream is closed.
    let info = engine.output_info().clone();
    let buffer = info
        .buffer_frames
        .unwrap_or(telemetry.last_callback_frames.load(Relaxed).max(1024));
    std::thread::sleep(Duration::from_secs_f64(
        (2.0 * f64::from(buffer) / f64::from(info.sample_rate)).min(0.5) + 0.05,
    ));

    let snap = telemetry.perf.callback_snapshot();
    let interval = telemetry.perf.interval_ns.snapshot();
    let frames = telemetry.frames_played.load(Relaxed);
    let underruns = telemetry.underruns.load(Relaxed);
    let xruns = telemetry.xruns.load(Relaxed);
    let thread = telemetry.audio_thread.get();
    let buffer_frames = info
        .buffer_frames
        .unwrap_or(telemetry.last_callback_frames.load(Relaxed));
    let q = |x: f64| snap.quantile(x);
    // Process start → first frame of audio handed to the device, plus the host's own estimate of
    // how long that frame then takes to reach the DAC.
    let first = telemetry.first_audio_ns.load(Relaxed);
    let start_ms = (first > 0).then(|| {
        age_at_run.as_secs_f64() * 1e3
            + first.saturating_sub(run_ns) as f64 / 1e6
            + telemetry.device_latency_ns.load(Relaxed) as f64 / 1e6
    });
    if opts.json {
        println!(
            "{}",
            json!({
                "frames_played": frames,
                "duration_s": frames as f64 / f64::from(info.sample_rate),
                "underruns": underruns,
                "xruns": xruns,
                "start_ms": start_ms,
                "host": info.host,
                "device": info.device,
                // The thread that ran the callback, as the kernel reported it after promotion.
                "audio_thread": {
                    "host": info.host,
                    "tid": thread.tid,
                    "policy": thread.policy.name(),
                    "priority": thread.priority,
                    "refused": thread.refused_errno.map(|e| std::io::Error::from_raw_os_error(e).to_string()),
                    // Who granted real-time scheduling (`AudioThreadInfo::granted_by`).
                    "granted_by": thread.granted_by(info.host),
                },
                "null_output": info.is_null,
                "fallback_reason": info.fallback_reason,
                "sample_rate": info.sample_rate,
                "channels": info.channels,
                "sample_format": info.sample_format,
                "buffer_frames": buffer_frames,
                "tracks_played": opened.len(),
                // Queue entries in the order they were opened (repeats included).
                "played": played,
                // Per queue entry: the normalization gain it played with (null: not opened).
                "gains": gains.iter().map(|g| g.map(|g: AppliedGain| json!({"db": g.db, "source": g.source, "capped": g.capped}))).collect::<Vec<_>>(),
                "tracks_failed": failed,
                "callbacks": snap.count,
                "callback_ns": {"p50": q(0.5), "p95": q(0.95), "p99": q(0.99), "p999": q(0.999), "max": snap.max},
                // Time between callback starts: its spread is the jitter of the device clock and
                // of our wake-ups.
                "interval_ns": {"p50": interval.quantile(0.5), "p99": interval.quantile(0.99), "p999": interval.quantile(0.999), "max": interval.max},
            })
        );
    } else {
        eprintln!(
            "played {} track(s), {:.2} s on {} {} ({} Hz, {} ch, {} frames/callback, {} priority {}); {} underrun(s), {} xrun(s); callback p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
            opened.len(),
            frames as f64 / f64::from(info.sample_rate),
            info.host,
            info.device,
            info.sample_rate,
            info.channels,
            buffer_frames,
            thread.policy.name(),
            thread.priority,
            underruns,
            xruns,
            q(0.5) as f64 / 1e3,
            q(0.99) as f64 / 1e3,
            snap.max as f64 / 1e3
        );
    }
    i32::from(opened.is_empty())
}
