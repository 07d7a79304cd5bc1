//! Datasets exported with their images (`formats::dataset`) through a streamed zip
//! (`formats::ZipStream`), read back with the formats' own readers (`formats::import_folder`,
//! as the CLI's tests read exports): every image once, byte for byte, with its shapes, in
//! the split asked for, and each format's index files (data.yaml, instances_*.json,
//! ImageSets) agreeing with the images.

use std::cell::Cell;
use std::collections::{BTreeSet, HashMap};
use std::io::{Cursor, Read, Write};
use std::rc::Rc;

use sightline_core::annotation::{Dataset, ImageAnnotations, ImageSize, Shape};
use sightline_core::formats::dataset::{
    DatasetOptions, DatasetPlan, Split, SplitRule, assign_splits, plan_dataset,
};
use sightline_core::formats::{
    self, ExportOptions, Format, ImportOptions, InputFile, ZipStream, yolo,
};
use sightline_core::geometry;
use sightline_core::view::Point;

const CLASSES: [&str; 3] = ["dog", "cat", "person"];

fn image_paths() -> Vec<String> {
    let mut paths: Vec<String> = (0..14)
        .map(|i| {
            let ext = if i % 3 == 0 { "png" } else { "jpg" };
            format!("shoot/img_{i:02}.{ext}")
        })
        .collect();
    // Same file name in two folders; same stem in one folder; stems equal but for case.
    paths.extend(
        [
            "a/x.jpg",
            "b/x.jpg",
            "pair/p.jpg",
            "pair/p.png",
            "Photo.JPG",
            "other/photo.jpeg",
        ]
        .map(str::to_owned),
    );
    paths
}

fn size_of_index(i: usize) -> ImageSize {
    ImageSize::new(320 + 37 * i as u32, 240 + 23 * i as u32)
}

/// 20 images with boxes at fractional pixels (some with none: background images).
fn dataset_of(paths: &[String]) -> Dataset {
    let images = paths
        .iter()
        .enumerate()
        .map(|(i, path)| {
            let size = size_of_index(i);
            let mut image = ImageAnnotations::new(path.clone(), Some(size));
            for k in 0..(i % 4) {
                let x = 3.25 + 17.5 * k as f64 + i as f64;
                let y = 5.5 + 11.125 * k as f64;
                image.shapes.push(Shape::rectangle(
                    CLASSES[(i + k) % CLASSES.len()],
                    Point::new(x, y),
                    Point::new(x + 40.75, y + 30.5),
                ));
            }
            image
        })
        .collect();
    Dataset {
        classes: CLASSES.map(str::to_owned).to_vec(),
        images,
    }
}

/// Distinct bytes per image (not real pixels: sizes come from `size_of`, as in the CLI's
/// tests).
fn image_bytes(index: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|j| (j.wrapping_mul(31) ^ index.wrapping_mul(7)) as u8)
        .collect()
}

/// The plan's files, then each image, read one at a time as the browser reads them from
/// IndexedDB, into a zip in memory.
fn stream_zip(plan: &DatasetPlan, originals: &HashMap<String, Vec<u8>>) -> Vec<u8> {
    let mut zip = ZipStream::new(Vec::new());
    for file in &plan.files {
        zip.add(&file.path, &file.bytes).expect("label file");
    }
    for image in &plan.images {
        zip.add(&image.output_path, &originals[&image.image_path])
            .expect("image");
    }
    assert_eq!(zip.entry_count(), plan.entry_count());
    zip.finish().expect("finished zip")
}

fn unzip(bytes: Vec<u8>) -> Vec<InputFile> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("a readable zip");
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).expect("entry");
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).expect("entry bytes");
            InputFile::new(entry.name(), bytes)
        })
        .collect()
}

fn bbox(shape: &Shape) -> [f64; 4] {
    let rect = geometry::bbox_in_image(shape).expect("a box");
    [rect.min.x, rect.min.y, rect.max.x, rect.max.y]
}

/// Exports `dataset` with its images in `format`, reads the zip back with `import_folder`,
/// and checks every image and its shapes. Returns the plan and the unzipped files.
fn export_and_read_back(
    dataset: &Dataset,
    format: Format,
    split: SplitRule,
    tolerance_px: f64,
) -> (DatasetPlan, Vec<InputFile>) {
    let plan = plan_dataset(
        dataset,
        &DatasetOptions {
            format,
            split,
            labels: ExportOptions::default(),
        },
    )
    .expect("plan");
    assert!(plan.issues.is_empty(), "{format:?}: {:?}", plan.issues);
    let originals: HashMap<String, Vec<u8>> = dataset
        .images
        .iter()
        .enumerate()
        .map(|(i, image)| (image.image_path.clone(), image_bytes(i, 100 + i * 13)))
        .collect();
    let files = unzip(stream_zip(&plan, &originals));
    assert_eq!(
        files.len(),
        plan.entry_count(),
        "{format:?}: one entry each"
    );

    let original_of: HashMap<&str, &ImageAnnotations> = dataset
        .images
        .iter()
        .map(|image| (image.image_path.as_str(), image))
        .collect();
    let size_by_output: HashMap<&str, ImageSize> = plan
        .images
        .iter()
        .map(|planned| {
            let size = original_of[planned.image_path.as_str()]
                .image_size
                .expect("size");
            (planned.output_path.as_str(), size)
        })
        .collect();
    let size_of = |file: &InputFile| size_by_output.get(file.path.as_str()).copied();
    let options = ImportOptions {
        format: Some(format),
    };
    let (back, report) = formats::import_folder(&files, &options, &size_of);
    assert!(!report.has_errors(), "{format:?}: {:?}", report.issues);

    assert_eq!(back.images.len(), dataset.images.len(), "{format:?}");
    let outputs: BTreeSet<&str> = plan.images.iter().map(|i| i.output_path.as_str()).collect();
    assert_eq!(
        outputs.len(),
        plan.images.len(),
        "{format:?}: unique entries"
    );
    let by_path: HashMap<&str, &InputFile> = files.iter().map(|f| (f.path.as_str(), f)).collect();
    for planned in &plan.images {
        let original = original_of[planned.image_path.as_str()];
        assert_eq!(
            by_path[planned.output_path.as_str()].bytes,
            originals[&planned.image_path],
            "{format:?}: bytes of {}",
            planned.image_path
        );
        let read: Vec<&ImageAnnotations> = back
            .images
            .iter()
            .filter(|image| image.image_path == planned.output_path)
            .collect();
        assert_eq!(read.len(), 1, "{format:?}: {} once", planned.output_path);
        let read = read[0];
        assert_eq!(
            read.shapes.len(),
            original.shapes.len(),
            "{format:?}: shapes of {}",
            planned.image_path
        );
        for (got, want) in read.shapes.iter().zip(&original.shapes) {
            assert_eq!(got.label, want.label, "{format:?}");
            for (a, b) in bbox(got).iter().zip(bbox(want)) {
                assert!(
                    (a - b).abs() <= tolerance_px,
                    "{format:?} {}: {:?} vs {:?}",
                    planned.image_path,
                    bbox(got),
                    bbox(want)
                );
            }
        }
    }
    (plan, files)
}

fn text_of<'a>(files: &'a [InputFile], path: &str) -> &'a str {
    let file = files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} in the zip"));
    std::str::from_utf8(&file.bytes).expect("utf-8")
}

fn entries_under<'a>(files: &'a [InputFile], prefix: &str) -> Vec<&'a str> {
    files
        .iter()
        .map(|f| f.path.as_str())
        .filter(|p| p.starts_with(prefix))
        .collect()
}

const RATIO: SplitRule = SplitRule::Ratio {
    val_fraction: 0.25,
    seed: 7,
};

#[test]
fn ultralytics_layout_reads_back_with_its_split_and_data_yaml() {
    let dataset = dataset_of(&image_paths());
    // 8 decimals of the image side, over sides up to ~1000 px.
    let (plan, files) = export_and_read_back(&dataset, Format::Yolo, RATIO, 2e-5);
    assert_eq!(plan.count(Split::Val), 5, "round(20 × 0.25)");
    assert_eq!(plan.count(Split::Train), 15);
    assert_eq!(plan.count(Split::Test), 0);
    for split in [Split::Train, Split::Val] {
        let images = entries_under(&files, &format!("images/{}/", split.name()));
        let labels = entries_under(&files, &format!("labels/{}/", split.name()));
        assert_eq!(images.len(), plan.count(split));
        assert_eq!(labels.len(), plan.count(split), "a label file per image");
        for image in images {
            let stem = image.rsplit('/').next().and_then(|n| n.rsplit_once('.'));
            let label = format!("labels/{}/{}.txt", split.name(), stem.expect("name").0);
            assert!(labels.contains(&label.as_str()), "{label}");
        }
    }
    for planned in &plan.images {
        let split = planned.split.expect("a split");
        assert!(
            planned
                .output_path
                .starts_with(&format!("images/{}/", split.name()))
        );
    }

    let yaml: serde_yaml::Value = serde_yaml::from_str(text_of(&files, "data.yaml")).expect("yaml");
    assert_eq!(yaml["train"].as_str(), Some("images/train"));
    assert_eq!(yaml["val"].as_str(), Some("images/val"));
    assert!(yaml.get("test").is_none());
    assert!(
        yaml.get("path").is_none(),
        "no `path`: the dataset root is data.yaml's folder"
    );
    assert_eq!(yaml["nc"].as_u64(), Some(3));
    assert_eq!(
        yolo::parse_data_yaml(text_of(&files, "data.yaml")).expect("names"),
        Some(CLASSES.map(str::to_owned).to_vec())
    );
    assert_eq!(text_of(&files, "classes.txt"), "dog\ncat\nperson\n");
}

#[test]
fn coco_layout_reads_back_with_one_instances_file_per_split() {
    let dataset = dataset_of(&image_paths());
    let (plan, files) = export_and_read_back(&dataset, Format::Coco, RATIO, 1e-9);
    let images = entries_under(&files, "images/");
    assert_eq!(images.len(), 20);
    let mut named = BTreeSet::new();
    for split in [Split::Train, Split::Val] {
        let path = format!("annotations/instances_{}.json", split.name());
        let value: serde_json::Value = serde_json::from_str(text_of(&files, &path)).expect("json");
        let listed = value["images"].as_array().expect("images");
        assert_eq!(listed.len(), plan.count(split), "{path}");
        let categories: Vec<&str> = value["categories"]
            .as_array()
            .expect("categories")
            .iter()
            .map(|c| c["name"].as_str().expect("name"))
            .collect();
        assert_eq!(categories, CLASSES, "same categories in every split");
        for image in listed {
            let name = image["file_name"].as_str().expect("file_name");
            assert!(
                images.contains(&format!("images/{name}").as_str()),
                "{name}"
            );
            assert!(named.insert(name.to_owned()), "{name} in one split only");
            let planned = plan
                .images
                .iter()
                .find(|p| p.output_path == format!("images/{name}"))
                .expect("planned");
            assert_eq!(planned.split, Some(split));
        }
    }
    assert_eq!(named.len(), 20);
    assert!(!files.iter().any(|f| f.path.contains("instances_test")));
}

#[test]
fn voc_layout_reads_back_with_image_sets() {
    let dataset = dataset_of(&image_paths());
    let (plan, files) = export_and_read_back(&dataset, Format::Voc, RATIO, 1e-9);
    let lines =
        |path: &str| -> Vec<String> { text_of(&files, path).lines().map(str::to_owned).collect() };
    let train = lines("ImageSets/Main/train.txt");
    let val = lines("ImageSets/Main/val.txt");
    let trainval = lines("ImageSets/Main/trainval.txt");
    assert_eq!(train.len(), plan.count(Split::Train));
    assert_eq!(val.len(), plan.count(Split::Val));
    assert_eq!(trainval.len(), 20);
    assert_eq!(
        trainval.iter().collect::<BTreeSet<_>>(),
        train.iter().chain(&val).collect::<BTreeSet<_>>()
    );
    for id in &trainval {
        assert!(
            files
                .iter()
                .any(|f| f.path == format!("Annotations/{id}.xml")),
            "{id}.xml"
        );
        let images: Vec<&str> = entries_under(&files, &format!("JPEGImages/{id}."));
        assert_eq!(images.len(), 1, "one image with stem {id}");
    }
    assert!(!files.iter().any(|f| f.path.ends_with("default.txt")));
}

#[test]
fn labelme_keeps_folders_with_each_json_beside_its_image() {
    let dataset = dataset_of(&image_paths());
    let (plan, files) = export_and_read_back(&dataset, Format::Labelme, RATIO, 0.0);
    assert!(plan.images.iter().all(|image| image.split.is_none()));
    let outputs: Vec<&str> = plan.images.iter().map(|i| i.output_path.as_str()).collect();
    assert!(outputs.contains(&"a/x.jpg") && outputs.contains(&"b/x.jpg"));
    assert!(outputs.contains(&"pair/p.jpg") && outputs.contains(&"pair/p-2.png"));
    assert!(files.iter().any(|f| f.path == "pair/p-2.json"));
}

#[test]
fn colliding_names_are_made_unique() {
    let dataset = dataset_of(&image_paths());
    let plan = plan_dataset(
        &dataset,
        &DatasetOptions {
            format: Format::Coco,
            split: RATIO,
            labels: ExportOptions::default(),
        },
    )
    .expect("plan");
    let output_of = |path: &str| {
        plan.images
            .iter()
            .find(|i| i.image_path == path)
            .map(|i| i.output_path.as_str())
            .expect("planned")
    };
    assert_eq!(output_of("a/x.jpg"), "images/a_x.jpg");
    assert_eq!(output_of("b/x.jpg"), "images/b_x.jpg");
    assert_eq!(output_of("pair/p.jpg"), "images/pair_p.jpg");
    assert_eq!(output_of("pair/p.png"), "images/pair_p-2.png");
    assert_eq!(output_of("Photo.JPG"), "images/Photo.JPG");
    assert_eq!(output_of("other/photo.jpeg"), "images/other_photo.jpeg");
    assert_eq!(output_of("shoot/img_03.png"), "images/img_03.png");
}

#[test]
fn folders_decide_the_split_when_asked() {
    let paths: Vec<String> = [
        "images/train/a.jpg",
        "images/train/b.jpg",
        "images/train/c.jpg",
        "images/val/d.jpg",
        "valid/images/e.jpg",
        "test/images/f.jpg",
        "loose/g.jpg",
        "loose/h.jpg",
    ]
    .map(str::to_owned)
    .to_vec();
    let rule = SplitRule::ByFolder {
        val_fraction: 0.5,
        seed: 3,
    };
    let splits = assign_splits(&paths, rule);
    use Split::{Test, Train, Val};
    assert_eq!(&splits[..6], [Train, Train, Train, Val, Val, Test]);
    // The two images outside split folders are divided by the ratio: one each.
    let mut loose = splits[6..].to_vec();
    loose.sort();
    assert_eq!(loose, [Train, Val]);

    let dataset = dataset_of(&paths);
    let (plan, files) = export_and_read_back(&dataset, Format::Yolo, rule, 2e-5);
    assert_eq!(plan.count(Test), 1);
    assert_eq!(entries_under(&files, "images/test/"), ["images/test/f.jpg"]);
    assert_eq!(entries_under(&files, "labels/test/"), ["labels/test/f.txt"]);
    let yaml: serde_yaml::Value = serde_yaml::from_str(text_of(&files, "data.yaml")).expect("yaml");
    assert_eq!(yaml["test"].as_str(), Some("images/test"));
    let (_, coco) = export_and_read_back(&dataset, Format::Coco, rule, 1e-9);
    assert!(
        coco.iter()
            .any(|f| f.path == "annotations/instances_test.json")
    );
    let (_, voc) = export_and_read_back(&dataset, Format::Voc, rule, 1e-9);
    assert_eq!(text_of(&voc, "ImageSets/Main/test.txt"), "f\n");
}

#[test]
fn by_folder_without_split_folders_is_the_ratio() {
    let paths = image_paths();
    let by_folder = assign_splits(
        &paths,
        SplitRule::ByFolder {
            val_fraction: 0.3,
            seed: 11,
        },
    );
    let ratio = assign_splits(
        &paths,
        SplitRule::Ratio {
            val_fraction: 0.3,
            seed: 11,
        },
    );
    assert_eq!(by_folder, ratio);
}

#[test]
fn no_val_split_validates_on_train() {
    let dataset = dataset_of(&image_paths());
    let rule = SplitRule::Ratio {
        val_fraction: 0.0,
        seed: 0,
    };
    let (plan, files) = export_and_read_back(&dataset, Format::Yolo, rule, 2e-5);
    assert_eq!(plan.count(Split::Train), 20);
    let yaml: serde_yaml::Value = serde_yaml::from_str(text_of(&files, "data.yaml")).expect("yaml");
    assert_eq!(yaml["val"].as_str(), Some("images/train"));
}

#[test]
fn ratio_split_takes_the_exact_count() {
    for n in 0..60 {
        let paths: Vec<String> = (0..n).map(|i| format!("dir/{i}.jpg")).collect();
        for fraction in [0.0, 0.1, 0.2, 0.25, 0.5, 0.9, 1.0] {
            let splits = assign_splits(
                &paths,
                SplitRule::Ratio {
                    val_fraction: fraction,
                    seed: 42,
                },
            );
            let val = splits.iter().filter(|s| **s == Split::Val).count();
            let mut want = (n as f64 * fraction).round() as usize;
            if n >= 2 && fraction > 0.0 && fraction < 1.0 {
                want = want.clamp(1, n - 1);
            }
            assert_eq!(val, want, "n {n}, fraction {fraction}");
            assert!(!splits.contains(&Split::Test));
        }
    }
}

#[test]
fn ratio_split_is_deterministic_and_follows_the_seed() {
    let paths: Vec<String> = (0..200).map(|i| format!("img/{i:04}.jpg")).collect();
    let rule = |seed| SplitRule::Ratio {
        val_fraction: 0.2,
        seed,
    };
    let first = assign_splits(&paths, rule(1));
    assert_eq!(
        first,
        assign_splits(&paths, rule(1)),
        "same seed, same split"
    );
    // The order the paths come in does not matter: each path keeps its split.
    let reversed: Vec<String> = paths.iter().rev().cloned().collect();
    let mut back = assign_splits(&reversed, rule(1));
    back.reverse();
    assert_eq!(first, back);
    let other = assign_splits(&paths, rule(2));
    assert_ne!(first, other, "another seed, another split");
    let moved = first.iter().zip(&other).filter(|(a, b)| a != b).count();
    assert!(moved >= 20, "seeds give unrelated splits ({moved} moved)");
    // Not simply the first or last paths.
    let val: Vec<usize> = (0..200).filter(|&i| first[i] == Split::Val).collect();
    assert!(
        val.first() < Some(&100) && val.last() > Some(&100),
        "{val:?}"
    );
}

/// A sink that keeps only a count, as the browser's sink hands each chunk on to a Blob
/// part; the count is shared so the test can watch it while the zip owns the sink.
#[derive(Clone, Default)]
struct CountingSink {
    written: Rc<Cell<u64>>,
}

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.written.set(self.written.get() + buf.len() as u64);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_thousand_images_stream_through_without_being_held() {
    let paths: Vec<String> = (0..1000).map(|i| format!("shots/{i:04}.jpg")).collect();
    let dataset = dataset_of(&paths);
    let plan = plan_dataset(
        &dataset,
        &DatasetOptions {
            format: Format::Yolo,
            split: SplitRule::default(),
            labels: ExportOptions::default(),
        },
    )
    .expect("plan");
    assert_eq!(plan.count(Split::Val), 200);
    let sink = CountingSink::default();
    let written = sink.written.clone();
    let mut zip = ZipStream::new(sink);
    for file in &plan.files {
        zip.add(&file.path, &file.bytes).expect("file");
    }
    const IMAGE_BYTES: usize = 16 * 1024;
    let mut image_total = 0;
    for (i, image) in plan.images.iter().enumerate() {
        // Made, added and dropped one at a time, as the browser reads them from IndexedDB.
        let bytes = image_bytes(i, IMAGE_BYTES);
        zip.add(&image.output_path, &bytes).expect("image");
        image_total += bytes.len() as u64;
        // The image has reached the sink when `add` returns: the writer holds none of them.
        assert!(written.get() >= image_total, "image {i} still held");
    }
    zip.finish().expect("finish");
    assert!(written.get() > image_total);

    // Cancelling is dropping the writer half-way; nothing else to undo.
    let mut zip = ZipStream::new(CountingSink::default());
    zip.add("images/a.jpg", &image_bytes(0, IMAGE_BYTES))
        .expect("image");
    drop(zip);
}

#[test]
fn issues_name_the_project_path() {
    let mut dataset = dataset_of(&image_paths());
    dataset.images[15].shapes.push(Shape::new(
        "dog",
        sightline_core::annotation::ShapeKind::Point,
        vec![Point::new(1.0, 1.0)],
    ));
    for format in [Format::Yolo, Format::Coco, Format::Voc] {
        let plan = plan_dataset(
            &dataset,
            &DatasetOptions {
                format,
                split: RATIO,
                labels: ExportOptions::default(),
            },
        )
        .expect("plan");
        assert_eq!(plan.issues.len(), 1, "{format:?}: {:?}", plan.issues);
        assert_eq!(plan.issues[0].image_path, "b/x.jpg", "{format:?}");
    }
}
