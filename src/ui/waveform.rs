//! The seek bar's waveform, drawn as one texture.
//!
//! A column per pixel used to be a line segment each: a thousand anti-aliased quads a frame,
//! about a tenth of a core on a software renderer at 10–30 frames a second. The picture only
//! changes with the track or the bar's size, so it is rasterised here once, white on
//! transparent (its alpha is the coverage), and drawn as two rectangles tinted with the played
//! and the unplayed colour, split at the playhead.

/// The waveform of `columns` (one `(min, max)` per pixel column, see `Overview::columns`) in an
/// image `height` pixels high, scaled so `peak` reaches 90 % of the height. Every column shows at
/// least one pixel (silence is a flat line, as on every player's seek bar).
#[must_use]
pub fn image(columns: &[(f32, f32)], peak: f32, height: usize) -> egui::ColorImage {
    let (w, h) = (columns.len(), height);
    let mut px = vec![egui::Color32::TRANSPARENT; w * h];
    let peak = peak.max(1e-6);
    let mid = h as f32 / 2.0;
    let half = h as f32 * 0.45 / peak;
    for (c, &(lo, hi)) in columns.iter().enumerate() {
        let (lo, hi) = (lo.clamp(-peak, peak), hi.clamp(-peak, peak));
        let (mut top, mut bottom) = (mid - hi.max(lo) * half, mid - lo.min(hi) * half);
        if bottom - top < 1.0 {
            let centre = (top + bottom) / 2.0;
            (top, bottom) = (centre - 0.5, centre + 0.5);
        }
        for y in 0..h {
            // The share of this pixel's row the column's span covers.
            let cover = (bottom.min(y as f32 + 1.0) - top.max(y as f32)).clamp(0.0, 1.0);
            if cover > 0.0 {
                px[y * w + c] = egui::Color32::from_white_alpha((cover * 255.0).round() as u8);
            }
        }
    }
    egui::ColorImage::new([w, h], px)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alpha(img: &egui::ColorImage, x: usize, y: usize) -> u8 {
        img.pixels[y * img.size[0] + x].a()
    }

    #[test]
    fn each_column_covers_its_span_and_nothing_else() {
        // Full scale, half scale (upper half only), silence, and a span clamped at the peak.
        let cols = [(-1.0, 1.0), (0.0, 0.5), (0.0, 0.0), (-3.0, 3.0)];
        let img = image(&cols, 1.0, 40);
        assert_eq!(img.size, [4, 40]);
        let lit = |x: usize| {
            (0..40)
                .filter(|&y| alpha(&img, x, y) > 0)
                .collect::<Vec<_>>()
        };
        // ±1 → rows 2..38 (90 % of 40 around the middle).
        assert_eq!(lit(0), (2..38).collect::<Vec<_>>());
        assert_eq!(alpha(&img, 0, 20), 255);
        // 0..0.5 → from the middle up to a quarter of 90 %: rows 11..20.
        assert_eq!(lit(1), (11..20).collect::<Vec<_>>());
        // Silence: one pixel's worth at the middle, split over the two rows it straddles.
        let l = lit(2);
        assert!(!l.is_empty() && l.len() <= 2, "{l:?}");
        let sum: u32 = l.iter().map(|&y| u32::from(alpha(&img, 2, y))).sum();
        assert!(
            (254..=256).contains(&sum),
            "one pixel of coverage, got {sum}"
        );
        // Clamped to the peak, as the full-scale column.
        assert_eq!(lit(3), lit(0));
        // White (premultiplied): the tint alone gives the colour.
        let p = img.pixels[20 * 4];
        assert_eq!((p.r(), p.g(), p.b(), p.a()), (255, 255, 255, 255));
    }

    #[test]
    fn no_columns_is_an_empty_image() {
        let img = image(&[], 1.0, 36);
        assert_eq!(img.size, [0, 36]);
        assert!(img.pixels.is_empty());
    }
}
