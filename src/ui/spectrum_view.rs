//! Spectrum: log frequency axis, dBFS, live spectrum, peak hold and (optionally) the EQ curve.
//! The analyzer already reduces to ≤ 512 log bins (about one point per pixel), so drawing is one
//! polyline per trace.

use super::app::RustyApp;
use super::axis;
use crate::analysis::spectrum::SpectrumConfig;
use crate::analysis::window::WindowKind;

const DB_MIN: f32 = -120.0;
const DB_MAX: f32 = 0.0;

pub fn show(app: &mut RustyApp, ui: &mut egui::Ui, height: f32) {
    // Settings row.
    let mut cfg: SpectrumConfig = app.spectrum_config();
    ui.horizontal_wrapped(|ui| {
        super::pick(
            ui,
            "fft_size",
            "FFT size",
            &mut cfg.size,
            [1024, 2048, 4096, 8192, 16_384],
            |s| format!("{s}"),
            "FFT size: larger = finer frequency resolution, slower response",
        );
        super::pick(
            ui,
            "window",
            "Window",
            &mut cfg.window,
            WindowKind::ALL,
            |w| w.label().into(),
            "Analysis window",
        );
    });
    if cfg != app.spectrum_config() {
        app.set_spectrum_config(cfg);
    }
    let width = ui.available_width();
    let (rect, _) = ui.allocate_exact_size(
        egui::vec2(width, (height - 30.0).max(80.0)),
        egui::Sense::hover(),
    );
    let painter = ui.painter_at(rect);
    // Outlined, not filled: a fill is shaded pixel by pixel every frame, which on a software
    // renderer costs more than everything drawn on it (see `ui::paint_light`).
    axis::frame(&painter, rect);
    let to_x = |f: f64| rect.left() + rect.width() * axis::x_of(f) as f32;
    let to_y = |d: f32| {
        rect.top() + rect.height() * ((DB_MAX - d.clamp(DB_MIN, DB_MAX)) / (DB_MAX - DB_MIN))
    };
    let grid = egui::Color32::from_gray(45);
    let text = egui::Color32::from_gray(140);
    axis::draw_freq_grid(&painter, rect, grid, text);
    // A label every 20 dB, or every 40 dB when the view is too short for their text.
    let step = if to_y(-20.0) - to_y(0.0) >= 16.0 {
        20
    } else {
        40
    };
    for d in (-120..=0).rev().step_by(step) {
        axis::draw_level_line(
            &painter,
            rect,
            to_y(d as f32),
            &format!("{d} dB"),
            grid,
            text,
        );
    }
    let frame = app.spectrum();
    // What the view shows, for `--stats-on-exit` (a real-window test reads where it peaks).
    app.drawn_spectrum_peak_hz = frame.loudest_hz();
    let pts = |vals: &[f32]| -> Vec<egui::Pos2> {
        frame
            .freqs()
            .iter()
            .zip(vals)
            .map(|(&f, &d)| egui::pos2(to_x(f64::from(f)), to_y(d)))
            .collect()
    };
    if frame.seq > 0 {
        painter.add(egui::Shape::line(
            pts(frame.peak_db()),
            egui::Stroke::new(1.0, egui::Color32::from_rgb(200, 120, 60)),
        ));
        painter.add(egui::Shape::line(
            pts(frame.db()),
            egui::Stroke::new(1.5, egui::Color32::from_rgb(90, 180, 255)),
        ));
    }
    // The EQ shapes what the player plays, not an input: its curve over an input's spectrum
    // would read as if it applied there.
    if app.eq_overlay && !app.analyzing_input() {
        let fs = app.engine.output_info().sample_rate;
        let eq = app.engine.dsp().eq;
        let (freqs, resp) = app.eq_responses.overlay.get(&eq, fs, rect.width());
        // EQ curve on the same axis, 0 dB of the EQ drawn at −30 dBFS, ±24 dB over 48 dB of the axis.
        let y0 = to_y(-30.0);
        let scale = rect.height() / (DB_MAX - DB_MIN);
        let line: Vec<egui::Pos2> = freqs
            .iter()
            .zip(resp)
            .map(|(&f, &r)| egui::pos2(to_x(f), y0 - r as f32 * scale))
            .collect();
        painter.add(egui::Shape::line(
            line,
            egui::Stroke::new(1.0, egui::Color32::from_rgb(120, 220, 120)),
        ));
        // The curve's own scale, on the right: its 0 dB and ±12 dB.
        for g in [12.0f32, 0.0, -12.0] {
            axis::backed_text(
                &painter,
                egui::pos2(rect.right() - 2.0, y0 - g * scale),
                egui::Align2::RIGHT_CENTER,
                &format!("EQ {g:+}"),
                egui::Color32::from_rgb(120, 220, 120),
            );
        }
    }
}
