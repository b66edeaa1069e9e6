//! Playlist: title (tag or file name) with artist · album beneath, duration column, current
//! track highlighted, unplayable entries struck through with the reason; click selects,
//! double-click plays, drag to reorder, context menu, Delete removes, Alt+Up/Down moves.

use super::app::RustyApp;
use super::command::AppCommand;

const ROW_H: f32 = 34.0;

/// Payload of a row being dragged: its index when the drag started.
#[derive(Clone, Copy)]
struct DraggedRow(usize);

pub fn show(app: &mut RustyApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.heading("Playlist");
        let n = app.playlist.len();
        ui.weak(format!("{n} track{}", if n == 1 { "" } else { "s" }));
    });
    ui.horizontal_wrapped(|ui| {
        if ui
            .button("Add files")
            .on_hover_text("Add files to the playlist (Ctrl+O)")
            .clicked()
        {
            app.send(AppCommand::OpenFiles);
        }
        if ui
            .button("Add folder")
            .on_hover_text("Add every audio file in a folder")
            .clicked()
        {
            app.send(AppCommand::OpenFolder);
        }
        if ui
            .button("Remove track")
            .on_hover_text("Remove the selected entry from the playlist (Delete)")
            .clicked()
        {
            if let Some(i) = app.selected {
                app.remove(i);
            }
        }
    });
    let current = app.current_track();
    let mut drop_marker = None;
    let mut play = None;
    let mut remove = None;
    let mut moved: Option<(usize, usize)> = None;
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show_rows(ui, ROW_H, app.playlist.len(), |ui, rows| {
            for i in rows {
                let gain = app.planned_gain(i);
                let e = &app.playlist[i];
                let width = ui.available_width();
                let (rect, r) =
                    ui.allocate_exact_size(egui::vec2(width, ROW_H), egui::Sense::click_and_drag());
                let title = e.title();
                let is_sel = app.selected == Some(i);
                r.widget_info(|| {
                    egui::WidgetInfo::selected(egui::Role::ListItem, true, is_sel, &title)
                });
                let r = r.on_hover_text(match &e.error {
                    Some(err) => format!("{}\n{err}", e.path.display()),
                    None => format!(
                        "{}{}\nDrag to reorder, double-click to play",
                        e.path.display(),
                        gain.as_ref()
                            .and_then(crate::library::replaygain::AppliedGain::describe)
                            .map_or(String::new(), |g| format!("\n{g}"))
                    ),
                });
                let visuals = ui.visuals();
                let selected = app.selected == Some(i);
                if selected {
                    ui.painter()
                        .rect_filled(rect, 3.0, visuals.selection.bg_fill);
                } else if r.hovered() {
                    ui.painter()
                        .rect_filled(rect, 3.0, visuals.widgets.hovered.weak_bg_fill);
                }
                let playing = current == Some(i);
                let mut color = if playing {
                    egui::Color32::from_rgb(120, 200, 255)
                } else {
                    visuals.text_color()
                };
                if e.error.is_some() {
                    color = egui::Color32::from_rgb(220, 80, 80);
                }
                let p = ui.painter_at(rect);
                let title_font = egui::FontId::proportional(14.0);
                let small = egui::FontId::proportional(11.0);
                let dur_w = 44.0;
                let mark = if playing { "> " } else { "" };
                let galley = p.layout(
                    format!("{mark}{title}"),
                    title_font,
                    color,
                    (rect.width() - dur_w - 8.0).max(10.0),
                );
                let title_pos = rect.left_top() + egui::vec2(4.0, 2.0);
                let title_w = galley.size().x;
                p.galley(title_pos, galley, color);
                if e.error.is_some() {
                    let y = title_pos.y + 9.0;
                    p.line_segment(
                        [
                            egui::pos2(title_pos.x, y),
                            egui::pos2(title_pos.x + title_w, y),
                        ],
                        egui::Stroke::new(1.0, color),
                    );
                }
                // An error names the file's path first; the row already shows its name, so it
                // shows the reason in full (the path is in the tooltip).
                let sub = match &e.error {
                    Some(err) => err
                        .strip_prefix(&format!("{}: ", e.path.display()))
                        .unwrap_or(err)
                        .to_string(),
                    None => e.subtitle(),
                };
                p.text(
                    rect.left_bottom() + egui::vec2(4.0, -3.0),
                    egui::Align2::LEFT_BOTTOM,
                    sub,
                    small.clone(),
                    visuals.weak_text_color(),
                );
                if let Some(g) = gain {
                    p.text(
                        rect.right_bottom() + egui::vec2(-4.0, -3.0),
                        egui::Align2::RIGHT_BOTTOM,
                        format!("{:+.1} dB", g.db),
                        small.clone(),
                        visuals.weak_text_color(),
                    );
                }
                if let Some(d) = e.duration_s {
                    p.text(
                        rect.right_top() + egui::vec2(-4.0, 3.0),
                        egui::Align2::RIGHT_TOP,
                        super::length_text(d),
                        small,
                        visuals.text_color(),
                    );
                }
                if r.clicked() {
                    app.selected = Some(i);
                }
                if r.double_clicked() {
                    play = Some(i);
                }
                if r.drag_started() {
                    r.dnd_set_drag_payload(DraggedRow(i));
                }
                // The drop marker: where the dragged row would land. Found from the pointer, not
                // from this row's hover state (while a drag is on, the pointer belongs to the
                // dragged row and the others are not "hovered").
                let dragged = egui::DragAndDrop::payload::<DraggedRow>(ui.ctx());
                let over = ui
                    .ctx()
                    .pointer_latest_pos()
                    .is_some_and(|p| rect.contains(p));
                if let (Some(from), true) = (dragged, over) {
                    if from.0 != i {
                        let y = if from.0 < i {
                            rect.bottom()
                        } else {
                            rect.top()
                        };
                        ui.painter().hline(
                            rect.x_range(),
                            y,
                            egui::Stroke::new(2.0, egui::Color32::from_rgb(120, 200, 255)),
                        );
                        drop_marker = Some(i);
                    }
                }
                if let Some(from) = r.dnd_release_payload::<DraggedRow>() {
                    moved = Some((from.0, i));
                }
                r.context_menu(|ui| {
                    if ui.button("Play").clicked() {
                        play = Some(i);
                        ui.close();
                    }
                    if ui.button("Move up").clicked() && i > 0 {
                        moved = Some((i, i - 1));
                        ui.close();
                    }
                    if ui.button("Move down").clicked() {
                        moved = Some((i, i + 1));
                        ui.close();
                    }
                    if ui.button("Remove").clicked() {
                        remove = Some(i);
                        ui.close();
                    }
                });
            }
        });
    app.drop_marker = drop_marker;
    if let Some(i) = play {
        app.selected = Some(i);
        app.play(i);
    }
    if let Some((from, to)) = moved {
        app.move_entry(from, to);
    }
    if let Some(i) = remove {
        app.remove(i);
    }
}
