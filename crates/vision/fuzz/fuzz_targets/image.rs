//! A user's image file decoded as the app does (JPEG, PNG, EXIF orientation): never panics.
//! The rules are `sightline_vision::fuzzing::image`, which `tests/fuzz_seeds.rs` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sightline_vision::fuzzing::image(data));
