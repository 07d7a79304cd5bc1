//! YOLO label lines: never panics; every line is either read or reported.
//! The rules are `sightline_core::fuzzing::yolo_labels`, which `tests/fuzz_seeds.rs` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sightline_core::fuzzing::yolo_labels(data));
