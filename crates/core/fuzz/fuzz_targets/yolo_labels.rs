//! YOLO label lines: never panics; every line is either read or reported.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sightline_core::formats::yolo;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (lines, errors) = yolo::parse_labels(text);
    let non_empty = text.lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(
        lines.len() + errors.len(),
        non_empty,
        "a line was neither read nor reported"
    );
});
