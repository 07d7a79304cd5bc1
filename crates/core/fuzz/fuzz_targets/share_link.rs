//! Share links: any text opens or is refused with a `LinkError`; what opens round-trips.
//! The rules are `sightline_core::fuzzing::share_link`, which `tests/fuzz_seeds.rs` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sightline_core::fuzzing::share_link(data));
