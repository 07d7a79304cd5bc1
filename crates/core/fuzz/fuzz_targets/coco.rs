//! COCO JSON: never panics; what it reads, it can write.
//! The rules are `sightline_core::fuzzing::coco`, which `tests/fuzz_seeds.rs` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sightline_core::fuzzing::coco(data));
