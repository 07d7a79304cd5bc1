//! ONNX files: decoded and built into a CPU model; never panics, what decodes is well formed.
//! The rules are `sightline_vision::fuzzing::onnx`, which `tests/fuzz_seeds.rs` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sightline_vision::fuzzing::onnx(data));
