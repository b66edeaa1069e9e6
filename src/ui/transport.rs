//! Transport bar: open, previous/play-pause/stop/next, a seek bar drawn over the track's waveform
//! overview, elapsed/total time, volume; below it the output device picker and buffer size.

use super::app::RustyApp;
use super::command::AppCommand;
use super::mmss;

/// Width of the volume group (label, slider, value).
const VOLUME_W: f32 = 240.0;

const BUFFER_CHOICES: [Option<u32>; 8] = [
    None,
    Some(64),
    Some(128),
    Some(256),
    Some(512),
    Some(1024),
    Some(2048),
    Some(4096),
];

/// Three rows, each wrapping when the window is narrow: the buttons, time and volume; the seek
/// bar across the whole width; the output device, buffer and the performance alert.
pub fn show(app: &mut RustyApp, ui: &mut egui::Ui) {
    let (track, pos) = app.position().unwrap_or((usize::MAX, 0.0));
    let total = app
        .playlist
        .get(track)
        .and_then(|e| e.duration_s)
        .unwrap_or(0.0);
    ui.horizontal_wrapped(|ui| {
        if ui
            .button("Open…")
            .on_hover_text("Add files to the playlist (Ctrl+O)")
            .clicked()
        {
            app.send(AppCommand::OpenFiles);
        }
        ui.separator();
        if ui
            .button("Previous")
            .on_hover_text("Previous track within its first 3 s, else the start of this one")
            .clicked()
        {
            app.send(AppCommand::Previous);
        }
        let label = if app.is_playing() { "Pause" } else { "Play" };
        // One width for both labels: nothing after it moves when it changes.
        let h = ui.spacing().interact_size.y;
        if ui
            .add_sized([52.0, h], egui::Button::new(label))
            .on_hover_text("Play / pause (Space)")
            .clicked()
        {
            app.send(AppCommand::TogglePause);
        }
        if ui.button("Stop").on_hover_text("Stop playback").clicked() {
            app.send(AppCommand::Stop);
        }
        if ui.button("Next").on_hover_text("Next track").clicked() {
            app.send(AppCommand::Next);
        }
        ui.separator();
        let shown = app.seek_preview.unwrap_or(pos);
        ui.add_sized(
            [96.0, h],
            egui::Label::new(format!("{} / {}", mmss(shown), super::length_text(total))),
        );
        ui.separator();
        let mut vol = app.volume_db;
        // Label, slider and value as one group: the row wraps before it rather than through it
        // (a slider's value box is its own allocation and would stick out of a narrow window).
        if ui.available_size_before_wrap().x < VOLUME_W {
            ui.end_row();
        }
        let v = ui
            .scope(|ui| {
                ui.label("Volume");
                ui.add(
                    egui::Slider::new(
                        &mut vol,
                        super::settings::MIN_VOLUME_DB..=super::settings::MAX_VOLUME_DB,
                    )
                    .suffix(" dB"),
                )
            })
            .inner
            .on_hover_text("Volume (Up / Down arrow: 1 dB)");
        if v.changed() {
            app.send(AppCommand::SetVolume(vol));
        }
        ui.separator();
        normalization(app, ui);
        crossfade(app, ui);
        ui.separator();
        repeat_shuffle(app, ui);
        ab_loop(app, ui);
    });
    let width = ui.available_width().max(100.0);
    seek_bar(app, ui, width, track, pos, total);
    ui.horizontal_wrapped(|ui| {
        output_picker(app, ui);
        perf_alert(app, ui);
    });
}

/// The loudness normalization mode and, in its menu, pre-amp, fallback and the clipping cap.
fn normalization(app: &mut RustyApp, ui: &mut egui::Ui) {
    use crate::library::replaygain::GainMode;
    let mut s = app.normalization;
    super::pick(
        ui,
        "replaygain_mode",
        "Normalize",
        &mut s.mode,
        [
            GainMode::Off,
            GainMode::Track,
            GainMode::Album,
            GainMode::Auto,
        ],
        |m| {
            match m {
                GainMode::Off => "Off",
                GainMode::Track => "Track gain",
                GainMode::Album => "Album gain",
                GainMode::Auto => "Auto (album in order)",
            }
            .to_string()
        },
        "Loudness normalization from ReplayGain tags (−18 LUFS): per track, per album, or \
         auto (album gain while tracks of one album play in order)",
    );
    ui.menu_button("Gain…", |ui| {
        ui.add(
            egui::Slider::new(&mut s.preamp_db, -12.0..=12.0)
                .text("Pre-amp")
                .suffix(" dB"),
        )
        .on_hover_text("Added to every tagged gain");
        ui.add(
            egui::Slider::new(&mut s.fallback_db, -18.0..=6.0)
                .text("Untagged files")
                .suffix(" dB"),
        )
        .on_hover_text("Gain for files without ReplayGain tags");
        ui.checkbox(&mut s.prevent_clipping, "Prevent clipping")
            .on_hover_text("Lower the gain so the tagged peak stays at or below 0 dBFS");
    })
    .response
    .on_hover_text("Normalization pre-amp, untagged files, clipping");
    if s != app.normalization {
        app.send(AppCommand::SetNormalization(s));
    }
}

/// Repeat (a button that goes round off → all → one) and the shuffle mode.
fn repeat_shuffle(app: &mut RustyApp, ui: &mut egui::Ui) {
    use crate::engine::order::{Repeat, Shuffle};
    let (label, next) = match app.repeat {
        Repeat::Off => ("Repeat off", Repeat::All),
        Repeat::All => ("Repeat all", Repeat::One),
        Repeat::One => ("Repeat one", Repeat::Off),
    };
    if ui
        .selectable_label(app.repeat != Repeat::Off, label)
        .on_hover_text("Repeat: off, the whole playlist, or the track (click to change)")
        .clicked()
    {
        app.send(AppCommand::SetRepeat(next));
    }
    let mut s = app.shuffle;
    super::pick(
        ui,
        "shuffle_mode",
        "Shuffle",
        &mut s,
        [Shuffle::Off, Shuffle::Tracks, Shuffle::Albums],
        |m| {
            match m {
                Shuffle::Off => "In order",
                Shuffle::Tracks => "Shuffle tracks",
                Shuffle::Albums => "Shuffle albums",
            }
            .to_string()
        },
        "Play order: the playlist's, tracks at random, or albums at random (each album in \
         its own order, gapless)",
    );
    if s != app.shuffle {
        app.send(AppCommand::SetShuffle(s));
    }
}

/// A–B repeat: "Loop A" and "Loop B" (the keys `[` and `]`), lit while set, and the loop's
/// range once both are.
fn ab_loop(app: &mut RustyApp, ui: &mut egui::Ui) {
    let ab = app.ab;
    if ui
        .selectable_label(ab.a.is_some(), "Loop A")
        .on_hover_text("A–B repeat: set A here ([); with a loop on, clear it")
        .clicked()
    {
        app.send(AppCommand::LoopA);
    }
    if ui
        .selectable_label(ab.looping(), "Loop B")
        .on_hover_text("A–B repeat: set B here and loop from A (]); with a loop on, clear it")
        .clicked()
    {
        app.send(AppCommand::LoopB);
    }
    match (ab.a, ab.b) {
        (Some(a), Some(b)) => {
            ui.label(format!("{}–{}", mmss_tenths(a), mmss_tenths(b)));
        }
        (Some(a), None) => {
            ui.weak(format!("from {}", mmss_tenths(a)));
        }
        _ => {}
    }
}

/// m:ss.t
fn mmss_tenths(s: f64) -> String {
    let t = (s.max(0.0) * 10.0).round() as u64;
    format!("{}:{:02}.{}", t / 600, (t / 10) % 60, t % 10)
}

/// The crossfade length (0: gapless) and whether it applies within an album.
fn crossfade(app: &mut RustyApp, ui: &mut egui::Ui) {
    use crate::engine::crossfade::MAX_CROSSFADE_S;
    let mut c = app.crossfade;
    let title = if c.seconds > 0.0 {
        format!("Crossfade {:.1} s", c.seconds)
    } else {
        "Crossfade off".to_string()
    };
    ui.menu_button(title, |ui| {
        ui.add(
            egui::Slider::new(&mut c.seconds, 0.0..=MAX_CROSSFADE_S)
                .step_by(0.5)
                .text("Crossfade")
                .suffix(" s"),
        )
        .on_hover_text("Overlap between tracks (0: gapless)");
        ui.checkbox(&mut c.across_albums, "Within an album too")
            .on_hover_text("Also between consecutive tracks of one album (gapless otherwise)");
    })
    .response
    .on_hover_text("Equal-power crossfade between tracks of different albums");
    if c != app.crossfade {
        app.send(AppCommand::SetCrossfade(c));
    }
}

/// "Performance: …" at the end of the output row when the monitor saw trouble lately. It sits in
/// a row that is there anyway, so its coming and going never moves the layout below.
fn perf_alert(app: &mut RustyApp, ui: &mut egui::Ui) {
    let Some(alert) = app.perf.history.alert() else {
        return;
    };
    ui.separator();
    let r = ui.add(
        egui::Label::new(
            egui::RichText::new(format!("Performance: {alert}"))
                .color(egui::Color32::from_rgb(240, 80, 80)),
        )
        .sense(egui::Sense::click()),
    );
    if r.on_hover_text("Open the performance panel (F12)")
        .clicked()
    {
        app.show_perf = true;
    }
}

/// The seek bar: waveform overview of the playing track (once the scanner has it), played part
/// brighter, playhead; click or drag to seek (the seek is sent when the drag ends).
fn seek_bar(app: &mut RustyApp, ui: &mut egui::Ui, width: f32, track: usize, pos: f64, total: f64) {
    let (rect, r) = ui.allocate_exact_size(egui::vec2(width, 36.0), egui::Sense::click_and_drag());
    r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Slider, true, "Seek"));
    let r = r.on_hover_text("Seek: click or drag (Left / Right arrow: 5 s)");
    let to_t = |x: f32| f64::from(((x - rect.left()) / rect.width()).clamp(0.0, 1.0)) * total;
    if total > 0.0 {
        if let Some(p) = r.interact_pointer_pos() {
            if r.dragged() || r.clicked() || r.drag_started() {
                app.seek_preview = Some(to_t(p.x));
            }
        }
        if r.drag_stopped() || r.clicked() {
            if let Some(t) = app.seek_preview.take() {
                app.send(AppCommand::SeekTo(t));
            }
        }
    }
    let shown = app.seek_preview.unwrap_or(pos);
    let painter = ui.painter_at(rect);
    if !ui.visuals().dark_mode {
        // The waveform's colours are for a dark ground. In the dark theme the panel is that
        // ground already (a fill would be shaded again every frame: see `ui::paint_light`).
        painter.rect_filled(rect, 3.0, egui::Color32::from_gray(28));
    }
    let frac = if total > 0.0 {
        (shown / total).clamp(0.0, 1.0) as f32
    } else {
        0.0
    };
    let play_x = rect.left() + rect.width() * frac;
    let key = app.playlist.get(track).map(|e| e.key);
    match app.overview.as_mut().filter(|o| Some(o.key) == key) {
        Some(ov) => {
            // Drawn at the bar's size in physical pixels, again only when that size changes.
            let ppp = ui.ctx().pixels_per_point();
            // No wider than a texture may be (a seek bar across several 4K screens).
            let max_side = ui.ctx().input(|i| i.max_texture_side).max(1);
            // A long file's overview arrives in parts: the part known so far covers its share
            // of the bar (from the left), the rest stays plain until it is read.
            let known = ov.overview.partial_of.map_or(1.0, |whole| {
                (ov.overview.total_frames as f64 / whole.max(1) as f64).clamp(0.0, 1.0) as f32
            });
            let wave_rect = egui::Rect::from_min_max(
                rect.min,
                egui::pos2(rect.left() + rect.width() * known, rect.bottom()),
            );
            let size = [
                ((wave_rect.width() * ppp).round() as usize).clamp(1, max_side),
                ((rect.height() * ppp).round() as usize).max(1),
            ];
            if ov.texture.as_ref().is_none_or(|(s, _)| *s != size) {
                // Scaled to the track's own peak, so quiet recordings still show their shape.
                let img = super::waveform::image(
                    &ov.overview.columns(size[0]),
                    ov.overview.peak().max(0.05),
                    size[1],
                );
                ov.texture = Some((
                    size,
                    ui.ctx()
                        .load_texture("waveform", img, egui::TextureOptions::NEAREST),
                ));
            }
            if let Some((_, tex)) = &ov.texture {
                let played = egui::Color32::from_rgb(110, 180, 240);
                let ahead = egui::Color32::from_rgb(70, 90, 110);
                let uv = |a: f32, b: f32| {
                    egui::Rect::from_min_max(egui::pos2(a, 0.0), egui::pos2(b, 1.0))
                };
                // The played/ahead split in the texture's own coordinates.
                let split_x = play_x.min(wave_rect.right());
                let split_uv = if wave_rect.width() > 0.0 {
                    ((split_x - wave_rect.left()) / wave_rect.width()).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                painter.image(
                    tex.id(),
                    egui::Rect::from_min_max(rect.min, egui::pos2(split_x, rect.bottom())),
                    uv(0.0, split_uv),
                    played,
                );
                painter.image(
                    tex.id(),
                    egui::Rect::from_min_max(egui::pos2(split_x, rect.top()), wave_rect.max),
                    uv(split_uv, 1.0),
                    ahead,
                );
                if known < 1.0 {
                    // Not read yet: a thin line, and the played part of it.
                    let y = rect.center().y;
                    let line = |a: f32, b: f32, c: egui::Color32| {
                        painter.line_segment(
                            [egui::pos2(a, y), egui::pos2(b, y)],
                            egui::Stroke::new(2.0, c),
                        );
                    };
                    line(wave_rect.right(), rect.right(), ahead);
                    if play_x > wave_rect.right() {
                        line(wave_rect.right(), play_x, played);
                    }
                }
            }
        }
        None => {
            // No overview yet: a plain progress bar.
            let bar = egui::Rect::from_min_max(
                egui::pos2(rect.left(), rect.center().y - 3.0),
                egui::pos2(play_x, rect.center().y + 3.0),
            );
            painter.rect_filled(bar, 2.0, egui::Color32::from_rgb(110, 180, 240));
        }
    }
    painter.vline(
        play_x,
        rect.y_range(),
        egui::Stroke::new(2.0, egui::Color32::WHITE),
    );
}

/// How a host's name is shown (`OutputChoice::OnHost` holds it in lower case).
fn host_title(host: &str) -> &str {
    match host {
        "pipewire" => "PipeWire",
        "pulseaudio" => "PulseAudio",
        "alsa" => "ALSA",
        other => other,
    }
}

fn output_picker(app: &mut RustyApp, ui: &mut egui::Ui) {
    let info = app.engine.output_info().clone();
    let current = app.output_device.clone();
    let label = |d: &Option<String>| match d {
        None => "System default".to_string(),
        Some(n) if n == "null" => "None (silent)".to_string(),
        Some(n) => match crate::ui::settings::output_choice(Some(n)) {
            crate::engine::OutputChoice::OnHost { host, device } => format!(
                "{} · {}",
                host_title(&host),
                device.as_deref().unwrap_or("default")
            ),
            _ => n.clone(),
        },
    };
    let mut choice = current.clone();
    egui::ComboBox::new("output_device", "Output")
        .selected_text(label(&current))
        .width(220.0)
        .show_ui(ui, |ui| {
            if app.devices.is_none() {
                app.devices = Some(crate::engine::output::device_names());
                app.other_hosts = crate::engine::output::other_hosts_devices();
            }
            ui.selectable_value(&mut choice, None, label(&None));
            for d in app.devices.clone().unwrap_or_default() {
                let v = Some(d);
                let text = label(&v);
                ui.selectable_value(&mut choice, v, text);
            }
            ui.selectable_value(
                &mut choice,
                Some("null".into()),
                label(&Some("null".into())),
            );
            // The other audio hosts (PulseAudio's client where PipeWire is the default, ALSA):
            // each one's default output first, then its devices.
            for (host, devices) in app.other_hosts.clone() {
                ui.separator();
                let key = host.to_ascii_lowercase();
                let default = Some(format!("{key}:default"));
                let text = label(&default);
                ui.selectable_value(&mut choice, default, text);
                for d in devices {
                    let v = Some(format!("{key}:{d}"));
                    let text = label(&v);
                    ui.selectable_value(&mut choice, v, text);
                }
            }
            if ui.button("Refresh list").clicked() {
                app.devices = None;
            }
        })
        .response
        .on_hover_text("Output device; playback moves there and goes on where it was");
    let mut buffer = app.buffer_frames;
    egui::ComboBox::new("buffer_frames", "Buffer")
        .selected_text(buffer.map_or("auto".into(), |b| format!("{b}")))
        .show_ui(ui, |ui| {
            for b in BUFFER_CHOICES {
                ui.selectable_value(
                    &mut buffer,
                    b,
                    b.map_or("auto".into(), |b| format!("{b} frames")),
                );
            }
        })
        .response
        .on_hover_text("Frames per audio callback: smaller = lower latency, more risk of dropouts");
    if choice != current || buffer != app.buffer_frames {
        app.switch_output(choice, buffer);
    }
    let latency_ms = info
        .buffer_frames
        .map(|b| 1000.0 * f64::from(b) / f64::from(info.sample_rate.max(1)));
    ui.small(format!(
        "{} · {} Hz · {} ch · {}{}",
        info.device,
        info.sample_rate,
        info.channels,
        info.sample_format,
        latency_ms.map_or(String::new(), |ms| format!(
            " · {} frames ({ms:.1} ms)",
            info.buffer_frames.unwrap_or(0)
        ))
    ));
}
