//! The project file (`core::project_file`): what is written is read back exactly
//! (manifest equal, annotations' JSON byte for byte, originals byte for byte), in any entry
//! order, and every kind of bad file is refused with its own error, never a panic.

use std::io::{Cursor, Write};

use serde_json::json;
use sightline_core::annotation::{ImageAnnotations, ImageSize, Shape, ShapeKind};
use sightline_core::formats::ZipStream;
use sightline_core::project_file::{
    FORMAT_MARKER, FORMAT_VERSION, MANIFEST_PATH, ProjectFile, ProjectFileError, ProjectFileLimits,
    ProjectFileWriter, ProjectImage, ProjectManifest, ProjectWriteError, read_project_file,
};
use sightline_core::view::Point;

/// Annotations with what a LabelMe round trip keeps: unknown keys in file order, key order,
/// integer points, flags, digits that only `float_roundtrip` keeps.
fn tricky_annotations(path: &str) -> ImageAnnotations {
    let mut image = ImageAnnotations::new(path, Some(ImageSize::new(640, 480)));
    let mut shape = Shape::rectangle(
        "chien ü",
        Point::new(0.1 + 0.2, 1e-7),
        Point::new(123_456.789_012_345_6, 479.999_999_999_999_9),
    );
    shape
        .extra
        .insert("zeta".to_owned(), json!({"b": 1, "a": [2.5, null]}));
    shape.extra.insert("alpha".to_owned(), json!("kept"));
    shape.key_order = vec!["points".to_owned(), "label".to_owned(), "zeta".to_owned()];
    shape.flags.insert("occluded".to_owned(), json!(true));
    shape.score = Some(0.123_456_789_012_345_67);
    shape.group_id = Some(-3);
    image.shapes.push(shape);
    let mut polygon = Shape::new(
        "cat",
        ShapeKind::Polygon,
        vec![
            Point::new(1.0, 2.0),
            Point::new(300.0, 2.0),
            Point::new(150.0, 400.0),
        ],
    );
    polygon.integer_points = true;
    polygon.predicted = true;
    polygon.mask = Some("iVBORw0KGgo=".to_owned());
    image.shapes.push(polygon);
    image.flags.insert("reviewed".to_owned(), json!(false));
    image.labelme_version = Some("5.5.0".to_owned());
    image
        .extra
        .insert("z_custom".to_owned(), json!({"y": 1, "x": 2}));
    image.extra.insert("a_custom".to_owned(), json!(-0.0));
    image.key_order = vec!["version".to_owned(), "shapes".to_owned()];
    image
}

fn original_bytes(i: usize) -> Vec<u8> {
    (0..(500 + i * 97)).map(|j| (j * 13 + i) as u8).collect()
}

fn sample_manifest() -> ProjectManifest {
    let mut manifest = ProjectManifest::new("Street scenes");
    manifest.classes = vec!["chien ü".to_owned(), "cat".to_owned(), "unused".to_owned()];
    manifest
        .class_colours
        .insert("cat".to_owned(), "#ff8800".to_owned());
    manifest.settings = json!({"prefetch_depth": 4, "backend": "webgpu", "a": {"z": 1, "b": 2}});
    let paths = [
        "a/x.jpg",
        "b/x.jpg",
        "ünïcode name.png",
        "no original.jpg",
        "bad.jpg",
    ];
    for (i, path) in paths.iter().enumerate() {
        let mut image = ProjectImage::new(*path, Some(ImageSize::new(640, 480)));
        if i < 2 {
            image.annotations = Some(tricky_annotations(path));
        }
        if i == 1 {
            image.flagged = true;
            image.excluded = Some("duplicate of a/x.jpg".to_owned());
        }
        if i == 4 {
            image.size = None;
            image.problem = Some("truncated JPEG".to_owned());
        }
        manifest.images.push(image);
    }
    manifest
}

/// Writes `manifest` with the originals of every image but "no original.jpg".
fn write_sample(manifest: &ProjectManifest) -> Vec<u8> {
    let mut writer = ProjectFileWriter::new(Vec::new());
    for (i, image) in manifest.images.iter().enumerate() {
        if image.path != "no original.jpg" {
            let entry = writer
                .add_original(&image.path, &original_bytes(i))
                .expect("original");
            assert!(entry.starts_with("originals/"), "{entry}");
        }
    }
    assert_eq!(writer.original_count(), 4);
    writer.finish(manifest.clone()).expect("finish")
}

#[test]
fn round_trip_restores_the_project_exactly() {
    let manifest = sample_manifest();
    let bytes = write_sample(&manifest);
    let mut file = read_project_file(&bytes).expect("opens");
    let read = file.manifest().clone();

    assert_eq!(read.format, FORMAT_MARKER);
    assert_eq!(read.version, FORMAT_VERSION);
    // Equal but for the originals' entries, which the writer fills in.
    let mut expected = manifest.clone();
    for (image, read_image) in expected.images.iter_mut().zip(&read.images) {
        image.original = read_image.original.clone();
    }
    assert_eq!(read, expected);
    assert!(read.images[3].original.is_none());
    assert!(read.images.iter().filter(|i| i.original.is_some()).count() == 4);

    for (image, read_image) in manifest.images.iter().zip(&read.images) {
        assert_eq!(
            serde_json::to_string(&image.annotations).expect("json"),
            serde_json::to_string(&read_image.annotations).expect("json"),
            "annotations of {} byte for byte",
            image.path
        );
    }
    assert_eq!(
        serde_json::to_string(&manifest.settings).expect("json"),
        serde_json::to_string(&read.settings).expect("json"),
        "settings keep their key order"
    );

    for (i, image) in manifest.images.iter().enumerate() {
        let got = file.original(&image.path).expect("readable");
        if image.path == "no original.jpg" {
            assert_eq!(got, None);
        } else {
            assert_eq!(got, Some(original_bytes(i)), "{}", image.path);
        }
    }
    let dataset = read.dataset();
    assert_eq!(dataset.classes, manifest.classes);
    assert_eq!(dataset.images.len(), 5);
    assert_eq!(dataset.images[0], tricky_annotations("a/x.jpg"));
    assert_eq!(dataset.images[2].image_path, "ünïcode name.png");
}

#[test]
fn writing_twice_gives_the_same_bytes() {
    let manifest = sample_manifest();
    assert_eq!(write_sample(&manifest), write_sample(&manifest));
}

#[test]
fn entry_order_does_not_matter() {
    // The manifest first, originals after, as another writer might do it.
    let mut manifest = sample_manifest();
    manifest.images.truncate(1);
    manifest.images[0].original = Some("originals/first.jpg".to_owned());
    let mut zip = ZipStream::new(Vec::new());
    zip.add(MANIFEST_PATH, &serde_json::to_vec(&manifest).expect("json"))
        .expect("manifest");
    zip.add("originals/first.jpg", b"jpeg bytes")
        .expect("original");
    let bytes = zip.finish().expect("zip");
    let mut file = read_project_file(&bytes).expect("opens");
    assert_eq!(file.manifest(), &manifest);
    assert_eq!(
        file.original("a/x.jpg").expect("read"),
        Some(b"jpeg bytes".to_vec())
    );
}

#[test]
fn large_projects_read_through_any_reader() {
    let mut manifest = ProjectManifest::new("many");
    let mut writer = ProjectFileWriter::new(Vec::new());
    for i in 0..300 {
        let path = format!("dir/{i}.jpg");
        writer
            .add_original(&path, &original_bytes(i % 7))
            .expect("original");
        manifest.images.push(ProjectImage::new(path, None));
    }
    let bytes = writer.finish(manifest).expect("finish");
    let mut file = ProjectFile::open(Cursor::new(bytes)).expect("opens");
    assert_eq!(file.manifest().images.len(), 300);
    assert_eq!(
        file.original("dir/299.jpg").expect("read"),
        Some(original_bytes(299 % 7))
    );
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = ZipStream::new(Vec::new());
    for (path, bytes) in entries {
        zip.add(path, bytes).expect("entry");
    }
    zip.finish().expect("zip")
}

fn manifest_json(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut value = serde_json::to_value(sample_manifest()).expect("json");
    edit(&mut value);
    serde_json::to_vec(&value).expect("json")
}

fn open_error(bytes: &[u8]) -> ProjectFileError {
    match read_project_file(bytes) {
        Ok(_) => panic!("opened"),
        Err(error) => error,
    }
}

#[test]
fn not_a_zip() {
    let error = open_error(b"{\"format\": \"sightline-project\"}");
    assert!(matches!(error, ProjectFileError::NotAZip { .. }), "{error}");
    assert!(error.to_string().contains("not a zip"), "{error}");
    assert!(matches!(open_error(b""), ProjectFileError::NotAZip { .. }));
}

#[test]
fn a_zip_without_a_manifest_is_not_a_project() {
    let bytes = zip_of(&[("images/a.jpg", b"x"), ("data.yaml", b"names: [a]")]);
    let error = open_error(&bytes);
    assert_eq!(error, ProjectFileError::NoManifest);
    assert!(error.to_string().contains(MANIFEST_PATH));
}

#[test]
fn another_format_marker_is_not_a_project() {
    let manifest = manifest_json(|v| v["format"] = json!("something-else"));
    let error = open_error(&zip_of(&[(MANIFEST_PATH, &manifest)]));
    assert_eq!(
        error,
        ProjectFileError::WrongFormat {
            found: "something-else".to_owned()
        }
    );
}

#[test]
fn a_newer_version_asks_for_an_update() {
    // A newer file may change anything else too: the version is reported, not the shape.
    let manifest = manifest_json(|v| {
        v["version"] = json!(FORMAT_VERSION + 1);
        v["images"] = json!({"changed": "shape"});
    });
    let error = open_error(&zip_of(&[(MANIFEST_PATH, &manifest)]));
    assert_eq!(
        error,
        ProjectFileError::NewerVersion {
            found: u64::from(FORMAT_VERSION) + 1,
            supported: FORMAT_VERSION
        }
    );
    assert!(error.to_string().contains("update Sightline"), "{error}");
}

#[test]
fn invalid_manifest_json_names_the_place() {
    let error = open_error(&zip_of(&[(
        MANIFEST_PATH,
        b"{\"format\": \"sightline-project\",\n  \"version\": 1,\n  oops}",
    )]));
    match &error {
        ProjectFileError::InvalidManifest { message } => {
            assert!(message.contains("line 3"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let wrong_type = manifest_json(|v| v["images"][0]["size"] = json!("big"));
    assert!(matches!(
        open_error(&zip_of(&[(MANIFEST_PATH, &wrong_type)])),
        ProjectFileError::InvalidManifest { .. }
    ));
    let no_version = manifest_json(|v| {
        v.as_object_mut().expect("object").remove("version");
    });
    assert!(matches!(
        open_error(&zip_of(&[(MANIFEST_PATH, &no_version)])),
        ProjectFileError::InvalidManifest { .. }
    ));
    let twice = manifest_json(|v| v["images"][1]["path"] = json!("a/x.jpg"));
    assert!(matches!(
        open_error(&zip_of(&[(MANIFEST_PATH, &twice)])),
        ProjectFileError::InvalidManifest { .. }
    ));
}

#[test]
fn a_listed_original_that_is_missing() {
    let manifest = manifest_json(|v| v["images"][2]["original"] = json!("originals/00003-x.png"));
    let error = open_error(&zip_of(&[(MANIFEST_PATH, &manifest)]));
    assert_eq!(
        error,
        ProjectFileError::MissingOriginal {
            path: "ünïcode name.png".to_owned(),
            entry: "originals/00003-x.png".to_owned()
        }
    );
}

/// A zip with entry names `ZipStream` refuses to write, as a hostile tool would make it.
fn raw_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        let options =
            zip::write::SimpleFileOptions::default().last_modified_time(zip::DateTime::default());
        writer.start_file(*name, options).expect("entry");
        writer.write_all(bytes).expect("bytes");
    }
    writer.finish().expect("zip").into_inner()
}

#[test]
fn entries_outside_the_folder_are_refused() {
    let manifest = manifest_json(|_| {});
    for evil in [
        "../evil.sh",
        "originals/../../evil.sh",
        "/etc/passwd",
        "C:/evil.bat",
    ] {
        let bytes = raw_zip(&[(MANIFEST_PATH, &manifest), (evil, b"boom")]);
        assert_eq!(
            open_error(&bytes),
            ProjectFileError::UnsafePath {
                entry: evil.to_owned()
            },
            "{evil}"
        );
    }
}

#[test]
fn a_manifest_over_the_limit_is_refused() {
    let manifest = manifest_json(|_| {});
    let bytes = zip_of(&[(MANIFEST_PATH, &manifest)]);
    let limits = ProjectFileLimits {
        manifest_bytes: 1000,
        ..ProjectFileLimits::default()
    };
    assert!(manifest.len() > 1000);
    let error = ProjectFile::open_with_limits(Cursor::new(&bytes[..]), limits)
        .err()
        .expect("refused");
    assert_eq!(
        error,
        ProjectFileError::TooLarge {
            entry: MANIFEST_PATH.to_owned(),
            limit_bytes: 1000
        }
    );
}

#[test]
fn a_manifest_that_lies_about_its_size_is_still_cut_off() {
    // 2 MB of spaces deflate to a few KB; the central directory then claims 100 bytes.
    let mut manifest = manifest_json(|_| {});
    manifest.extend(std::iter::repeat_n(b' ', 2_000_000));
    let mut bytes = zip_of(&[(MANIFEST_PATH, &manifest)]);
    let central = bytes
        .windows(4)
        .rposition(|w| w == [0x50, 0x4b, 0x01, 0x02])
        .expect("central directory entry");
    // Uncompressed size: offset 24 of a central directory header.
    bytes[central + 24..central + 28].copy_from_slice(&100u32.to_le_bytes());
    let limits = ProjectFileLimits {
        manifest_bytes: 10_000,
        ..ProjectFileLimits::default()
    };
    let error = ProjectFile::open_with_limits(Cursor::new(&bytes[..]), limits)
        .err()
        .expect("refused");
    assert_eq!(
        error,
        ProjectFileError::TooLarge {
            entry: MANIFEST_PATH.to_owned(),
            limit_bytes: 10_000
        }
    );
}

#[test]
fn an_original_over_the_limit_is_refused() {
    let bytes = write_sample(&sample_manifest());
    let limits = ProjectFileLimits {
        original_bytes: 600,
        ..ProjectFileLimits::default()
    };
    let mut file = ProjectFile::open_with_limits(Cursor::new(&bytes[..]), limits).expect("opens");
    assert_eq!(
        file.original("a/x.jpg")
            .expect("500 bytes")
            .map(|b| b.len()),
        Some(500)
    );
    assert_eq!(
        file.original("b/x.jpg")
            .expect("597 bytes")
            .map(|b| b.len()),
        Some(597)
    );
    let error = file.original("ünïcode name.png").expect_err("694 bytes");
    assert!(
        matches!(
            error,
            ProjectFileError::TooLarge {
                limit_bytes: 600,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn an_image_the_project_does_not_list() {
    let bytes = write_sample(&sample_manifest());
    let mut file = read_project_file(&bytes).expect("opens");
    assert_eq!(
        file.original("elsewhere.jpg"),
        Err(ProjectFileError::UnknownImage {
            path: "elsewhere.jpg".to_owned()
        })
    );
}

#[test]
fn damaged_files_are_errors_not_panics() {
    let bytes = write_sample(&sample_manifest());
    // Every cut and a byte flipped every few bytes: each either opens or says why not.
    for cut in (0..bytes.len()).step_by(7) {
        let _ = read_project_file(&bytes[..cut]).map(|mut file| {
            let paths: Vec<String> = file
                .manifest()
                .images
                .iter()
                .map(|i| i.path.clone())
                .collect();
            paths.iter().for_each(|p| drop(file.original(p)));
        });
    }
    let mut damaged_originals = 0;
    for at in (0..bytes.len()).step_by(11) {
        let mut copy = bytes.clone();
        copy[at] ^= 0x5a;
        if let Ok(mut file) = read_project_file(&copy) {
            let paths: Vec<String> = file
                .manifest()
                .images
                .iter()
                .map(|i| i.path.clone())
                .collect();
            for path in paths {
                // A flipped size in the central directory may also read as too large.
                if let Err(ProjectFileError::CorruptEntry { .. }) = file.original(&path) {
                    damaged_originals += 1;
                }
            }
        }
    }
    assert!(
        damaged_originals > 0,
        "a flipped byte in an original fails its CRC"
    );
}

#[test]
fn the_writer_refuses_inconsistent_projects() {
    let mut writer = ProjectFileWriter::new(Vec::new());
    writer.add_original("a/x.jpg", b"1").expect("first");
    assert!(matches!(
        writer.add_original("a/x.jpg", b"2"),
        Err(ProjectWriteError::DuplicateOriginal { .. })
    ));
    let error = writer
        .finish(ProjectManifest::new("empty"))
        .expect_err("refused");
    assert!(
        matches!(&error, ProjectWriteError::OriginalNotListed { path } if path == "a/x.jpg"),
        "{error}"
    );

    let mut manifest = ProjectManifest::new("twice");
    manifest.images.push(ProjectImage::new("a.jpg", None));
    manifest.images.push(ProjectImage::new("a.jpg", None));
    assert!(matches!(
        ProjectFileWriter::new(Vec::new()).finish(manifest),
        Err(ProjectWriteError::DuplicateImage { .. })
    ));

    let mut manifest = ProjectManifest::new("mismatch");
    let mut image = ProjectImage::new("a.jpg", None);
    image.annotations = Some(ImageAnnotations::new("b.jpg", None));
    manifest.images.push(image);
    assert!(matches!(
        ProjectFileWriter::new(Vec::new()).finish(manifest),
        Err(ProjectWriteError::AnnotationsMismatch { .. })
    ));

    // JSON has no NaN: such a file would not open again, so it is not written.
    let mut manifest = ProjectManifest::new("nan");
    let mut image = ProjectImage::new("a.jpg", None);
    let mut annotations = ImageAnnotations::new("a.jpg", None);
    annotations.shapes.push(Shape::new(
        "a",
        ShapeKind::Point,
        vec![Point::new(f64::NAN, 1.0)],
    ));
    image.annotations = Some(annotations);
    manifest.images.push(image);
    assert!(matches!(
        ProjectFileWriter::new(Vec::new()).finish(manifest),
        Err(ProjectWriteError::Unreadable { .. })
    ));
}
