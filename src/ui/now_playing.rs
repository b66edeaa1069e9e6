//! Now playing: cover art (or a placeholder), title, artist, album, format, normalization gain.

use super::app::RustyApp;

const COVER_SIZE: f32 = 96.0;

pub fn show(app: &mut RustyApp, ui: &mut egui::Ui) {
    let current = app.current_track();
    let entry = current.and_then(|i| app.playlist.get(i));
    let gain = current.and_then(|i| app.planned_gain(i));
    ui.horizontal(|ui| {
        let (rect, _) =
            ui.allocate_exact_size(egui::vec2(COVER_SIZE, COVER_SIZE), egui::Sense::hover());
        match (&app.cover, entry) {
            (Some((key, tex)), Some(e)) if *key == e.key => {
                // Keep the picture's aspect ratio inside the square.
                let [w, h] = tex.size().map(|v| v as f32);
                let s = COVER_SIZE / w.max(h).max(1.0);
                let r = egui::Rect::from_center_size(rect.center(), egui::vec2(w * s, h * s));
                ui.painter().image(
                    tex.id(),
                    r,
                    egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
                    egui::Color32::WHITE,
                );
            }
            _ => {
                ui.painter()
                    .rect_filled(rect, 4.0, egui::Color32::from_gray(40));
                ui.painter().text(
                    rect.center(),
                    egui::Align2::CENTER_CENTER,
                    "no cover",
                    egui::FontId::proportional(11.0),
                    egui::Color32::from_gray(120),
                );
            }
        }
        // Wrapped to the panel: a long title must not widen the panel (and squeeze the
        // analyzers) in a small window.
        ui.vertical(|ui| match entry {
            Some(e) => {
                let wrap = |ui: &mut egui::Ui, t: egui::RichText| {
                    ui.add(egui::Label::new(t).wrap());
                };
                wrap(ui, egui::RichText::new(e.title()).strong());
                if let Some(a) = e.artist() {
                    wrap(ui, egui::RichText::new(a));
                }
                if let Some(a) = e.album() {
                    wrap(ui, egui::RichText::new(a).weak());
                }
                if let Some(f) = &e.format {
                    wrap(ui, egui::RichText::new(f).small());
                }
                if let Some(g) = gain
                    .as_ref()
                    .and_then(crate::library::replaygain::AppliedGain::describe)
                {
                    wrap(ui, egui::RichText::new(g).small());
                }
            }
            None => {
                ui.weak("Nothing playing");
            }
        });
    });
}
