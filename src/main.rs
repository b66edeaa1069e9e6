//! `rusty-audio`: the command-line entry. See DESIGN §3 / README for the contract.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use rusty_audio::cli;
use rusty_audio::engine::OutputChoice;

#[derive(Parser)]
#[command(
    name = "rusty-audio",
    version,
    about = "Audio player and real-time analyzer"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// Files or folders to queue and play (the bundled demo when none are given).
    files: Vec<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
    /// Queue the files but do not start playing.
    #[arg(long)]
    no_autoplay: bool,
    /// With the app already running: start the first of the files handed to it (they are
    /// appended to its playlist either way).
    #[arg(long)]
    play: bool,
    /// Open a window of its own even when the app is already running.
    #[arg(long)]
    new_window: bool,
    /// How the window is drawn: `glow` (OpenGL, the default: lightest, also in software
    /// rendering) or `wgpu` (Vulkan/GL through wgpu). Also `RUSTY_AUDIO_RENDERER`.
    #[arg(long, value_name = "glow|wgpu")]
    renderer: Option<String>,
    /// Print UI frame time, callback time and memory as JSON when the window closes.
    #[arg(long, hide = true)]
    stats_on_exit: bool,
}

#[derive(Args, Clone)]
struct OutputArgs {
    /// Output: `default`, `null` (no device, real-time pacing), a device name from `devices`, or
    /// `HOST:DEVICE` for another audio host's device (`pulseaudio:default`, `alsa:hw:CARD=PCH,DEV=0`).
    /// The app remembers its last choice when this is not given.
    #[arg(long, global = true)]
    output: Option<String>,
    /// Frames per audio callback (device default when omitted).
    #[arg(long, value_name = "FRAMES", global = true)]
    buffer: Option<u32>,
    /// Audio host: `default` (PipeWire where it runs, else PulseAudio, else ALSA), `pipewire`,
    /// `pulse` or `alsa`. Also `RUSTY_AUDIO_HOST`.
    #[arg(long, value_name = "HOST", global = true)]
    host: Option<String>,
}

/// `listen --seconds`: a finite duration above zero.
fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{s:?}: give a number of seconds above 0")),
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Play files headless, in order and gapless, then print a summary.
    Play {
        /// Print the summary as one JSON object on stdout.
        #[arg(long)]
        json: bool,
        /// Playback volume in dB (0 = unity).
        #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
        volume: f32,
        #[command(flatten)]
        dsp: cli::dsp_args::DspArgs,
        /// Limiter ceiling in dBFS (the limiter is on in playback; `off` disables it).
        #[arg(
            long,
            default_value = "-0.3",
            allow_negative_numbers = true,
            value_name = "CEILING_DBFS|off"
        )]
        limit: String,
        /// What to hear: stereo, mono, left, right, mid, side or swap.
        #[arg(long, default_value = "stereo")]
        monitor: String,
        #[command(flatten)]
        gain: cli::gain_args::GainArgs,
        #[command(flatten)]
        queue: cli::queue_args::QueueArgs,
        #[command(flatten)]
        order: cli::queue_args::OrderArgs,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// ReplayGain 2.0 track and album gain and peak (−18 LUFS), measured (JSON Lines with --json).
    Scan {
        #[arg(long)]
        json: bool,
        /// Write the values into each file's tags (REPLAYGAIN_* in its native tag format). The
        /// tagged copy must decode to the same audio before it replaces the file.
        #[arg(long)]
        write_tags: bool,
        /// Files or folders (albums: album + album-artist tags, else the folder).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// The playlist entries the app would show: one per file, one per cue-sheet track (--json:
    /// one array).
    List {
        #[arg(long)]
        json: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Decode files and report format and levels (JSON Lines with --json).
    Analyze {
        #[arg(long)]
        json: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Render files (a queue: gapless, normalized as playback plays it) through the playback
    /// chain (EQ, gain, limiter) to one WAV file.
    Render {
        /// The inputs (files or folders, played in order), then the WAV file to write.
        #[arg(value_name = "IN... OUT.wav", num_args = 2.., required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        dsp: cli::dsp_args::DspArgs,
        #[command(flatten)]
        normalization: cli::gain_args::GainArgs,
        #[command(flatten)]
        queue: cli::queue_args::QueueArgs,
        /// Gain after the EQ, in dB.
        #[arg(
            long,
            default_value_t = 0.0,
            allow_negative_numbers = true,
            value_name = "DB"
        )]
        gain: f64,
        /// Enable the lookahead limiter with this ceiling (dBFS, e.g. -1).
        #[arg(long, allow_negative_numbers = true, value_name = "CEILING_DBFS")]
        limit: Option<f64>,
        /// Output sample rate (resampled with rubato); default: the input's.
        #[arg(long, value_name = "HZ")]
        rate: Option<u32>,
        /// 16 or 24 (integer, TPDF dither) or 32 (float).
        #[arg(long, default_value_t = 32)]
        bits: u16,
        /// Frames per render block (the output does not depend on it; for testing).
        #[arg(long, default_value_t = 4096, hide = true)]
        block: usize,
    },
    /// List output devices and their supported configurations, and each host's inputs.
    Devices,
    /// Analyze a live input (a microphone, a line-in, or what this computer plays): live meters
    /// on stderr, then a summary (one JSON object with --json).
    Listen {
        /// `default`, `monitor` (what this computer plays: the default output's monitor), or an
        /// input's name or id from `devices`.
        #[arg(long, default_value = "default", value_name = "DEVICE")]
        input: String,
        /// Stop after this many seconds of audio (default: at Ctrl-C).
        #[arg(long, value_name = "N", value_parser = positive_seconds)]
        seconds: Option<f64>,
        /// Print the summary as one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Benchmark the real code paths on this machine (callback chain, EQ, spectrum, kernels).
    Bench {
        #[arg(long)]
        json: bool,
        /// Few iterations: a smoke run, not a measurement.
        #[arg(long)]
        quick: bool,
    },
    /// Write a dated Markdown performance report: `bench` figures, criterion estimates and the
    /// peer comparison (what run_performance_analysis.ps1 / scripts/performance_analysis.sh call).
    Report {
        /// Report file to write.
        #[arg(long, default_value = "performance-report.md")]
        out: PathBuf,
        /// Where `cargo bench` left criterion's results.
        #[arg(long, default_value = "target/criterion")]
        criterion: PathBuf,
        /// Markdown written by scripts/compare_peers.sh, to include.
        #[arg(long)]
        peers: Option<PathBuf>,
        /// Few iterations: a smoke run, not a measurement.
        #[arg(long)]
        quick: bool,
    },
}

fn play_dsp(
    args: &cli::dsp_args::DspArgs,
    limit: &str,
    monitor: &str,
) -> Result<rusty_audio::dsp::chain::DspSettings, String> {
    use rusty_audio::dsp::monitor_mode::MonitorMode;
    let mut s = args.settings()?;
    s.monitor = MonitorMode::ALL
        .into_iter()
        .find(|m| format!("{m:?}").eq_ignore_ascii_case(monitor))
        .ok_or_else(|| {
            format!("--monitor {monitor:?}: one of stereo, mono, left, right, mid, side, swap")
        })?;
    if limit.eq_ignore_ascii_case("off") {
        s.limiter.enabled = false;
    } else {
        let c: f64 = limit
            .parse()
            .map_err(|_| format!("--limit {limit:?}: a ceiling in dBFS or `off`"))?;
        if !c.is_finite() || c > 0.0 {
            return Err(format!("--limit {c}: the ceiling is in dBFS, ≤ 0"));
        }
        s.limiter.ceiling_dbfs = c;
    }
    Ok(s)
}

fn main() {
    // Before any thread exists (setting the environment later would race other threads' reads).
    rusty_audio::engine::output::configure_pipewire_client();
    std::panic::set_hook(Box::new(|info| {
        // A panic inside a codec on a hostile file is reported as that file's decode error.
        if rusty_audio::decode::guard::is_contained() {
            if let Some(loc) = info.location() {
                rusty_audio::decode::guard::note_location(loc);
                // In a codec it is about the file; in our own code it is still our bug, and
                // says so (the file's error follows).
                if !loc.file().starts_with("src/") {
                    return;
                }
            } else {
                return;
            }
        }
        // A panic is a bug; say so in one line rather than a trace (RUST_BACKTRACE still works).
        eprintln!("rusty-audio: internal error: {info}");
    }));
    let cli = Cli::parse();
    if cli.command.is_none() {
        // SAFETY: still one thread — nothing above starts any (configure_pipewire_client only
        // sets an environment variable; the panic hook and clap run on this thread).
        unsafe { rusty_audio::ui::keep_freed_heap() };
    }
    if let Some(h) = &cli.output.host {
        if let Err(e) = rusty_audio::engine::output::choose_host(h) {
            eprintln!("rusty-audio: --host: {e}");
            std::process::exit(2);
        }
    }
    let output: OutputChoice = cli
        .output
        .output
        .as_deref()
        .unwrap_or("default")
        .parse()
        .unwrap_or(OutputChoice::Default);
    let code = match cli.command {
        Some(Cmd::Play {
            json,
            volume,
            dsp,
            limit,
            monitor,
            gain,
            queue,
            order,
            files,
        }) => match play_dsp(&dsp, &limit, &monitor)
            .and_then(|d| Ok((d, gain.settings()?, queue.crossfade()?)))
        {
            Ok((dsp, gain, crossfade)) => cli::play::run(cli::play::PlayOptions {
                output,
                buffer_frames: cli.output.buffer,
                volume_db: volume,
                json,
                files,
                dsp,
                gain,
                crossfade,
                repeat: order.repeat,
                shuffle: order.shuffle,
            }),
            Err(e) => {
                eprintln!("rusty-audio: {e}");
                2
            }
        },
        Some(Cmd::Analyze { json, files }) => cli::analyze::run(&files, json),
        Some(Cmd::List { json, files }) => cli::list::run(&files, json),
        Some(Cmd::Scan {
            json,
            write_tags,
            files,
        }) => cli::scan::run(&files, json, write_tags),
        Some(Cmd::Render {
            mut paths,
            dsp,
            normalization,
            queue,
            gain,
            limit,
            rate,
            bits,
            block,
        }) => match normalization
            .settings()
            .and_then(|n| Ok((n, queue.crossfade()?)))
        {
            Ok((normalization, crossfade)) => cli::render::run(&cli::render::RenderOptions {
                output: paths.pop().expect("clap requires two paths"),
                inputs: paths,
                dsp,
                normalization,
                crossfade,
                gain_db: gain,
                limit_dbfs: limit,
                rate,
                bits,
                block,
            }),
            Err(e) => {
                eprintln!("rusty-audio: {e}");
                2
            }
        },
        Some(Cmd::Devices) => cli::devices::run(),
        Some(Cmd::Listen {
            input,
            seconds,
            json,
        }) => cli::listen::run(&cli::listen::ListenOptions {
            input: input
                .parse()
                .unwrap_or(rusty_audio::engine::input::InputChoice::Default),
            seconds,
            json,
        }),
        Some(Cmd::Bench { json, quick }) => cli::bench::run(json, quick),
        Some(Cmd::Report {
            out,
            criterion,
            peers,
            quick,
        }) => cli::report::run(&cli::report::ReportOptions {
            out,
            criterion_dir: criterion,
            peers,
            quick,
        }),
        None => {
            // The desktop app (a clear message pointing to play/analyze when there is no display).
            rusty_audio::ui::run(rusty_audio::ui::RunOptions {
                files: cli.files,
                autoplay: !cli.no_autoplay,
                output: cli.output.output.is_some().then_some(output),
                buffer_frames: cli.output.buffer,
                stats_on_exit: cli.stats_on_exit,
                play: cli.play,
                new_window: cli.new_window,
                renderer: cli.renderer,
            })
        }
    };
    if std::env::var_os("RUSTY_AUDIO_PEAK_RSS").is_some() {
        // For memory tests: this process's own peak (VmHWM starts afresh at exec, unlike a
        // parent's view of a child through wait4, which inherits the spawner's peak).
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0);
        eprintln!("peak-rss-kib: {kib}");
    }
    std::process::exit(code);
}
