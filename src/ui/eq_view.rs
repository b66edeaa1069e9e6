//! EQ editor: the cascade's response (20 Hz–20 kHz, ±24 dB) with a handle per band — drag for
//! frequency and gain, scroll for Q — and a band list with type, on/off and numeric fields, add and
//! remove, preamp, bypass, limiter, monitor mode and presets. Every change goes to the engine at
//! once (it glides there without clicks).

use std::path::Path;

use super::app::RustyApp;
use super::axis;
use crate::dsp::biquad::{BandParams, FilterKind};
use crate::dsp::eq_params::EqParams;
use crate::dsp::monitor_mode::MonitorMode;
use crate::dsp::preset;

const RANGE_DB: f64 = 24.0;

/// The EQ's response at a plot's curve frequencies (`axis::curve_freqs`), recomputed only when
/// the EQ, the rate or the plot's width changes: it is drawn every frame while audio plays, in
/// the editor and over the spectrum, and each point is a complex evaluation per band.
#[derive(Default)]
pub struct ResponseCache {
    key: Option<(EqParams, u32, usize)>,
    freqs: Vec<f64>,
    db: Vec<f64>,
}

impl ResponseCache {
    /// (frequencies, response in dB) for `eq` at `fs` across a plot `width` wide.
    pub fn get(&mut self, eq: &EqParams, fs: u32, width: f32) -> (&[f64], &[f64]) {
        let key = (*eq, fs, width.round() as usize);
        if self.key != Some(key) {
            self.freqs = axis::curve_freqs(width);
            eq.response_curve_db(&self.freqs, f64::from(fs.max(1)), &mut self.db);
            self.key = Some(key);
        }
        (&self.freqs, &self.db)
    }
}

/// The lowest limiter ceiling offered (dBFS).
const CEILING_MIN: f64 = -20.0;

/// The response caches of the two plots that draw the EQ curve.
#[derive(Default)]
pub struct Responses {
    pub editor: ResponseCache,
    pub overlay: ResponseCache,
}

pub fn show(app: &mut RustyApp, ui: &mut egui::Ui) {
    let mut d = *app.engine.dsp();
    let before = d;
    ui.horizontal_wrapped(|ui| {
        ui.checkbox(&mut d.eq.bypass, "Bypass EQ")
            .on_hover_text("Hear the signal without the equalizer");
        let mut pre = d.eq.preamp_db;
        if ui
            .add(
                egui::DragValue::new(&mut pre)
                    .range(-30.0..=30.0)
                    .speed(0.1)
                    .suffix(" dB")
                    .prefix("Preamp "),
            )
            .on_hover_text("Gain before the EQ bands")
            .changed()
        {
            d.eq.set_preamp_db(pre);
        }
        if ui
            .button("Add band")
            .on_hover_text("Add a peaking band at 1 kHz")
            .clicked()
        {
            let _ =
                d.eq.push(BandParams::new(FilterKind::Peak, 1000.0, 0.0, 1.0));
        }
        // Clicks inside do not close it: its "preset name" field must keep the keyboard (every
        // entry closes the menu itself once chosen).
        let stay_open = egui::containers::menu::MenuConfig::new()
            .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside);
        egui::containers::menu::MenuButton::new("Presets")
            .config(stay_open)
            .ui(ui, |ui| {
                for (name, _) in preset::BUILT_IN {
                    if ui.button(*name).clicked() {
                        if let Some(p) = preset::built_in(name) {
                            d.eq = p;
                        }
                        ui.close();
                    }
                }
                let user = app.store.user_presets();
                if !user.is_empty() {
                    ui.separator();
                    ui.weak("Your presets");
                    for (name, path) in user {
                        if ui
                            .button(&name)
                            .on_hover_text(path.display().to_string())
                            .clicked()
                        {
                            load_into(app, &mut d.eq, &path);
                            ui.close();
                        }
                    }
                }
                if app.store.presets_dir().is_some() {
                    ui.separator();
                    ui.horizontal(|ui| {
                        ui.add(
                            egui::TextEdit::singleline(&mut app.preset_name)
                                .hint_text("preset name")
                                .desired_width(120.0),
                        );
                        let target = app.store.preset_path(&app.preset_name);
                        let exists = target.as_ref().is_some_and(|p| p.exists());
                        let label = if exists { "Replace" } else { "Save" };
                        let r = ui
                            .add_enabled(target.is_some(), egui::Button::new(label))
                            .on_hover_text("Save the current EQ as one of your presets (APO text)");
                        if r.clicked() {
                            if let Some(path) = target {
                                let name = app.preset_name.trim().to_string();
                                match preset::save(&d.eq, &path, &name) {
                                    Ok(()) => app.notify(format!(
                                        "Saved preset {name:?} to {}",
                                        path.display()
                                    )),
                                    Err(e) => app.notify(e.to_string()),
                                }
                            }
                            ui.close();
                        }
                    });
                }
                ui.separator();
                // Both dialogs run off the UI thread (see `ui/dialogs.rs`); the file is read or
                // written when the path comes back (`RustyApp::handle_dialogs`).
                if ui
                    .button("Import…")
                    .on_hover_text("Equalizer APO / AutoEQ text file")
                    .clicked()
                {
                    app.dialogs.request(super::dialogs::Purpose::ImportPreset);
                    ui.close();
                }
                if ui
                    .button("Export…")
                    .on_hover_text("Save the current EQ as an Equalizer APO text file")
                    .clicked()
                {
                    app.dialogs.request(super::dialogs::Purpose::ExportPreset);
                    ui.close();
                }
            });
        ui.separator();
        ui.checkbox(&mut d.limiter.enabled, "Limiter")
            .on_hover_text("Output limiter: never exceeds the ceiling");
        // A typed value out of range is brought into it, and the user told so (not silently).
        let typed_out_of_range = std::cell::Cell::new(None);
        let ceiling = ui.add(
            egui::DragValue::new(&mut d.limiter.ceiling_dbfs)
                .range(CEILING_MIN..=0.0)
                .speed(0.05)
                .max_decimals(2)
                .suffix(" dBFS")
                .prefix("Ceiling ")
                .custom_parser(|text| {
                    let v: f64 = text
                        .trim()
                        .trim_start_matches("Ceiling")
                        .trim_end_matches("dBFS")
                        .trim()
                        .replace('\u{2212}', "-")
                        .parse()
                        .ok()?;
                    if !(CEILING_MIN..=0.0).contains(&v) {
                        typed_out_of_range.set(Some(v));
                    }
                    Some(v)
                }),
        )
        .on_hover_text(format!("Limiter ceiling ({CEILING_MIN} to 0 dBFS)"));
        // Parsed on every keystroke: said once, when the field is left.
        if let Some(v) = typed_out_of_range.get().filter(|_| ceiling.lost_focus()) {
            app.notify(format!(
                "Limiter ceiling {v} dBFS is out of range ({CEILING_MIN} to 0 dBFS): set to {:.2} dBFS",
                v.clamp(CEILING_MIN, 0.0)
            ));
        }
        super::pick(
            ui,
            "monitor",
            "Monitor",
            &mut d.monitor,
            MonitorMode::ALL,
            |m| m.label().into(),
            "Monitor mode",
        );
    });
    curve(app, ui, &mut d);
    band_list(app, ui, &mut d);
    if d != before {
        app.set_dsp(d);
    }
}

/// Load a preset file into `eq`, telling the user about skipped lines or why it failed (the EQ
/// is left as it was then).
/// Load the preset at `path` into the engine's EQ (warnings and errors as notices).
pub fn import_file(app: &mut RustyApp, path: &Path) {
    let mut d = *app.engine.dsp();
    load_into(app, &mut d.eq, path);
    app.set_dsp(d);
}

/// Save the engine's EQ to `path` (APO text, written atomically).
pub fn export_file(app: &mut RustyApp, path: &Path) {
    let eq = app.engine.dsp().eq;
    match preset::save(&eq, path, "Rusty Audio EQ") {
        Ok(()) => app.notify(format!("Saved the EQ to {}", path.display())),
        Err(e) => app.notify(e.to_string()),
    }
}

fn load_into(app: &mut RustyApp, eq: &mut crate::dsp::eq_params::EqParams, path: &Path) {
    match import(path) {
        Ok((loaded, warnings)) => {
            *eq = loaded;
            for w in warnings {
                app.notify(w);
            }
        }
        Err(e) => app.notify(e),
    }
}

/// Import an APO/AutoEQ file: (EQ, warnings with line numbers) or the error.
pub fn import(path: &Path) -> Result<(crate::dsp::eq_params::EqParams, Vec<String>), String> {
    let parsed = preset::load(path).map_err(|e| e.to_string())?;
    let warnings = parsed
        .warnings
        .iter()
        .map(|w| format!("{}: {w}; skipped", path.display()))
        .collect();
    Ok((parsed.eq, warnings))
}

fn curve(app: &mut RustyApp, ui: &mut egui::Ui, d: &mut crate::dsp::chain::DspSettings) {
    let fs = app.engine.output_info().sample_rate;
    let h = (ui.available_height() * 0.55).clamp(120.0, 320.0);
    let (rect, _) =
        ui.allocate_exact_size(egui::vec2(ui.available_width(), h), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    axis::frame(&painter, rect);
    let to_x = |f: f64| rect.left() + rect.width() * axis::x_of(f) as f32;
    let to_y = |g: f64| rect.center().y - (g / RANGE_DB) as f32 * rect.height() * 0.5;
    let grid = egui::Color32::from_gray(50);
    axis::draw_freq_grid(&painter, rect, grid, egui::Color32::GRAY);
    for g in [-24.0, -12.0, 0.0, 12.0, 24.0] {
        axis::draw_level_line(
            &painter,
            rect,
            to_y(g),
            &format!("{g:+} dB"),
            grid,
            egui::Color32::GRAY,
        );
    }
    let (freqs, resp) = app.eq_responses.editor.get(&d.eq, fs, rect.width());
    let line: Vec<egui::Pos2> = freqs
        .iter()
        .zip(resp)
        .map(|(&f, &r)| egui::pos2(to_x(f), to_y(r.clamp(-RANGE_DB * 1.5, RANGE_DB * 1.5))))
        .collect();
    painter.add(egui::Shape::line(
        line,
        egui::Stroke::new(2.0, egui::Color32::from_rgb(120, 220, 120)),
    ));
    // Handles.
    for i in 0..d.eq.len() {
        let b = d.eq.bands()[i];
        // On the curve: the band's gain plus the preamp the curve includes.
        let gain_shown = if b.kind.uses_gain() { b.gain_db } else { 0.0 } + d.eq.preamp_db;
        let pos = egui::pos2(to_x(b.freq), to_y(gain_shown));
        let id = ui.scope_id().with(("eq_handle", i));
        let r = ui.interact(
            egui::Rect::from_center_size(pos, egui::vec2(16.0, 16.0)),
            id,
            egui::Sense::click_and_drag(),
        );
        r.widget_info(|| {
            egui::WidgetInfo::labeled(
                egui::Role::Slider,
                true,
                format!("EQ band {} handle", i + 1),
            )
        });
        let r = r.on_hover_text(format!(
            "Band {}: {} {:.0} Hz {:+.1} dB Q {:.2}\nDrag: frequency and gain, scroll: Q",
            i + 1,
            b.kind.label(),
            b.freq,
            b.gain_db,
            b.q
        ));
        let mut nb = b;
        if r.dragged() {
            // By the pointer's movement, not its position: grabbing a handle off its centre
            // does not move it, and a drag straight up changes the gain only. The gain lands on
            // 0.1 dB steps (the frequency is not rounded: at 1 Hz steps a slow drag below 50 Hz
            // would round back to where it was and stick).
            let delta = r.drag_delta();
            if delta.x != 0.0 {
                let x = axis::x_of(b.freq) + f64::from(delta.x / rect.width());
                nb.freq = axis::f_of(x.clamp(0.0, 1.0));
            }
            if delta.y != 0.0 && b.kind.uses_gain() {
                let g = b.gain_db - f64::from(delta.y / (rect.height() * 0.5)) * RANGE_DB;
                nb.gain_db = ((g * 10.0).round() / 10.0).clamp(-RANGE_DB, RANGE_DB);
            }
            app.selected_band = Some(i);
        }
        if r.hovered() {
            let scroll = ui.input(|inp| inp.smooth_scroll_delta.y);
            if scroll != 0.0 {
                nb.q *= (f64::from(scroll) * 0.005).exp();
            }
        }
        if r.clicked() {
            app.selected_band = Some(i);
        }
        if nb != b {
            d.eq.set(i, nb);
        }
        let selected = app.selected_band == Some(i);
        let color = if !b.enabled {
            egui::Color32::GRAY
        } else if selected {
            egui::Color32::from_rgb(255, 210, 80)
        } else {
            egui::Color32::from_rgb(90, 180, 255)
        };
        painter.circle_filled(pos, if selected { 7.0 } else { 6.0 }, color);
        painter.text(
            pos + egui::vec2(0.0, -12.0),
            egui::Align2::CENTER_BOTTOM,
            format!("{}", i + 1),
            egui::FontId::proportional(10.0),
            egui::Color32::WHITE,
        );
    }
}

fn band_list(app: &mut RustyApp, ui: &mut egui::Ui, d: &mut crate::dsp::chain::DspSettings) {
    let mut remove = None;
    // Both ways: in a narrow window the Gain, Q and Remove columns are a scroll away, not cut off.
    egui::ScrollArea::both().id_salt("bands").show(ui, |ui| {
        egui::Grid::new("band_grid")
            .num_columns(7)
            .striped(true)
            .show(ui, |ui| {
                for h in ["#", "On", "Type", "Frequency", "Gain", "Q", ""] {
                    ui.strong(h);
                }
                ui.end_row();
                for i in 0..d.eq.len() {
                    let mut b = d.eq.bands()[i];
                    let before = b;
                    if ui
                        .selectable_label(app.selected_band == Some(i), format!("{}", i + 1))
                        .clicked()
                    {
                        app.selected_band = Some(i);
                    }
                    ui.checkbox(&mut b.enabled, "")
                        .on_hover_text(format!("Band {} on/off", i + 1));
                    egui::ComboBox::from_id_salt(("kind", i))
                        .selected_text(b.kind.apo_name())
                        .show_ui(ui, |ui| {
                            for k in FilterKind::ALL {
                                ui.selectable_value(
                                    &mut b.kind,
                                    k,
                                    format!("{} - {}", k.apo_name(), k.label()),
                                );
                            }
                        })
                        .response
                        .widget_info(|| {
                            let mut w = egui::WidgetInfo::labeled(
                                egui::Role::ComboBox,
                                true,
                                format!("Band {} type", i + 1),
                            );
                            w.current_text_value = Some(b.kind.apo_name().into());
                            w
                        });
                    let speed = b.freq * 0.005;
                    ui.add(
                        egui::DragValue::new(&mut b.freq)
                            .range(10.0..=40_000.0)
                            .speed(speed)
                            .max_decimals(1)
                            .suffix(" Hz"),
                    )
                    .on_hover_text(format!("Frequency of band {}", i + 1));
                    ui.add_enabled(
                        b.kind.uses_gain(),
                        egui::DragValue::new(&mut b.gain_db)
                            .range(-30.0..=30.0)
                            .speed(0.05)
                            .max_decimals(1)
                            .suffix(" dB"),
                    )
                    .on_hover_text(format!("Gain of band {}", i + 1));
                    ui.add(
                        egui::DragValue::new(&mut b.q)
                            .range(0.025..=100.0)
                            .speed(0.01)
                            .max_decimals(2),
                    )
                    .on_hover_text(format!("Q of band {}", i + 1));
                    if ui
                        .button("Remove")
                        .on_hover_text(format!("Remove band {}", i + 1))
                        .clicked()
                    {
                        remove = Some(i);
                    }
                    ui.end_row();
                    if b != before {
                        d.eq.set(i, b);
                    }
                }
            });
    });
    if let Some(i) = remove {
        d.eq.remove(i);
        app.selected_band = None;
    }
}
