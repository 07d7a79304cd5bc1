//! LabelMe JSON: never panics, and round-trips.
//! The rules are `sightline_core::fuzzing::labelme`, which `tests/fuzz_seeds.rs` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sightline_core::fuzzing::labelme(data));
