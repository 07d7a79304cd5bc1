//! LabelMe JSON: never panics, and what it reads it writes back to the same annotations.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sightline_core::formats::labelme;

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = labelme::parse(data) else { return };
    let written = labelme::write(&parsed.annotations, true).expect("a parsed file writes");
    let again = labelme::parse(&written).expect("a written file parses");
    assert_eq!(again.annotations, parsed.annotations, "round-trip changed the annotations");
});
