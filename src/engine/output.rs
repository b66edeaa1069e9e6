//! Where rendered audio goes: a cpal device stream or the paced null output.
//!
//! The renderer is moved into the stream's callback inside a `RendererGuard`; when the stream is
//! dropped (stop, device switch, device failure) or fails to build, the guard's `Drop` hands the
//! renderer back through a one-slot ring (kira's trick), so the playlist position, volume and
//! buffered audio survive and the next output continues where the last one stopped.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use ringbuf::traits::{Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use super::render::Renderer;
use crate::dsp::convert::DeviceSample;

/// Which output the user asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputChoice {
    Default,
    Null,
    Named(String),
}

impl std::str::FromStr for OutputChoice {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "default" | "" => Self::Default,
            "null" => Self::Null,
            name => Self::Named(name.to_string()),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("no output device named {0:?} (see `rusty-audio devices`)")]
    NoSuchDevice(String),
    #[error("output device {device:?}: {reason}")]
    Device { device: String, reason: String },
}

/// A device and configuration chosen before anything is built, so the engine knows the rate and
/// channel count its ring and resampler must produce.
pub struct OutputPlan {
    pub device: Option<cpal::Device>,
    pub name: String,
    pub sample_rate: u32,
    pub channels: usize,
    pub sample_format: cpal::SampleFormat,
    /// Requested frames per callback (None: the device's default).
    pub buffer_frames: Option<u32>,
}

/// Settings for the null output when there is no device to copy them from.
pub const NULL_RATE: u32 = 48_000;
pub const NULL_CHANNELS: usize = 2;
pub const NULL_BUFFER: u32 = 512;
/// Frames per callback when the user gives none: ~21 ms at 48 kHz.
pub const DEFAULT_BUFFER: u32 = 1024;

impl OutputPlan {
    #[must_use]
    pub fn null(sample_rate: u32, channels: usize, buffer_frames: Option<u32>) -> Self {
        Self {
            device: None,
            name: "null".into(),
            sample_rate,
            channels,
            sample_format: cpal::SampleFormat::F32,
            buffer_frames,
        }
    }

    #[must_use]
    pub fn is_null(&self) -> bool {
        self.device.is_none()
    }
}

fn device_name(d: &cpal::Device) -> String {
    d.description()
        .map(|desc| desc.name().to_string())
        .unwrap_or_else(|_| d.to_string())
}

const SUPPORTED_FORMATS: [cpal::SampleFormat; 10] = {
    use cpal::SampleFormat::*;
    [F32, I32, I24, I16, F64, U16, I8, U8, U32, I64]
};

/// Names of the default host's output devices, as `OutputChoice::Named` accepts them (for the
/// UI's device picker; the CLI's `devices` command prints more). Errors give an empty list.
#[must_use]
pub fn device_names() -> Vec<String> {
    let Ok(devices) = cpal::default_host().output_devices() else {
        return Vec::new();
    };
    let mut names: Vec<String> = devices.map(|d| device_name(&d)).collect();
    names.dedup();
    names
}

/// Choose a device and configuration. Errors name the device and the reason; the caller decides
/// whether to fall back to the null output.
pub fn plan(choice: &OutputChoice, buffer_frames: Option<u32>) -> Result<OutputPlan, OutputError> {
    let host = cpal::default_host();
    let device = match choice {
        OutputChoice::Null => return Ok(OutputPlan::null(NULL_RATE, NULL_CHANNELS, buffer_frames)),
        OutputChoice::Default => {
            host.default_output_device()
                .ok_or_else(|| OutputError::Device {
                    device: "default".into(),
                    reason: "no default output device".into(),
                })?
        }
        OutputChoice::Named(want) => host
            .output_devices()
            .map_err(|e| OutputError::Device {
                device: want.clone(),
                reason: e.to_string(),
            })?
            .find(|d| {
                device_name(d) == *want
                    || d.to_string() == *want
                    || d.id().is_ok_and(|id| id.to_string() == *want)
            })
            .ok_or_else(|| OutputError::NoSuchDevice(want.clone()))?,
    };
    let name = device_name(&device);
    let err = |e: cpal::Error| OutputError::Device {
        device: name.clone(),
        reason: e.to_string(),
    };
    let default = device.default_output_config().map_err(err)?;
    // Prefer f32 (what the engine renders: no conversion, no quantisation) at the device's default
    // rate and channel count, then the other formats in order of precision.
    let ranges: Vec<_> = device
        .supported_output_configs()
        .map(Iterator::collect)
        .unwrap_or_default();
    let offered = |f: cpal::SampleFormat| {
        f == default.sample_format()
            || ranges.iter().any(|r: &cpal::SupportedStreamConfigRange| {
                r.sample_format() == f
                    && r.channels() == default.channels()
                    && (r.min_sample_rate()..=r.max_sample_rate()).contains(&default.sample_rate())
            })
    };
    let format = SUPPORTED_FORMATS
        .iter()
        .copied()
        .find(|&f| offered(f))
        .ok_or_else(|| OutputError::Device {
            device: name.clone(),
            reason: format!(
                "no supported sample format (device offers {})",
                default.sample_format()
            ),
        })?;
    // Some hosts' "default" buffer is seconds long (cpal's PulseAudio host offers ~94k frames),
    // which would make seeks, volume and the analyzer lag; ask for DEFAULT_BUFFER unless told.
    let buffer_frames = match (buffer_frames, default.buffer_size()) {
        (Some(b), cpal::SupportedBufferSize::Range { min, max }) if b < *min || b > *max => {
            eprintln!(
                "rusty-audio: {name}: buffer of {b} frames is outside {min}..={max}; using {}",
                b.clamp(*min, *max)
            );
            Some(b.clamp(*min, *max))
        }
        (None, cpal::SupportedBufferSize::Range { min, max }) => {
            Some(DEFAULT_BUFFER.clamp(*min, *max))
        }
        (b, _) => b,
    };
    Ok(OutputPlan {
        device: Some(device),
        name,
        sample_rate: default.sample_rate(),
        channels: usize::from(default.channels()),
        sample_format: format,
        buffer_frames,
    })
}

/// Owns the renderer inside an output; gives it back when dropped.
struct RendererGuard {
    renderer: Option<Renderer>,
    home: HeapProd<Renderer>,
}

impl Drop for RendererGuard {
    fn drop(&mut self) {
        if let Some(r) = self.renderer.take() {
            let _ = self.home.try_push(r);
        }
    }
}

/// Raise the calling thread to real-time priority and make denormals flush to zero. Called once,
/// on the first callback: it is a syscall, but only once, and the escape hatch is named here.
fn prepare_audio_thread() {
    let _ = thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Max);
    crate::dsp::denormals::flush_to_zero();
}

/// Why a running output stopped on its own (set from cpal's error callback).
#[derive(Default)]
pub struct OutputHealth {
    pub failed: AtomicBool,
    pub reason: Mutex<Option<String>>,
}

pub enum RunningOutput {
    Device(cpal::Stream),
    Null {
        stop: Arc<AtomicBool>,
        thread: Option<JoinHandle<()>>,
    },
}

impl Drop for RunningOutput {
    fn drop(&mut self) {
        if let RunningOutput::Null { stop, thread } = self {
            stop.store(true, Relaxed);
            if let Some(t) = thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// A one-slot ring the renderer comes home through.
#[must_use]
pub fn renderer_home() -> (HeapProd<Renderer>, HeapCons<Renderer>) {
    HeapRb::<Renderer>::new(1).split()
}

fn build_typed<S: DeviceSample + cpal::SizedSample>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut guard: RendererGuard,
    health: Arc<OutputHealth>,
) -> Result<cpal::Stream, cpal::Error> {
    let mut first = true;
    device.build_output_stream::<S, _, _>(
        config,
        move |out: &mut [S], info: &cpal::OutputCallbackInfo| {
            if first {
                first = false;
                prepare_audio_thread();
                if let Some(r) = guard.renderer.as_mut() {
                    r.begin_stream();
                }
            }
            if let Some(r) = guard.renderer.as_mut() {
                r.process(out);
                // How far ahead of the DAC this block was written (the host's own estimate).
                let ts = info.timestamp();
                let ahead = ts.playback.saturating_duration_since(ts.callback);
                r.report_device_latency(ahead.as_nanos().min(u128::from(u64::MAX)) as u64);
            }
        },
        move |e: cpal::Error| {
            // Error callback: not the audio thread; record for the control side.
            if let Ok(mut r) = health.reason.lock() {
                *r = Some(e.to_string());
            }
            health.failed.store(true, Relaxed);
        },
        Some(Duration::from_secs(5)),
    )
}

/// Start `plan` with `renderer`. On failure the renderer is already back in `home` and the error
/// says why.
pub fn start(
    plan: &OutputPlan,
    renderer: Renderer,
    home: HeapProd<Renderer>,
    health: Arc<OutputHealth>,
) -> Result<RunningOutput, OutputError> {
    let guard = RendererGuard {
        renderer: Some(renderer),
        home,
    };
    let Some(device) = plan.device.as_ref() else {
        return Ok(start_null(plan, guard));
    };
    let config = cpal::StreamConfig {
        channels: plan.channels as u16,
        sample_rate: plan.sample_rate,
        buffer_size: plan
            .buffer_frames
            .map_or(cpal::BufferSize::Default, cpal::BufferSize::Fixed),
    };
    use cpal::SampleFormat as F;
    let stream = match plan.sample_format {
        F::F32 => build_typed::<f32>(device, config, guard, health),
        F::F64 => build_typed::<f64>(device, config, guard, health),
        F::I8 => build_typed::<i8>(device, config, guard, health),
        F::I16 => build_typed::<i16>(device, config, guard, health),
        F::I24 => build_typed::<cpal::I24>(device, config, guard, health),
        F::I32 => build_typed::<i32>(device, config, guard, health),
        F::I64 => build_typed::<i64>(device, config, guard, health),
        F::U8 => build_typed::<u8>(device, config, guard, health),
        F::U16 => build_typed::<u16>(device, config, guard, health),
        F::U32 => build_typed::<u32>(device, config, guard, health),
        other => {
            return Err(OutputError::Device {
                device: plan.name.clone(),
                reason: format!("sample format {other} not supported"),
            })
        }
    };
    let err = |e: cpal::Error| OutputError::Device {
        device: plan.name.clone(),
        reason: e.to_string(),
    };
    let stream = stream.map_err(err)?;
    stream.play().map_err(err)?;
    Ok(RunningOutput::Device(stream))
}

/// The null output: a thread that calls the same render function at the device's pace, so the
/// analyzer, position and performance figures behave as with a real device.
fn start_null(plan: &OutputPlan, mut guard: RendererGuard) -> RunningOutput {
    let stop = Arc::new(AtomicBool::new(false));
    let frames = plan.buffer_frames.unwrap_or(NULL_BUFFER).max(16) as usize;
    let period = Duration::from_secs_f64(frames as f64 / f64::from(plan.sample_rate.max(1)));
    let channels = plan.channels;
    let stop2 = stop.clone();
    let thread = std::thread::Builder::new()
        .name("rusty-audio-null-output".into())
        .spawn(move || {
            prepare_audio_thread();
            if let Some(r) = guard.renderer.as_mut() {
                r.begin_stream();
            }
            let mut buf = vec![0.0f32; frames * channels];
            let mut next = Instant::now();
            while !stop2.load(Relaxed) {
                if let Some(r) = guard.renderer.as_mut() {
                    r.process(&mut buf[..]);
                }
                next += period;
                let now = Instant::now();
                if next > now {
                    std::thread::sleep(next - now);
                } else if now - next > period * 8 {
                    next = now; // fell far behind (machine suspended): do not try to catch up
                }
            }
            drop(guard);
        })
        .expect("spawning a thread");
    RunningOutput::Null {
        stop,
        thread: Some(thread),
    }
}
