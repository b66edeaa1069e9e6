//! Meters: peak/RMS bars per channel with PPM fall on a dBFS scale, with numbers (peak hold, RMS)
//! as every meter a user knows has; true peak, LUFS M/S/I, LRA, correlation, limiter gain
//! reduction and clip count, saying what they cover (this track, or since the last reset). The
//! ballistics are computed by the meter thread; this view only draws the latest snapshot.

use std::time::{Duration, Instant};

use super::app::RustyApp;
use crate::analysis::meters::{db, MAX_CHANNELS};

const FLOOR: f32 = -60.0;
/// Height of a bar plus the default item spacing.
const BAR_PITCH: f32 = 18.0;
/// The scale's marks (dBFS).
const SCALE: [f32; 7] = [0.0, -6.0, -12.0, -20.0, -30.0, -40.0, -60.0];
/// How long a peak hold stays before it follows the meter down.
const HOLD_FOR: Duration = Duration::from_secs(2);
/// Width of the numbers column (peak hold and RMS).
const NUMBERS_W: f32 = 86.0;

fn frac(d: f32) -> f32 {
    ((d.max(FLOOR) - FLOOR) / -FLOOR).clamp(0.0, 1.0)
}

/// Per-channel peak hold: the highest peak of the last `HOLD_FOR`, kept by the view.
#[derive(Clone, Default)]
pub struct Holds {
    peaks: [(f32, Option<Instant>); MAX_CHANNELS],
}

impl Holds {
    fn update(&mut self, c: usize, peak_db: f32, now: Instant) -> f32 {
        let (held, at) = &mut self.peaks[c];
        let expired = at.is_none_or(|t| now.duration_since(t) > HOLD_FOR);
        if peak_db >= *held || expired {
            *held = peak_db;
            *at = Some(now);
        }
        *held
    }
}

fn db_text(v: f32) -> String {
    if v.is_finite() && v > FLOOR - 30.0 {
        format!("{v:.1}")
    } else {
        "-inf".into()
    }
}

/// A bar and its numbers fill the row exactly (item spacing included): a row wider than the
/// panel would widen the panel a little every frame until it covers the window.
fn bar(ui: &mut egui::Ui, label: &str, peak_db: f32, rms_db: f32, hold_db: f32) {
    ui.horizontal(|ui| {
        let w = (ui.available_width() - NUMBERS_W - ui.spacing().item_spacing.x).max(40.0);
        let (rect, _) = ui.allocate_exact_size(egui::vec2(w, 14.0), egui::Sense::hover());
        let p = ui.painter();
        p.rect_filled(rect, 2.0, egui::Color32::from_gray(30));
        let mut r = rect;
        r.set_width(rect.width() * frac(rms_db));
        p.rect_filled(r, 2.0, egui::Color32::from_rgb(60, 160, 90));
        let color = |d: f32| {
            if d > -1.0 {
                egui::Color32::RED
            } else {
                egui::Color32::from_rgb(230, 220, 120)
            }
        };
        let x = rect.left() + rect.width() * frac(peak_db);
        p.line_segment(
            [egui::pos2(x, rect.top()), egui::pos2(x, rect.bottom())],
            egui::Stroke::new(2.0, color(peak_db)),
        );
        // The hold: a thin mark where the highest recent peak was.
        let xh = rect.left() + rect.width() * frac(hold_db);
        p.line_segment(
            [egui::pos2(xh, rect.top()), egui::pos2(xh, rect.bottom())],
            egui::Stroke::new(1.0, color(hold_db)),
        );
        p.text(
            rect.left_center() + egui::vec2(4.0, 0.0),
            egui::Align2::LEFT_CENTER,
            label,
            egui::FontId::monospace(10.0),
            egui::Color32::WHITE,
        );
        ui.add_sized(
            [NUMBERS_W, 14.0],
            egui::Label::new(
                egui::RichText::new(format!("{:>5} {:>5}", db_text(hold_db), db_text(rms_db)))
                    .monospace()
                    .size(11.0),
            ),
        )
        .on_hover_text(format!(
            "{label}: peak hold {} dBFS, RMS {} dBFS",
            db_text(hold_db),
            db_text(rms_db)
        ));
    });
}

/// The dBFS scale under the bars, aligned with them.
fn scale(ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        let w = (ui.available_width() - NUMBERS_W - ui.spacing().item_spacing.x).max(40.0);
        let (rect, _) = ui.allocate_exact_size(egui::vec2(w, 12.0), egui::Sense::hover());
        let p = ui.painter();
        // Every mark gets a tick; a label only where it does not run into the last one drawn
        // (from 0 dB down, so the top of the scale is always labelled).
        let mut last_x = f32::INFINITY;
        for d in SCALE {
            let x = rect.left() + rect.width() * frac(d);
            p.line_segment(
                [egui::pos2(x, rect.top()), egui::pos2(x, rect.top() + 3.0)],
                egui::Stroke::new(1.0, egui::Color32::GRAY),
            );
            if last_x - x < 16.0 {
                continue;
            }
            last_x = x;
            let align = if d == 0.0 {
                egui::Align2::RIGHT_TOP
            } else if d == FLOOR {
                egui::Align2::LEFT_TOP
            } else {
                egui::Align2::CENTER_TOP
            };
            p.text(
                egui::pos2(x, rect.top() + 2.0),
                align,
                format!("{}", d.abs()),
                egui::FontId::proportional(9.0),
                egui::Color32::GRAY,
            );
        }
        ui.add_sized(
            [NUMBERS_W, 12.0],
            egui::Label::new(egui::RichText::new(" hold   RMS").monospace().size(9.0)),
        )
        .on_hover_text("dBFS: peak hold (2 s) and RMS");
    });
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
    let id = egui::Id::unique("meter_holds");
    let mut holds: Holds = ui.data_mut(|d| d.get_temp(id)).unwrap_or_default();
    let mut r = app.meters();
    if (app.meters_at_rest() && !app.analyzing_input()) || app.analysis_resting() {
        // Nothing plays: show the silence that is heard. The window stops being drawn soon after
        // playback stops (see `app::pacing`), so the last reading would otherwise stay up,
        // half-way through its fall. (A resting engine reports its reading at rest already; the
        // holds go with it.)
        r = r.at_rest();
        holds = Holds::default();
    }
    let m = &r.meters;
    let now = Instant::now();
    // One bar per channel (the snapshot has entries for up to MAX_CHANNELS); beyond eight they
    // scroll, so the loudness readouts below stay in view.
    let mut bars = |ui: &mut egui::Ui| {
        for c in 0..m.channels.min(MAX_CHANNELS) {
            let name = match (m.channels, c) {
                (2, 0) => "L".to_string(),
                (2, 1) => "R".to_string(),
                _ => format!("{}", c + 1),
            };
            let hold = holds.update(c, db(m.peak[c]), now);
            bar(ui, &name, db(m.peak[c]), db(m.rms[c]), hold);
        }
    };
    if m.channels > 8 {
        egui::ScrollArea::vertical()
            .id_salt("meter_bars")
            .max_height(8.0 * BAR_PITCH)
            .show(ui, &mut bars);
    } else {
        bars(ui);
    }
    scale(ui);
    ui.data_mut(|d| d.insert_temp(id, holds));
    ui.add_space(6.0);
    // What the integrating readings cover, said once above them (row labels stay short so the
    // panel can be narrow).
    let span = if app.meters_per_track {
        "this track"
    } else {
        "since reset"
    };
    ui.label(egui::RichText::new(format!("Loudness ({span})")).strong())
        .on_hover_text("Integrated, range, true peak and clips cover this span; M and S are 0.4 s and 3 s windows");
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
    ui.checkbox(&mut app.meters_per_track, "Reset per track")
        .on_hover_text(
            "Integrated loudness, range, true peak and clips start afresh with each track",
        );
    if ui
        .button("Reset meters")
        .on_hover_text("Restart integrated loudness, maxima and the clip count")
        .clicked()
    {
        app.reset_meters();
    }
}
