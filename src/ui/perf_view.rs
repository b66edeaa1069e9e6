//! The performance panel (F12 or the toolbar's "Performance"): audio-callback time percentiles,
//! DSP load, underruns, callback interval jitter, buffer/rate/device, estimated output latency,
//! process CPU and memory, UI frame time, and the last minute as plots, with an alert when the
//! load passes 80 % or an underrun happens. Everything is read from lock-free histograms and
//! atomics; nothing here can slow the audio thread down.

use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use super::app::RustyApp;
use crate::perf::history::{History, Point, LOAD_ALERT};
use crate::perf::process::{self, ProcessSample};

/// Once-a-second sampling into the history (runs whether or not the panel is open, so the
/// alert can show in the main window).
#[derive(Default)]
pub struct PerfState {
    pub history: History,
    last: Option<(Instant, ProcessSample)>,
    pub cpu_percent: f64,
    pub process: ProcessSample,
    /// What draws the window (set by `ui::run`; empty in tests).
    pub renderer: String,
}

impl PerfState {
    pub fn tick(&mut self, app_ui: &crate::perf::Histogram, engine: &crate::engine::Engine) {
        let now = Instant::now();
        if self
            .last
            .as_ref()
            .is_some_and(|(t, _)| now.duration_since(*t) < Duration::from_secs(1))
        {
            return;
        }
        let p = process::sample();
        if let Some((t, prev)) = &self.last {
            self.cpu_percent =
                process::cpu_percent(prev, &p, now.duration_since(*t).as_secs_f64()).unwrap_or(0.0);
            let t = engine.telemetry();
            self.history.push(
                t.perf.callback_snapshot(),
                app_ui.snapshot(),
                t.underruns.load(Relaxed),
                period_ns(engine),
                self.cpu_percent,
                p.rss_anon_kib.unwrap_or(0) as f64 / 1024.0,
            );
        }
        self.process = p;
        self.last = Some((now, p));
    }
}

fn period_ns(engine: &crate::engine::Engine) -> f64 {
    let t = engine.telemetry();
    let info = engine.output_info();
    let frames = t.last_callback_frames.load(Relaxed).max(1);
    1e9 * f64::from(frames) / f64::from(info.sample_rate.max(1))
}

fn us(ns: u64) -> String {
    format!("{:.1} µs", ns as f64 / 1000.0)
}

/// "p50 / p99 / max" of a histogram, in µs.
fn p50_p99_max(h: &crate::perf::histogram::HistogramSnapshot) -> String {
    format!(
        "{} / {} / {}",
        us(h.quantile(0.5)),
        us(h.quantile(0.99)),
        us(h.max)
    )
}

/// A small line plot of the last minute; `limit` draws a dashed reference (budget) line.
fn plot(
    ui: &mut egui::Ui,
    title: &str,
    points: &[Point],
    value: impl Fn(&Point) -> f64,
    limit: Option<f64>,
    unit: &str,
) {
    let latest = points.last().map_or(0.0, &value);
    ui.label(format!("{title}: {latest:.1} {unit}"));
    let (rect, _) = ui.allocate_exact_size(
        egui::vec2(ui.available_width().min(360.0), 48.0),
        egui::Sense::hover(),
    );
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, egui::Color32::from_gray(20));
    let top = points
        .iter()
        .map(&value)
        .fold(limit.unwrap_or(0.0), f64::max)
        .max(1e-9)
        * 1.1;
    let y = |v: f64| rect.bottom() - rect.height() * (v / top).clamp(0.0, 1.0) as f32;
    if let Some(l) = limit {
        painter.add(egui::Shape::dashed_line(
            &[
                egui::pos2(rect.left(), y(l)),
                egui::pos2(rect.right(), y(l)),
            ],
            egui::Stroke::new(1.0, egui::Color32::from_rgb(200, 80, 80)),
            4.0,
            4.0,
        ));
    }
    let n = crate::perf::history::POINTS as f32;
    let line: Vec<egui::Pos2> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let x = rect.right() - rect.width() * (points.len() - 1 - i) as f32 / (n - 1.0);
            egui::pos2(x, y(value(p)))
        })
        .collect();
    if line.len() > 1 {
        painter.add(egui::Shape::line(
            line,
            egui::Stroke::new(1.5, egui::Color32::from_rgb(90, 180, 255)),
        ));
    }
}

pub fn show(app: &mut RustyApp, ctx: &egui::Context) {
    let mut open = app.show_perf;
    let mut reset = false;
    egui::Window::new("Performance")
        .open(&mut open)
        .default_pos([420.0, 100.0])
        .resizable(false)
        .show(ctx, |ui| {
            if let Some(a) = app.perf.history.alert() {
                ui.colored_label(egui::Color32::from_rgb(240, 80, 80), format!("Alert: {a}"));
            }
            let t = app.engine.telemetry();
            let cb = t.perf.callback_snapshot();
            let iv = t.perf.interval_ns.snapshot();
            let info = app.engine.output_info();
            let frames = t.last_callback_frames.load(Relaxed).max(1);
            let period = period_ns(&app.engine);
            egui::Grid::new("perf_grid")
                .num_columns(2)
                .striped(true)
                .show(ui, |ui| {
                    ui.label("Callback p50 / p95 / p99 / p99.9 / max");
                    ui.label(format!(
                        "{} / {} / {} / {} / {}",
                        us(cb.quantile(0.5)),
                        us(cb.quantile(0.95)),
                        us(cb.quantile(0.99)),
                        us(cb.quantile(0.999)),
                        us(cb.max)
                    ));
                    ui.end_row();
                    ui.label("DSP load (p99 / worst, of the period)");
                    let load = |ns: u64| 100.0 * ns as f64 / period;
                    ui.label(format!(
                        "{:.1} % / {:.1} %",
                        load(cb.quantile(0.99)),
                        load(cb.max)
                    ))
                    .on_hover_text(format!("Alert above {:.0} %", LOAD_ALERT * 100.0));
                    ui.end_row();
                    ui.label("Underruns");
                    let n = t.underruns.load(Relaxed);
                    let last = if n == 0 {
                        String::new()
                    } else {
                        let ago = (t.frames_played.load(Relaxed)
                            - t.last_underrun_at
                                .load(Relaxed)
                                .min(t.frames_played.load(Relaxed)))
                            as f64
                            / f64::from(info.sample_rate.max(1));
                        format!(", last {ago:.0} s of audio ago")
                    };
                    ui.label(format!("{n}{last}"))
                        .on_hover_text("Our ring ran dry while a track was playing");
                    ui.end_row();
                    ui.label("Device xruns");
                    ui.label(format!("{}", t.xruns.load(Relaxed))).on_hover_text(
                        "The device ran dry (the host reported an underrun): a callback came late",
                    );
                    ui.end_row();
                    ui.label("Audio thread");
                    let th = t.audio_thread.get();
                    ui.label(if th.tid == 0 {
                        format!("{} host, not started", info.host)
                    } else if th.policy.is_realtime() {
                        format!(
                            "{} host, tid {}, {} priority {}{}",
                            info.host,
                            th.tid,
                            th.policy.name(),
                            th.priority,
                            if th.by_rtkit { " (rtkit)" } else { "" }
                        )
                    } else {
                        format!(
                            "{} host, tid {}, {} (real-time refused)",
                            info.host,
                            th.tid,
                            th.policy.name()
                        )
                    })
                    .on_hover_text(th.refusal("the audio thread").unwrap_or_default());
                    ui.end_row();
                    ui.label("Callback interval p50 / p99 / max");
                    ui.label(format!(
                        "{} / {} / {} (jitter {})",
                        us(iv.quantile(0.5)),
                        us(iv.quantile(0.99)),
                        us(iv.max),
                        us(iv.quantile(0.99).saturating_sub(iv.quantile(0.5)))
                    ));
                    ui.end_row();
                    ui.label("Buffer / rate / device");
                    ui.label(format!(
                        "{frames} frames ({:.2} ms) / {} Hz / {}",
                        period / 1e6,
                        info.sample_rate,
                        info.device
                    ));
                    ui.end_row();
                    ui.label("Output latency (estimate)");
                    let host = t.device_latency_ns.load(Relaxed);
                    ui.label(if host > 0 {
                        format!("{:.1} ms (host: callback to DAC)", host as f64 / 1e6)
                    } else {
                        format!(
                            "{:.1} ms (one buffer; host gives no timestamp)",
                            period / 1e6
                        )
                    });
                    ui.end_row();
                    if let Some(c) = &app.input {
                        // The analyzed input's own callback (issue 16): its thread and time.
                        let it = &c.telemetry;
                        let icb = it.perf.callback_snapshot();
                        let th = it.thread.get();
                        ui.label("Input callback p50 / p99 / max");
                        ui.label(p50_p99_max(&icb));
                        ui.end_row();
                        ui.label("Input");
                        ui.label(format!(
                            "{} ({} host, {} Hz, {} ch), thread {} {}{}, {} overrun(s)",
                            c.info.device,
                            c.info.host,
                            c.info.sample_rate,
                            c.info.channels,
                            th.tid,
                            th.policy.name(),
                            if th.by_rtkit {
                                " (rtkit)"
                            } else if th.refused_errno.is_some() {
                                " (real-time refused)"
                            } else {
                                ""
                            },
                            it.overruns.load(Relaxed)
                        ))
                        .on_hover_text(format!(
                            "Overruns: the host lost input, or the analysis fell behind \
                             (dropped, never waited for). {}",
                            th.refusal("the input thread").unwrap_or_default()
                        ));
                        ui.end_row();
                    }
                    ui.label("Last play/seek");
                    ui.label(match t.last_jump_latency() {
                        Some(d) => format!(
                            "{:.1} ms from the command to its first frame at the device (plus output latency)",
                            d.as_secs_f64() * 1e3
                        ),
                        None => "–".into(),
                    });
                    ui.end_row();
                    ui.label("Process CPU / RssAnon");
                    ui.label(format!(
                        "{:.1} % of a core / {:.1} MiB",
                        app.perf.cpu_percent,
                        app.perf.process.rss_anon_kib.unwrap_or(0) as f64 / 1024.0
                    ));
                    ui.end_row();
                    ui.label("Renderer");
                    ui.label(&app.perf.renderer);
                    ui.end_row();
                    let ui_t = app.ui_frame.snapshot();
                    ui.label("UI frame p50 / p99 / max");
                    ui.label(p50_p99_max(&ui_t));
                    ui.end_row();
                });
            ui.separator();
            ui.weak("Last minute, one point per second");
            let pts: Vec<Point> = app.perf.history.points.iter().copied().collect();
            plot(
                ui,
                "Callback worst",
                &pts,
                |p| p.callback_max_us,
                Some(period / 1e3),
                "µs",
            );
            plot(
                ui,
                "DSP load worst",
                &pts,
                |p| p.load * 100.0,
                Some(LOAD_ALERT * 100.0),
                "%",
            );
            plot(
                ui,
                "UI frame p99",
                &pts,
                |p| p.ui_p99_us / 1e3,
                Some(2.0),
                "ms",
            );
            plot(ui, "Process CPU", &pts, |p| p.cpu_percent, None, "%");
            plot(ui, "RssAnon", &pts, |p| p.rss_anon_mib, Some(60.0), "MiB");
            if ui
                .button("Reset")
                .on_hover_text("Clear all statistics")
                .clicked()
            {
                reset = true;
            }
        });
    if reset {
        app.engine.telemetry().perf.reset();
        app.engine.telemetry().underruns.store(0, Relaxed);
        app.engine.telemetry().xruns.store(0, Relaxed);
        app.ui_frame.reset();
        app.ui_frame_playing.reset();
        app.ui_frame_playing_cpu.reset();
        app.perf.history.reset();
    }
    app.show_perf = open;
}
