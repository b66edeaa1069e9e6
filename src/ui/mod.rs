//! The desktop app (eframe/egui). The UI thread only talks to the engine through `Engine`'s
//! lock-free handle (commands, settings triple buffer, meter/spectrum snapshots); it never touches
//! the audio device or runs DSP.

pub mod app;
pub mod command;
pub mod dialogs;
pub mod eq_view;
pub mod meters_view;
pub mod notices;
pub mod now_playing;
pub mod perf_view;
pub mod playlist;
pub mod saver;
pub mod scanner;
pub mod settings;
pub mod spectrogram_view;
pub mod spectrum_view;
pub mod transport;

pub use app::RustyApp;

/// Log-frequency axis helpers shared by the spectrum and EQ views (20 Hz – 20 kHz).
pub mod axis {
    pub const F_MIN: f64 = 20.0;
    pub const F_MAX: f64 = 20_000.0;

    /// Frequency → 0..1 across the axis.
    #[must_use]
    pub fn x_of(f: f64) -> f64 {
        (f.max(1.0) / F_MIN).ln() / (F_MAX / F_MIN).ln()
    }

    /// 0..1 across the axis → frequency.
    #[must_use]
    pub fn f_of(x: f64) -> f64 {
        F_MIN * (F_MAX / F_MIN).powf(x)
    }

    pub const GRID_HZ: [f64; 10] = [
        20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10_000.0, 20_000.0,
    ];

    /// About one frequency per pixel across a plot `width` wide (64–1024 points).
    #[must_use]
    pub fn pixel_freqs(width: f32) -> Vec<f64> {
        let n = (width as usize).clamp(64, 1024);
        (0..n).map(|i| f_of(i as f64 / (n - 1) as f64)).collect()
    }

    /// Vertical grid lines with labels at `GRID_HZ`.
    pub fn draw_freq_grid(
        painter: &egui::Painter,
        rect: egui::Rect,
        stroke: egui::Stroke,
        text: egui::Color32,
    ) {
        for f in GRID_HZ {
            let x = rect.left() + rect.width() * x_of(f) as f32;
            painter.line_segment(
                [egui::pos2(x, rect.top()), egui::pos2(x, rect.bottom())],
                stroke,
            );
            backed_text(
                painter,
                egui::pos2(x + 2.0, rect.bottom() - 2.0),
                egui::Align2::LEFT_BOTTOM,
                &label(f),
                text,
            );
        }
    }

    /// An axis label on a dark backdrop, readable over a spectrogram or a busy spectrum.
    pub fn backed_text(
        painter: &egui::Painter,
        pos: egui::Pos2,
        align: egui::Align2,
        text: &str,
        color: egui::Color32,
    ) {
        let galley =
            painter.layout_no_wrap(text.to_owned(), egui::FontId::proportional(10.0), color);
        let r = align.anchor_size(pos, galley.size());
        painter.rect_filled(r.expand(1.0), 2.0, egui::Color32::from_black_alpha(170));
        painter.galley(r.min, galley, color);
    }

    /// A horizontal grid line at `y` with its label.
    pub fn draw_level_line(
        painter: &egui::Painter,
        rect: egui::Rect,
        y: f32,
        text: &str,
        stroke: egui::Stroke,
        color: egui::Color32,
    ) {
        painter.line_segment(
            [egui::pos2(rect.left(), y), egui::pos2(rect.right(), y)],
            stroke,
        );
        backed_text(
            painter,
            egui::pos2(rect.left() + 2.0, y),
            egui::Align2::LEFT_TOP,
            text,
            color,
        );
    }

    #[must_use]
    pub fn label(f: f64) -> String {
        if f >= 1000.0 {
            format!("{}k", f / 1000.0)
        } else {
            format!("{f}")
        }
    }
}

/// A duration as m:ss (playlist column, transport time).
#[must_use]
pub fn mmss(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    format!("{}:{:02}", s / 60, s % 60)
}

/// A track's length: `mmss`, with tenths under ten seconds (a 0.1 s file is not "0:00").
#[must_use]
pub fn length_text(seconds: f64) -> String {
    if seconds > 0.0 && seconds < 10.0 {
        format!("0:{:04.1}", seconds)
    } else {
        mmss(seconds)
    }
}

/// A labelled drop-down that sets `value` to one of `options`, each shown as `name` gives it:
/// the one picker behind the monitor mode, FFT size, window and colour map choices.
pub fn pick<T: PartialEq + Copy>(
    ui: &mut egui::Ui,
    id: &str,
    label: &str,
    value: &mut T,
    options: impl IntoIterator<Item = T>,
    name: impl Fn(T) -> String,
    tip: &str,
) -> egui::Response {
    egui::ComboBox::new(id, label)
        .selected_text(name(*value))
        .show_ui(ui, |ui| {
            for o in options {
                ui.selectable_value(value, o, name(o));
            }
        })
        .response
        .on_hover_text(tip)
}

/// What the command line asks of the app.
pub struct RunOptions {
    pub files: Vec<std::path::PathBuf>,
    pub autoplay: bool,
    /// `--output` when given; otherwise the device saved in the settings.
    pub output: Option<crate::engine::OutputChoice>,
    pub buffer_frames: Option<u32>,
    /// Print frame-time, callback and memory figures as JSON on stdout at exit (for the guide's
    /// measurement script).
    pub stats_on_exit: bool,
    /// `--play`: when handing the files to a running instance, start the first of them.
    pub play: bool,
    /// `--new-window`: do not hand over to a running instance (and do not become the one others
    /// hand over to).
    pub new_window: bool,
    /// `--renderer glow|wgpu` (None: `RUSTY_AUDIO_RENDERER`, else glow).
    pub renderer: Option<String>,
}

/// The renderer `name` asks for (`glow`/`opengl`, `wgpu`); None when it names neither.
#[must_use]
pub fn renderer_named(name: &str) -> Option<eframe::Renderer> {
    match name.trim().to_ascii_lowercase().as_str() {
        "glow" | "opengl" | "gl" => Some(eframe::Renderer::Glow),
        "wgpu" => Some(eframe::Renderer::Wgpu),
        _ => None,
    }
}

/// Run the desktop app; returns the process exit code.
pub fn run(opts: RunOptions) -> i32 {
    use crate::desktop::instance;
    use crate::engine::{Engine, EngineConfig, OutputChoice};
    // One instance per user: a running one takes the files (and comes to the front).
    let mut desktop = app::Desktop::new();
    if !opts.new_window {
        let socket = instance::socket_path();
        match instance::hand_over(&socket, &opts.files, opts.play) {
            Ok(true) => return 0,
            Ok(false) => {}
            Err(why) => eprintln!("rusty-audio: {why}; opening a window of its own"),
        }
        if let Err(why) = desktop.listen(&socket) {
            // Another instance started in the same moment and won: hand over to it.
            match instance::hand_over(&socket, &opts.files, opts.play) {
                Ok(true) => return 0,
                _ => eprintln!("rusty-audio: {why}; a second instance will open its own window"),
            }
        }
    }
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        eprintln!(
            "rusty-audio: no display (neither DISPLAY nor WAYLAND_DISPLAY is set). Headless use: \
             `rusty-audio play FILE…` to listen, `rusty-audio analyze FILE…` to measure."
        );
        return 1;
    }
    let mut store = settings::Store::in_memory();
    store.dir = settings::default_dir();
    let (mut saved, mut warning) = store.load();
    let output = opts
        .output
        .clone()
        .unwrap_or_else(|| settings::output_choice(saved.output_device.as_deref()));
    if opts.output.is_some() {
        saved.output_device = settings::saved_output(&output);
    }
    if opts.buffer_frames.is_some() {
        saved.buffer_frames = opts.buffer_frames;
    }
    let mut cfg = EngineConfig {
        output,
        buffer_frames: saved.buffer_frames,
        dsp: saved.dsp,
        volume: settings::volume_gain(saved.volume_db),
        ..EngineConfig::default()
    };
    let engine = match Engine::start(&cfg) {
        Ok(e) => e,
        Err(e) if opts.output.is_none() => {
            // The saved device is gone (unplugged): the default one, and say so.
            warning = Some(format!("{e}; using the default output"));
            saved.output_device = None;
            cfg.output = OutputChoice::Default;
            match Engine::start(&cfg) {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("rusty-audio: {e}");
                    return 1;
                }
            }
        }
        Err(e) => {
            eprintln!("rusty-audio: {e}");
            return 1;
        }
    };
    let renderer_choice = opts
        .renderer
        .clone()
        .or_else(|| std::env::var("RUSTY_AUDIO_RENDERER").ok());
    let renderer = match renderer_choice.as_deref().map(|n| (n, renderer_named(n))) {
        None => eframe::Renderer::Glow,
        Some((_, Some(r))) => r,
        Some((n, None)) => {
            eprintln!("rusty-audio: no renderer {n:?} (glow or wgpu)");
            return 2;
        }
    };
    let size = saved.layout.window.unwrap_or([1280.0, 820.0]);
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_inner_size([size[0].clamp(640.0, 8000.0), size[1].clamp(480.0, 8000.0)])
            .with_min_inner_size([640.0, 480.0])
            .with_title("Rusty Audio")
            // Matches the installed desktop entry: the desktop shows its icon and name for the
            // window (Wayland app id, X11 WM_CLASS).
            .with_app_id(crate::desktop::APP_ID)
            .with_drag_and_drop(true),
        renderer,
        ..Default::default()
    };
    let start = app::Startup {
        files: opts.files,
        autoplay: opts.autoplay,
        store,
        settings: saved,
        warning,
    };
    let result = eframe::run_native(
        "rusty-audio",
        options,
        Box::new(move |cc| {
            let mut app = RustyApp::build(engine, start);
            app.print_stats_on_exit = opts.stats_on_exit;
            desktop.attach(&mut app, &cc.egui_ctx, true);
            Ok(Box::new(app))
        }),
    );
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("rusty-audio: cannot open a window ({e}). Headless use: `rusty-audio play` / `analyze`.");
            1
        }
    }
}
