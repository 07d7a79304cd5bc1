//! Pascal VOC XML: never panics; boxes it reads are written and read back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sightline_core::formats::voc;

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = voc::parse(data) else { return };
    let (xml, _) = voc::to_xml("image.jpg", "JPEGImages", parsed.image_size, &parsed.shapes);
    let again = voc::parse(xml.as_bytes()).expect("a written file parses");
    assert_eq!(again.shapes.len(), parsed.shapes.len());
});
