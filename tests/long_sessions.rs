//! Long files keep memory flat (issue 15): `analyze` of a three-hour file and `render` of a long
//! one use no more memory than a short one (nothing is kept per second of audio beyond the
//! loudness history's 16 bytes per 100 ms). Memory is each process's own peak (VmHWM), not
//! timed.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Run the binary with `args`: its exit code and its own peak resident set (MiB).
fn run_measured(args: &[&str]) -> (i32, f64) {
    let (o, mib) = run_with_peak_rss(args);
    (o.status.code().unwrap_or(-1), mib)
}

/// A FLAC sine of `seconds` at 8 kHz mono (small and quick to make, however long).
fn long_flac(dir: &Path, seconds: u32) -> PathBuf {
    let out = dir.join(format!("sine_{seconds}s.flac"));
    let ok = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!(
            "sine=frequency=440:sample_rate=8000:duration={seconds}"
        ))
        .args(["-ac", "1", "-c:a", "flac"])
        .arg(&out)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ffmpeg");
    out
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn analyze_of_a_three_hour_file_uses_what_a_minute_does() {
    let dir = scratch("long_analyze");
    let short = long_flac(&dir, 60);
    let long = long_flac(&dir, 3 * 3600);
    let (code, short_mib) = run_measured(&["analyze", p(&short)]);
    assert_eq!(code, 0);
    let (code, long_mib) = run_measured(&["analyze", "--json", p(&long)]);
    assert_eq!(code, 0);
    // 3 h of loudness history is 108 000 × 16 bytes = 1.7 MB; anything kept per sample or per
    // packet would be tens to hundreds of MB.
    assert!(
        long_mib - short_mib < 6.0,
        "analyze: {long_mib:.1} MiB for 3 h against {short_mib:.1} MiB for 1 min"
    );
    assert!(long_mib < 40.0, "analyze of 3 h: {long_mib:.1} MiB");
}

#[test]
fn render_of_a_long_file_uses_what_a_short_one_does() {
    let dir = scratch("long_render");
    let short = long_flac(&dir, 60);
    let long = long_flac(&dir, 600);
    let out = dir.join("out.wav");
    let (code, short_mib) = run_measured(&["render", p(&short), p(&out), "--bits", "16"]);
    assert_eq!(code, 0);
    let (code, long_mib) = run_measured(&["render", p(&long), p(&out), "--bits", "16"]);
    assert_eq!(code, 0);
    let frames = hound::WavReader::open(&out).unwrap().duration();
    assert_eq!(frames, 600 * 8000, "the whole file was rendered");
    // Ten minutes of output kept in memory would be 19 MB (f32) or 9.6 MB (16-bit).
    assert!(
        long_mib - short_mib < 6.0,
        "render: {long_mib:.1} MiB for 10 min against {short_mib:.1} MiB for 1 min"
    );
    let _ = std::fs::remove_file(&out);
}

/// This process's anonymous resident memory (KiB): the heap, without mapped files.
fn rss_anon_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("RssAnon in /proc/self/status")
}

/// The desktop app playing a three-hour file: the seek bar's waveform fills in from the left as
/// the file is read (each drawn part wider than the last, the whole bar at the end), the decoded
/// length is the file's, and the app's peak memory while it reads the three hours is what it was
/// with a one-minute file (the overview is bounded; nothing is kept per second of audio). The app
/// runs in this process (egui_kittest), which does nothing else meanwhile: the other tests of
/// this binary measure child processes. (The parts are sent 16 to a file and the app shows the
/// latest each frame: a UI frame slower than a sixteenth of the read would merge them, and the
/// debug build reads three hours in seconds.)
#[test]
fn the_app_on_a_three_hour_file_fills_the_seek_bar_in_and_keeps_its_memory() {
    use common::app::*;
    use egui_kittest::kittest::Queryable;
    use std::time::{Duration, Instant};
    let dir = scratch("long_app");
    let short = long_flac(&dir, 60);
    let long = long_flac(&dir, 3 * 3600);
    let mut h = harness(app_with(vec![short, long]));
    h.step();
    // Entry `track`'s overview, once it plays: (frames read, frames expected while partial,
    // drawn width).
    let state = |a: &rusty_audio::ui::RustyApp, track: usize| {
        if a.position()?.0 != track {
            return None;
        }
        let key = a.playlist.get(track)?.key;
        let o = a.overview.as_ref().filter(|o| o.key == key)?;
        let width = o.texture.as_ref().map(|(size, _)| size[0]);
        Some((o.overview.total_frames, o.overview.partial_of, width?))
    };
    // Step until entry `track` plays and its whole overview is drawn, collecting the partial
    // ones seen and the most anonymous memory seen on the way.
    let read_all = |h: &mut egui_kittest::Harness<'static, rusty_audio::ui::RustyApp>,
                    track: usize| {
        let mut parts = Vec::new();
        let mut peak_kib = 0;
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            h.step();
            peak_kib = peak_kib.max(rss_anon_kib());
            match state(h.state(), track) {
                Some((_, None, width)) => return (parts, width, peak_kib),
                Some((frames, Some(of), width)) if parts.last() != Some(&(frames, of, width)) => {
                    parts.push((frames, of, width));
                }
                _ => {}
            }
            assert!(Instant::now() < deadline, "timed out reading the overview");
            std::thread::yield_now();
        }
    };
    h.get_by_label("Play").click();
    let (_, short_width, short_kib) = read_all(&mut h, 0);

    h.get_by_label("Next").click();
    let (parts, width, long_kib) = read_all(&mut h, 1);
    assert_eq!(width, short_width, "the whole bar is drawn at the end");
    assert!(
        parts.len() >= 2,
        "the waveform was shown in parts while the file was read: {parts:?}"
    );
    for w in parts.windows(2) {
        assert!(
            w[1].0 > w[0].0 && w[1].2 >= w[0].2,
            "each part covers more of the file and of the bar: {parts:?}"
        );
    }
    // Each part covers less than the whole file; its width may round to the whole bar only
    // at the very end (a part at 99.98 % of the file, seen in CI), so the first is checked to
    // be narrower.
    for &(frames, of, part_width) in &parts {
        assert!(
            frames < of && part_width <= width,
            "a part covers less than the whole: {parts:?}"
        );
    }
    assert!(
        parts[0].2 < width,
        "the first part is part of the bar: {parts:?}"
    );
    let entry = &h.state().playlist[1];
    assert_eq!(
        entry.duration_s,
        Some(3.0 * 3600.0),
        "the decoded length is the file's"
    );
    // The peaks while each file is read: 3 h of anything per second (even one byte per 100 ms
    // block), kept or only passing through, would show here; the overview and the caches are
    // bounded, so the two files cost the same but for allocator noise.
    let grew_mib = (long_kib as f64 - short_kib as f64) / 1024.0;
    assert!(
        grew_mib < 8.0,
        "the app grew by {grew_mib:.1} MiB reading 3 h ({short_kib} → {long_kib} KiB)"
    );
}
