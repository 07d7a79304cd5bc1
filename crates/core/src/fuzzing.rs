//! The bodies of the fuzz targets (`crates/core/fuzz`, cargo-fuzz), one function per target,
//! shared with the test that replays their committed seeds natively (`tests/fuzz_seeds.rs`):
//! each rule is written once. Not an interface of the crate. Every function takes arbitrary
//! bytes and panics only when the code under test breaks its contract.

use crate::annotation::{Dataset, ImageAnnotations, ImageSize};
use crate::formats::{self, ImportOptions, InputFile, coco, labelme, voc, yolo};
use crate::share::{self, LinkError};

/// A fuzz target: its name and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target by name (the name of its binary in `crates/core/fuzz/Cargo.toml` and of its
/// folder under `crates/core/fuzz/seeds/`).
pub const TARGETS: &[Target] = &[
    ("labelme", labelme),
    ("coco", coco),
    ("voc", voc),
    ("yolo_labels", yolo_labels),
    ("yolo_data_yaml", yolo_data_yaml),
    ("import_folder", import_folder),
    ("share_link", share_link),
];

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

/// LabelMe JSON: never panics; what it reads it writes back to the same annotations, and
/// writing what it wrote gives the same bytes.
pub fn labelme(data: &[u8]) {
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
}

/// COCO JSON: never panics; what it reads, it can write.
pub fn coco(data: &[u8]) {
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
}

/// Pascal VOC XML: never panics; boxes it reads are written and read back the same.
pub fn voc(data: &[u8]) {
    let Ok(parsed) = voc::parse(data) else { return };
    let (xml, _) = voc::to_xml("image.jpg", "JPEGImages", parsed.image_size, &parsed.shapes);
    let again = voc::parse(xml.as_bytes()).expect("a written file parses");
    assert_eq!(again.shapes.len(), parsed.shapes.len());
}

/// YOLO label lines: never panics; every line is either read or reported.
pub fn yolo_labels(data: &[u8]) {
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
}

/// `data.yaml` and `classes.txt`: never panic.
pub fn yolo_data_yaml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = yolo::parse_data_yaml(text);
    let _ = yolo::parse_class_list(text);
}

/// A whole folder: the input is split into files at NUL bytes, named by their first line,
/// and imported with format detection. Never panics.
pub fn import_folder(data: &[u8]) {
    let files: Vec<InputFile> = data
        .split(|b| *b == 0)
        .filter_map(|chunk| {
            let at = chunk.iter().position(|b| *b == b'\n')?;
            let name = std::str::from_utf8(&chunk[..at]).ok()?;
            Some(InputFile::new(name, &chunk[at + 1..]))
        })
        .collect();
    let sizes = |file: &InputFile| Some(ImageSize::new(file.bytes.len() as u32 + 1, 64));
    let _ = formats::import_folder(&files, &ImportOptions::default(), &sizes);
}

/// Share links: any text either opens or is refused with a `LinkError`, never a panic, and
/// never more than the decoded-size cap; a setup that opens encodes again (unless the
/// re-encoding is longer than the link limit: another compressor may beat miniz_oxide), and
/// that payload opens to the same setup. The text is read both as a payload and as a link.
pub fn share_link(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    share_round_trips(&text);
    if let Some(payload) = share::payload_of(&text) {
        share_round_trips(payload);
    }
}

fn share_round_trips(payload: &str) {
    let Ok(setup) = share::decode(payload) else {
        return;
    };
    let encoded = match share::encode(&setup) {
        Ok(encoded) => encoded,
        Err(LinkError::TooLong { .. } | LinkError::TooLarge { .. }) => return,
        Err(error) => panic!("a decoded setup does not encode: {error}"),
    };
    assert_eq!(
        share::decode(&encoded).as_ref(),
        Ok(&setup),
        "encode then decode changed the setup"
    );
    assert_eq!(
        share::encode(&setup).as_ref(),
        Ok(&encoded),
        "encoding is not deterministic"
    );
}
