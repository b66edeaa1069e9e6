//! Transport bar: open, previous/play-pause/stop/next, seek bar with time, volume.

use super::app::RustyApp;

fn mmss(s: f64) -> String {
    let s = s.max(0.0) as u64;
    format!("{}:{:02}", s / 60, s % 60)
}

pub fn show(app: &mut RustyApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        if ui
            .button("Open…")
            .on_hover_text("Add files to the playlist (Ctrl+O)")
            .clicked()
        {
            app.open_dialog();
        }
        ui.separator();
        if ui
            .button("Previous")
            .on_hover_text("Previous track, or the start of this one")
            .clicked()
        {
            app.engine.previous();
            app.kick();
        }
        let label = if app.is_playing() { "Pause" } else { "Play" };
        if ui
            .button(label)
            .on_hover_text("Play / pause (Space)")
            .clicked()
        {
            app.toggle_pause();
        }
        if ui.button("Stop").on_hover_text("Stop playback").clicked() {
            app.engine.stop();
            app.kick();
        }
        if ui.button("Next").on_hover_text("Next track").clicked() {
            app.engine.next();
            app.kick();
        }
        ui.separator();
        let (track, pos) = app.position().unwrap_or((usize::MAX, 0.0));
        let total = app
            .playlist
            .get(track)
            .and_then(|e| e.duration_s)
            .unwrap_or(0.0);
        let mut shown = app.seek_preview.unwrap_or(pos);
        ui.label(format!("{} / {}", mmss(shown), mmss(total)));
        let width = (ui.available_width() - 260.0).max(100.0);
        let slider = egui::Slider::new(&mut shown, 0.0..=total.max(0.001)).show_value(false);
        let r = ui
            .add_sized([width, 18.0], slider)
            .on_hover_text("Seek (Left / Right arrow: 5 s)");
        if r.dragged() || r.changed() {
            app.seek_preview = Some(shown);
        }
        if r.drag_stopped() || (r.changed() && !r.dragged()) {
            if let Some(t) = app.seek_preview.take() {
                app.engine.seek(t);
                app.kick();
            }
        }
        ui.separator();
        let mut vol = app.volume_db;
        let v = ui
            .add(
                egui::Slider::new(&mut vol, -60.0..=12.0)
                    .suffix(" dB")
                    .text("Volume"),
            )
            .on_hover_text("Volume (Up / Down arrow: 1 dB)");
        if v.changed() {
            app.set_volume_db(vol);
        }
    });
    let info = app.engine.output_info();
    ui.small(format!(
        "{} · {} Hz · {} ch · {} · buffer {}",
        info.device,
        info.sample_rate,
        info.channels,
        info.sample_format,
        info.buffer_frames
            .map_or("default".into(), |b| format!("{b} frames"))
    ));
}
