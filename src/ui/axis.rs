//! Log-frequency axis helpers shared by the spectrum, spectrogram and EQ views (20 Hz – 20 kHz),
//! and the plots' furniture: grid rules, labels, outline.
//!
//! Rules and label backdrops are plain meshes, not egui strokes: egui anti-aliases every stroke
//! and fill with a feathered edge (three to six triangles per segment), and on a software
//! renderer the triangles, not the pixels, are most of what a plot costs. An axis-parallel rule
//! snapped to the pixel grid needs no anti-aliasing: two triangles.

pub const F_MIN: f64 = 20.0;
pub const F_MAX: f64 = 20_000.0;

/// Frequency → 0..1 across the axis.
#[must_use]
pub fn x_of(f: f64) -> f64 {
    (f.max(1.0) / F_MIN).ln() / (F_MAX / F_MIN).ln()
}

/// 0..1 across the axis → frequency.
#[must_use]
pub fn f_of(x: f64) -> f64 {
    F_MIN * (F_MAX / F_MIN).powf(x)
}

pub const GRID_HZ: [f64; 10] = [
    20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10_000.0, 20_000.0,
];

/// Frequencies for a response curve across a plot `width` wide: one every two pixels (32–512
/// points). An EQ curve is smooth at that spacing — its sharpest peak (Q 10) is a dozen pixels
/// wide at 1280 px — and half the points are half the triangles.
#[must_use]
pub fn curve_freqs(width: f32) -> Vec<f64> {
    let n = ((width / 2.0) as usize).clamp(32, 512);
    (0..n).map(|i| f_of(i as f64 / (n - 1) as f64)).collect()
}

/// A filled rectangle with no anti-aliased edge, snapped to whole physical pixels.
pub fn solid_rect(painter: &egui::Painter, rect: egui::Rect, color: egui::Color32) {
    let ppp = painter.pixels_per_point();
    let snap = |v: f32| (v * ppp).round() / ppp;
    let r = egui::Rect::from_min_max(
        egui::pos2(snap(rect.left()), snap(rect.top())),
        egui::pos2(snap(rect.right()), snap(rect.bottom())),
    );
    if r.width() <= 0.0 || r.height() <= 0.0 {
        return;
    }
    let mut mesh = egui::Mesh::default();
    mesh.add_colored_rect(r, color);
    painter.add(egui::Shape::mesh(mesh));
}

/// A vertical rule one physical pixel wide at `x`, from `y0` to `y1`.
pub fn vrule(painter: &egui::Painter, x: f32, y0: f32, y1: f32, color: egui::Color32) {
    let px = 1.0 / painter.pixels_per_point();
    let x = (x / px).floor() * px;
    solid_rect(
        painter,
        egui::Rect::from_min_max(egui::pos2(x, y0), egui::pos2(x + px, y1)),
        color,
    );
}

/// A horizontal rule one physical pixel high at `y`, from `x0` to `x1`.
pub fn hrule(painter: &egui::Painter, y: f32, x0: f32, x1: f32, color: egui::Color32) {
    let px = 1.0 / painter.pixels_per_point();
    let y = (y / px).floor() * px;
    solid_rect(
        painter,
        egui::Rect::from_min_max(egui::pos2(x0, y), egui::pos2(x1, y + px)),
        color,
    );
}

/// A plot's outline. Plots are not filled: a fill is shaded pixel by pixel every frame, which
/// on a software renderer costs more than everything drawn on it (see `ui::paint_light`).
/// In the light theme the plot is filled dark: its curves' colours are for a dark ground.
pub fn frame(painter: &egui::Painter, rect: egui::Rect) {
    if !painter.ctx().global_style().visuals.dark_mode {
        painter.rect_filled(rect, 0.0, egui::Color32::from_gray(20));
    }
    let c = egui::Color32::from_gray(60);
    let px = 1.0 / painter.pixels_per_point();
    hrule(painter, rect.top(), rect.left(), rect.right(), c);
    hrule(painter, rect.bottom() - px, rect.left(), rect.right(), c);
    vrule(painter, rect.left(), rect.top(), rect.bottom(), c);
    vrule(painter, rect.right() - px, rect.top(), rect.bottom(), c);
}

/// Vertical grid lines with labels at `GRID_HZ`.
pub fn draw_freq_grid(
    painter: &egui::Painter,
    rect: egui::Rect,
    grid: egui::Color32,
    text: egui::Color32,
) {
    for f in GRID_HZ {
        let x = rect.left() + rect.width() * x_of(f) as f32;
        vrule(painter, x, rect.top(), rect.bottom(), grid);
        backed_text(
            painter,
            egui::pos2(x + 2.0, rect.bottom() - 2.0),
            egui::Align2::LEFT_BOTTOM,
            &label(f),
            text,
        );
    }
}

/// An axis label on a dark backdrop, readable over a spectrogram or a busy spectrum.
pub fn backed_text(
    painter: &egui::Painter,
    pos: egui::Pos2,
    align: egui::Align2,
    text: &str,
    color: egui::Color32,
) {
    let galley = painter.layout_no_wrap(text.to_owned(), egui::FontId::proportional(10.0), color);
    let r = align.anchor_size(pos, galley.size());
    solid_rect(painter, r.expand(1.0), egui::Color32::from_black_alpha(170));
    painter.galley(r.min, galley, color);
}

/// A horizontal grid line at `y` with its label.
pub fn draw_level_line(
    painter: &egui::Painter,
    rect: egui::Rect,
    y: f32,
    text: &str,
    grid: egui::Color32,
    color: egui::Color32,
) {
    hrule(painter, y, rect.left(), rect.right(), grid);
    backed_text(
        painter,
        egui::pos2(rect.left() + 2.0, y),
        egui::Align2::LEFT_TOP,
        text,
        color,
    );
}

#[must_use]
pub fn label(f: f64) -> String {
    if f >= 1000.0 {
        format!("{}k", f / 1000.0)
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_points_span_the_axis_one_per_two_pixels() {
        let f = curve_freqs(740.0);
        assert_eq!(f.len(), 370);
        assert!((f[0] - F_MIN).abs() < 1e-9 && (f[369] - F_MAX).abs() < 1e-6);
        assert!(f.windows(2).all(|w| w[1] > w[0]));
        assert_eq!(curve_freqs(10.0).len(), 32);
        assert_eq!(curve_freqs(4000.0).len(), 512);
    }

    #[test]
    fn axis_round_trips() {
        for f in GRID_HZ {
            assert!((f_of(x_of(f)) - f).abs() < 1e-6 * f);
        }
    }
}
