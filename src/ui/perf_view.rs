//! The performance panel (F12): audio-callback time percentiles, DSP load, underruns, callback
//! interval, UI frame time. Everything is read from lock-free histograms and atomics; nothing
//! here can slow the audio thread down.

use std::sync::atomic::Ordering::Relaxed;

use super::app::RustyApp;

fn us(ns: u64) -> String {
    format!("{:.1} µs", ns as f64 / 1000.0)
}

pub fn show(app: &mut RustyApp, ctx: &egui::Context) {
    let mut open = app.show_perf;
    egui::Window::new("Performance")
        .open(&mut open)
        .default_pos([400.0, 120.0])
        .show(ctx, |ui| {
            let t = app.engine.telemetry();
            let cb = t.perf.callback_snapshot();
            let info = app.engine.output_info();
            let frames = t.last_callback_frames.load(Relaxed).max(1);
            let period_ns = 1e9 * f64::from(frames) / f64::from(info.sample_rate.max(1));
            egui::Grid::new("perf_grid")
                .num_columns(2)
                .striped(true)
                .show(ui, |ui| {
                    ui.label("Audio callback p50 / p95 / p99 / max");
                    ui.label(format!(
                        "{} / {} / {} / {}",
                        us(cb.quantile(0.5)),
                        us(cb.quantile(0.95)),
                        us(cb.quantile(0.99)),
                        us(cb.max)
                    ));
                    ui.end_row();
                    ui.label("DSP load (p99 / period)");
                    ui.label(format!(
                        "{:.1} %",
                        100.0 * cb.quantile(0.99) as f64 / period_ns
                    ));
                    ui.end_row();
                    ui.label("Underruns");
                    ui.label(format!("{}", t.underruns.load(Relaxed)));
                    ui.end_row();
                    ui.label("Buffer");
                    ui.label(format!("{frames} frames at {} Hz", info.sample_rate));
                    ui.end_row();
                    let ui_t = app.ui_frame.snapshot();
                    ui.label("UI frame p50 / p99 / max");
                    ui.label(format!(
                        "{} / {} / {}",
                        us(ui_t.quantile(0.5)),
                        us(ui_t.quantile(0.99)),
                        us(ui_t.max)
                    ));
                    ui.end_row();
                });
        });
    app.show_perf = open;
}
