//! Entry points for the coverage-guided fuzz targets (`fuzz/`, cargo-fuzz) and for the replay of
//! their corpus and past crashes in `make test` (`tests/fuzz_replay.rs`): one function per
//! target, taking arbitrary bytes. Each returns normally on any input; a panic, an abort or a
//! broken invariant (asserted here) is a find. Not part of the player's interface.
//!
//! Decoding runs inside [`crate::decode::guard`], which turns a panic in a codec into a decode
//! error (the player's behaviour on a hostile file). So that the fuzzer still sees our own bugs,
//! a panic contained there whose location is in this crate's sources is re-raised: see
//! [`contained_panic_in_our_code`].

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use crate::analysis::levels::Levels;
use crate::analysis::loudness::LoudnessMeter;
use crate::analysis::true_peak::TruePeak;
use crate::decode::AudioSource;

/// At most this many frames are decoded per input (enough to cross many packets; bounded so a
/// tiny input claiming hours of silence cannot stall the fuzzer).
const MAX_FRAMES: usize = 1 << 18;

thread_local! {
    static OUR_PANIC: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
}

/// Install (once) a panic hook that remembers when a panic contained by the decode guard came
/// from our own sources (`src/…`) rather than a dependency's (absolute registry paths).
fn watch_contained_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if crate::decode::guard::is_contained() {
                if let Some(loc) = info.location() {
                    // Relative inside this workspace; absolute when built from `fuzz/` (its own
                    // workspace, with this crate as a path dependency).
                    let ours = concat!(env!("CARGO_MANIFEST_DIR"), "/src/");
                    if loc.file().starts_with("src/") || loc.file().starts_with(ours) {
                        OUR_PANIC.with(|p| p.set(Some("contained panic in our code")));
                        previous(info);
                    }
                }
                return;
            }
            previous(info);
        }));
    });
}

/// Whether a panic in our own code was turned into a decode error since the last call.
fn contained_panic_in_our_code() -> bool {
    OUR_PANIC.with(|p| p.take()).is_some()
}

/// Probe, decode (a seek included) and measure arbitrary bytes as an audio file, then read its
/// tags, cover and size repairs: what opening a file in the player or `analyze` does.
pub fn decode(data: &[u8]) {
    watch_contained_panics();
    let _ = crate::decode::size_repair::patches(&mut Cursor::new(data), data.len() as u64);
    let _ = crate::decode::opus::Head::parse(data);
    let path = Path::new("fuzz-input");
    let bytes: Arc<[u8]> = data.into();
    if let Ok(mut src) = AudioSource::open_bytes(path, bytes) {
        let info = src.info().clone();
        assert!((1..=crate::dsp::MAX_CHANNELS).contains(&info.channels));
        assert!((1_000..=768_000).contains(&info.sample_rate));
        let ch = info.channels;
        let mut levels = Levels::default();
        let mut loudness = LoudnessMeter::offline(ch, info.sample_rate);
        let mut tp = TruePeak::new(ch, info.sample_rate);
        let mut buf = Vec::new();
        let mut frames = 0usize;
        while frames < MAX_FRAMES {
            buf.clear();
            match src.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    assert_eq!(buf.len(), n * ch, "read returns whole frames");
                    frames += n;
                    levels.add(&buf);
                    loudness.add(&buf);
                    tp.add(&buf);
                }
            }
        }
        let _ = tp.peak();
        // Seek somewhere the input chooses, then read a little.
        let target = u64::from(data.get(data.len() / 2).copied().unwrap_or(0)) * 997;
        if src.seek(target).is_ok() {
            buf.clear();
            if let Ok(n) = src.read(&mut buf) {
                assert_eq!(buf.len(), n * ch);
            }
        }
        let (_, cover) = src.tags(true);
        if let Some(c) = cover {
            let _ = crate::ui::scanner::decode_cover(&c);
        }
    }
    assert!(
        !contained_panic_in_our_code(),
        "a panic in our decoding code"
    );
}

/// An Equalizer APO / AutoEQ preset, as text: parsed, and if it loads, run through the EQ, whose
/// output must stay finite for a finite input (a preset must never make the player emit NaN).
pub fn preset(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(parsed) = crate::dsp::preset::parse(&text, Path::new("fuzz.txt")) else {
        return;
    };
    for rate in [8_000, 48_000, 192_000] {
        let mut eq = crate::dsp::eq::Equalizer::new(&parsed.eq, rate, 2, 256);
        eq.settle();
        let mut block: Vec<f32> = (0..512)
            .map(|i| ((i * 7919 % 513) as f32 / 256.0 - 1.0) * 0.5)
            .collect();
        for _ in 0..4 {
            eq.process(&mut block);
            assert!(
                block.iter().all(|x| x.is_finite()),
                "EQ output not finite at {rate} Hz for {:?}",
                parsed.eq
            );
        }
    }
}

/// The settings file: whatever it says, loading gives settings in range, and saving them and
/// loading again gives the same settings.
pub fn settings(data: &[u8]) {
    use crate::ui::settings::Settings;
    let Ok(s) = serde_json::from_slice::<Settings>(data) else {
        return;
    };
    let once = s.validated();
    let text = serde_json::to_vec(&once).expect("settings serialize");
    let again: Settings = serde_json::from_slice(&text).expect("saved settings load");
    assert_eq!(
        again.validated(),
        once,
        "validation is idempotent through a save"
    );
}

/// A cue sheet and the tag values we parse ourselves (ReplayGain and R128 strings).
pub fn cue_and_tags(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(sheet) = crate::library::cue::parse(&text) {
        for f in &sheet.files {
            // A loaded sheet's tracks start in order in each file (the ranges never overlap),
            // and their times become frames at any rate a file may have. (INDEX 00 is not
            // checked against INDEX 01: in EAC's noncompliant layout it lies in the previous
            // file.)
            assert!(f.tracks.windows(2).all(|w| w[0].start < w[1].start));
            for t in &f.tracks {
                for rate in [8_000, 768_000] {
                    let _ = t.start.to_frame(rate);
                    let _ = t.index00.map(|i| i.to_frame(rate));
                }
            }
        }
    }
    for line in text.lines().take(64) {
        if let Some(g) = crate::library::replaygain::parse_gain_db(line) {
            assert!(g.is_finite());
        }
        if let Some(p) = crate::library::replaygain::parse_peak(line) {
            assert!(p.is_finite() && p >= 0.0);
        }
        if let Some(g) = crate::library::replaygain::parse_r128_q78(line) {
            assert!(g.is_finite());
        }
    }
}
