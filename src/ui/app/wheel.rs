//! Mouse-wheel notches scroll at once on a software renderer.
//!
//! egui glides a wheel notch (40 points) over about a quarter of a second: it keeps the part not
//! yet scrolled and asks for the next frame at once until less than 0.2 points is left
//! (`WheelState::after_events`). With a display's vsync that is 15 frames; without one (Xvfb,
//! most VMs, a software renderer) it is every frame the CPU can draw — well over 100 a second,
//! and the renderer's threads then preempt the UI thread's own work: scrolling a 10 000-entry
//! playlist took the frame p99 over its 2 ms budget (PERFORMANCE_GUIDE.md, "big library").
//!
//! egui has no option for it, but it applies point deltas shorter than 8 points at once (it takes
//! them for a trackpad's). So a notch is handed to it as that many short point deltas: the same
//! distance, in one frame. Trackpads (short point deltas already) and gestures with a phase
//! other than `Move` are left alone.

/// egui smooths a point delta of this length or more (`WheelState::on_wheel_event`).
const SMOOTHED_FROM: f32 = 8.0;
/// The longest piece handed on: under `SMOOTHED_FROM`, with a margin for rounding.
const PIECE: f32 = 7.5;

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
        let len = points.length();
        if !len.is_finite() {
            continue;
        }
        // At most a few pages a notch: a bogus delta must not become millions of events.
        let pieces = ((len / PIECE).ceil() as usize).clamp(1, 4096);
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
        } => *unit != egui::MouseWheelUnit::Point || delta.length() >= SMOOTHED_FROM,
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

    #[test]
    fn a_bogus_delta_is_bounded_or_dropped() {
        let mut ev = vec![wheel(
            egui::MouseWheelUnit::Line,
            1e9,
            egui::TouchPhase::Move,
        )];
        instant_notches(&mut ev, 40.0, 600.0);
        assert_eq!(ev.len(), 4096);
        let mut ev = vec![wheel(
            egui::MouseWheelUnit::Line,
            f32::NAN,
            egui::TouchPhase::Move,
        )];
        instant_notches(&mut ev, 40.0, 600.0);
        assert!(ev.is_empty());
    }
}
