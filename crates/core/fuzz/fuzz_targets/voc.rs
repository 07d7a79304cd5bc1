//! Pascal VOC XML: never panics; boxes it reads are written and read back the same.
//! The rules are `sightline_core::fuzzing::voc`, which `tests/fuzz_seeds.rs` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sightline_core::fuzzing::voc(data));
