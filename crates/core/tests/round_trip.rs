//! Every format: golden exports of a hand-made dataset, and property tests that export then
//! import gives back the same shapes (within 1e-6 of the image size).

mod common;

use proptest::prelude::*;
use sightline_core::annotation::{Dataset, ImageAnnotations, ImageSize, Shape, ShapeKind};
use sightline_core::formats::{
    self, ExportOptions, ExportProblem, Format, IssueOutcome, yolo::YoloTask, zip_archive,
};
use sightline_core::view::{Point, Size};

fn p(x: f64, y: f64) -> Point {
    Point::new(x, y)
}

/// Two images with one shape of every kind and the metadata the formats carry.
fn sample_dataset() -> Dataset {
    let mut a = ImageAnnotations::new("images/a.jpg", Some(ImageSize::new(640, 480)));
    let mut dog = Shape::rectangle("dog", p(10.0, 20.0), p(110.5, 220.25));
    dog.difficult = true;
    a.shapes.push(dog);
    let mut cat = Shape::polygon(
        "cat",
        vec![
            p(300.0, 300.0),
            p(400.0, 310.0),
            p(380.0, 420.0),
            p(310.0, 400.0),
        ],
    );
    cat.group_id = Some(1);
    cat.description = Some("tabby".to_owned());
    a.shapes.push(cat);
    let mut predicted = Shape::rectangle("person", p(500.0, 100.0), p(600.0, 300.0));
    predicted.score = Some(0.875);
    predicted.predicted = true;
    a.shapes.push(predicted);
    a.shapes.push(Shape::rotated_rectangle(
        "dog",
        p(200.0, 400.0),
        Size::new(80.0, 40.0),
        0.5,
    ));
    a.shapes.push(Shape::new(
        "cat",
        ShapeKind::Circle,
        vec![p(50.0, 400.0), p(50.0, 430.0)],
    ));
    a.shapes
        .push(Shape::new("person", ShapeKind::Point, vec![p(5.0, 5.0)]));
    let mut b = ImageAnnotations::new("b.png", Some(ImageSize::new(100, 50)));
    b.shapes
        .push(Shape::rectangle("person", p(0.0, 0.0), p(100.0, 50.0)));
    b.shapes.push(Shape::new(
        "dog",
        ShapeKind::Line,
        vec![p(1.0, 1.0), p(20.0, 30.0)],
    ));
    b.shapes.push(Shape::new(
        "dog",
        ShapeKind::Linestrip,
        vec![p(1.0, 1.0), p(20.0, 30.0), p(40.0, 10.0)],
    ));
    let empty = ImageAnnotations::new("images/empty.jpg", Some(ImageSize::new(32, 32)));
    Dataset {
        classes: vec!["dog".to_owned(), "cat".to_owned(), "person".to_owned()],
        images: vec![a, b, empty],
    }
}

fn variants() -> Vec<(&'static str, Format, ExportOptions)> {
    vec![
        ("labelme", Format::Labelme, ExportOptions::default()),
        ("yolo_detect", Format::Yolo, ExportOptions::default()),
        (
            "yolo_segment",
            Format::Yolo,
            ExportOptions {
                yolo_task: YoloTask::Segment,
                ..ExportOptions::default()
            },
        ),
        ("coco", Format::Coco, ExportOptions::default()),
        ("voc", Format::Voc, ExportOptions::default()),
    ]
}

/// Compares each exported file with `tests/data/golden/<variant>/<path>`; with
/// `SIGHTLINE_BLESS=1` writes them instead.
#[test]
fn exports_match_golden_files() {
    let dataset = sample_dataset();
    let bless = std::env::var("SIGHTLINE_BLESS").as_deref() == Ok("1");
    for (name, format, options) in variants() {
        let export = formats::export(&dataset, format, &options).expect("export");
        if !bless {
            // The same files, none missing and none extra.
            let mut written: Vec<&str> = export.files.iter().map(|f| f.path.as_str()).collect();
            written.sort_unstable();
            let golden = common::read_data(&format!("golden/{name}"));
            let golden: Vec<&str> = golden.iter().map(|f| f.path.as_str()).collect();
            assert_eq!(written, golden, "{name}: exported files");
        }
        for file in &export.files {
            let golden = common::data_dir()
                .join("golden")
                .join(name)
                .join(&file.path);
            if bless {
                std::fs::create_dir_all(golden.parent().expect("parent")).expect("mkdir");
                std::fs::write(&golden, &file.bytes).expect("write golden");
                continue;
            }
            let expected = std::fs::read(&golden).unwrap_or_else(|_| {
                panic!("{} missing; run with SIGHTLINE_BLESS=1", golden.display())
            });
            assert_eq!(
                String::from_utf8_lossy(&file.bytes),
                String::from_utf8_lossy(&expected),
                "{name}: {} differs from its golden file",
                file.path
            );
        }
    }
}

#[test]
fn export_reports_every_shape_it_could_not_write() {
    let dataset = sample_dataset();
    let lost = |format, options: &ExportOptions| {
        let export = formats::export(&dataset, format, options).expect("export");
        let mut lost: Vec<(String, usize)> = export
            .issues
            .iter()
            .filter(|i| i.problem.loses_data())
            .map(|i| (i.image_path.clone(), i.shape_index.expect("per shape")))
            .collect();
        lost.sort();
        (lost, export)
    };
    // Points, lines and linestrips have no place in box and polygon formats.
    let expected = vec![
        ("b.png".to_owned(), 1),
        ("b.png".to_owned(), 2),
        ("images/a.jpg".to_owned(), 5),
    ];
    for format in [Format::Yolo, Format::Coco, Format::Voc] {
        let (found, _) = lost(format, &ExportOptions::default());
        assert_eq!(found, expected, "{format:?}");
    }
    let (found, export) = lost(Format::Labelme, &ExportOptions::default());
    assert!(found.is_empty() && export.issues.is_empty());
    let segment = ExportOptions {
        yolo_task: YoloTask::Segment,
        ..ExportOptions::default()
    };
    let (_, export) = lost(Format::Yolo, &segment);
    assert!(export.issues.iter().any(|i| matches!(
        i.problem,
        ExportProblem::ShapeApproximated {
            kind: ShapeKind::Circle,
            ..
        }
    )));
}

#[test]
fn golden_exports_import_back() {
    let dataset = sample_dataset();
    for (name, format, options) in variants() {
        let (back, report) = common::reimport(&dataset, format, &options);
        assert!(!report.has_errors(), "{name}: {:#?}", report.issues);
        assert_eq!(back.images.len(), 3, "{name}");
        let expected_shapes = match format {
            Format::Labelme => 9,
            _ => 6,
        };
        assert_eq!(back.shape_count(), expected_shapes, "{name}");
        assert_eq!(
            &back.classes[..3],
            &dataset.classes[..],
            "{name}: class order kept"
        );
    }
    // LabelMe keeps everything but the `predicted` state, which is Sightline's own.
    let (back, _) = common::reimport(&dataset, Format::Labelme, &ExportOptions::default());
    assert_eq!(back.images.len(), dataset.images.len());
    for (image, original) in back.images.iter().zip(&dataset.images) {
        assert_eq!(image.image_path, original.image_path);
        assert_eq!(
            image.image_size, original.image_size,
            "{}",
            image.image_path
        );
        assert_eq!(
            image.shapes.len(),
            original.shapes.len(),
            "{}",
            image.image_path
        );
        for (shape, expected) in image.shapes.iter().zip(&original.shapes) {
            assert_eq!(shape.label, expected.label);
            assert_eq!(shape.kind, expected.kind);
            assert_eq!(shape.points_in_image, expected.points_in_image);
            assert_eq!(
                (
                    shape.group_id,
                    &shape.description,
                    shape.score,
                    shape.difficult
                ),
                (
                    expected.group_id,
                    &expected.description,
                    expected.score,
                    expected.difficult
                )
            );
        }
    }
}

#[test]
fn zip_of_an_export_holds_every_file() {
    let dataset = sample_dataset();
    let export =
        formats::export(&dataset, Format::Yolo, &ExportOptions::default()).expect("export");
    let image_bytes = vec![0u8; 10];
    let entries = export
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.bytes.as_slice()))
        .chain(
            export
                .image_placements
                .iter()
                .map(|i| (i.output_path.as_str(), image_bytes.as_slice())),
        );
    let expected: Vec<(String, Vec<u8>)> = entries
        .map(|(path, bytes)| (path.to_owned(), bytes.to_vec()))
        .collect();
    assert_eq!(
        expected.len(),
        3 + 5,
        "classes.txt, data.yaml, 3 labels, 3 images"
    );
    let bytes = zip_archive(expected.iter().map(|(p, b)| (p.as_str(), b.as_slice()))).expect("zip");
    // Read back: every entry, by name, with its bytes, and nothing else.
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a valid zip");
    assert_eq!(archive.len(), expected.len());
    for (path, want) in &expected {
        let mut entry = archive.by_name(path).expect("entry by name");
        let mut got = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut got).expect("readable");
        assert_eq!(&got, want, "{path}");
    }
}

fn sized_image(index: usize) -> impl Strategy<Value = ImageAnnotations> {
    (16u32..4000, 16u32..4000).prop_flat_map(move |(width, height)| {
        let (w, h) = (f64::from(width), f64::from(height));
        let point = move || (0.0..=w, 0.0..=h).prop_map(|(x, y)| Point::new(x, y));
        let rectangle =
            (point(), point(), 0usize..3).prop_filter_map("degenerate", |(a, b, class)| {
                let (min, max) = (
                    Point::new(a.x.min(b.x), a.y.min(b.y)),
                    Point::new(a.x.max(b.x), a.y.max(b.y)),
                );
                (max.x - min.x > 1e-3 && max.y - min.y > 1e-3)
                    .then(|| Shape::rectangle(["a", "b", "c"][class], min, max))
            });
        let polygon = (proptest::collection::vec(point(), 3..12), 0usize..3)
            .prop_filter("degenerate", |(points, _)| {
                sightline_core::geometry::polygon_area(points) > 1.0
            })
            .prop_map(|(points, class)| Shape::polygon(["a", "b", "c"][class], points));
        (
            proptest::collection::vec(rectangle, 0..6),
            proptest::collection::vec(polygon, 0..6),
        )
            .prop_map(move |(rectangles, polygons)| ImageAnnotations {
                shapes: rectangles.into_iter().chain(polygons).collect(),
                ..ImageAnnotations::new(
                    format!("images/img{index}.jpg"),
                    Some(ImageSize::new(width, height)),
                )
            })
    })
}

fn dataset_strategy() -> impl Strategy<Value = Dataset> {
    (sized_image(0), sized_image(1), sized_image(2)).prop_map(|(a, b, c)| Dataset {
        classes: vec!["a".to_owned(), "b".to_owned(), "c".to_owned()],
        images: vec![a, b, c],
    })
}

/// Shapes equal up to `1e-6` of the image size, kinds compared by `same_kind`.
fn assert_same_shapes(
    original: &Dataset,
    back: &Dataset,
    keep: impl Fn(&Shape) -> bool,
    expected_points: impl Fn(&Shape) -> Vec<Point>,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(back.images.len(), original.images.len());
    for (image, expected) in back.images.iter().zip(&original.images) {
        prop_assert_eq!(
            image.image_path.rsplit('/').next(),
            expected.image_path.rsplit('/').next()
        );
        let size = expected.image_size.expect("sized");
        let wanted: Vec<&Shape> = expected.shapes.iter().filter(|s| keep(s)).collect();
        prop_assert_eq!(image.shapes.len(), wanted.len());
        for (shape, want) in image.shapes.iter().zip(wanted) {
            prop_assert_eq!(&shape.label, &want.label);
            let points = expected_points(want);
            prop_assert_eq!(shape.points_in_image.len(), points.len());
            for (a, b) in shape.points_in_image.iter().zip(&points) {
                prop_assert!(
                    (a.x - b.x).abs() / f64::from(size.width) <= 1e-6,
                    "{:?} vs {:?}",
                    a,
                    b
                );
                prop_assert!(
                    (a.y - b.y).abs() / f64::from(size.height) <= 1e-6,
                    "{:?} vs {:?}",
                    a,
                    b
                );
            }
        }
    }
    Ok(())
}

fn rectangles_only(shape: &Shape) -> bool {
    shape.kind == ShapeKind::Rectangle
}

fn box_points(shape: &Shape) -> Vec<Point> {
    let rect = sightline_core::geometry::bbox_in_image(shape).expect("box");
    vec![rect.min, rect.max]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn labelme_export_import_is_exact(dataset in dataset_strategy()) {
        let (back, report) = common::reimport(&dataset, Format::Labelme, &ExportOptions::default());
        prop_assert!(report.issues.is_empty(), "{:?}", report.issues);
        prop_assert_eq!(back.images.len(), dataset.images.len());
        for (image, expected) in back.images.iter().zip(&dataset.images) {
            prop_assert_eq!(&image.image_path, &expected.image_path);
            let points: Vec<_> = image.shapes.iter().map(|s| (&s.label, s.kind, &s.points_in_image)).collect();
            let want: Vec<_> = expected.shapes.iter().map(|s| (&s.label, s.kind, &s.points_in_image)).collect();
            prop_assert_eq!(points, want);
        }
    }

    #[test]
    fn yolo_detect_export_import_keeps_boxes(dataset in dataset_strategy()) {
        let mut boxes = dataset.clone();
        for image in &mut boxes.images { image.shapes.retain(rectangles_only); }
        let (back, report) = common::reimport(&boxes, Format::Yolo, &ExportOptions::default());
        prop_assert!(report.issues.is_empty(), "{:?}", report.issues);
        assert_same_shapes(&boxes, &back, |_| true, box_points)?;
    }

    #[test]
    fn yolo_segment_export_import_keeps_polygons(dataset in dataset_strategy()) {
        let mut polygons = dataset.clone();
        for image in &mut polygons.images { image.shapes.retain(|s| s.kind == ShapeKind::Polygon); }
        let options = ExportOptions { yolo_task: YoloTask::Segment, ..ExportOptions::default() };
        let (back, report) = common::reimport(&polygons, Format::Yolo, &options);
        prop_assert!(report.issues.is_empty(), "{:?}", report.issues);
        assert_same_shapes(&polygons, &back, |_| true, |s| s.points_in_image.clone())?;
    }

    #[test]
    fn coco_export_import_keeps_boxes_and_polygons(dataset in dataset_strategy()) {
        let (back, report) = common::reimport(&dataset, Format::Coco, &ExportOptions::default());
        prop_assert!(report.issues.is_empty(), "{:?}", report.issues);
        assert_same_shapes(&dataset, &back, |_| true, |s| {
            if s.kind == ShapeKind::Rectangle { box_points(s) } else { s.points_in_image.clone() }
        })?;
        for (image, expected) in back.images.iter().zip(&dataset.images) {
            for (shape, want) in image.shapes.iter().zip(&expected.shapes) {
                prop_assert_eq!(shape.kind, want.kind);
            }
        }
    }

    #[test]
    fn voc_export_import_keeps_boxes(dataset in dataset_strategy()) {
        let mut boxes = dataset.clone();
        for image in &mut boxes.images { image.shapes.retain(rectangles_only); }
        let (back, report) = common::reimport(&boxes, Format::Voc, &ExportOptions::default());
        prop_assert!(report.issues.is_empty(), "{:?}", report.issues);
        assert_same_shapes(&boxes, &back, |_| true, box_points)?;
    }
}

#[test]
fn issue_outcomes_are_displayed() {
    let issue = formats::ImportIssue {
        file: "a.txt".to_owned(),
        error: formats::ImportError::WrongColumnCount {
            line: 3,
            found: 2,
            expected: "5".to_owned(),
        },
        outcome: IssueOutcome::EntrySkipped,
    };
    assert_eq!(
        issue.to_string(),
        "a.txt: line 3: 2 values, expected 5 (entry skipped)"
    );
}
