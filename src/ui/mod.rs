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
pub mod waveform;

pub use app::RustyApp;

pub mod axis;

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
/// The panels' fill in a theme: the window is cleared to it instead (`eframe::App::clear_color`).
#[must_use]
pub fn panel_colour(dark: bool) -> egui::Color32 {
    if dark {
        egui::Visuals::dark().panel_fill
    } else {
        egui::Visuals::light().panel_fill
    }
}

/// Panels without a fill of their own, over a window cleared to their colour: the same picture,
/// but a software renderer (llvmpipe) then shades only the widgets, lines and text each frame,
/// not every pixel of the window once more — about a third of a core at 1280×800 and 30 frames
/// a second (PERFORMANCE_GUIDE.md, "desktop app").
///
/// On a software renderer, also no anti-aliasing: egui anti-aliases each stroke and fill with a
/// feathered edge, three to six triangles per segment of a curve, and there the triangles are
/// most of what a frame costs (a tenth of a core with every view visible). A GPU draws them for
/// free, so it keeps them. (A software renderer also scrolls a wheel notch in one frame:
/// `app/wheel.rs`.)
pub fn paint_light(ctx: &egui::Context, software: bool) {
    ctx.all_styles_mut(|s| s.visuals.panel_fill = egui::Color32::TRANSPARENT);
    if software {
        ctx.tessellation_options_mut(|t| t.feathering = false);
    }
}

/// The renderer's name, and whether it is a CPU rasteriser (Mesa's llvmpipe/softpipe/swrast,
/// wgpu's CPU adapter: a VM, a remote desktop, a machine without GPU drivers).
fn renderer_of(cc: &eframe::CreationContext<'_>) -> (String, bool) {
    if let Some(gl) = &cc.gl {
        use eframe::glow::HasContext as _;
        // SAFETY: eframe calls the app creator with its GL context current on this thread, and
        // GL_RENDERER is a valid string query on every GL and GLES version.
        let name = unsafe { gl.get_parameter_string(eframe::glow::RENDERER) };
        let lower = name.to_lowercase();
        let software = ["llvmpipe", "softpipe", "swrast", "software"]
            .iter()
            .any(|s| lower.contains(s));
        return (format!("glow · {name}"), software);
    }
    if let Some(rs) = &cc.wgpu_render_state {
        let info = rs.adapter.get_info();
        let software = info.device_type == eframe::wgpu::DeviceType::Cpu;
        return (format!("wgpu · {}", info.name), software);
    }
    ("unknown".into(), false)
}

/// glibc hands freed memory at the top of the heap back to the kernel once more than 128 KiB of
/// it is free (the threshold grows only with freed `mmap` chunks), and takes it back with fresh,
/// zeroed pages at the next allocation. A window frees and allocates megabytes per frame (vertex
/// buffers, Mesa's copies of them on a software renderer), so each frame paid a few thousand page
/// faults: ~4 % of a core at 23 frames a second (PERFORMANCE_GUIDE.md, "desktop app"). Up to
/// 64 MiB stay in the heap instead.
///
/// # Safety
/// Call while the process has one thread: glibc marks `mallopt` MT-unsafe.
pub unsafe fn keep_freed_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt takes two integers and only sets allocator parameters; the caller
    // guarantees there is no other thread.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 16 << 20);
    }
}

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
        gain: saved.normalization,
        crossfade: saved.crossfade,
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
        // Dithering adds noise per pixel in the fragment shader: ~10 % of a core on a software
        // renderer for banding nobody sees in this dark UI's flat colours and thin lines.
        dithering: false,
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
            let (renderer, software) = renderer_of(cc);
            paint_light(&cc.egui_ctx, software);
            let mut app = RustyApp::build(engine, start);
            app.perf.renderer = if software {
                format!("{renderer} (software: no anti-aliasing)")
            } else {
                renderer
            };
            app.print_stats_on_exit = opts.stats_on_exit;
            app.instant_wheel = software;
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
