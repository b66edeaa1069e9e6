//! Playlist: current track highlighted, failed entries marked, double-click plays, Delete removes.

use super::app::RustyApp;

pub fn show(app: &mut RustyApp, ui: &mut egui::Ui) {
    ui.heading("Playlist");
    let current = app.current_track();
    let mut play = None;
    let mut remove = None;
    egui::ScrollArea::vertical().show(ui, |ui| {
        for (i, e) in app.playlist.iter().enumerate() {
            let dur = e.duration_s.map_or(String::new(), |d| {
                format!("  {}:{:02}", d as u64 / 60, d as u64 % 60)
            });
            let mark = if current == Some(i) { "> " } else { "" };
            let text = format!("{mark}{}{dur}", e.title);
            let mut rich = egui::RichText::new(text);
            if e.error.is_some() {
                rich = rich
                    .color(egui::Color32::from_rgb(220, 80, 80))
                    .strikethrough();
            } else if current == Some(i) {
                rich = rich.strong();
            }
            let r = ui.selectable_label(app.selected == Some(i), rich);
            let r = match &e.error {
                Some(err) => r.on_hover_text(err.as_str()),
                None => r.on_hover_text(e.path.display().to_string()),
            };
            if r.clicked() {
                app.selected = Some(i);
            }
            if r.double_clicked() {
                play = Some(i);
            }
            r.context_menu(|ui| {
                if ui.button("Play").clicked() {
                    play = Some(i);
                    ui.close();
                }
                if ui.button("Remove").clicked() {
                    remove = Some(i);
                    ui.close();
                }
            });
        }
    });
    if let Some(i) = play {
        app.selected = Some(i);
        app.play(i);
    }
    if let Some(i) = remove {
        app.remove(i);
    }
    ui.horizontal(|ui| {
        if ui
            .button("Remove selected")
            .on_hover_text("Remove the selected entry (Delete)")
            .clicked()
        {
            if let Some(i) = app.selected {
                app.remove(i);
            }
        }
    });
}
