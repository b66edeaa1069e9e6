//! Where rendered audio goes: a cpal device stream or the paced null output.
//!
//! The renderer is moved into the stream's callback inside a `RendererGuard`; when the stream is
//! dropped (stop, device switch, device failure) or fails to build, the guard's `Drop` hands the
//! renderer back through a one-slot ring (kira's trick), so the playlist position, volume and
//! buffered audio survive and the next output continues where the last one stopped.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use ringbuf::traits::{Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use super::render::Renderer;
use super::telemetry::Telemetry;
use crate::dsp::convert::DeviceSample;

/// Which output the user asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputChoice {
    Default,
    Null,
    /// A device of the process's host (`host()`).
    Named(String),
    /// A device (None: the default one) of another audio host, written `HOST:DEVICE` (e.g.
    /// `pulseaudio:default`): the app's output picker offers every host's devices, so a user whose
    /// PipeWire host misbehaves can move to the PulseAudio client without restarting.
    OnHost {
        /// The host's name in lower case (`pipewire`, `pulseaudio`, `alsa`).
        host: String,
        device: Option<String>,
    },
}

/// Host names `HOST:DEVICE` accepts (lower case; `pulse` is short for `pulseaudio`).
const HOST_PREFIXES: [&str; 4] = ["pipewire", "pulseaudio", "pulse", "alsa"];

impl std::str::FromStr for OutputChoice {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Only a known host name before the first ':' makes a host prefix: ALSA device names
        // have colons of their own (`hw:CARD=PCH,DEV=0`).
        if let Some((prefix, device)) = s.split_once(':') {
            let lower = prefix.to_ascii_lowercase();
            if HOST_PREFIXES.contains(&lower.as_str()) {
                let host = if lower == "pulse" {
                    "pulseaudio".to_string()
                } else {
                    lower
                };
                let device = (!matches!(device, "" | "default")).then(|| device.to_string());
                return Ok(Self::OnHost { host, device });
            }
        }
        Ok(match s {
            "default" | "" => Self::Default,
            "null" => Self::Null,
            name => Self::Named(name.to_string()),
        })
    }
}

impl std::fmt::Display for OutputChoice {
    /// The text `from_str` reads back (what the app saves).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::Null => f.write_str("null"),
            Self::Named(n) => f.write_str(n),
            Self::OnHost { host, device } => {
                write!(f, "{host}:{}", device.as_deref().unwrap_or("default"))
            }
        }
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
    /// The audio host the device belongs to ("ALSA"; "null" for the null output).
    pub host: &'static str,
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
            host: "null",
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

/// The sample formats our callbacks convert, in order of preference (f32 first: no conversion).
pub(crate) const SUPPORTED_FORMATS: [cpal::SampleFormat; 10] = {
    use cpal::SampleFormat::*;
    [F32, I32, I24, I16, F64, U16, I8, U8, U32, I64]
};

/// The first of `SUPPORTED_FORMATS` a device offers at its default rate and channel count
/// (`ranges`: its supported configurations, output or input), or its default format.
pub(crate) fn preferred_format(
    default: &cpal::SupportedStreamConfig,
    ranges: &[cpal::SupportedStreamConfigRange],
) -> Option<cpal::SampleFormat> {
    let offered = |f: cpal::SampleFormat| {
        f == default.sample_format()
            || ranges.iter().any(|r| {
                r.sample_format() == f
                    && r.channels() == default.channels()
                    && (r.min_sample_rate()..=r.max_sample_rate()).contains(&default.sample_rate())
            })
    };
    SUPPORTED_FORMATS.iter().copied().find(|&f| offered(f))
}

/// The audio host chosen for this process (`--host`, or `RUSTY_AUDIO_HOST`); unset: cpal's
/// default host (on Linux: PipeWire where its server runs, else the native PulseAudio client,
/// else ALSA).
static HOST: std::sync::OnceLock<cpal::HostId> = std::sync::OnceLock::new();

/// Have libpipewire load its real-time client configuration (`client-rt.conf`, which loads
/// module-rt) unless the user chose another: with cpal's PipeWire host our callback runs on the
/// stream's loop thread, which the engine promotes itself, but the server's wake-up reaches it
/// through libpipewire's data-loop thread, which only module-rt makes real-time (itself, or through
/// rtkit). With the default `client.conf` that thread stayed SCHED_OTHER: a link of the real-time
/// chain at ordinary priority. Call at the start of `main`, before any thread is spawned.
pub fn configure_pipewire_client() {
    if std::env::var_os("PIPEWIRE_CONFIG_NAME").is_none() {
        std::env::set_var("PIPEWIRE_CONFIG_NAME", "client-rt.conf");
    }
}

/// Choose the audio host by name (`pipewire`, `pulse`/`pulseaudio`, `alsa`, `default`), before the
/// first output is planned. The choice is process-wide: the app's device picker, `devices` and
/// every engine use the same host. Errors name the hosts that are available.
pub fn choose_host(name: &str) -> Result<(), String> {
    let want = name.trim().to_ascii_lowercase();
    if want == "default" || want.is_empty() {
        return Ok(());
    }
    let hosts = cpal::available_hosts();
    let id = hosts
        .iter()
        .copied()
        .find(|h| {
            let n = h.name().to_ascii_lowercase();
            n == want || (want == "pulse" && n == "pulseaudio")
        })
        .ok_or_else(|| {
            let names: Vec<&str> = hosts.iter().map(|h| h.name()).collect();
            format!("no audio host {name:?} (available: {})", names.join(", "))
        })?;
    match HOST.set(id) {
        Ok(()) => Ok(()),
        Err(_) if HOST.get() == Some(&id) => Ok(()),
        Err(_) => Err(format!("the audio host is already {:?}", HOST.get())),
    }
}

/// The audio host outputs are opened on: the chosen one (`choose_host`, or the
/// `RUSTY_AUDIO_HOST` environment variable read on first use), else cpal's default. On Linux that
/// is PipeWire where it runs: its callback runs on the stream's own loop thread, which the engine
/// promotes to real-time (see docs/ARCHITECTURE.md "Audio host").
#[must_use]
pub fn host() -> cpal::Host {
    if HOST.get().is_none() {
        if let Ok(name) = std::env::var("RUSTY_AUDIO_HOST") {
            if let Err(e) = choose_host(&name) {
                eprintln!("rusty-audio: RUSTY_AUDIO_HOST: {e}; using the default host");
            }
        }
    }
    HOST.get()
        .and_then(|id| cpal::host_from_id(*id).ok())
        .unwrap_or_else(cpal::default_host)
}

/// Run `f` with libasound's diagnostics captured instead of printed: on a machine without a sound
/// card, device enumeration prints a screen of `ALSA lib confmisc.c…` lines to stderr. Returns
/// the first captured line, if any, for error messages that need it.
pub fn quiet_alsa<T>(f: impl FnOnce() -> T) -> (T, Option<String>) {
    #[cfg(target_os = "linux")]
    {
        // Thread-local in libasound: messages of this thread only, which is the one enumerating.
        let capture = alsa::Output::local_error_handler().ok();
        let out = f();
        let first = capture.and_then(|c| {
            let text = c.borrow().to_string();
            text.lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(str::to_string)
        });
        (out, first)
    }
    #[cfg(not(target_os = "linux"))]
    (f(), None)
}

/// `quiet_alsa`, and the process's stderr captured too while `f` runs: enumerating every ALSA
/// device opens each plugin PCM, and some plugins' libraries print on their own (libjack's
/// "Cannot connect to server socket…" for the `jack` PCM when no JACK server runs). For device
/// listings only (the `devices` command, the app's device picker): a line another thread prints
/// in that moment would land in the capture, so playback paths use `quiet_alsa` alone.
pub fn quiet_enumeration<T>(f: impl FnOnce() -> T) -> (T, Option<String>) {
    #[cfg(target_os = "linux")]
    {
        let capture = stderr_capture::Capture::start();
        let (out, alsa_said) = quiet_alsa(f);
        let printed = capture
            .map(stderr_capture::Capture::finish)
            .unwrap_or_default();
        let first = alsa_said.or_else(|| {
            printed
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(str::to_string)
        });
        (out, first)
    }
    #[cfg(not(target_os = "linux"))]
    quiet_alsa(f)
}

#[cfg(target_os = "linux")]
mod stderr_capture {
    use std::io::{Read, Seek};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    /// fd 2 pointed at an anonymous memory file (memfd: no path another user could plant a
    /// symlink at) until `finish` or drop — drop restores stderr even if the enumeration panics.
    pub struct Capture {
        saved: Option<OwnedFd>,
        file: std::fs::File,
    }

    impl Capture {
        pub fn start() -> Option<Self> {
            // SAFETY: the name is a valid NUL-terminated C string; memfd_create only returns a
            // new descriptor (or -1, handled).
            let fd =
                unsafe { libc::memfd_create(c"rusty-audio-stderr".as_ptr(), libc::MFD_CLOEXEC) };
            if fd < 0 {
                return None;
            }
            // SAFETY: `fd` was just returned by memfd_create and is owned by nothing else.
            let file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
            // SAFETY: dup has no memory-safety preconditions; fd 2 is either open (a new fd is
            // returned) or not (-1, handled).
            let saved = unsafe { libc::dup(2) };
            if saved < 0 {
                return None;
            }
            // SAFETY: `saved` was just returned by dup and is owned by nothing else.
            let saved = unsafe { OwnedFd::from_raw_fd(saved) };
            // SAFETY: `file` is open for the whole call and `saved` keeps the old stderr, so
            // replacing fd 2 loses nothing; dup2 only changes the descriptor table.
            if unsafe { libc::dup2(file.as_raw_fd(), 2) } < 0 {
                return None;
            }
            Some(Self {
                saved: Some(saved),
                file,
            })
        }

        fn restore(&mut self) {
            if let Some(saved) = self.saved.take() {
                // SAFETY: `saved` is the original stderr, still open; dup2 makes fd 2 that again
                // (dropping `saved` afterwards closes only our duplicate).
                unsafe { libc::dup2(saved.as_raw_fd(), 2) };
            }
        }

        /// Put stderr back and return what was printed meanwhile (at most 64 KiB).
        pub fn finish(mut self) -> String {
            self.restore();
            let mut text = String::new();
            if self.file.rewind().is_ok() {
                let _ = (&self.file).take(64 * 1024).read_to_string(&mut text);
            }
            text
        }
    }

    impl Drop for Capture {
        fn drop(&mut self) {
            self.restore();
        }
    }
}

/// Names of the host's output devices, as `OutputChoice::Named` accepts them (for the UI's
/// device picker; the CLI's `devices` command prints more). Errors give an empty list.
#[must_use]
pub fn device_names() -> Vec<String> {
    quiet_enumeration(|| {
        let Ok(devices) = host().output_devices() else {
            return Vec::new();
        };
        // Several ALSA PCMs of one card share a description: list each name once.
        let mut seen = std::collections::HashSet::new();
        devices
            .map(|d| device_name(&d))
            .filter(|n| seen.insert(n.clone()))
            .collect()
    })
    .0
}

/// Choose a device and configuration. Errors name the device and the reason; the caller decides
/// whether to fall back to the null output.
pub fn plan(choice: &OutputChoice, buffer_frames: Option<u32>) -> Result<OutputPlan, OutputError> {
    let (planned, alsa_said) = quiet_alsa(|| plan_quietly(choice, buffer_frames));
    planned.map_err(|e| match (e, alsa_said) {
        (OutputError::Device { device, reason }, Some(said)) => OutputError::Device {
            device,
            reason: format!("{reason} (ALSA: {said})"),
        },
        (e, _) => e,
    })
}

/// The available host called `name` (lower case, as `OutputChoice::OnHost` holds it).
fn host_named(name: &str) -> Result<cpal::Host, OutputError> {
    let unavailable = |reason: String| OutputError::Device {
        device: format!("{name}:"),
        reason,
    };
    let id = cpal::available_hosts()
        .into_iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))
        .ok_or_else(|| unavailable("no such audio host here".into()))?;
    cpal::host_from_id(id).map_err(|e| unavailable(e.to_string()))
}

/// Every available host other than `host()`, with its output devices' names (for the app's
/// output picker; `OutputChoice::OnHost` opens them). Hosts that fail to list give none.
#[must_use]
pub fn other_hosts_devices() -> Vec<(String, Vec<String>)> {
    let current = host().id();
    quiet_enumeration(|| {
        cpal::available_hosts()
            .into_iter()
            .filter(|id| *id != current)
            .filter_map(|id| {
                let host = cpal::host_from_id(id).ok()?;
                let mut seen = std::collections::HashSet::new();
                let names: Vec<String> = host
                    .output_devices()
                    .ok()?
                    .map(|d| device_name(&d))
                    .filter(|n| seen.insert(n.clone()))
                    .collect();
                Some((id.name().to_string(), names))
            })
            .collect()
    })
    .0
}

fn plan_quietly(
    choice: &OutputChoice,
    buffer_frames: Option<u32>,
) -> Result<OutputPlan, OutputError> {
    let (host, named) = match choice {
        OutputChoice::Null => return Ok(OutputPlan::null(NULL_RATE, NULL_CHANNELS, buffer_frames)),
        OutputChoice::Default => (host(), None),
        OutputChoice::Named(n) => (host(), Some(n)),
        OutputChoice::OnHost { host, device } => (host_named(host)?, device.as_ref()),
    };
    let device = match named {
        None => host
            .default_output_device()
            .ok_or_else(|| OutputError::Device {
                device: "default".into(),
                reason: "no default output device".into(),
            })?,
        Some(want) => host
            .output_devices()
            .map_err(|e| OutputError::Device {
                device: want.clone(),
                reason: e.to_string(),
            })?
            .find(|d| {
                // Its name (what `devices` and the picker show), or its cpal id, whole
                // (`alsa:hw:0,0`, `pipewire:52`) or within the host (`hw:0,0` after `alsa:`).
                device_name(d) == *want
                    || d.to_string() == *want
                    || d.id()
                        .is_ok_and(|id| id.to_string() == *want || id.id() == want.as_str())
            })
            .ok_or_else(|| OutputError::NoSuchDevice(want.clone()))?,
    };
    let name = device_name(&device);
    let err = |e: cpal::Error| OutputError::Device {
        device: name.clone(),
        reason: e.to_string(),
    };
    let default = device.default_output_config().map_err(err)?;
    let device_channels = usize::from(default.channels());
    if !crate::dsp::channels_supported(device_channels) {
        // The chain and meters handle up to 32 channels; a wider device would get a partial
        // figure or an unfiltered channel, so it is refused here and the engine says why.
        return Err(OutputError::Device {
            device: name.clone(),
            reason: crate::dsp::too_many_channels(device_channels),
        });
    }
    // Prefer f32 (what the engine renders: no conversion, no quantisation) at the device's default
    // rate and channel count, then the other formats in order of precision.
    let ranges: Vec<_> = device
        .supported_output_configs()
        .map(Iterator::collect)
        .unwrap_or_default();
    let format = preferred_format(&default, &ranges).ok_or_else(|| OutputError::Device {
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
        host: host.id().name(),
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

/// First call on a new output's thread: promote the thread to real-time scheduling (a few
/// syscalls, once; see `audio_thread`) and tell the renderer a new stream begins.
/// (`Renderer::process` sets flush-to-zero itself on every call.)
///
/// `promote` is false on cpal's PulseAudio host: its callback runs on the client library's shared
/// I/O thread, which is not ours to make real-time.
fn first_callback(r: &mut Renderer, promote: bool) {
    if promote {
        r.telemetry().audio_thread.promote_current_thread();
    } else {
        r.telemetry().audio_thread.record_current_thread();
    }
    r.begin_stream();
}

/// What the host reported about a running output, written by cpal's error callback. The ALSA
/// host calls that callback *on the audio thread* (xruns and other stream errors are reported
/// from its stream loop), so it only touches atomics and moves the error into a pre-allocated
/// ring: no lock, no allocation, no formatting there. The control side reads the errors in
/// `Engine::poll`.
#[derive(Default)]
pub struct OutputHealth {
    /// Set once the stream has failed for good (device gone, server died, …). Release-stored
    /// after the error that caused it was pushed, so a reader that Acquire-loads `true` finds it.
    pub failed: AtomicBool,
    /// `perf::clock::now_ns` of the first error since the last data callback, 0 if none (see
    /// `TRANSIENT_GRACE_NS`).
    errors_since_ns: std::sync::atomic::AtomicU64,
}

/// How long errors the stream survives may go on with no data callback before the output counts
/// as failed. The ALSA host keeps its stream loop running after any error except a vanished
/// device, and some are harmless: the PulseAudio ALSA plugin (alsa-plugins 1.2.7, and upstream
/// still) compares `pa_stream_get_latency`'s negative error code with the positive
/// `PA_ERR_NODATA`, so `snd_pcm_avail_delay` answers EIO until the server's first timing update
/// (tens of ms, up to ~1.5 s when several streams start on an idle server at once). A dead
/// server, by contrast, fails every poll for good.
pub const TRANSIENT_GRACE_NS: u64 = 3_000_000_000;

impl OutputHealth {
    /// A data callback ran: the errors before it were survived (one relaxed load, a store only
    /// after an error; RT-safe). Returns true when this ended a streak of errors.
    #[inline]
    pub(crate) fn data_flowed(&self) -> bool {
        let streak = self.errors_since_ns.load(Relaxed) != 0;
        if streak {
            self.errors_since_ns.store(0, Relaxed);
        }
        streak
    }
}

/// Errors carried from the error callback to the control side: the failing one, and transient
/// ones the stream survived (for a notice).
pub type ErrorRx = HeapCons<cpal::Error>;

/// Room for errors between two `Engine::poll`s; more are dropped.
const ERROR_RING: usize = 8;

/// Whether the stream cannot go on after `kind`.
pub(crate) fn is_fatal(kind: cpal::ErrorKind) -> bool {
    use cpal::ErrorKind as K;
    matches!(
        kind,
        K::DeviceNotAvailable | K::StreamInvalidated | K::HostUnavailable | K::PermissionDenied
    )
}

/// Handle one error from the host (in its error callback, possibly on the audio thread).
///
/// While errors come with no data callback between them, cpal's ALSA loop calls this back to
/// back; so the first error of a streak drops a promoted thread to SCHED_OTHER (one syscall) and
/// the next data callback promotes it again: a real-time thread must not spin on a failing device
/// next to the UI. An error that is dropped here (the ring full) frees cpal's message on this
/// thread: cpal allocated it here too, and only while the stream is failing.
///
/// Shared by the output and the inputs (`capture::InputErrorState`): `xruns` counts the host's
/// overruns/underruns, `thread` is the stream's callback thread.
pub(crate) fn on_stream_error(
    e: cpal::Error,
    health: &OutputHealth,
    xruns: &std::sync::atomic::AtomicU64,
    thread: &super::audio_thread::AudioThreadStatus,
    errors: &mut HeapProd<cpal::Error>,
    promoted: bool,
) {
    use std::sync::atomic::Ordering::Release;
    match e.kind() {
        // The host recovers from these by itself (ALSA re-prepares the PCM; a reroute keeps
        // playing): count, do not fail. An xrun error carries no heap message, so dropping it
        // here frees nothing.
        cpal::ErrorKind::Xrun => {
            xruns.fetch_add(1, Relaxed);
        }
        cpal::ErrorKind::DeviceChanged | cpal::ErrorKind::RealtimeDenied => {}
        kind => {
            let now = crate::perf::clock::now_ns();
            let since = match health.errors_since_ns.load(Relaxed) {
                0 => {
                    health.errors_since_ns.store(now, Relaxed);
                    if promoted {
                        thread.demote_current_thread();
                    }
                    now
                }
                t => t,
            };
            let fatal = is_fatal(kind) || now.saturating_sub(since) > TRANSIENT_GRACE_NS;
            // Moved, not formatted. A full ring drops the error here (cpal allocated its message
            // on this thread already; the ring is drained every UI frame or CLI poll).
            let _ = errors.try_push(e);
            if fatal {
                health.failed.store(true, Release);
            }
        }
    }
}

pub enum RunningOutput {
    Device {
        stream: cpal::Stream,
        errors: ErrorRx,
    },
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

/// What cpal's data closure does on every callback, apart from cpal's own call around it. Kept
/// out of the closure so that tests/rt_safety.rs runs exactly this (not a copy) under the
/// allocation detector, in every sample format.
#[doc(hidden)]
pub struct CallbackState {
    first: bool,
    promote: bool,
    flowing: Arc<OutputHealth>,
}

impl CallbackState {
    /// `promote`: whether the callback's thread is ours to make real-time (see `start`).
    #[must_use]
    pub fn new(flowing: Arc<OutputHealth>, promote: bool) -> Self {
        Self {
            first: true,
            promote,
            flowing,
        }
    }

    /// One device callback: `out` to fill, `ahead_ns` the host's estimate of how far ahead of
    /// the DAC it is written. No allocation, lock or I/O; a few syscalls on the first call (and
    /// after an error streak) to (re)promote the thread.
    #[inline]
    pub fn run<S: DeviceSample>(
        &mut self,
        renderer: Option<&mut Renderer>,
        out: &mut [S],
        ahead_ns: u64,
    ) {
        let Some(r) = renderer else {
            return;
        };
        if self.first {
            self.first = false;
            first_callback(r, self.promote);
        }
        if self.flowing.data_flowed() && self.promote {
            // Back from an error streak (see `on_stream_error`): real-time again.
            r.telemetry().audio_thread.promote_current_thread();
        }
        r.process(out);
        r.report_device_latency(ahead_ns);
    }
}

/// What cpal's error closure does (see `on_stream_error`), kept out of the closure for the same
/// reason as `CallbackState`.
#[doc(hidden)]
pub struct ErrorState {
    health: Arc<OutputHealth>,
    telemetry: Arc<Telemetry>,
    errors: HeapProd<cpal::Error>,
    promoted: bool,
}

impl ErrorState {
    /// The handler, and the ring the control side reads its errors from.
    #[must_use]
    pub fn new(
        health: Arc<OutputHealth>,
        telemetry: Arc<Telemetry>,
        promoted: bool,
    ) -> (Self, ErrorRx) {
        let (errors, rx) = HeapRb::<cpal::Error>::new(ERROR_RING).split();
        (
            Self {
                health,
                telemetry,
                errors,
                promoted,
            },
            rx,
        )
    }

    #[inline]
    pub fn handle(&mut self, e: cpal::Error) {
        on_stream_error(
            e,
            &self.health,
            &self.telemetry.xruns,
            &self.telemetry.audio_thread,
            &mut self.errors,
            self.promoted,
        );
    }
}

fn build_typed<S: DeviceSample + cpal::SizedSample>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut guard: RendererGuard,
    mut on_error: ErrorState,
    promote: bool,
) -> Result<cpal::Stream, cpal::Error> {
    let mut state = CallbackState::new(on_error.health.clone(), promote);
    device.build_output_stream::<S, _, _>(
        config,
        move |out: &mut [S], info: &cpal::OutputCallbackInfo| {
            // How far ahead of the DAC this block is written (the host's own estimate).
            let ts = info.timestamp();
            let ahead = ts.playback.saturating_duration_since(ts.callback);
            let ahead_ns = ahead.as_nanos().min(u128::from(u64::MAX)) as u64;
            state.run(guard.renderer.as_mut(), out, ahead_ns);
        },
        move |e: cpal::Error| on_error.handle(e),
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
    // cpal's PulseAudio host runs the callback on the client library's shared I/O thread: not
    // ours to make real-time.
    let promote = plan.host != "PulseAudio";
    let telemetry = guard
        .renderer
        .as_ref()
        .map(|r| r.telemetry().clone())
        .unwrap_or_default();
    let (errors, errors_rx) = ErrorState::new(health, telemetry, promote);
    use cpal::SampleFormat as F;
    let stream = match plan.sample_format {
        F::F32 => build_typed::<f32>(device, config, guard, errors, promote),
        F::F64 => build_typed::<f64>(device, config, guard, errors, promote),
        F::I8 => build_typed::<i8>(device, config, guard, errors, promote),
        F::I16 => build_typed::<i16>(device, config, guard, errors, promote),
        F::I24 => build_typed::<cpal::I24>(device, config, guard, errors, promote),
        F::I32 => build_typed::<i32>(device, config, guard, errors, promote),
        F::I64 => build_typed::<i64>(device, config, guard, errors, promote),
        F::U8 => build_typed::<u8>(device, config, guard, errors, promote),
        F::U16 => build_typed::<u16>(device, config, guard, errors, promote),
        F::U32 => build_typed::<u32>(device, config, guard, errors, promote),
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
    Ok(RunningOutput::Device {
        stream,
        errors: errors_rx,
    })
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
            // The same callback body as a device's (no host errors here).
            let mut state = CallbackState::new(Arc::new(OutputHealth::default()), true);
            let mut buf = vec![0.0f32; frames * channels];
            let mut next = Instant::now();
            while !stop2.load(Relaxed) {
                state.run(guard.renderer.as_mut(), &mut buf[..], 0);
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
