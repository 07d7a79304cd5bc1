//! `data.yaml` and `classes.txt`: never panic.
//! The rules are `sightline_core::fuzzing::yolo_data_yaml`, which `tests/fuzz_seeds.rs` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sightline_core::fuzzing::yolo_data_yaml(data));
