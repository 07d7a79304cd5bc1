//! LabelMe JSON: never panics; what it reads it writes back to the same annotations, and
//! writing what it wrote gives the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sightline_core::annotation::ImageAnnotations;
use sightline_core::formats::labelme;

/// Keys the writer adds (a LabelMe file always has `version`, `flags`, `imageData`...)
/// change the key order of the next read and fill in the version, nothing else.
fn without_key_order(mut annotations: ImageAnnotations) -> ImageAnnotations {
    annotations.key_order.clear();
    annotations.labelme_version = Some(
        annotations
            .labelme_version
            .unwrap_or_else(|| labelme::LABELME_VERSION.to_owned()),
    );
    for shape in &mut annotations.shapes {
        shape.key_order.clear();
    }
    annotations
}

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = labelme::parse(data) else {
        return;
    };
    let written = labelme::write(&parsed.annotations, true).expect("a parsed file writes");
    let again = labelme::parse(&written).expect("a written file parses");
    assert_eq!(
        without_key_order(again.annotations.clone()),
        without_key_order(parsed.annotations),
        "round-trip changed the annotations"
    );
    let rewritten = labelme::write(&again.annotations, true).expect("writes");
    assert_eq!(rewritten, written, "writing is not idempotent");
});
