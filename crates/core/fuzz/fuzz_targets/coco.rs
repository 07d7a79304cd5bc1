//! COCO JSON: never panics; what it reads, it can write.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sightline_core::annotation::{Dataset, ImageAnnotations};
use sightline_core::formats::coco;

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = coco::parse(data) else {
        return;
    };
    let dataset = Dataset {
        classes: parsed.categories.clone(),
        images: parsed
            .images
            .into_iter()
            .map(|image| ImageAnnotations {
                shapes: image.shapes,
                ..ImageAnnotations::new(image.file_name, image.image_size)
            })
            .collect(),
    };
    let (value, _) = coco::to_json(&dataset);
    coco::parse(value.to_string().as_bytes()).expect("a written file parses");
});
