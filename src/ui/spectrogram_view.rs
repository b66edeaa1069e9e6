//! Scrolling spectrogram: time to the right, log frequency up, level as colour.
//!
//! History is a ring of columns kept twice: quantised levels (u8, 0.5 dB steps) so the colour map
//! and dB range can change without losing the picture, and textures that are only updated one
//! column at a time (`set_partial`) — a whole-texture upload per frame would dominate the frame
//! time. The textures are tiles of `TILE_COLUMNS` columns: a software renderer (llvmpipe) copies
//! the whole texture a column is written to, and one texture for the whole ring made that copy
//! (600 KiB, 23 times a second) about 4 % of a core. The ring is drawn as a textured rectangle
//! per tile, so scrolling costs nothing.

use super::app::RustyApp;
use super::axis;
use crate::analysis::spectrum::SpectrumFrame;

/// Columns of history (≈ 26 s at 23 spectrum frames per second).
pub const COLUMNS: usize = 600;
/// Rows on the log frequency axis, 20 Hz at the bottom to 20 kHz at the top.
pub const ROWS: usize = 256;
/// Columns per texture tile (`COLUMNS` is a multiple of it).
pub const TILE_COLUMNS: usize = 60;
const TILES: usize = COLUMNS / TILE_COLUMNS;
const _: () = assert!(COLUMNS % TILE_COLUMNS == 0);

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ColorMap {
    Inferno,
    Viridis,
    Gray,
}

impl ColorMap {
    pub const ALL: [ColorMap; 3] = [ColorMap::Inferno, ColorMap::Viridis, ColorMap::Gray];

    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            ColorMap::Inferno => "Inferno",
            ColorMap::Viridis => "Viridis",
            ColorMap::Gray => "Gray",
        }
    }

    /// Control points (position 0..1, sRGB) of each map, interpolated linearly.
    fn stops(self) -> &'static [(f32, [u8; 3])] {
        match self {
            ColorMap::Inferno => &[
                (0.0, [0, 0, 4]),
                (0.25, [87, 16, 110]),
                (0.5, [188, 55, 84]),
                (0.75, [249, 142, 9]),
                (1.0, [252, 255, 164]),
            ],
            ColorMap::Viridis => &[
                (0.0, [68, 1, 84]),
                (0.25, [59, 82, 139]),
                (0.5, [33, 145, 140]),
                (0.75, [94, 201, 98]),
                (1.0, [253, 231, 37]),
            ],
            ColorMap::Gray => &[(0.0, [0, 0, 0]), (1.0, [255, 255, 255])],
        }
    }

    /// A 256-entry lookup table.
    #[must_use]
    pub fn lut(self) -> [egui::Color32; 256] {
        let stops = self.stops();
        std::array::from_fn(|i| {
            let x = i as f32 / 255.0;
            let k = stops
                .windows(2)
                .position(|w| x <= w[1].0)
                .unwrap_or(stops.len() - 2);
            let ((x0, c0), (x1, c1)) = (stops[k], stops[k + 1]);
            let t = ((x - x0) / (x1 - x0)).clamp(0.0, 1.0);
            let ch = |j: usize| {
                (f32::from(c0[j]) + t * (f32::from(c1[j]) - f32::from(c0[j]))).round() as u8
            };
            egui::Color32::from_rgb(ch(0), ch(1), ch(2))
        })
    }
}

/// User settings of the view (persisted).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SpectrogramSettings {
    pub floor_db: f32,
    pub ceiling_db: f32,
    pub map: ColorMap,
}

impl Default for SpectrogramSettings {
    fn default() -> Self {
        Self {
            floor_db: -100.0,
            ceiling_db: -10.0,
            map: ColorMap::Inferno,
        }
    }
}

pub struct Spectrogram {
    pub settings: SpectrogramSettings,
    /// Quantised level per (column, row): 0 = 0 dBFS, 255 = −127.5 dBFS.
    levels: Vec<u8>,
    /// Next column to write.
    head: usize,
    last_seq: u64,
    /// `TILES` textures of `TILE_COLUMNS` columns each, ring columns in order.
    tiles: Vec<egui::TextureHandle>,
    /// Settings the texture was coloured with.
    drawn_with: Option<SpectrogramSettings>,
    /// For each row, the spectrum bin below it and the interpolation weight (rebuilt when the
    /// analyzer's bins change).
    row_map: Vec<(usize, f32)>,
    row_map_for: (u32, u32, usize),
    lut: [egui::Color32; 256],
    column: Vec<egui::Color32>,
}

impl Default for Spectrogram {
    fn default() -> Self {
        Self::new(SpectrogramSettings::default())
    }
}

fn quantise(db: f32) -> u8 {
    (-db * 2.0).clamp(0.0, 255.0) as u8
}

impl Spectrogram {
    #[must_use]
    pub fn new(settings: SpectrogramSettings) -> Self {
        Self {
            settings,
            levels: vec![255; COLUMNS * ROWS],
            head: 0,
            last_seq: 0,
            tiles: Vec::new(),
            drawn_with: None,
            row_map: Vec::new(),
            row_map_for: (0, 0, 0),
            lut: settings.map.lut(),
            column: vec![egui::Color32::BLACK; ROWS],
        }
    }

    /// Columns written so far (saturates at `COLUMNS`); for tests.
    #[must_use]
    pub fn head(&self) -> usize {
        self.head
    }

    /// Level in dBFS stored at (column, row) — for tests.
    #[must_use]
    pub fn level_db(&self, col: usize, row: usize) -> f32 {
        -f32::from(self.levels[col * ROWS + row]) / 2.0
    }

    fn rebuild_row_map(&mut self, f: &SpectrumFrame) {
        let freqs = f.freqs();
        self.row_map = (0..ROWS)
            .map(|r| {
                let hz = axis::f_of((r as f64 + 0.5) / ROWS as f64) as f32;
                let i = freqs.partition_point(|&x| x < hz);
                if i == 0 {
                    (0, 0.0)
                } else if i >= freqs.len() {
                    (freqs.len() - 1, 0.0)
                } else {
                    let (a, b) = (freqs[i - 1], freqs[i]);
                    (i - 1, ((hz - a) / (b - a)).clamp(0.0, 1.0))
                }
            })
            .collect();
        self.row_map_for = (f.sample_rate, f.size, f.len);
    }

    /// Append the frames the analyzer produced since the last call (repeating the latest when the
    /// UI drew slower than the analyzer, so time runs evenly).
    pub fn push(&mut self, f: &SpectrumFrame) -> usize {
        if f.seq == 0 || f.seq == self.last_seq || f.len == 0 {
            return 0;
        }
        if self.row_map_for != (f.sample_rate, f.size, f.len) {
            self.rebuild_row_map(f);
        }
        let new = if self.last_seq == 0 || f.seq < self.last_seq {
            1
        } else {
            ((f.seq - self.last_seq) as usize).min(8)
        };
        self.last_seq = f.seq;
        let db = f.db();
        for _ in 0..new {
            let col = self.head % COLUMNS;
            for (r, &(i, w)) in self.row_map.iter().enumerate() {
                let v = if w > 0.0 && i + 1 < db.len() {
                    db[i] + w * (db[i + 1] - db[i])
                } else {
                    db[i]
                };
                self.levels[col * ROWS + r] = quantise(v);
            }
            if let Some(tex) = self.tiles.get_mut(col / TILE_COLUMNS) {
                if self.drawn_with == Some(self.settings) {
                    colour_column(
                        &self.levels[col * ROWS..(col + 1) * ROWS],
                        &self.settings,
                        &self.lut,
                        &mut self.column,
                    );
                    tex.set_partial(
                        [col % TILE_COLUMNS, 0],
                        egui::ColorImage::new([1, ROWS], self.column.clone()),
                        egui::TextureOptions::LINEAR,
                    );
                }
            }
            self.head += 1;
        }
        new
    }

    /// Whole-tile colouring (first draw, or after the map or dB range changed).
    fn tile_image(&mut self, tile: usize) -> egui::ColorImage {
        let mut px = vec![egui::Color32::BLACK; TILE_COLUMNS * ROWS];
        for x in 0..TILE_COLUMNS {
            let c = tile * TILE_COLUMNS + x;
            colour_column(
                &self.levels[c * ROWS..(c + 1) * ROWS],
                &self.settings,
                &self.lut,
                &mut self.column,
            );
            // `column` is already in image order (top row first).
            for (y, &colour) in self.column.iter().enumerate() {
                px[y * TILE_COLUMNS + x] = colour;
            }
        }
        egui::ColorImage::new([TILE_COLUMNS, ROWS], px)
    }

    pub fn ensure_texture(&mut self, ctx: &egui::Context) {
        if self.drawn_with == Some(self.settings) && self.tiles.len() == TILES {
            return;
        }
        self.lut = self.settings.map.lut();
        for t in 0..TILES {
            let img = self.tile_image(t);
            match self.tiles.get_mut(t) {
                Some(tex) => tex.set(img, egui::TextureOptions::LINEAR),
                None => self.tiles.push(ctx.load_texture(
                    format!("spectrogram-{t}"),
                    img,
                    egui::TextureOptions::LINEAR,
                )),
            }
        }
        self.drawn_with = Some(self.settings);
    }

    /// Where each tile's columns go on screen, oldest at the left: (tile, ring columns
    /// `[a, b)`, their share of the width from `x0` to `x1`, 0..1). The tile holding the oldest
    /// column is drawn in two pieces (its newest columns at the right end).
    #[must_use]
    pub fn layout(&self) -> Vec<(usize, [usize; 2], [f32; 2])> {
        let oldest = self.head % COLUMNS;
        let mut pieces = Vec::with_capacity(TILES + 1);
        for t in 0..TILES {
            let (a, b) = (t * TILE_COLUMNS, (t + 1) * TILE_COLUMNS);
            let ranges = if a < oldest && oldest < b {
                vec![[a, oldest], [oldest, b]]
            } else {
                vec![[a, b]]
            };
            for [a, b] in ranges {
                let age = (a + COLUMNS - oldest) % COLUMNS;
                let x0 = age as f32 / COLUMNS as f32;
                pieces.push((t, [a, b], [x0, x0 + (b - a) as f32 / COLUMNS as f32]));
            }
        }
        pieces
    }
}

/// Colour one column (bottom row first in `levels`) into `out` in image order (top row first).
fn colour_column(
    levels: &[u8],
    s: &SpectrogramSettings,
    lut: &[egui::Color32; 256],
    out: &mut [egui::Color32],
) {
    let span = (s.ceiling_db - s.floor_db).max(1.0);
    for (r, &q) in levels.iter().enumerate() {
        let db = -f32::from(q) / 2.0;
        let t = ((db - s.floor_db) / span).clamp(0.0, 1.0);
        out[ROWS - 1 - r] = lut[(t * 255.0) as usize];
    }
}

pub fn show(app: &mut RustyApp, ui: &mut egui::Ui, height: f32) {
    // Read before the spectrogram is borrowed (the frame comes through the app: the player's
    // or the input's).
    let frame = app.spectrum();
    let sg = &mut app.spectrogram;
    ui.horizontal_wrapped(|ui| {
        super::pick(
            ui,
            "colormap",
            "Colours",
            &mut sg.settings.map,
            ColorMap::ALL,
            |m| m.label().into(),
            "Colour map",
        );
        ui.add(
            egui::DragValue::new(&mut sg.settings.floor_db)
                .range(-140.0..=-20.0)
                .speed(1.0)
                .suffix(" dB"),
        )
        .on_hover_text("Level drawn as the darkest colour");
        ui.label("to");
        ui.add(
            egui::DragValue::new(&mut sg.settings.ceiling_db)
                .range(-100.0..=0.0)
                .speed(1.0)
                .suffix(" dB"),
        )
        .on_hover_text("Level drawn as the brightest colour");
        if sg.settings.ceiling_db < sg.settings.floor_db + 10.0 {
            sg.settings.ceiling_db = sg.settings.floor_db + 10.0;
        }
    });
    sg.push(&frame);
    sg.ensure_texture(ui.ctx());
    let (rect, _) = ui.allocate_exact_size(
        egui::vec2(ui.available_width(), (height - 30.0).max(60.0)),
        egui::Sense::hover(),
    );
    let painter = ui.painter_at(rect);
    for (t, [a, b], [x0, x1]) in sg.layout() {
        let Some(tex) = sg.tiles.get(t) else { break };
        let tile0 = t * TILE_COLUMNS;
        let u = |c: usize| (c - tile0) as f32 / TILE_COLUMNS as f32;
        painter.image(
            tex.id(),
            egui::Rect::from_min_max(
                egui::pos2(rect.left() + rect.width() * x0, rect.top()),
                egui::pos2(rect.left() + rect.width() * x1, rect.bottom()),
            ),
            egui::Rect::from_min_max(egui::pos2(u(a), 0.0), egui::pos2(u(b), 1.0)),
            egui::Color32::WHITE,
        );
    }
    // Frequency labels on the left edge.
    let text = egui::Color32::from_gray(200);
    for f in [100.0, 1000.0, 10_000.0] {
        let y = rect.bottom() - rect.height() * axis::x_of(f) as f32;
        axis::backed_text(
            &painter,
            egui::pos2(rect.left() + 2.0, y),
            egui::Align2::LEFT_CENTER,
            &axis::label(f),
            text,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tiles' pieces tile the width without gaps or overlaps, oldest column at the left and
    /// the newest at the right, at every point of the ring (before it is full, at a tile boundary,
    /// inside a tile).
    #[test]
    fn tile_pieces_cover_the_width_oldest_to_newest() {
        for head in [0, 1, 59, 60, 61, 599, 600, 601, 1234] {
            let mut sg = Spectrogram::default();
            sg.head = head;
            let mut pieces = sg.layout();
            assert!(
                pieces.len() == TILES || pieces.len() == TILES + 1,
                "head {head}"
            );
            pieces.sort_by(|p, q| p.2[0].total_cmp(&q.2[0]));
            let mut x = 0.0f32;
            let mut covered = 0;
            for (t, [a, b], [x0, x1]) in &pieces {
                assert!((x0 - x).abs() < 1e-5, "head {head}: gap at {x}");
                assert!(t * TILE_COLUMNS <= *a && *b <= (t + 1) * TILE_COLUMNS && a < b);
                assert!(((x1 - x0) - (b - a) as f32 / COLUMNS as f32).abs() < 1e-6);
                x = *x1;
                covered += b - a;
            }
            assert!((x - 1.0).abs() < 1e-5 && covered == COLUMNS, "head {head}");
            // The leftmost piece starts at the oldest column, the rightmost ends at the newest.
            let oldest = head % COLUMNS;
            assert_eq!(pieces[0].1[0], oldest, "head {head}");
            assert_eq!(pieces.last().unwrap().1[1] % COLUMNS, oldest, "head {head}");
        }
    }
}
