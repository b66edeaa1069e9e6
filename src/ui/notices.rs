//! Notices: what the user should know (a file that cannot be played, a lost device, a settings
//! file that could not be written). They float over the bottom-right corner instead of taking a
//! strip of the layout: a notice arriving must never move what is under the pointer (a
//! double-click meant for one playlist row would play another). Failures of the same kind that
//! arrive together are grouped ("6 files could not be opened"), with the details one click away.

use std::time::{Duration, Instant};

/// Notices of one kind arriving within this time of the previous one join its group.
const GROUP_WITHIN: Duration = Duration::from_secs(5);
/// Width of the notice area (points); the text wraps inside it.
const WIDTH: f32 = 380.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A playlist entry that cannot be played (grouped).
    Unplayable,
    /// Anything else (each on its own).
    Other,
}

#[derive(Debug)]
struct Notice {
    /// Stable identity (its details' open/closed state follows it, not its place in the list).
    id: u64,
    kind: Kind,
    /// One line per event (the file and the reason).
    lines: Vec<String>,
    last: Instant,
}

impl Notice {
    fn title(&self) -> String {
        match (self.kind, self.lines.len()) {
            (Kind::Unplayable, n) if n > 1 => format!("{n} files could not be played"),
            _ => self.lines[0].clone(),
        }
    }
}

#[derive(Debug, Default)]
pub struct Notices {
    items: Vec<Notice>,
    next_id: u64,
}

impl Notices {
    pub fn push(&mut self, kind: Kind, text: String) {
        let now = Instant::now();
        if kind != Kind::Other {
            if let Some(n) = self
                .items
                .iter_mut()
                .rev()
                .find(|n| n.kind == kind && now.duration_since(n.last) < GROUP_WITHIN)
            {
                n.lines.push(text);
                n.last = now;
                return;
            }
        }
        self.next_id += 1;
        self.items.push(Notice {
            id: self.next_id,
            kind,
            lines: vec![text],
            last: now,
        });
    }

    /// Every line of every notice shown, oldest first (what the tests read).
    #[must_use]
    pub fn lines(&self) -> Vec<&str> {
        self.items
            .iter()
            .flat_map(|n| n.lines.iter().map(String::as_str))
            .collect()
    }

    /// The headline of each notice shown.
    #[must_use]
    pub fn titles(&self) -> Vec<String> {
        self.items.iter().map(Notice::title).collect()
    }

    /// Drop the notices nothing has been added to for `after`.
    pub fn expire(&mut self, after: Duration) {
        self.items.retain(|n| n.last.elapsed() < after);
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Draw the notices over the bottom-right corner of the window, newest at the bottom.
    pub fn show(&mut self, ctx: &egui::Context) {
        if self.items.is_empty() {
            return;
        }
        let mut dismiss = None;
        egui::Area::new(egui::Id::unique("notices"))
            .anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-10.0, -10.0))
            .order(egui::Order::Foreground)
            .show(ctx, |ui| {
                ui.set_max_width(WIDTH);
                let max_h = ctx.content_rect().height() * 0.5;
                egui::ScrollArea::vertical()
                    .max_height(max_h)
                    .stick_to_bottom(true)
                    .show(ui, |ui| {
                        for (i, n) in self.items.iter().enumerate() {
                            egui::Frame::popup(ui.style()).show(ui, |ui| {
                                ui.set_width(WIDTH);
                                ui.horizontal_top(|ui| {
                                    if ui.small_button("x").on_hover_text("Dismiss").clicked() {
                                        dismiss = Some(i);
                                    }
                                    ui.add(
                                        egui::Label::new(
                                            egui::RichText::new(n.title())
                                                .color(egui::Color32::from_rgb(230, 160, 60)),
                                        )
                                        .wrap(),
                                    );
                                });
                                if n.lines.len() > 1 {
                                    egui::CollapsingHeader::new("details")
                                        .id_salt(("notice", n.id))
                                        .show(ui, |ui| {
                                            for l in &n.lines {
                                                ui.add(egui::Label::new(l.as_str()).wrap());
                                            }
                                        });
                                }
                            });
                        }
                    });
            });
        if let Some(i) = dismiss {
            self.items.remove(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_arriving_together_are_one_notice_others_are_not() {
        let mut n = Notices::default();
        for i in 0..6 {
            n.push(Kind::Unplayable, format!("bad{i}.flac: not audio"));
        }
        n.push(Kind::Other, "output lost".into());
        n.push(Kind::Other, "settings not saved".into());
        assert_eq!(
            n.titles(),
            [
                "6 files could not be played",
                "output lost",
                "settings not saved"
            ]
        );
        assert_eq!(n.lines().len(), 8);
        assert!(n.lines()[5].contains("bad5.flac"));
    }
}
