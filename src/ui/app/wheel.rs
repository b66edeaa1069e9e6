//! Mouse-wheel notches scroll at once on a software renderer.
//!
//! egui glides a wheel notch (40 points) over about a quarter of a second: it keeps the part not
//! yet scrolled and asks for the next frame at once until less than 0.2 points is left
//! (`WheelState::after_events`). With a display's vsync that is 15 frames; without one (Xvfb,
//! most VMs, a software renderer) it is every frame the CPU can draw: ~120 a second while a
//! playlist was scrolled here, most of the machine's CPU for a glide nobody needs
//! (PERFORMANCE_GUIDE.md, "big library"; ~50 frames a second with this).
//!
//! egui has no option for it, but it applies point deltas shorter than 8 points at once (it takes
//! them for a trackpad's). So a notch is handed to it as that many short point deltas: the same
//! distance, in one frame. Trackpads (short point deltas already) and gestures with a phase
//! other than `Move` are left alone.

/// egui smooths a point delta of this length or more (`WheelState::on_wheel_event`). It measures
/// the delta after Shift or Alt folded it onto one axis (x + y), so the size used here is
/// |x| + |y|, which no folding exceeds.
const SMOOTHED_FROM: f32 = 8.0;
/// The largest piece handed on: under `SMOOTHED_FROM`, with a margin for rounding.
const PIECE: f32 = 7.5;
/// At most this many pieces per event (~3 000 points, several pages): a bogus delta must not
/// become millions of events. Beyond it the pieces are longer and egui glides them, as before.
const MAX_PIECES: usize = 400;

/// The size egui compares with `SMOOTHED_FROM`, for any modifier.
fn size(d: egui::Vec2) -> f32 {
    d.x.abs() + d.y.abs()
}

/// Rewrites `events` so every wheel notch is applied in the frame it arrives.
/// `line` is egui's points per line (`InputOptions::line_scroll_speed`), `page` the viewport's
/// height in points.
pub fn instant_notches(events: &mut Vec<egui::Event>, line: f32, page: f32) {
    if !events.iter().any(is_notch) {
        return;
    }
    let mut out = Vec::with_capacity(events.len() + 8);
    for e in events.drain(..) {
        let egui::Event::MouseWheel {
            unit,
            delta,
            phase: phase @ egui::TouchPhase::Move,
            source,
            modifiers,
        } = e
        else {
            out.push(e);
            continue;
        };
        let points = match unit {
            egui::MouseWheelUnit::Point => delta,
            egui::MouseWheelUnit::Line => delta * line,
            egui::MouseWheelUnit::Page => delta * page,
        };
        let len = size(points);
        if !len.is_finite() {
            continue;
        }
        let pieces = ((len / PIECE).ceil() as usize).clamp(1, MAX_PIECES);
        let piece = points / pieces as f32;
        out.extend((0..pieces).map(|_| egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: piece,
            phase,
            source,
            modifiers,
        }));
    }
    *events = out;
}

/// A wheel event egui would glide over several frames.
fn is_notch(e: &egui::Event) -> bool {
    match e {
        egui::Event::MouseWheel {
            unit,
            delta,
            phase: egui::TouchPhase::Move,
            ..
        } => *unit != egui::MouseWheelUnit::Point || size(*delta) >= SMOOTHED_FROM,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wheel(unit: egui::MouseWheelUnit, y: f32, phase: egui::TouchPhase) -> egui::Event {
        egui::Event::MouseWheel {
            unit,
            delta: egui::vec2(0.0, y),
            phase,
            source: egui::MouseWheelSource::Unknown,
            modifiers: egui::Modifiers::default(),
        }
    }

    /// A wheel move with Shift held.
    fn shift_wheel(unit: egui::MouseWheelUnit, delta: egui::Vec2) -> egui::Event {
        egui::Event::MouseWheel {
            unit,
            delta,
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Unknown,
            modifiers: egui::Modifiers::SHIFT,
        }
    }

    fn points(events: &[egui::Event]) -> Vec<f32> {
        events
            .iter()
            .filter_map(|e| match e {
                egui::Event::MouseWheel {
                    unit: egui::MouseWheelUnit::Point,
                    delta,
                    ..
                } => Some(delta.y),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_line_notch_becomes_short_point_deltas_of_the_same_distance() {
        let key = egui::Event::Text("a".into());
        let mut ev = vec![
            key.clone(),
            wheel(egui::MouseWheelUnit::Line, -1.0, egui::TouchPhase::Move),
            key.clone(),
        ];
        instant_notches(&mut ev, 40.0, 600.0);
        let p = points(&ev);
        assert!(p.len() >= 6, "{p:?}");
        assert!(p.iter().all(|d| d.abs() < SMOOTHED_FROM), "{p:?}");
        assert!((p.iter().sum::<f32>() + 40.0).abs() < 1e-3, "{p:?}");
        assert_eq!(ev.first(), Some(&key), "order kept");
        assert_eq!(ev.last(), Some(&key), "order kept");
    }

    #[test]
    fn pages_and_long_point_deltas_are_split_short_ones_and_gestures_kept() {
        let mut ev = vec![wheel(
            egui::MouseWheelUnit::Page,
            1.0,
            egui::TouchPhase::Move,
        )];
        instant_notches(&mut ev, 40.0, 600.0);
        let p = points(&ev);
        assert!((p.iter().sum::<f32>() - 600.0).abs() < 1e-2);
        assert!(p.iter().all(|d| d.abs() < SMOOTHED_FROM));

        let mut ev = vec![wheel(
            egui::MouseWheelUnit::Point,
            30.0,
            egui::TouchPhase::Move,
        )];
        instant_notches(&mut ev, 40.0, 600.0);
        assert!((points(&ev).iter().sum::<f32>() - 30.0).abs() < 1e-3);
        assert!(points(&ev).iter().all(|d| d.abs() < SMOOTHED_FROM));

        // A trackpad's short deltas and a gesture's start/end pass unchanged.
        let kept = vec![
            wheel(egui::MouseWheelUnit::Point, 0.0, egui::TouchPhase::Start),
            wheel(egui::MouseWheelUnit::Point, 3.0, egui::TouchPhase::Move),
            wheel(egui::MouseWheelUnit::Line, 2.0, egui::TouchPhase::End),
        ];
        let mut ev = kept.clone();
        instant_notches(&mut ev, 40.0, 600.0);
        assert_eq!(ev, kept);
    }

    /// What egui scrolls in the frame that gets `events` (after our rewrite when `instant`), and
    /// what it still scrolls in the next frame, which has no input.
    fn one_frame(events: Vec<egui::Event>, instant: bool) -> (egui::Vec2, egui::Vec2) {
        let ctx = egui::Context::default();
        let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(800.0, 600.0));
        let mut events = Some(events);
        if instant {
            instant_notches(events.as_mut().unwrap(), 40.0, 600.0);
        }
        let mut deltas = [egui::Vec2::ZERO; 3];
        // A first frame without input, the one with the events, and one after 16 ms.
        for (i, d) in deltas.iter_mut().enumerate() {
            let mut out = ctx.run_ui(
                egui::RawInput {
                    screen_rect: Some(screen),
                    events: if i == 1 {
                        events.take().unwrap()
                    } else {
                        Vec::new()
                    },
                    time: Some(1.0 + i as f64 * 0.016),
                    ..Default::default()
                },
                |ui| *d = ui.input(|i| i.smooth_scroll_delta()),
            );
            // No renderer takes the font texture.
            out.textures_delta.clear();
        }
        (deltas[1], deltas[2])
    }

    #[test]
    fn egui_scrolls_the_whole_notch_in_one_frame_and_needs_no_more() {
        let notch = || {
            vec![wheel(
                egui::MouseWheelUnit::Line,
                -1.0,
                egui::TouchPhase::Move,
            )]
        };
        // As egui has it: part of the notch, the rest in the frames after.
        let (d, rest) = one_frame(notch(), false);
        assert!(
            d.y > -39.0 && rest.y < 0.0,
            "egui glides: {d:?}, then {rest:?}"
        );
        // Rewritten: the whole notch, nothing left for the next frame.
        let (d, rest) = one_frame(notch(), true);
        assert!((d.y + 40.0).abs() < 1e-3 && d.x == 0.0, "{d:?}");
        assert_eq!(rest, egui::Vec2::ZERO, "nothing left to scroll");
        // With Shift the notch scrolls sideways, also at once (egui folds y onto x).
        let shifted = vec![shift_wheel(
            egui::MouseWheelUnit::Line,
            egui::vec2(0.0, -1.0),
        )];
        let (d, rest) = one_frame(shifted, true);
        assert!((d.x + 40.0).abs() < 1e-3 && d.y == 0.0, "{d:?}");
        assert_eq!(rest, egui::Vec2::ZERO);
        // A diagonal delta that egui would fold to more than 8 points is split finer.
        let diagonal = vec![shift_wheel(
            egui::MouseWheelUnit::Point,
            egui::vec2(5.0, 5.0),
        )];
        let (d, rest) = one_frame(diagonal, true);
        assert!(
            (d.x - 10.0).abs() < 1e-3 && rest == egui::Vec2::ZERO,
            "{d:?}"
        );
    }

    #[test]
    fn a_bogus_delta_is_bounded_or_dropped() {
        let mut ev = vec![wheel(
            egui::MouseWheelUnit::Line,
            1e9,
            egui::TouchPhase::Move,
        )];
        instant_notches(&mut ev, 40.0, 600.0);
        assert_eq!(ev.len(), MAX_PIECES);
        let mut ev = vec![wheel(
            egui::MouseWheelUnit::Line,
            f32::NAN,
            egui::TouchPhase::Move,
        )];
        instant_notches(&mut ev, 40.0, 600.0);
        assert!(ev.is_empty());
    }
}
