//! The baseline JPEG decoder: never panics; what it returns has the size it declares.
//! The rules are `sightline_vision::fuzzing::jpeg`, which `tests/fuzz_seeds.rs` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sightline_vision::fuzzing::jpeg(data));
