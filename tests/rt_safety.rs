//! The real-time rule, checked: the audio callback (`output::CallbackState::run`, the body of the
//! closure cpal calls, and the render function it runs) and the stream error handler make no heap
//! allocation through 10⁵ callbacks that include play, seek, a pause long enough to go dormant
//! and the resume, volume changes, a track change, a stop and a new queue, EQ edits (a dragged
//! band, type changes, on/off, bypass, a 10-band preset), the limiter working hard, monitor
//! modes, an FFT size change and a meter reset. assert_no_alloc aborts the process on any
//! allocation inside `assert_no_alloc(..)` on this thread; the decoder thread allocates freely
//! and is not checked.

mod common;
use common::*;

use assert_no_alloc::assert_no_alloc;
use rusty_audio::analysis::spectrum::SpectrumConfig;
use rusty_audio::analysis::window::WindowKind;
use rusty_audio::dsp::biquad::{BandParams, FilterKind};
use rusty_audio::dsp::chain::DspSettings;
use rusty_audio::dsp::eq_params::EqParams;
use rusty_audio::dsp::monitor_mode::MonitorMode;
use rusty_audio::engine::output::{CallbackState, ErrorState, OutputHealth};
use rusty_audio::engine::{Engine, EngineConfig};
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::sync::Arc;

#[cfg(debug_assertions)]
#[global_allocator]
static ALLOCATOR: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

const CALLBACKS: usize = 100_000;

/// Wait (outside the detector) until the decoder has data for the next callback.
fn wait_ready(e: &mut Engine, frames: usize) {
    loop {
        let idle = e
            .telemetry()
            .decoder_idle
            .load(std::sync::atomic::Ordering::Relaxed);
        // Drop audio a seek made stale, as `render_offline` does while it waits: a ring full
        // of it would leave the decoder no room and this loop waiting forever.
        let r = e.offline_renderer().unwrap();
        r.discard_flushed();
        let ready = r.ready_frames();
        if ready >= frames || idle {
            return;
        }
        std::thread::yield_now();
    }
}

#[test]
fn render_path_never_allocates() {
    // 44.1 kHz files on a 48 kHz engine: the resampler runs too (on the decoder thread).
    let files = vec![
        media_file("prog.flac"),
        media_file("prog.mp3"),
        media_file("prog_s16.wav"),
        media_file("prog_quad.wav"),
    ];
    let mut e = Engine::offline(48_000, 2, &EngineConfig::default());
    e.set_queue(files.clone());
    e.play_track(0);
    let frames = 64;
    let mut f32_buf = vec![0.0f32; frames * 2];
    let mut i16_buf = vec![0i16; frames * 2];
    let mut heard = 0usize;
    let mut went_dormant = false;
    for i in 0..CALLBACKS {
        // Control-side actions happen between callbacks, as they would from the UI thread.
        match i {
            5_000 => e.seek(12.5),
            10_000 => e.pause(),
            // 4000 callbacks of 64 frames: longer than DORMANT_AFTER_S, so the dormant path
            // (chain and meters skipped, gaps marked) runs under the detector too.
            13_999 => {
                went_dormant = e
                    .telemetry()
                    .dormant
                    .load(std::sync::atomic::Ordering::Relaxed)
                    != 0;
            }
            14_000 => e.resume(),
            15_000 => e.set_volume_db(-12.0),
            15_100 => e.set_volume_db(3.0),
            20_000 => e.next(),
            30_000 => e.play_track(2),
            40_000 => e.seek(19.9), // runs into the gapless change to track 3
            16_000..=18_000 if i % 10 == 0 => {
                // A band dragged across frequency and gain, one update per UI frame.
                let t = (i - 16_000) as f64 / 2000.0;
                let mut d = *e.dsp();
                d.eq = EqParams::from_bands(
                    &[BandParams::new(
                        FilterKind::Peak,
                        100.0 * 100f64.powf(t),
                        -12.0 + 24.0 * t,
                        2.0,
                    )],
                    -3.0,
                )
                .unwrap();
                e.set_dsp(&d);
            }
            19_000 => {
                let mut d = *e.dsp();
                d.eq.set(0, BandParams::new(FilterKind::HighShelf, 3000.0, 6.0, 0.7)); // type change
                d.monitor = MonitorMode::Side;
                e.set_dsp(&d);
            }
            22_000 => {
                let mut d = DspSettings {
                    eq: EqParams::ten_band_flat(),
                    ..*e.dsp()
                };
                for (k, b) in d.eq.bands().to_vec().into_iter().enumerate() {
                    d.eq.set(
                        k,
                        BandParams {
                            gain_db: if k % 2 == 0 { 6.0 } else { -4.0 },
                            enabled: k != 3,
                            ..b
                        },
                    );
                }
                d.limiter.ceiling_dbfs = -20.0; // limit hard
                d.monitor = MonitorMode::Mono;
                e.set_dsp(&d);
                e.set_volume_db(12.0);
            }
            25_000 => {
                let mut d = *e.dsp();
                d.eq.bypass = true;
                d.limiter.enabled = false;
                e.set_dsp(&d);
                e.set_spectrum_config(SpectrumConfig {
                    size: 16_384,
                    window: WindowKind::BlackmanHarris,
                    ..SpectrumConfig::default()
                });
            }
            27_000 => {
                let mut d = *e.dsp();
                d.eq.bypass = false;
                d.eq.remove(0);
                d.limiter.enabled = true;
                e.set_dsp(&d);
                e.reset_meters();
                e.set_spectrum_config(SpectrumConfig {
                    size: 1024,
                    ..SpectrumConfig::default()
                });
                e.set_volume_db(0.0);
            }
            60_000 => e.stop(),
            61_000 => {
                e.set_queue(files.clone());
                e.play_from(1, 44_100);
            }
            _ => {}
        }
        wait_ready(&mut e, frames);
        let r = e.offline_renderer().unwrap();
        if i % 2 == 0 {
            assert_no_alloc(|| r.process(&mut f32_buf[..]));
            heard += usize::from(f32_buf.iter().any(|&x| x != 0.0));
        } else {
            // The integer path (conversion + TPDF dither) too.
            assert_no_alloc(|| r.process(&mut i16_buf[..]));
        }
    }
    assert!(went_dormant, "the long pause reached the dormant state");
    let t = e.telemetry();
    assert_eq!(
        t.perf.callbacks.load(std::sync::atomic::Ordering::Relaxed),
        CALLBACKS as u64
    );
    assert!(
        heard > CALLBACKS / 4,
        "the run actually played audio ({heard} audible f32 callbacks)"
    );
    let m = e.meters();
    assert!(
        m.meters.frames > 0 && e.spectrum().seq > 0,
        "meters and spectrum ran"
    );
    assert_eq!(e.spectrum().size, 1024, "the new analyzer was swapped in");
    let events = e.poll();
    assert!(
        events.iter().any(|ev| matches!(
            ev,
            rusty_audio::engine::EngineEvent::TrackOpened { track: 3, .. }
        )),
        "the track change happened"
    );
}

/// The detector itself works: an allocation inside `assert_no_alloc` kills the process.
#[test]
fn detector_catches_an_allocation() {
    if std::env::var_os("RUSTY_AUDIO_ALLOC_CHILD").is_some() {
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "allocating_child",
            "--include-ignored",
            "--nocapture",
        ])
        .env("RUSTY_AUDIO_ALLOC_CHILD", "1")
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "an allocation under assert_no_alloc must abort the child"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("memory allocation of 1000 bytes failed"),
        "child failed for another reason: {stderr}"
    );
}

#[test]
#[ignore = "run by detector_catches_an_allocation in a child process"]
fn allocating_child() {
    if std::env::var_os("RUSTY_AUDIO_ALLOC_CHILD").is_none() {
        return;
    }
    let v = assert_no_alloc(|| vec![1u8; 1000]);
    println!("allocated {} bytes undetected", v.len());
}

/// One configuration of `every_channel_count_format_and_oversized_block_never_allocates`:
/// `callbacks` device buffers of `frames` frames in format `S`, with a seek, an EQ bypass
/// cross-fade and back, and a volume change on the way.
fn run_format<S: rusty_audio::dsp::convert::DeviceSample>(
    e: &mut Engine,
    frames: usize,
    channels: usize,
    callbacks: usize,
) -> usize {
    let mut buf = vec![S::SILENCE; frames * channels];
    // The device callback's own body (what cpal's closure calls), not just `Renderer::process`.
    // Not promoting: this thread also waits for the decoder between callbacks (see
    // `the_device_callback_and_error_handler_never_allocate` for the promoting path).
    let mut state = CallbackState::new(Arc::new(OutputHealth::default()), false);
    let mut heard = 0;
    for i in 0..callbacks {
        match i {
            10 => e.seek(3.0),
            20 => {
                let mut d = *e.dsp();
                d.eq.bypass = true;
                e.set_dsp(&d);
            }
            30 => {
                let mut d = *e.dsp();
                d.eq.bypass = false;
                e.set_dsp(&d);
                e.set_volume_db(-6.0);
            }
            _ => {}
        }
        wait_ready(e, frames);
        let r = e.offline_renderer().unwrap();
        assert_no_alloc(|| state.run(Some(r), &mut buf[..], 1_000_000));
        let silence = S::SILENCE;
        heard += usize::from(buf.iter().any(|&x| {
            // Compare bit patterns: every format's silence is one exact value.
            !same_bits(&x, &silence)
        }));
    }
    heard
}

/// Whether two samples of any format are the same value (their bytes are equal).
fn same_bits<S: Copy>(a: &S, b: &S) -> bool {
    let size = std::mem::size_of::<S>();
    let (a, b) = (a as *const S as *const u8, b as *const S as *const u8);
    (0..size).all(|i| {
        // SAFETY: both pointers point at a live `S` of `size` bytes, read byte by byte in bounds;
        // the device sample types are plain numbers without padding.
        unsafe { *a.add(i) == *b.add(i) }
    })
}

/// The render path at channel counts other than 2 (1, 6, 16), with device buffers larger than
/// `MAX_BLOCK_FRAMES` (rendered in passes), in every device sample format: no allocation, and
/// audio is heard in each configuration.
#[test]
fn every_channel_count_format_and_oversized_block_never_allocates() {
    use rusty_audio::engine::render::MAX_BLOCK_FRAMES;
    let frames = MAX_BLOCK_FRAMES + 904; // two passes, the second partial
    for channels in [1usize, 6, 16] {
        let d = DspSettings {
            eq: EqParams::from_bands(&[BandParams::new(FilterKind::Peak, 1000.0, 6.0, 1.0)], -3.0)
                .unwrap(),
            ..DspSettings::default()
        };
        let mut e = Engine::offline(
            48_000,
            channels,
            &EngineConfig {
                dsp: d,
                ..EngineConfig::default()
            },
        );
        e.set_queue(vec![media_file("prog.flac")]);
        e.play_track(0);
        let heard = [
            run_format::<f32>(&mut e, frames, channels, 40),
            run_format::<f64>(&mut e, frames, channels, 40),
            run_format::<i8>(&mut e, frames, channels, 40),
            run_format::<i16>(&mut e, frames, channels, 40),
            run_format::<cpal::I24>(&mut e, frames, channels, 40),
            run_format::<i32>(&mut e, frames, channels, 40),
            run_format::<i64>(&mut e, frames, channels, 40),
            run_format::<u8>(&mut e, frames, channels, 40),
            run_format::<u16>(&mut e, frames, channels, 40),
            run_format::<u32>(&mut e, frames, channels, 40),
        ];
        assert!(
            heard.iter().all(|&h| h > 20),
            "{channels} channels: audible callbacks per format {heard:?}"
        );
    }
}

/// The device callback as a real stream runs it, on a thread of its own: the first call promotes
/// the thread (SCHED_FIFO where allowed), an error streak demotes it and the next data callback
/// promotes it again, xruns are counted, a fatal error is handed to the control side; none of it
/// allocates. (cpal's own wrapper around the closure is cpal's; see docs/ARCHITECTURE.md.)
#[test]
fn the_device_callback_and_error_handler_never_allocate() {
    std::thread::spawn(|| {
        let mut e = Engine::offline(48_000, 2, &EngineConfig::default());
        e.set_queue(vec![media_file("prog.flac")]);
        e.play_track(0);
        let telemetry = e.telemetry().clone();
        let health = Arc::new(OutputHealth::default());
        let mut state = CallbackState::new(health.clone(), true);
        let (mut on_error, mut errors) = ErrorState::new(health.clone(), telemetry.clone(), true);
        // Made before the detector is on: cpal builds its errors (and their messages) itself.
        let mut pending = vec![
            (40, cpal::Error::new(cpal::ErrorKind::Xrun)),
            (
                60,
                cpal::Error::with_message(cpal::ErrorKind::BackendError, "poll failed"),
            ),
            (
                61,
                cpal::Error::with_message(cpal::ErrorKind::BackendError, "poll failed again"),
            ),
            (150, cpal::Error::new(cpal::ErrorKind::DeviceNotAvailable)),
        ];
        pending.reverse();
        let frames = 256;
        let mut buf = vec![0.0f32; frames * 2];
        let mut after_streak = None;
        for i in 0..200 {
            if pending.last().is_some_and(|(at, _)| *at == i) {
                let (_, err) = pending.pop().unwrap();
                assert_no_alloc(|| on_error.handle(err));
                if i == 61 {
                    after_streak = Some(telemetry.audio_thread.get().policy);
                }
                continue;
            }
            // Wait by sleeping, not spinning: this thread may be SCHED_FIFO now.
            loop {
                let r = e.offline_renderer().unwrap();
                r.discard_flushed();
                if r.ready_frames() >= frames || telemetry.decoder_idle.load(Relaxed) {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let r = e.offline_renderer().unwrap();
            assert_no_alloc(|| state.run(Some(r), &mut buf[..], 1_000_000));
        }
        assert_eq!(telemetry.xruns.load(Relaxed), 1, "the xrun counted");
        assert!(
            health.failed.load(Acquire),
            "the fatal error failed the stream"
        );
        let kinds: Vec<_> = std::iter::from_fn(|| ringbuf::traits::Consumer::try_pop(&mut errors))
            .map(|e| e.kind())
            .collect();
        assert_eq!(
            kinds,
            [
                cpal::ErrorKind::BackendError,
                cpal::ErrorKind::BackendError,
                cpal::ErrorKind::DeviceNotAvailable
            ],
            "errors reach the control side in order (xruns are only counted)"
        );
        let info = telemetry.audio_thread.get();
        if info.refused_errno.is_none() {
            assert_eq!(
                after_streak,
                Some(rusty_audio::engine::audio_thread::Policy::Other),
                "demoted while the errors streamed"
            );
            assert!(
                info.policy.is_realtime(),
                "promoted again after the streak: {info:?}"
            );
        } else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI runs as root: {info:?}"
            );
        }
    })
    .join()
    .unwrap();
}

/// The input callback (`capture::InputCallbackState::run`, the body of cpal's input closure) in
/// every sample format and channel count 1–8, with blocks that end mid-frame, blocks larger than
/// its scratch, and a ring left full (the reader behind): no allocation, and the error handler
/// neither. Its first call promotes the thread (as root here: a few syscalls, no allocation).
#[test]
fn the_input_callback_and_error_handler_never_allocate() {
    use ringbuf::traits::{Consumer, Observer, Split};
    use rusty_audio::engine::capture::{InputCallbackState, InputErrorState, InputTelemetry};
    fn run_input<S: Copy + Default>(channels: usize)
    where
        f32: cpal::FromSample<S>,
    {
        let (tx, mut rx) = ringbuf::HeapRb::<f32>::new(48_000 * channels).split();
        let t = Arc::new(InputTelemetry::default());
        // The analyzers too, as the app feeds them (their meter thread runs beside).
        let (control, tap) =
            rusty_audio::engine::dsp_link::link(&Default::default(), 48_000, channels, 0, false);
        let mut state = InputCallbackState::new(channels, Some(tx), Some(tap), t.clone(), true);
        let data = vec![S::default(); 20_000 * channels + 3];
        let mut out = vec![0.0f32; 4096 * channels];
        for (i, len) in [
            1usize,
            7,
            512 * channels,
            20_000 * channels + 3,
            5,
            1024 * channels,
        ]
        .iter()
        .cycle()
        .take(60)
        .enumerate()
        {
            assert_no_alloc(|| state.run(&data[..*len]));
            // Read only now and then: the ring fills and the callback drops.
            if i % 20 == 19 {
                while rx.pop_slice(&mut out) > 0 {}
            }
        }
        assert!(t.overruns.load(Relaxed) > 0, "the ring was full at times");
        drop(control);
        assert_eq!(rx.occupied_len() % channels, 0, "whole frames only");
    }
    std::thread::spawn(|| {
        for ch in 1..=8 {
            run_input::<f32>(ch);
        }
        run_input::<i16>(2);
        run_input::<i32>(2);
        run_input::<cpal::I24>(6);
        run_input::<u8>(1);
        run_input::<u16>(2);
        run_input::<u32>(2);
        run_input::<i8>(1);
        run_input::<i64>(2);
        run_input::<f64>(8);
        let t = Arc::new(InputTelemetry::default());
        let (mut on_error, mut errors) = InputErrorState::new(t.clone(), true);
        // Made before the detector is on: cpal builds its errors (and messages) itself.
        let xrun = cpal::Error::new(cpal::ErrorKind::Xrun);
        let transient = cpal::Error::with_message(cpal::ErrorKind::BackendError, "poll failed");
        let gone = cpal::Error::new(cpal::ErrorKind::DeviceNotAvailable);
        assert_no_alloc(|| on_error.handle(xrun));
        assert_no_alloc(|| on_error.handle(transient));
        assert!(
            !t.health.failed.load(Acquire),
            "a transient error alone does not fail it"
        );
        if is_root() {
            assert_eq!(
                t.thread.get().policy,
                rusty_audio::engine::audio_thread::Policy::Other,
                "a streak of errors demotes the thread: it cannot spin at real-time priority"
            );
        }
        assert_no_alloc(|| on_error.handle(gone));
        assert_eq!(t.host_xruns.load(Relaxed), 1);
        assert!(
            t.health.failed.load(Acquire),
            "the fatal error failed the stream"
        );
        let kinds: Vec<_> = std::iter::from_fn(|| Consumer::try_pop(&mut errors))
            .map(|e| e.kind())
            .collect();
        assert_eq!(
            kinds,
            [
                cpal::ErrorKind::BackendError,
                cpal::ErrorKind::DeviceNotAvailable
            ]
        );
    })
    .join()
    .unwrap();
}
