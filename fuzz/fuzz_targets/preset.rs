#![no_main]
//! See `rusty_audio::fuzzing::preset`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| rusty_audio::fuzzing::preset(data));
