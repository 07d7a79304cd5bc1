//! Real files from LabelMe's own examples (GPL, read from `../shared`, never copied here).

mod common;

use serde_json::Value;
use sightline_core::annotation::ShapeKind;
use sightline_core::formats::{
    self, Format, ImportError, ImportOptions, IssueOutcome, coco, labelme,
};

fn key_orders_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.keys().eq(y.keys())
                && x.values()
                    .zip(y.values())
                    .all(|(p, q)| key_orders_equal(p, q))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| key_orders_equal(p, q))
        }
        _ => a == b,
    }
}

#[test]
fn labelme_files_round_trip_as_the_same_json() {
    let Some(dir) = common::shared_fixture("external/labelme") else {
        return;
    };
    let mut checked = 0;
    for file in common::read_folder(&dir) {
        let Ok(original) = serde_json::from_slice::<Value>(&file.bytes) else {
            continue;
        };
        if original.get("shapes").is_none() {
            continue;
        }
        let parsed = labelme::parse(&file.bytes).expect("LabelMe's own files parse");
        assert!(
            parsed.shape_issues.is_empty(),
            "{}: {:?}",
            file.path,
            parsed.shape_issues
        );
        let written = labelme::to_json(&parsed.annotations, true);
        assert_eq!(written, original, "{} changed on a round-trip", file.path);
        assert!(
            key_orders_equal(&written, &original),
            "{}: key order changed",
            file.path
        );
        // Written as LabelMe writes (indent 2): the very same bytes.
        let bytes = labelme::write(&parsed.annotations, true).expect("write");
        let text = String::from_utf8(bytes).expect("utf-8");
        let original_text = String::from_utf8(file.bytes.clone()).expect("utf-8");
        assert_eq!(
            text.trim_end(),
            original_text.trim_end(),
            "{}: bytes differ",
            file.path
        );
        checked += 1;
    }
    assert_eq!(checked, 5, "the five LabelMe files of the fixtures");
}

#[test]
fn primitives_file_has_every_kind_including_mask() {
    let Some(dir) = common::shared_fixture("external/labelme") else {
        return;
    };
    let bytes = std::fs::read(dir.join("primitives__primitives.json")).expect("fixture");
    let parsed = labelme::parse(&bytes).expect("parses");
    let kinds: Vec<ShapeKind> = parsed.annotations.shapes.iter().map(|s| s.kind).collect();
    for kind in [
        ShapeKind::Rectangle,
        ShapeKind::Circle,
        ShapeKind::Polygon,
        ShapeKind::Line,
        ShapeKind::Point,
        ShapeKind::Linestrip,
        ShapeKind::Mask,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} missing from {kinds:?}");
    }
    let mask = parsed
        .annotations
        .shapes
        .iter()
        .find(|s| s.kind == ShapeKind::Mask)
        .expect("mask");
    assert!(
        mask.mask.as_deref().is_some_and(|m| m.starts_with("iVBOR")),
        "PNG kept as read"
    );
    assert_eq!(mask.description.as_deref(), Some(""));
}

#[test]
fn labelme2coco_file_imports_with_the_right_counts() {
    let Some(dir) = common::shared_fixture("external/labelme") else {
        return;
    };
    let bytes =
        std::fs::read(dir.join("instance_segmentation__annotations.json")).expect("fixture");
    let parsed = coco::parse(&bytes).expect("parses");
    assert_eq!(parsed.images.len(), 3);
    assert_eq!(parsed.annotation_count, 12);
    assert_eq!(parsed.categories.len(), 21);
    assert_eq!(parsed.categories[0], "_background_");
    assert_eq!(parsed.categories[15], "person");
    assert!(parsed.issues.is_empty(), "{:?}", parsed.issues);
    let shapes: usize = parsed.images.iter().map(|i| i.shapes.len()).sum();
    // 12 annotations, of which one has 2 polygons and one 4: 16 polygons.
    assert_eq!(shapes, 16);
    assert!(
        parsed
            .images
            .iter()
            .flat_map(|i| &i.shapes)
            .all(|s| s.kind == ShapeKind::Polygon)
    );

    // The polygons are LabelMe's: those of 2011_000003 equal the LabelMe file's, except the
    // `__ignore__` shape, which labelme2coco leaves out.
    let labelme_bytes =
        std::fs::read(dir.join("instance_segmentation__2011_000003.json")).expect("fixture");
    let labelme_shapes = labelme::parse(&labelme_bytes)
        .expect("parses")
        .annotations
        .shapes;
    let coco_image = parsed
        .images
        .iter()
        .find(|i| i.file_name.ends_with("2011_000003.jpg"))
        .expect("image");
    let expected: Vec<_> = labelme_shapes
        .iter()
        .filter(|s| s.label != "__ignore__")
        .map(|s| s.points_in_image.clone())
        .collect();
    let mut found: Vec<_> = coco_image
        .shapes
        .iter()
        .map(|s| s.points_in_image.clone())
        .collect();
    assert_eq!(found.len(), expected.len());
    for points in expected {
        let at = found
            .iter()
            .position(|f| *f == points)
            .expect("same polygon in COCO");
        found.remove(at);
    }
}

#[test]
fn fixture_folder_imports_as_labelme_with_images_matched() {
    let Some(dir) = common::shared_fixture("external/labelme") else {
        return;
    };
    let files = common::read_folder(&dir);
    let no_sizes = |_: &formats::InputFile| None;
    let (dataset, report) = formats::import_folder(
        &files,
        &ImportOptions {
            format: Some(Format::Labelme),
        },
        &no_sizes,
    );
    assert_eq!(report.files_imported.len(), 5);
    // 2 + 3 boxes, 5 + 10 instance polygons, 8 primitives.
    let bbox = dataset
        .image("bbox_detection__2011_000025.jpg")
        .expect("matched by file stem");
    assert_eq!(bbox.shapes.len(), 3);
    assert_eq!(dataset.shape_count(), 2 + 3 + 5 + 10 + 8);
    // One instance file has no image in the folder: kept, and said so.
    assert_eq!(report.issues.len(), 1, "{:#?}", report.issues);
    assert_eq!(report.issues[0].outcome, IssueOutcome::Kept);
    assert!(
        matches!(report.issues[0].error, ImportError::ImageNotFound { .. }),
        "{:#?}",
        report.issues
    );
    assert!(!report.has_errors(), "{:#?}", report.issues);
}
