#![no_main]
//! See `rusty_audio::fuzzing::decode`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| rusty_audio::fuzzing::decode(data));
