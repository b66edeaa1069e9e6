#![no_main]
//! See `rusty_audio::fuzzing::settings`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| rusty_audio::fuzzing::settings(data));
