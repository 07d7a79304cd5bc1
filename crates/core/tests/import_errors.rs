//! Every kind of bad input gives a typed, located error for its file, and the other files
//! (and the good parts of the bad file) still import.

mod common;

use std::collections::HashMap;

use sightline_core::annotation::{Dataset, ImageSize, ShapeKind};
use sightline_core::formats::{
    self, Format, ImportError, ImportIssue, ImportOptions, ImportReport, InputFile, IssueOutcome,
    Severity,
};

fn import(files: &[(&str, &str)], format: Option<Format>) -> (Dataset, ImportReport) {
    let mut inputs: Vec<InputFile> = files
        .iter()
        .map(|(p, t)| InputFile::new(*p, t.as_bytes()))
        .collect();
    let mut sizes = HashMap::new();
    for image in ["a.jpg", "b.jpg", "images/a.jpg", "images/b.jpg"] {
        inputs.push(InputFile::new(image, Vec::new()));
        sizes.insert(image.to_owned(), ImageSize::new(640, 480));
    }
    let sizes = common::sizes_from(sizes);
    formats::import_folder(&inputs, &ImportOptions { format }, &sizes)
}

fn only_issue<'a>(report: &'a ImportReport, file: &'a str) -> &'a ImportIssue {
    let issues: Vec<&ImportIssue> = report.issues_of(file).collect();
    assert_eq!(issues.len(), 1, "{file}: {:#?}", report.issues);
    issues[0]
}

const GOOD_LABELME: &str = r#"{"version":"5.5.0","flags":{},"shapes":[{"label":"dog","points":[[1,2],[30,40]],"group_id":null,"shape_type":"rectangle","flags":{}}],"imagePath":"b.jpg","imageData":null,"imageHeight":480,"imageWidth":640}"#;

#[test]
fn malformed_json_skips_only_that_file() {
    let bad = "{\n  \"version\": \"5.5.0\",\n  \"shapes\": [\n    {\"label\": \"x\",,}\n";
    for format in [None, Some(Format::Labelme)] {
        let (dataset, report) = import(&[("a.json", bad), ("b.json", GOOD_LABELME)], format);
        let issue = only_issue(&report, "a.json");
        assert!(
            matches!(issue.error, ImportError::MalformedJson { line: 4, .. }),
            "{issue}"
        );
        assert_eq!(issue.outcome, IssueOutcome::FileSkipped);
        assert_eq!(dataset.image("b.jpg").expect("b").shapes.len(), 1);
        assert_eq!(report.files_imported, ["b.json"]);
    }
    // A zero-byte file is malformed too.
    let (_, report) = import(&[("a.json", ""), ("b.json", GOOD_LABELME)], None);
    assert!(matches!(
        only_issue(&report, "a.json").error,
        ImportError::MalformedJson { line: 1, .. }
    ));
}

#[test]
fn malformed_xml_skips_only_that_file() {
    let good = "<annotation><filename>b.jpg</filename><object><name>dog</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object></annotation>";
    let bad = "<annotation><filename>a.jpg</filename><object><name>dog</name></annotation>";
    let (dataset, report) = import(&[("a.xml", bad), ("b.xml", good)], Some(Format::Voc));
    let issue = only_issue(&report, "a.xml");
    assert!(
        matches!(issue.error, ImportError::MalformedXml { line: 1, position, .. } if position > 0),
        "{issue}"
    );
    assert_eq!(issue.outcome, IssueOutcome::FileSkipped);
    assert_eq!(dataset.image("b.jpg").expect("b").shapes.len(), 1);
}

#[test]
fn wrong_column_count_skips_only_that_line() {
    let (dataset, report) = import(
        &[
            ("data.yaml", "names: [dog, cat]\n"),
            (
                "labels/a.txt",
                "0 0.5 0.5 0.1 0.1\n1 0.5 0.5\n1 0.2 0.2 0.1 0.1 0.5 0.5 0.9\n",
            ),
            ("labels/b.txt", "1 0.5 0.5 0.2 0.2\n"),
        ],
        Some(Format::Yolo),
    );
    let issues: Vec<&ImportIssue> = report.issues_of("labels/a.txt").collect();
    assert_eq!(issues.len(), 2, "{:#?}", report.issues);
    assert!(matches!(
        issues[0].error,
        ImportError::WrongColumnCount {
            line: 2,
            found: 3,
            ..
        }
    ));
    assert!(matches!(
        issues[1].error,
        ImportError::WrongColumnCount {
            line: 3,
            found: 8,
            ..
        }
    ));
    assert_eq!(issues[0].outcome, IssueOutcome::EntrySkipped);
    assert_eq!(issues[0].error.line(), Some(2));
    assert_eq!(dataset.image("images/a.jpg").expect("a").shapes.len(), 1);
    assert_eq!(
        dataset.image("images/b.jpg").expect("b").shapes[0].label,
        "cat"
    );
}

#[test]
fn class_id_out_of_range_is_reported_with_line() {
    let (dataset, report) = import(
        &[
            ("classes.txt", "dog\ncat\n"),
            (
                "labels/a.txt",
                "0 0.5 0.5 0.1 0.1\n5 0.5 0.5 0.1 0.1\n-1 0.5 0.5 0.1 0.1\n",
            ),
            ("labels/b.txt", "1 0.5 0.5 0.2 0.2\n"),
        ],
        None,
    );
    let issues: Vec<&ImportIssue> = report.issues_of("labels/a.txt").collect();
    assert_eq!(issues.len(), 2, "{:#?}", report.issues);
    assert!(
        matches!(&issues[0].error, ImportError::ClassIdOutOfRange { line: 3, class_id, class_count: 2 } if class_id == "-1")
    );
    assert!(
        matches!(&issues[1].error, ImportError::ClassIdOutOfRange { line: 2, class_id, class_count: 2 } if class_id == "5")
    );
    assert_eq!(dataset.image("images/a.jpg").expect("a").shapes.len(), 1);
    assert_eq!(dataset.image("images/b.jpg").expect("b").shapes.len(), 1);
    assert_eq!(dataset.classes, ["dog", "cat"]);
}

#[test]
fn points_outside_the_image_are_reported_and_kept() {
    let outside = r#"{"shapes":[{"label":"dog","points":[[1,2],[700,40]],"shape_type":"rectangle"},
        {"label":"cat","points":[[1,2]],"shape_type":"point"}],"imagePath":"a.jpg","imageHeight":480,"imageWidth":640}"#;
    let (dataset, report) = import(&[("a.json", outside), ("b.json", GOOD_LABELME)], None);
    let issue = only_issue(&report, "a.json");
    assert!(
        matches!(&issue.error, ImportError::PointOutsideImage { location, x, width: 640, .. } if location == "shapes[0]" && *x == 700.0),
        "{issue}"
    );
    assert_eq!(issue.outcome, IssueOutcome::Kept);
    assert_eq!(issue.severity(), Severity::Error);
    // Nothing the user drew is dropped or changed.
    assert_eq!(dataset.image("a.jpg").expect("a").shapes.len(), 2);
    assert_eq!(
        dataset.image("a.jpg").expect("a").shapes[0].points_in_image[1].x,
        700.0
    );
    assert_eq!(dataset.image("b.jpg").expect("b").shapes.len(), 1);

    // YOLO: normalised coordinates beyond 1.
    let (dataset, report) = import(
        &[
            ("classes.txt", "dog\n"),
            ("labels/a.txt", "0 1.2 0.5 0.2 0.2\n"),
            ("labels/b.txt", "0 0.5 0.5 0.2 0.2\n"),
        ],
        Some(Format::Yolo),
    );
    let issue = only_issue(&report, "labels/a.txt");
    assert!(
        matches!(&issue.error, ImportError::PointOutsideImage { location, .. } if location == "line 1"),
        "{issue}"
    );
    assert_eq!(dataset.shape_count(), 2);
}

#[test]
fn unknown_shape_type_skips_that_shape_only() {
    let file = r#"{"shapes":[{"label":"dog","points":[[1,2],[30,40]],"shape_type":"rectangle"},
        {"label":"box3d","points":[[1,2],[3,4]],"shape_type":"cuboid"},
        {"label":"cat","points":[[5,5],[9,9]],"shape_type":"circle"}],"imagePath":"a.jpg","imageHeight":480,"imageWidth":640}"#;
    let (dataset, report) = import(&[("a.json", file), ("b.json", GOOD_LABELME)], None);
    let issue = only_issue(&report, "a.json");
    assert!(
        matches!(&issue.error, ImportError::UnknownShapeType { field, shape_type } if field == "shapes[1].shape_type" && shape_type == "cuboid"),
        "{issue}"
    );
    assert_eq!(issue.outcome, IssueOutcome::EntrySkipped);
    let kinds: Vec<ShapeKind> = dataset
        .image("a.jpg")
        .expect("a")
        .shapes
        .iter()
        .map(|s| s.kind)
        .collect();
    assert_eq!(kinds, [ShapeKind::Rectangle, ShapeKind::Circle]);
    assert_eq!(dataset.image("b.jpg").expect("b").shapes.len(), 1);
}

#[test]
fn coco_bad_entries_skip_alone() {
    let coco = r#"{"images":[{"id":1,"file_name":"a.jpg","width":640,"height":480},{"id":2,"file_name":"missing.jpg","width":10,"height":10}],
      "categories":[{"id":1,"name":"dog"}],
      "annotations":[{"id":1,"image_id":1,"category_id":1,"bbox":[1,1,10,10]},
                     {"id":2,"image_id":1,"category_id":7,"bbox":[1,1,10,10]},
                     {"id":3,"image_id":1,"category_id":1,"bbox":[1,1,10,10],"segmentation":[[1,2,3]]}]}"#;
    let (dataset, report) = import(&[("annotations.json", coco)], None);
    let issues: Vec<&ImportIssue> = report.issues_of("annotations.json").collect();
    assert_eq!(issues.len(), 3, "{:#?}", report.issues);
    assert!(
        matches!(&issues[0].error, ImportError::UnknownCategory { field, category_id: 7 } if field == "annotations[1].category_id")
    );
    assert!(
        matches!(&issues[1].error, ImportError::InvalidField { field, .. } if field == "annotations[2].segmentation[0]")
    );
    assert!(
        matches!(&issues[2].error, ImportError::ImageNotFound { image_path } if image_path == "missing.jpg")
    );
    assert_eq!(issues[2].severity(), Severity::Warning);
    assert_eq!(dataset.image("a.jpg").expect("a").shapes.len(), 1);
}

#[test]
fn yolo_without_names_or_image_is_reported() {
    let (dataset, report) = import(
        &[
            ("labels/a.txt", "3 0.5 0.5 0.1 0.1\n"),
            ("labels/zzz.txt", "0 0.5 0.5 0.1 0.1\n"),
        ],
        Some(Format::Yolo),
    );
    assert!(report.issues.iter().any(|i| i.error == ImportError::MissingClassNames && i.severity() == Severity::Warning));
    let issue = only_issue(&report, "labels/zzz.txt");
    assert!(matches!(&issue.error, ImportError::ImageNotFound { .. }));
    assert_eq!(issue.outcome, IssueOutcome::FileSkipped);
    // Labels named by class id, and the class list keeps ids stable.
    assert_eq!(
        dataset.image("images/a.jpg").expect("a").shapes[0].label,
        "3"
    );
    assert_eq!(dataset.classes, ["0", "1", "2", "3"]);
}

#[test]
fn mixed_folder_is_recognised_file_by_file() {
    let voc = "<annotation><filename>a.jpg</filename><object><name>cat</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object></annotation>";
    let (dataset, report) = import(
        &[
            ("b.json", GOOD_LABELME),
            ("a.xml", voc),
            ("package.json", r#"{"name": "not annotations"}"#),
            ("notes.txt", "hello"),
            ("latin1.xml", "<annotation>\u{0}</annotation>"),
        ],
        None,
    );
    assert_eq!(dataset.image("a.jpg").expect("a").shapes.len(), 1);
    assert_eq!(dataset.image("b.jpg").expect("b").shapes.len(), 1);
    let issue = only_issue(&report, "package.json");
    assert_eq!(
        (issue.error.clone(), issue.outcome),
        (ImportError::Unrecognised, IssueOutcome::Ignored)
    );
    assert_eq!(report.issues_of("notes.txt").count(), 0);
    // Classes in order of first use, files in the order given.
    assert_eq!(dataset.classes, ["cat", "dog"]);
    assert_eq!(report.images_found, 4);
}

#[test]
fn not_utf8_is_reported() {
    let mut inputs = vec![
        InputFile::new("labels/a.txt", vec![0xff, 0xfe, 0x00]),
        InputFile::new("images/a.jpg", Vec::new()),
    ];
    inputs.push(InputFile::new("a.xml", vec![0xff, 0xfe]));
    let sizes = |_: &InputFile| Some(ImageSize::new(10, 10));
    let (_, report) = formats::import_folder(&inputs, &ImportOptions::default(), &sizes);
    assert!(matches!(
        only_issue(&report, "labels/a.txt").error,
        ImportError::NotUtf8
    ));
    assert!(matches!(
        only_issue(&report, "a.xml").error,
        ImportError::NotUtf8
    ));
}
