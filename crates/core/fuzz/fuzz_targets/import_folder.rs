//! A whole folder (files split at NUL bytes) imported with format detection: never panics.
//! The rules are `sightline_core::fuzzing::import_folder`, which `tests/fuzz_seeds.rs` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sightline_core::fuzzing::import_folder(data));
