//! A live input stream (issue 16): a capture device's audio, as f32 frames, handed from the
//! host's callback to whoever analyses it through a lock-free ring.
//!
//! The callback follows the output's rules (see `output.rs`): its thread is promoted to
//! real-time on its first call where it is ours (every host but PulseAudio, whose client library
//! runs all streams on one shared thread), and it does not allocate, lock, block, do I/O or
//! panic. It converts the device's samples to f32 in a fixed scratch, keeps frames whole across
//! callbacks (a carry of under one frame), and pushes into an SPSC ring. When the reader has
//! fallen behind and the ring is full, the frames that do not fit are dropped and counted as an
//! overrun: the callback never waits. Its time per call goes into a `PerfMonitor`, as the
//! output's does.
//!
//! Ring protocol: one producer (the callback), one consumer (`Capture::samples`); ringbuf's
//! SPSC ring publishes pushed samples with Release and reads them with Acquire, so a consumer
//! that sees a sample count sees those samples. Only whole frames are pushed (the carry holds a
//! partial one), so the consumer may read whole frames at any time.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use cpal::traits::{DeviceTrait, StreamTrait};
use ringbuf::traits::{Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use super::audio_thread::AudioThreadStatus;
use super::input::{InputChoice, InputDevice};
use crate::perf::monitor::PerfMonitor;

/// Inputs of up to this many channels are analysed (a wider device is refused with a reason).
pub const MAX_INPUT_CHANNELS: usize = 8;
/// Samples converted per pass of the callback (a fixed scratch; longer callbacks take several).
const SCRATCH_SAMPLES: usize = 4096;
/// The buffer asked of the host, in frames (clamped to what it offers), as for the output.
const BUFFER_FRAMES: u32 = 1024;
/// Errors kept between two polls of the control side; more are dropped.
const ERROR_RING: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("no input device {0:?} (see `rusty-audio devices`)")]
    NoSuchDevice(String),
    #[error("input {device}: {reason}")]
    Device { device: String, reason: String },
}

/// What the input callback reports, read by anyone (atomics and lock-free histograms).
#[derive(Default)]
pub struct InputTelemetry {
    /// Time per callback, and between callbacks.
    pub perf: PerfMonitor,
    /// The callback's thread and its scheduling.
    pub thread: AudioThreadStatus,
    /// Frames delivered by the host (pushed or dropped).
    pub frames: AtomicU64,
    /// Times frames were lost: a block (a scratch's worth of a callback, see `feed`) that the
    /// sample ring or the analyzers' meter ring had no room for (its reader behind), or the host
    /// reporting an overrun of its own.
    pub overruns: AtomicU64,
    /// Frames dropped because a ring was full (per block, the most either ring missed).
    pub dropped_frames: AtomicU64,
    /// Overruns the host reported (`cpal::ErrorKind::Xrun`).
    pub host_xruns: AtomicU64,
    /// Failed for good (`health.failed`), and the current streak of errors: as the output's.
    pub health: super::output::OutputHealth,
}

/// The opened input, as reported.
#[derive(Debug, Clone)]
pub struct CaptureInfo {
    pub host: &'static str,
    /// The device as `devices` names it, and its host id.
    pub device: String,
    pub id: String,
    pub sample_rate: u32,
    pub channels: usize,
    pub sample_format: String,
    pub buffer_frames: Option<u32>,
}

/// A running input stream. Dropping it stops the stream (and then the analysis).
pub struct Capture {
    // Declared first: dropped (the stream stopped, its callback gone) before the analysis'
    // control side joins the meter thread.
    _stream: cpal::Stream,
    pub info: CaptureInfo,
    pub telemetry: Arc<InputTelemetry>,
    /// The captured audio, interleaved whole frames (when asked for: `Feed::samples`).
    pub samples: Option<HeapCons<f32>>,
    /// The live analysis of the input — the same meters and spectrum tap the player's output
    /// feeds (`dsp_link`), here fed by the input callback (when asked for: `Feed::analysis`).
    pub analysis: Option<super::dsp_link::DspControl>,
    /// Errors the host reported (the fatal one, and survived ones).
    pub errors: HeapCons<cpal::Error>,
}

/// What the input feeds: a ring of its samples (`listen`'s summary), the analyzers (the app's
/// views), or both.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Feed {
    /// Seconds of audio the sample ring holds (None: no ring).
    pub samples: Option<f64>,
    pub analysis: bool,
}

/// What cpal's data closure does on every callback, kept out of the closure so that
/// tests/rt_safety.rs runs exactly this under the allocation detector, in every sample format.
#[doc(hidden)]
pub struct InputCallbackState {
    first: bool,
    promote: bool,
    channels: usize,
    /// Samples delivered so far, and the whole frames of them already counted (a callback may
    /// end mid-frame).
    samples_seen: u64,
    frames_counted: u64,
    tx: Option<HeapProd<f32>>,
    tap: Option<super::dsp_link::DspTap>,
    scratch: Box<[f32]>,
    carry: [f32; MAX_INPUT_CHANNELS],
    carry_len: usize,
    telemetry: Arc<InputTelemetry>,
}

impl InputCallbackState {
    /// `channels` (1..=`MAX_INPUT_CHANNELS`) per frame into `tx` and `tap` (either may be
    /// absent); `promote`: whether the callback's thread is ours to make real-time.
    #[must_use]
    pub fn new(
        channels: usize,
        tx: Option<HeapProd<f32>>,
        tap: Option<super::dsp_link::DspTap>,
        telemetry: Arc<InputTelemetry>,
        promote: bool,
    ) -> Self {
        let channels = channels.clamp(1, MAX_INPUT_CHANNELS);
        Self {
            first: true,
            promote,
            channels,
            samples_seen: 0,
            frames_counted: 0,
            tx,
            tap,
            // Whole frames only: a multiple of every channel count up to 8 (840 = lcm(1..=8)).
            scratch: vec![0.0; SCRATCH_SAMPLES - SCRATCH_SAMPLES % 840].into_boxed_slice(),
            carry: [0.0; MAX_INPUT_CHANNELS],
            carry_len: 0,
            telemetry,
        }
    }

    /// One host callback with `data` (interleaved; a host may end it mid-frame). No allocation,
    /// lock or I/O; a few syscalls on the first call to promote the thread.
    #[inline]
    pub fn run<S: Copy>(&mut self, data: &[S])
    where
        f32: cpal::FromSample<S>,
    {
        let start = crate::perf::clock::now_ns();
        if self.first {
            self.first = false;
            if self.promote {
                self.telemetry.thread.promote_current_thread();
            } else {
                self.telemetry.thread.record_current_thread();
            }
        }
        // Data again after a streak of errors (see `InputErrorState::handle`): the streak is
        // over, and a thread it demoted is real-time again. One relaxed load otherwise.
        if self.telemetry.health.data_flowed() && self.promote {
            self.telemetry.thread.promote_current_thread();
        }
        if let Some(tap) = self.tap.as_mut() {
            tap.update();
        }
        let ch = self.channels;
        let convert = |s: S| <f32 as cpal::FromSample<S>>::from_sample_(s);
        let mut rest = data;
        // Complete a frame the last callback ended inside.
        while self.carry_len > 0 {
            let Some((&s, tail)) = rest.split_first() else {
                break;
            };
            rest = tail;
            self.carry[self.carry_len] = convert(s);
            self.carry_len += 1;
            if self.carry_len == ch {
                self.carry_len = 0;
                feed(
                    &mut self.tx,
                    &mut self.tap,
                    ch,
                    &self.telemetry,
                    &self.carry[..ch],
                );
            }
        }
        // Whole frames, a scratch at a time.
        let whole = rest.len() - rest.len() % ch;
        let (frames, partial) = rest.split_at(whole);
        for chunk in frames.chunks(self.scratch.len()) {
            let n = chunk.len();
            for (o, &s) in self.scratch[..n].iter_mut().zip(chunk) {
                *o = convert(s);
            }
            feed(
                &mut self.tx,
                &mut self.tap,
                ch,
                &self.telemetry,
                &self.scratch[..n],
            );
        }
        // The start of a frame the next callback ends.
        for &s in partial {
            self.carry[self.carry_len] = convert(s);
            self.carry_len += 1;
        }
        self.samples_seen += data.len() as u64;
        let whole = self.samples_seen / ch as u64;
        let frames = whole - self.frames_counted;
        self.frames_counted = whole;
        self.telemetry.frames.fetch_add(frames, Relaxed);
        let took = crate::perf::clock::now_ns().saturating_sub(start);
        self.telemetry.perf.record(start, took, frames);
    }
}

/// Whole frames of `ch` samples to the analyzers and the sample ring; what either ring (the
/// sample ring, the analyzers' meter ring) has no room for is dropped and counted, never waited
/// for: one overrun per block that dropped anything, and the most frames either consumer missed
/// in it.
#[inline]
fn feed(
    tx: &mut Option<HeapProd<f32>>,
    tap: &mut Option<super::dsp_link::DspTap>,
    ch: usize,
    telemetry: &InputTelemetry,
    samples: &[f32],
) {
    let mut dropped = tap.as_mut().map_or(0, |tap| tap.measure(samples));
    if let Some(tx) = tx.as_mut() {
        let room = tx.vacant_len();
        let fits = samples.len().min(room - room % ch);
        let pushed = tx.push_slice(&samples[..fits]);
        dropped = dropped.max(samples.len() - pushed);
    }
    if dropped > 0 {
        telemetry.overruns.fetch_add(1, Relaxed);
        telemetry
            .dropped_frames
            .fetch_add((dropped / ch) as u64, Relaxed);
    }
}

/// What cpal's error closure does: the output's handler (`output::on_stream_error`) — count
/// overruns, keep the error for the control side (which drains the ring every frame or poll),
/// and fail the stream on a fatal error or on errors with no data between them for longer than
/// `TRANSIENT_GRACE_NS`. cpal's ALSA input loop calls this on the audio thread, back to back
/// while a device fails: the first error of a streak drops a promoted thread to SCHED_OTHER (one
/// syscall), so it cannot spin at real-time priority; the next data promotes it again. Atomics
/// and a pre-allocated ring only.
#[doc(hidden)]
pub struct InputErrorState {
    telemetry: Arc<InputTelemetry>,
    errors: HeapProd<cpal::Error>,
    promoted: bool,
}

impl InputErrorState {
    #[must_use]
    pub fn new(telemetry: Arc<InputTelemetry>, promoted: bool) -> (Self, HeapCons<cpal::Error>) {
        let (errors, rx) = HeapRb::<cpal::Error>::new(ERROR_RING).split();
        (
            Self {
                telemetry,
                errors,
                promoted,
            },
            rx,
        )
    }

    #[inline]
    pub fn handle(&mut self, e: cpal::Error) {
        if e.kind() == cpal::ErrorKind::Xrun {
            // The host lost input: an overrun like a full ring (also counted as the host's).
            self.telemetry.overruns.fetch_add(1, Relaxed);
        }
        super::output::on_stream_error(
            e,
            &self.telemetry.health,
            &self.telemetry.host_xruns,
            &self.telemetry.thread,
            &mut self.errors,
            self.promoted,
        );
    }
}

/// The cpal device `choice` names on the chosen host, with how `devices` lists it.
fn find(
    host: &cpal::Host,
    choice: &InputChoice,
) -> Result<(cpal::Device, InputDevice), CaptureError> {
    let listed = super::input::listed(host).map_err(|reason| CaptureError::Device {
        device: choice.to_string(),
        reason,
    })?;
    let (entry, device) = match choice {
        InputChoice::Default => listed
            .iter()
            .find(|(d, _)| d.is_default)
            .or_else(|| listed.iter().find(|(d, _)| !d.monitor)),
        InputChoice::Plays => listed.iter().find(|(d, _)| d.plays),
        InputChoice::Named(want) => listed
            .iter()
            .find(|(d, _)| d.name == *want || d.id == *want),
    }
    .cloned()
    .ok_or_else(|| CaptureError::NoSuchDevice(choice.to_string()))?;
    Ok((device, entry))
}

/// Open `choice` on the chosen host at its default rate and channel count, feeding what `feed`
/// asks for.
pub fn open(choice: &InputChoice, feed: Feed) -> Result<Capture, CaptureError> {
    let (opened, said) = super::output::quiet_enumeration(|| open_quietly(choice, feed));
    opened.map_err(|e| match (e, said) {
        (CaptureError::Device { device, reason }, Some(said)) => CaptureError::Device {
            device,
            reason: format!("{reason} (ALSA: {said})"),
        },
        (e, _) => e,
    })
}

fn open_quietly(choice: &InputChoice, feed: Feed) -> Result<Capture, CaptureError> {
    let host = super::output::host();
    let (device, entry) = find(&host, choice)?;
    let err = |e: &dyn std::fmt::Display| CaptureError::Device {
        device: entry.name.clone(),
        reason: e.to_string(),
    };
    let default = device.default_input_config().map_err(|e| err(&e))?;
    let channels = usize::from(default.channels());
    if !(1..=MAX_INPUT_CHANNELS).contains(&channels) {
        return Err(err(&format!(
            "{channels} channels (inputs of 1 to {MAX_INPUT_CHANNELS} are analysed)"
        )));
    }
    let ranges: Vec<_> = device
        .supported_input_configs()
        .map(Iterator::collect)
        .unwrap_or_default();
    let format = super::output::preferred_format(&default, &ranges).ok_or_else(|| {
        err(&format!(
            "no supported sample format ({})",
            default.sample_format()
        ))
    })?;
    let buffer_frames = match default.buffer_size() {
        cpal::SupportedBufferSize::Range { min, max } => Some(BUFFER_FRAMES.clamp(*min, *max)),
        cpal::SupportedBufferSize::Unknown => None,
    };
    let config = cpal::StreamConfig {
        channels: default.channels(),
        sample_rate: default.sample_rate(),
        buffer_size: buffer_frames.map_or(cpal::BufferSize::Default, cpal::BufferSize::Fixed),
    };
    let rate = default.sample_rate();
    let (tx, samples) = match feed.samples {
        Some(seconds) => {
            let ring = ((seconds.max(0.1) * f64::from(rate)) as usize).max(4096) * channels;
            let (tx, rx) = HeapRb::<f32>::new(ring).split();
            (Some(tx), Some(rx))
        }
        None => (None, None),
    };
    // The analyzers at the input's own rate and channel count (no chain is run on it: the
    // input is measured as it arrives).
    let (analysis, tap) = if feed.analysis {
        let settings = crate::dsp::chain::DspSettings::default();
        let (control, tap) = super::dsp_link::link(&settings, rate, channels, 0, false);
        (Some(control), Some(tap))
    } else {
        (None, None)
    };
    let telemetry = Arc::new(InputTelemetry::default());
    let promote = host.id().name() != "PulseAudio";
    let state = InputCallbackState::new(channels, tx, tap, telemetry.clone(), promote);
    let (on_error, errors) = InputErrorState::new(telemetry.clone(), promote);
    use cpal::SampleFormat as F;
    let stream = match format {
        F::F32 => build::<f32>(&device, config, state, on_error),
        F::F64 => build::<f64>(&device, config, state, on_error),
        F::I8 => build::<i8>(&device, config, state, on_error),
        F::I16 => build::<i16>(&device, config, state, on_error),
        F::I24 => build::<cpal::I24>(&device, config, state, on_error),
        F::I32 => build::<i32>(&device, config, state, on_error),
        F::I64 => build::<i64>(&device, config, state, on_error),
        F::U8 => build::<u8>(&device, config, state, on_error),
        F::U16 => build::<u16>(&device, config, state, on_error),
        F::U32 => build::<u32>(&device, config, state, on_error),
        other => return Err(err(&format!("sample format {other} not supported"))),
    }
    .map_err(|e| err(&e))?;
    stream.play().map_err(|e| err(&e))?;
    Ok(Capture {
        _stream: stream,
        info: CaptureInfo {
            host: host.id().name(),
            device: entry.name,
            id: entry.id,
            sample_rate: rate,
            channels,
            sample_format: format.to_string(),
            buffer_frames,
        },
        telemetry,
        samples,
        analysis,
        errors,
    })
}

fn build<S: cpal::SizedSample>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut state: InputCallbackState,
    mut on_error: InputErrorState,
) -> Result<cpal::Stream, cpal::Error>
where
    f32: cpal::FromSample<S>,
{
    device.build_input_stream::<S, _, _>(
        config,
        move |data: &[S], _: &cpal::InputCallbackInfo| state.run(data),
        move |e: cpal::Error| on_error.handle(e),
        Some(Duration::from_secs(5)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringbuf::traits::Consumer;

    fn state(
        channels: usize,
        ring: usize,
    ) -> (InputCallbackState, HeapCons<f32>, Arc<InputTelemetry>) {
        let (tx, rx) = HeapRb::<f32>::new(ring).split();
        let t = Arc::new(InputTelemetry::default());
        (
            InputCallbackState::new(channels, Some(tx), None, t.clone(), false),
            rx,
            t,
        )
    }

    /// Frames split anywhere across callbacks (mid-frame too) arrive whole and in order, and
    /// integer samples are converted to [-1, 1).
    #[test]
    fn frames_split_across_callbacks_arrive_whole_and_in_order() {
        let (mut s, mut rx, t) = state(3, 10_000);
        let data: Vec<i16> = (0..3 * 1000).map(|i| (i % 3000) as i16).collect();
        let mut at = 0;
        for len in [1, 5, 7, 2, 3000, 11].iter().cycle() {
            if at >= data.len() {
                break;
            }
            let end = (at + len).min(data.len());
            s.run(&data[at..end]);
            // Only whole frames are ever readable.
            assert_eq!(rx.occupied_len() % 3, 0);
            at = end;
        }
        let mut got = vec![0.0f32; 3000];
        assert_eq!(rx.pop_slice(&mut got), 3000);
        for (i, (&g, &d)) in got.iter().zip(&data).enumerate() {
            assert_eq!(g, f32::from(d) / 32768.0, "sample {i}");
        }
        assert_eq!(t.overruns.load(Relaxed), 0);
    }

    /// A full ring drops (whole frames) and counts; the callback returns at once and the next
    /// frames are pushed again once there is room.
    #[test]
    fn a_full_ring_drops_whole_frames_and_counts_them() {
        let (mut s, mut rx, t) = state(2, 2000);
        let block = vec![0.5f32; 2 * 300];
        for _ in 0..3 {
            s.run(&block);
        }
        assert_eq!(t.overruns.load(Relaxed), 0);
        s.run(&block); // 1800 of 2000 samples used: 100 of the 300 frames fit
        assert_eq!(rx.occupied_len(), 2000);
        assert_eq!(t.overruns.load(Relaxed), 1);
        assert_eq!(t.dropped_frames.load(Relaxed), 200);
        let mut sink = vec![0.0; 2000];
        rx.pop_slice(&mut sink);
        s.run(&block);
        assert_eq!(rx.occupied_len(), 600, "room again: pushed");
        assert_eq!(t.frames.load(Relaxed), 5 * 300);
        assert_eq!(t.perf.callbacks.load(Relaxed), 5);
    }

    /// The analyzers falling behind are the input's overruns too: with its meter thread stopped
    /// (with its control side: nothing reads the meter ring), the ring fills, and what does not
    /// fit is dropped and counted as the input's overruns, one per block, while the sample ring
    /// still takes everything.
    #[test]
    fn analyzers_falling_behind_count_as_overruns() {
        let (tx, mut rx) = HeapRb::<f32>::new(2 * 40_000).split();
        let (control, tap) = super::super::dsp_link::link(&Default::default(), 48_000, 2, 0, false);
        drop(control); // joins the meter thread: nothing reads the meter ring from here on
        let t = Arc::new(InputTelemetry::default());
        let mut s = InputCallbackState::new(2, Some(tx), Some(tap), t.clone(), false);
        // The meter ring holds half a second (24 000 frames at 48 kHz).
        s.run(&vec![0.25f32; 2 * 20_000]);
        assert_eq!(t.overruns.load(Relaxed), 0);
        // 20 000 samples in blocks of 3 360 (the scratch): 8 000 fit; the third block is cut,
        // the fourth, fifth and the last (3 200) are dropped whole: four blocks dropped from.
        s.run(&vec![0.25f32; 2 * 10_000]);
        assert_eq!(t.overruns.load(Relaxed), 4);
        assert_eq!(t.dropped_frames.load(Relaxed), 6_000);
        assert_eq!(
            rx.occupied_len(),
            2 * 30_000,
            "the sample ring missed nothing"
        );
        let mut sink = vec![0.0; 2 * 30_000];
        rx.pop_slice(&mut sink);
        assert_eq!(t.frames.load(Relaxed), 30_000);
    }
}
