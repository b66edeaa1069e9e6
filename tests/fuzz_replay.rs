//! Replays the fuzz targets' corpus (`fuzz/corpus/<target>/`) and every input that ever crashed
//! one (`fuzz/regressions/<target>/`) through the same entry points (`rusty_audio::fuzzing`),
//! without libFuzzer: a fixed find stays fixed, and the corpus still runs clean on every change.
//! Fuzzing itself (millions of generated inputs) is `make fuzz`; see PERFORMANCE_GUIDE.md.

use std::path::{Path, PathBuf};

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Run `f` on every corpus and regression input of `target`; the corpus must not be empty.
fn replay(target: &str, f: fn(&[u8])) {
    let corpus = inputs("corpus", target);
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{target} is empty: the seeds are committed"
    );
    let regressions = inputs("regressions", target);
    for path in corpus.iter().chain(&regressions) {
        let data = std::fs::read(path).unwrap();
        // A panic names the input, so the failing file is known without a debugger.
        let r = std::panic::catch_unwind(|| f(&data));
        assert!(r.is_ok(), "{target}: {} fails", path.display());
    }
    eprintln!(
        "{target}: {} corpus inputs and {} past crashes replayed",
        corpus.len(),
        regressions.len()
    );
}

#[test]
fn decode_corpus_and_past_crashes_run_clean() {
    replay("decode", rusty_audio::fuzzing::decode);
}

#[test]
fn preset_corpus_and_past_crashes_run_clean() {
    replay("preset", rusty_audio::fuzzing::preset);
}

#[test]
fn settings_corpus_and_past_crashes_run_clean() {
    replay("settings", rusty_audio::fuzzing::settings);
}

#[test]
fn cue_and_tags_corpus_and_past_crashes_run_clean() {
    replay("cue_and_tags", rusty_audio::fuzzing::cue_and_tags);
}

/// The decode seeds are real files of every format we read (so the fuzzer starts from inside
/// each demuxer and codec, not from the probe's rejection of noise).
#[test]
fn every_decode_seed_is_a_playable_file() {
    use rusty_audio::decode::AudioSource;
    let mut codecs = std::collections::BTreeSet::new();
    for path in inputs("corpus", "decode") {
        let mut src = AudioSource::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut buf = Vec::new();
        assert!(src.read(&mut buf).unwrap() > 0, "{}", path.display());
        codecs.insert(src.info().codec.clone());
    }
    for codec in [
        "pcm_s16le",
        "pcm_s16be",
        "pcm_f32le",
        "pcm_mulaw",
        "adpcm_ima_wav",
        "flac",
        "mp3",
        "vorbis",
        "opus",
        "aac",
        "alac",
    ] {
        assert!(codecs.contains(codec), "no {codec} seed in {codecs:?}");
    }
}
