#![no_main]
//! See `rusty_audio::fuzzing::cue_and_tags`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| rusty_audio::fuzzing::cue_and_tags(data));
