//! Helpers shared by the integration tests: the generated media set, reference decodes by ffmpeg,
//! and small signal utilities. Everything here uses real tools and real files.
#![allow(dead_code)]

pub mod app;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

/// The media made by `../shared/media/make_media.sh` (the Makefile makes it; made here if missing).
pub fn media() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::var_os("RUSTY_AUDIO_MEDIA")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/media")));
        if !dir.join("prog.flac").is_file() {
            let script =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/media/make_media.sh");
            let status = Command::new("bash").arg(&script).arg(&dir).output();
            assert!(
                status.as_ref().is_ok_and(|o| o.status.success()),
                "test media missing in {} and {} failed ({status:?}); run `make test`",
                dir.display(),
                script.display()
            );
        }
        dir
    })
}

pub fn media_file(name: &str) -> PathBuf {
    media().join(name)
}

/// A scratch directory unique to one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/test-scratch")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// ffmpeg's decode of `path` as interleaved f32 in the file's own channel count and rate.
pub fn ffmpeg_decode(path: &Path) -> Vec<f32> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "f32le", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// ffmpeg's 16-bit decode with its default stereo downmix (`-ac 2`), scaled to [-1, 1).
pub fn ffmpeg_decode_stereo_s16(path: &Path) -> Vec<f32> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-ac", "2", "-f", "s16le", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success());
    out.stdout
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
        .collect()
}

/// Our decode of a whole file (interleaved f32) and its channel count.
pub fn our_decode(path: &Path) -> (Vec<f32>, usize, u32) {
    let mut src = rusty_audio::decode::AudioSource::open(path).unwrap_or_else(|e| panic!("{e}"));
    let (ch, rate) = (src.info().channels, src.info().sample_rate);
    let mut all = Vec::new();
    while src.read(&mut all).unwrap_or_else(|e| panic!("{e}")) > 0 {}
    (all, ch, rate)
}

/// Write interleaved f32 as a 32-bit float WAV.
pub fn write_wav_f32(path: &Path, rate: u32, channels: u16, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

/// Write interleaved samples as 16-bit PCM WAV (values already on the 16-bit grid stay exact).
pub fn write_wav_i16(path: &Path, rate: u32, channels: u16, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample((s * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}

pub fn sine(rate: u32, channels: usize, freq: f64, amp: f64, seconds: f64) -> Vec<f32> {
    let n = (seconds * f64::from(rate)) as usize;
    let mut v = Vec::with_capacity(n * channels);
    for i in 0..n {
        let x =
            (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin()) as f32;
        v.extend(std::iter::repeat_n(x, channels));
    }
    v
}

/// Signal-to-error ratio in dB of `test` against `reference`.
pub fn snr_db(reference: &[f32], test: &[f32]) -> f64 {
    let (mut s, mut e) = (0f64, 0f64);
    for (&r, &t) in reference.iter().zip(test) {
        s += f64::from(r) * f64::from(r);
        e += (f64::from(r) - f64::from(t)).powi(2);
    }
    10.0 * (s / e.max(1e-30)).log10()
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rusty-audio")
}

/// Whether a PulseAudio server answers (`make test` starts one with a null sink).
pub fn pulse_running() -> bool {
    Command::new("pactl")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether a test must skip because a real part it needs is missing. With the part present: false.
/// Missing under CI (`CI` set): the test fails here, because a skipped test would show green
/// without having tested anything. Missing elsewhere: a loud note on stderr, then true.
pub fn skip_unless(test: &str, available: bool, needs: &str) -> bool {
    if available {
        return false;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: {needs} is missing, and CI is set: a test may not pass by skipping"
    );
    eprintln!("\n*** SKIPPED {test}: needs {needs} (`make test` provides it) ***\n");
    true
}

/// True (after saying so loudly) when there is no PulseAudio server to test against; fails
/// under CI (see `skip_unless`).
pub fn skip_without_pulse(test: &str) -> bool {
    skip_unless(
        test,
        pulse_running(),
        "a PulseAudio server with a null sink",
    )
}

/// `dir/name`: a 48 kHz stereo float WAV of a sine (`amp` peak) lasting `seconds`.
pub fn tone_file(dir: &Path, name: &str, freq: f64, amp: f64, seconds: f64) -> PathBuf {
    let p = dir.join(name);
    write_wav_f32(&p, 48_000, 2, &sine(48_000, 2, freq, amp, seconds));
    p
}

/// Start recording the null sink's monitor (f32 stereo 48 kHz raw) and wait until the recording
/// stream exists.
pub fn start_recording(out: &Path) -> Child {
    let child = Command::new("parec")
        .args([
            "-d",
            "nullsink.monitor",
            "--latency-msec=20",
            "--format=float32le",
            "--rate=48000",
            "--channels=2",
            "--raw",
        ])
        .arg(out)
        // Not the test's pipes: if the test fails before `stop_recording`, the orphaned parec
        // must not keep the harness's output open.
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("parec runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let o = Command::new("pactl")
            .args(["list", "short", "source-outputs"])
            .output()
            .unwrap();
        if !o.stdout.is_empty() {
            return child;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "parec never connected to the server"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Stop a recording and return its samples.
pub fn stop_recording(mut child: Child, out: &Path) -> Vec<f32> {
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let _ = child.wait();
    read_f32_raw(out)
}

/// Interleaved f32 samples of a raw recording (what there is so far).
pub fn read_f32_raw(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap_or_default()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// An engine on the default device (the PulseAudio server the environment names) with a
/// 1024-frame buffer; fails the test if it fell back to the null output.
pub fn device_engine() -> rusty_audio::engine::Engine {
    use rusty_audio::engine::{Engine, EngineConfig, OutputChoice};
    let e = Engine::start(&EngineConfig {
        output: OutputChoice::Default,
        buffer_frames: Some(1024),
        ..EngineConfig::default()
    })
    .unwrap();
    assert!(
        !e.output_info().is_null,
        "a real device: {:?}",
        e.output_info().fallback_reason
    );
    e
}

/// The summary of a finished `rusty-audio play --json`: it succeeded and played to a real device.
pub fn play_summary(o: &Output) -> serde_json::Value {
    assert!(
        o.status.success(),
        "play failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        summary["null_output"], false,
        "played to a real device: {summary}"
    );
    summary
}

/// Which sound server a `PrivatePulse` runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ServerKind {
    /// A PulseAudio daemon: the app plays on cpal's PulseAudio host.
    PulseAudio,
    /// PipeWire + WirePlumber + pipewire-pulse (scripts/start_sound_server.sh, as `make test`
    /// starts the shared one): the app plays on cpal's PipeWire host.
    PipeWire,
}

/// A throwaway sound server with one null sink, for tests that kill their sound server (the
/// shared one must survive). Dropping it kills the server if still running and removes its
/// runtime directory. Either kind speaks the PulseAudio protocol (`pactl`) at `server`.
pub struct PrivatePulse {
    pub runtime: PathBuf,
    pub server: String,
    pub kind: ServerKind,
}

impl PrivatePulse {
    /// A PulseAudio server.
    pub fn start(tag: &str) -> Self {
        Self::start_kind(tag, ServerKind::PulseAudio)
    }

    pub fn start_kind(tag: &str, kind: ServerKind) -> Self {
        let runtime = PathBuf::from(format!("/tmp/rusty-audio-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&runtime);
        std::fs::create_dir_all(&runtime).unwrap();
        Command::new("chmod")
            .arg("700")
            .arg(&runtime)
            .status()
            .unwrap();
        let p = Self {
            server: format!("unix:{}/pulse/native", runtime.display()),
            runtime,
            kind,
        };
        p.launch();
        p
    }

    /// Start the server again after `kill` (the device "comes back").
    pub fn launch(&self) {
        let mut start = match self.kind {
            ServerKind::PulseAudio => {
                let mut c = Command::new("pulseaudio");
                c.args([
                    "--daemonize=yes",
                    "--exit-idle-time=-1",
                    "--disallow-exit",
                    "-n",
                    "--load=module-native-protocol-unix",
                    "--load=module-null-sink sink_name=private rate=48000 channels=2",
                ]);
                c
            }
            ServerKind::PipeWire => {
                let mut c = Command::new("bash");
                c.arg(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/scripts/start_sound_server.sh"
                ))
                .stdout(Stdio::null());
                c
            }
        };
        self.env(&mut start);
        assert!(
            start.stderr(Stdio::null()).status().unwrap().success(),
            "private {:?} server started",
            self.kind
        );
    }

    /// Point a command at this server.
    pub fn env<'a>(&self, c: &'a mut Command) -> &'a mut Command {
        c.env("XDG_RUNTIME_DIR", &self.runtime)
            .env("PULSE_SERVER", &self.server)
            .env_remove("PIPEWIRE_RUNTIME_DIR")
    }

    /// Whether some client plays into it.
    pub fn has_stream(&self) -> bool {
        let mut q = Command::new("pactl");
        q.args(["list", "short", "sink-inputs"]);
        self.env(&mut q);
        q.output().is_ok_and(|o| !o.stdout.is_empty())
    }

    /// Kill the server (the device "disappears").
    pub fn kill(&self) {
        match self.kind {
            ServerKind::PulseAudio => {
                let mut kill = Command::new("pulseaudio");
                kill.arg("-k");
                self.env(&mut kill);
                assert!(
                    kill.status().unwrap().success(),
                    "private PulseAudio killed"
                );
            }
            ServerKind::PipeWire => {
                let pids = self.pipewire_pids();
                assert!(!pids.is_empty(), "private PipeWire runs");
                for pid in &pids {
                    let _ = Command::new("kill").arg(pid.to_string()).status();
                }
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
                while !self.pipewire_pids().is_empty() {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "PipeWire would not die"
                    );
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
            }
        }
    }

    /// The PipeWire stack's processes (and its private bus) serving this runtime dir.
    fn pipewire_pids(&self) -> Vec<u32> {
        let want = format!("XDG_RUNTIME_DIR={}", self.runtime.display());
        let names = ["pipewire", "wireplumber", "pipewire-pulse", "dbus-daemon"];
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                let state =
                    std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                // A zombie is dead already (its parent has not reaped it).
                names.contains(&comm.trim())
                    && !state
                        .rsplit(')')
                        .next()
                        .unwrap_or("")
                        .trim_start()
                        .starts_with('Z')
                    && std::fs::read(format!("/proc/{pid}/environ"))
                        .unwrap_or_default()
                        .split(|&b| b == 0)
                        .any(|v| v == want.as_bytes())
            })
            .collect()
    }
}

impl Drop for PrivatePulse {
    fn drop(&mut self) {
        match self.kind {
            ServerKind::PulseAudio => {
                let mut kill = Command::new("pulseaudio");
                kill.arg("-k").stderr(Stdio::null());
                self.env(&mut kill);
                let _ = kill.status();
            }
            ServerKind::PipeWire => {
                for pid in self.pipewire_pids() {
                    let _ = Command::new("kill").arg(pid.to_string()).status();
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.runtime);
    }
}

/// Whether `cmd` is on the PATH.
pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1).map(|e| e == "0"))
        .unwrap_or(false)
}

/// `paplay` playing `file` into the test server's default sink (the null sink) until dropped:
/// something "this computer plays", for the input tests to hear on the sink's monitor.
pub fn play_into_sink(file: &Path) -> Killer {
    Killer(
        Command::new("paplay")
            .arg(file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("paplay runs"),
    )
}

/// A child process killed (and reaped) when this is dropped.
pub struct Killer(pub Child);
impl Drop for Killer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Wait until `cond` holds (a condition, not a duration), failing after `secs`.
pub fn wait_for(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Policy field (41) of /proc/self/task/TID/stat: 0 SCHED_OTHER, 1 SCHED_FIFO, 2 SCHED_RR.
pub fn kernel_policy(tid: u32) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat"))
        .expect("the audio thread is alive");
    stat.rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .nth(38)
        .unwrap()
        .parse()
        .unwrap()
}

/// An Xvfb server (1280×900) on a display it picks itself (`-displayfd`: no collision with
/// another test's or a stale lock), ready for clients. Returns it and its `DISPLAY` value.
pub fn start_xvfb() -> (Killer, String) {
    use std::io::BufRead;
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1280x900x24",
            "-nolisten",
            "tcp",
            // Not reset when its last client leaves: the readiness probe below is a client,
            // and an app connecting while the server resets after it is refused ("Failed to
            // open connection to X server", seen 1 run in 10).
            "-noreset",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb runs");
    let mut line = String::new();
    let out = child.stdout.take().expect("Xvfb's stdout");
    let _ = std::io::BufReader::new(out).read_line(&mut line);
    let xvfb = Killer(child);
    let n: u32 = line.trim().parse().expect("Xvfb said its display");
    let display = format!(":{n}");
    wait_for("Xvfb", 20, || {
        Command::new("xdotool")
            .arg("getdisplaygeometry")
            .env("DISPLAY", &display)
            .output()
            .is_ok_and(|o| o.status.success())
    });
    (xvfb, display)
}

/// `dir/name`: interleaved stereo `samples` at `rate` encoded by the real `flac` encoder (16-bit)
/// and tagged by `metaflac` with `tags` ("KEY=VALUE"). Needs flac and metaflac.
pub fn flac_file(dir: &Path, name: &str, rate: u32, samples: &[f32], tags: &[&str]) -> PathBuf {
    let wav = dir.join(format!(".{name}.src.wav"));
    write_wav_i16(&wav, rate, 2, samples);
    let out = dir.join(name);
    let ok = Command::new("flac")
        .args(["-s", "-f", "-o"])
        .arg(&out)
        .arg(&wav)
        .status()
        .unwrap()
        .success();
    assert!(ok, "flac encodes {name}");
    std::fs::remove_file(&wav).unwrap();
    if !tags.is_empty() {
        let mut m = Command::new("metaflac");
        for t in tags {
            m.arg(format!("--set-tag={t}"));
        }
        assert!(
            m.arg(&out).status().unwrap().success(),
            "metaflac tags {name}"
        );
    }
    out
}

/// `rusty-audio render IN... OUT` into `dir` with `args`: the float32 samples written. Measured
/// loudness (untagged inputs with `--replaygain`) goes to the test's own cache (`dir/cache`),
/// never the user's, so a render does not depend on an earlier run.
pub fn render_queue(dir: &Path, out: &str, inputs: &[&Path], args: &[&str]) -> Vec<f32> {
    let out = dir.join(out);
    let o = Command::new(bin())
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .arg("render")
        .args(inputs)
        .arg(&out)
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "render {inputs:?} {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    read_wav_f32(&out)
}

/// Every sample of a float WAV file, interleaved.
pub fn read_wav_f32(path: &Path) -> Vec<f32> {
    hound::WavReader::open(path)
        .unwrap()
        .samples::<f32>()
        .map(Result::unwrap)
        .collect()
}

/// Run the binary with `args`, asking it for its own peak resident set (`RUSTY_AUDIO_PEAK_RSS`:
/// it prints `peak-rss-kib: N` from its VmHWM at exit). Its output, and that peak in MiB. The
/// child reports it because a parent's `wait4`/`getrusage` figure includes the spawning test
/// process's own peak, inherited at exec.
pub fn run_with_peak_rss(args: &[&str]) -> (Output, f64) {
    let o = Command::new(bin())
        .env("RUSTY_AUDIO_PEAK_RSS", "1")
        .args(args)
        .output()
        .unwrap();
    let kib: f64 = String::from_utf8_lossy(&o.stderr)
        .lines()
        .find_map(|l| l.strip_prefix("peak-rss-kib: "))
        .and_then(|v| v.trim().parse().ok())
        .expect("a peak-rss line on stderr");
    (o, kib / 1024.0)
}
