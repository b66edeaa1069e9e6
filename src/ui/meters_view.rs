//! Meters: peak/RMS bars per channel with PPM fall, true peak, LUFS M/S/I, LRA, correlation,
//! limiter gain reduction and clip count. The ballistics are computed by the meter thread; this
//! view only draws the latest snapshot.

use super::app::RustyApp;
use crate::analysis::meters::{db, MAX_CHANNELS};

const FLOOR: f32 = -60.0;
/// Height of a bar plus the default item spacing.
const BAR_PITCH: f32 = 18.0;

fn bar(ui: &mut egui::Ui, label: &str, peak_db: f32, rms_db: f32) {
    let (rect, _) =
        ui.allocate_exact_size(egui::vec2(ui.available_width(), 14.0), egui::Sense::hover());
    let p = ui.painter();
    p.rect_filled(rect, 2.0, egui::Color32::from_gray(30));
    let frac = |d: f32| ((d.max(FLOOR) - FLOOR) / -FLOOR).clamp(0.0, 1.0);
    let w = rect.width();
    let mut r = rect;
    r.set_width(w * frac(rms_db));
    p.rect_filled(r, 2.0, egui::Color32::from_rgb(60, 160, 90));
    let x = rect.left() + w * frac(peak_db);
    let color = if peak_db > -1.0 {
        egui::Color32::RED
    } else {
        egui::Color32::from_rgb(230, 220, 120)
    };
    p.line_segment(
        [egui::pos2(x, rect.top()), egui::pos2(x, rect.bottom())],
        egui::Stroke::new(2.0, color),
    );
    p.text(
        rect.left_center() + egui::vec2(4.0, 0.0),
        egui::Align2::LEFT_CENTER,
        label,
        egui::FontId::monospace(10.0),
        egui::Color32::WHITE,
    );
}

fn fmt(v: f32, unit: &str) -> String {
    if v.is_finite() {
        format!("{v:.1} {unit}")
    } else {
        format!("-inf {unit}")
    }
}

pub fn show(app: &mut RustyApp, ui: &mut egui::Ui) {
    ui.heading("Meters");
    let r = app.engine.meters();
    let m = &r.meters;
    // One bar per channel (the snapshot has entries for up to MAX_CHANNELS); beyond eight they
    // scroll, so the loudness readouts below stay in view.
    let bars = |ui: &mut egui::Ui| {
        for c in 0..m.channels.min(MAX_CHANNELS) {
            let name = match (m.channels, c) {
                (2, 0) => "L".to_string(),
                (2, 1) => "R".to_string(),
                _ => format!("{}", c + 1),
            };
            bar(ui, &name, db(m.peak[c]), db(m.rms[c]));
        }
    };
    if m.channels > 8 {
        egui::ScrollArea::vertical()
            .id_salt("meter_bars")
            .max_height(8.0 * BAR_PITCH)
            .show(ui, bars);
    } else {
        bars(ui);
    }
    ui.add_space(6.0);
    egui::Grid::new("loudness").num_columns(2).show(ui, |ui| {
        ui.label("Momentary");
        ui.label(fmt(m.momentary, "LUFS"));
        ui.end_row();
        ui.label("Short-term");
        ui.label(fmt(m.short_term, "LUFS"));
        ui.end_row();
        ui.label("Integrated");
        ui.label(fmt(m.integrated, "LUFS"));
        ui.end_row();
        ui.label("Range");
        ui.label(format!("{:.1} LU", m.lra));
        ui.end_row();
        ui.label("True peak");
        ui.label(fmt(db(m.true_peak_max), "dBTP"));
        ui.end_row();
        ui.label("Correlation");
        ui.label(format!("{:+.2}", m.correlation));
        ui.end_row();
        ui.label("Clipped");
        ui.label(format!("{}", m.clipped));
        ui.end_row();
        ui.label("Limiter");
        let gr = -db(r.limiter_gain);
        let text = if gr > 0.05 {
            format!("-{gr:.1} dB")
        } else {
            "idle".into()
        };
        ui.colored_label(
            if gr > 0.05 {
                egui::Color32::from_rgb(240, 150, 60)
            } else {
                ui.visuals().text_color()
            },
            text,
        )
        .on_hover_text("Gain reduction of the output limiter");
        ui.end_row();
    });
    if ui
        .button("Reset meters")
        .on_hover_text("Restart integrated loudness, maxima and the clip count")
        .clicked()
    {
        app.engine.reset_meters();
    }
}
