//! The hostile-input corpus (`tests/corpus/hostile/`, one row per case in its `cases.tsv`),
//! read natively through the entries the app reads user files with. The browser runs the same
//! table; see the corpus's README for what each reader is.
//!
//! Per row: no panic and no hang, the outcome is the row's `expect` (`ok:<detail>` accepted,
//! else a fragment of the message), and the message names the file as the app shows it. Then
//! the whole corpus as one folder, as the browser's folder import does it (`plan_folder`,
//! header sizes, `import_folder`, then `check_image` on each original): every bad file is
//! reported and passed, the good LabelMe file's labels come through as read alone, and the
//! stored annotation rows of a project hash the same before and after the hostile batch.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use sightline_core::annotation::{Dataset, ImageSize};
use sightline_core::formats::{self, ImportOptions, ImportReport, InputFile, is_image_path};
use sightline_core::image_check::check_image;
use sightline_core::project::{image_size_from_header, plan_folder};
use sightline_core::{project_file, share};
use sightline_protocol::store::{AnnotationRecord, JsonRow};
use sightline_vision::image_io::decode_image;
use sightline_vision::{ComputeDevice, Detector, OnnxModel};

/// Far above what any row takes (milliseconds); a row past it hangs.
const ROW_TIMEOUT: Duration = Duration::from_secs(60);

fn corpus_dir() -> PathBuf {
    sightline_test_support::workspace_root().join("tests/corpus/hostile")
}

/// Which entry of the app reads a row's file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reader {
    /// `core::image_check::check_image` (the app's gate for every image) and, natively,
    /// `vision::image_io::decode_image` (CLI and worker).
    Image,
    /// `core::formats::import_folder`, the folder import of every format.
    Labelme,
    Yolo,
    Coco,
    Voc,
    /// `OnnxModel::from_bytes` then `Detector::new`, as the worker loads a model.
    Onnx,
    /// `core::share::payload_of` then `decode`, as the app opens a link.
    ShareLink,
    /// `core::project_file::read_project_file`, as "Open project" reads a file or a link.
    ProjectFile,
}

impl Reader {
    fn parse(name: &str) -> Self {
        match name {
            "image" => Self::Image,
            "labelme" => Self::Labelme,
            "yolo" => Self::Yolo,
            "coco" => Self::Coco,
            "voc" => Self::Voc,
            "onnx" => Self::Onnx,
            "share_link" => Self::ShareLink,
            "project_file" => Self::ProjectFile,
            other => panic!("cases.tsv: unknown reader {other:?}"),
        }
    }

    fn imports_annotations(self) -> bool {
        matches!(self, Self::Labelme | Self::Yolo | Self::Coco | Self::Voc)
    }
}

/// A row's `expect`: accepted (with its size or shape count), or a fragment of the message.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Expect {
    Accepted(String),
    Message(String),
}

#[derive(Clone, Debug)]
struct Case {
    file: String,
    kind: String,
    reader: Reader,
    expect: Expect,
}

fn cases() -> Vec<Case> {
    let table = std::fs::read_to_string(corpus_dir().join("cases.tsv")).expect("cases.tsv");
    let mut lines = table.lines();
    assert_eq!(lines.next(), Some("file\tkind\treader\texpect"), "header");
    let cases: Vec<Case> = lines
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let columns: Vec<&str> = line.split('\t').collect();
            let [file, kind, reader, expect] = columns[..] else {
                panic!("cases.tsv: not four columns: {line:?}");
            };
            let expect = match expect.strip_prefix("ok:") {
                Some(detail) => Expect::Accepted(detail.to_owned()),
                None => Expect::Message(expect.to_owned()),
            };
            Case {
                file: file.to_owned(),
                kind: kind.to_owned(),
                reader: Reader::parse(reader),
                expect,
            }
        })
        .collect();
    let kinds: HashSet<&str> = cases
        .iter()
        .filter(|case| !case.kind.starts_with("control"))
        .map(|case| case.kind.as_str())
        .collect();
    assert!(kinds.len() >= 16, "{} hostile kinds", kinds.len());
    cases
}

/// Every file under the corpus, by path relative to it, sorted.
fn corpus_files() -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).expect("readable folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("inside");
                let rel = rel.to_string_lossy().replace('\\', "/");
                out.push((rel, std::fs::read(&path).expect("readable file")));
            }
        }
    }
    let mut files = Vec::new();
    walk(&corpus_dir(), &corpus_dir(), &mut files);
    files.sort();
    files
}

/// What reading a file gave: accepted with a detail, or the messages the app shows.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Accepted(String),
    Refused(Vec<String>),
}

/// The image reader: the app's check, and the native decode, which must agree.
fn read_image(path: &str, bytes: &[u8]) -> Outcome {
    // As `folder_import::store_originals` reports it, and as `sightline label` does.
    match (check_image(path, bytes), decode_image(bytes)) {
        (Ok(checked), Ok(rgb)) => {
            let size = (checked.size.width, checked.size.height);
            assert_eq!(
                (rgb.width(), rgb.height()),
                size,
                "{path}: decoded at another size than its header (EXIF orientation?)"
            );
            Outcome::Accepted(format!("{}x{}", size.0, size.1))
        }
        (Err(problem), Err(error)) => Outcome::Refused(vec![
            format!("{path}: {problem}"),
            format!("FAILED {path}: {error}"),
        ]),
        (Ok(_), Err(error)) => panic!("{path}: checked as an image, but decoding fails: {error}"),
        (Err(problem), Ok(_)) => panic!("{path}: refused ({problem}), but it decodes"),
    }
}

/// The annotation readers: `file` imported with the other files of its top folder that are
/// not rows themselves (its images, `classes.txt`), as a folder import would.
fn read_annotations(file: &str, case_files: &HashSet<String>) -> Outcome {
    let top = file.split('/').next().expect("a path");
    let inputs: Vec<InputFile> = corpus_files()
        .into_iter()
        .filter(|(path, _)| path.starts_with(&format!("{top}/")))
        .filter(|(path, _)| path == file || !case_files.contains(path))
        .map(|(path, bytes)| InputFile::new(path, bytes))
        .collect();
    let (dataset, report) = import_with_header_sizes(&inputs);
    assert_all_finite(&dataset, file);
    let messages: Vec<String> = report.issues_of(file).map(ToString::to_string).collect();
    if messages.is_empty() {
        assert!(
            report.files_imported.iter().any(|f| f == file),
            "{report:#?}"
        );
        Outcome::Accepted(format!("{} shapes", report.shapes_imported))
    } else {
        Outcome::Refused(messages)
    }
}

/// `import_folder` with image sizes read from the image bytes' headers (the browser reads
/// the first 64 KB; `sightline convert` the file).
fn import_with_header_sizes(inputs: &[InputFile]) -> (Dataset, ImportReport) {
    let sizes: HashMap<&str, Option<ImageSize>> = inputs
        .iter()
        .filter(|file| is_image_path(&file.path))
        .map(|file| (file.path.as_str(), image_size_from_header(&file.bytes)))
        .collect();
    let size_of = |file: &InputFile| sizes.get(file.path.as_str()).copied().flatten();
    formats::import_folder(inputs, &ImportOptions::default(), &size_of)
}

/// Never a NaN or an infinity in what was imported.
fn assert_all_finite(dataset: &Dataset, context: &str) {
    for image in &dataset.images {
        for shape in &image.shapes {
            assert!(
                shape
                    .points_in_image
                    .iter()
                    .all(|p| p.x.is_finite() && p.y.is_finite()),
                "{context}: a non-finite point imported on {}",
                image.image_path
            );
        }
    }
}

/// Loads a model as the worker does; the message as `sightline label` prints it.
fn read_onnx(path: &str, bytes: &[u8]) -> Outcome {
    let device = ComputeDevice::cpu().expect("a CPU device");
    match OnnxModel::from_bytes(bytes, &device.device).and_then(|m| Detector::new(m, None, None)) {
        Ok(_) => Outcome::Accepted("loaded".to_owned()),
        Err(error) => Outcome::Refused(vec![format!("loading {path} in f32: {error}")]),
    }
}

/// Opens a link as the app does; the app shows the error in the link's dialog.
fn read_share_link(bytes: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(bytes);
    let payload = share::payload_of(&text).expect("a #share= link");
    match share::decode(payload) {
        Ok(_) => Outcome::Accepted("opened".to_owned()),
        Err(error) => Outcome::Refused(vec![error.to_string()]),
    }
}

fn read_project_file(path: &str, bytes: &[u8]) -> Outcome {
    match project_file::read_project_file(bytes) {
        Ok(_) => Outcome::Accepted("opened".to_owned()),
        Err(error) => Outcome::Refused(vec![format!("{path}: {error}")]),
    }
}

fn read(case: &Case, case_files: &HashSet<String>) -> Outcome {
    let bytes = std::fs::read(corpus_dir().join(&case.file)).expect("the row's file");
    match case.reader {
        Reader::Image => read_image(&case.file, &bytes),
        Reader::Onnx => read_onnx(&case.file, &bytes),
        Reader::ShareLink => read_share_link(&bytes),
        Reader::ProjectFile => read_project_file(&case.file, &bytes),
        _ => read_annotations(&case.file, case_files),
    }
}

/// Runs `read` on its own thread: a panic or a hang fails the row by name.
fn read_guarded(case: &Case, case_files: &HashSet<String>) -> Outcome {
    let (sender, receiver) = mpsc::channel();
    let (row, files) = (case.clone(), case_files.clone());
    let worker = std::thread::spawn(move || {
        let _ = sender.send(read(&row, &files));
    });
    match receiver.recv_timeout(ROW_TIMEOUT) {
        Ok(outcome) => outcome,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{}: hangs", case.file),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let _ = worker.join();
            panic!("{}: the reader panicked ({})", case.file, case.kind)
        }
    }
}

/// The outcome matches the row, and a refusal names its file (a link has no file: its
/// messages name "the share link").
fn check_row(case: &Case, outcome: &Outcome) {
    let name = if case.reader == Reader::ShareLink {
        "the share link"
    } else {
        case.file.as_str()
    };
    match (&case.expect, outcome) {
        (Expect::Accepted(want), Outcome::Accepted(got)) => {
            assert_eq!(got, want, "{} ({})", case.file, case.kind)
        }
        (Expect::Message(fragment), Outcome::Refused(messages)) => {
            assert!(
                messages
                    .iter()
                    .any(|message| message.contains(fragment) && message.contains(name)),
                "{} ({}): no message naming it contains {fragment:?}: {messages:#?}",
                case.file,
                case.kind
            );
        }
        (want, got) => panic!(
            "{} ({}): expected {want:?}, got {got:?}",
            case.file, case.kind
        ),
    }
}

#[test]
fn every_row_gives_its_outcome_naming_its_file() {
    let cases = cases();
    let case_files: HashSet<String> = cases.iter().map(|case| case.file.clone()).collect();
    for case in &cases {
        let outcome = read_guarded(case, &case_files);
        // What each row gave, for the corpus's README (`--nocapture`).
        eprintln!("{}\t{outcome:?}", case.file);
        check_row(case, &outcome);
    }
}

/// Annotation store rows (`protocol::store`, as IndexedDB holds them) of a project's
/// imported dataset: an image's row when it has shapes or flags, as the folder import saves.
fn store_rows(project_id: &str, dataset: &Dataset) -> BTreeMap<String, JsonRow> {
    dataset
        .images
        .iter()
        .filter(|image| !image.shapes.is_empty() || !image.flags.is_empty())
        .map(|image| {
            let record = AnnotationRecord {
                project_id: project_id.to_owned(),
                version: 1,
                annotations: image.clone(),
            };
            let row = JsonRow::of(&record).expect("serialises");
            (row.key.clone(), row)
        })
        .collect()
}

fn hash_rows<'a>(rows: impl Iterator<Item = &'a JsonRow>) -> u64 {
    let mut hasher = DefaultHasher::new();
    for row in rows {
        (&row.key, &row.json).hash(&mut hasher);
    }
    hasher.finish()
}

/// The browser's folder import of `files` (`folder/...` paths as a picked folder lists
/// them): the dataset and report of `start_import`, and the problem lines of
/// `store_originals`.
fn folder_import(files: &[(String, Vec<u8>)]) -> (Dataset, ImportReport, Vec<String>) {
    let listing: Vec<String> = files
        .iter()
        .map(|(path, _)| format!("hostile/{path}"))
        .collect();
    let plan = plan_folder(&listing);
    assert_eq!(plan.name, "hostile");
    let mut inputs: Vec<InputFile> = plan
        .annotation_files
        .iter()
        .map(|(index, path)| InputFile::new(path.clone(), files[*index].1.clone()))
        .collect();
    // Images with their bytes, for their header sizes (the browser reads the first 64 KB).
    inputs.extend(
        plan.images
            .iter()
            .map(|(index, path)| InputFile::new(path.clone(), files[*index].1.clone())),
    );
    let (dataset, report) = import_with_header_sizes(&inputs);
    let problems = plan
        .images
        .iter()
        .filter_map(|(index, path)| {
            let problem = check_image(path, &files[*index].1).err()?;
            Some(format!("{path}: {problem}"))
        })
        .collect();
    for (_, path) in &plan.images {
        assert!(dataset.image(path).is_some(), "{path} listed");
    }
    (dataset, report, problems)
}

/// The corpus's files that no refused row is: the controls, the accepted cases and what
/// they need.
fn good_files(cases: &[Case]) -> Vec<(String, Vec<u8>)> {
    let hostile: HashSet<&str> = cases
        .iter()
        .filter(|case| matches!(case.expect, Expect::Message(_)))
        .map(|case| case.file.as_str())
        .collect();
    corpus_files()
        .into_iter()
        .filter(|(path, _)| !hostile.contains(path.as_str()))
        .collect()
}

#[test]
fn the_whole_corpus_imports_as_one_folder_past_every_bad_file() {
    let cases = cases();
    let (dataset, report, problems) = folder_import(&corpus_files());
    assert_all_finite(&dataset, "the whole corpus");
    let case_files: HashSet<String> = cases.iter().map(|case| case.file.clone()).collect();
    for case in &cases {
        let outcome = match case.reader {
            Reader::Image => match problems
                .iter()
                .find(|p| p.starts_with(&format!("{}: ", case.file)))
            {
                Some(problem) => Outcome::Refused(vec![problem.clone()]),
                None => {
                    let image = dataset.image(&case.file).expect("listed");
                    let size = image.image_size.expect("a header size");
                    Outcome::Accepted(format!("{}x{}", size.width, size.height))
                }
            },
            reader if reader.imports_annotations() => {
                let messages: Vec<String> = report
                    .issues_of(&case.file)
                    .map(ToString::to_string)
                    .collect();
                if messages.is_empty() {
                    // The shape count is the file's own: checked row by row.
                    assert!(report.files_imported.contains(&case.file), "{}", case.file);
                    match &case.expect {
                        Expect::Accepted(detail) => Outcome::Accepted(detail.clone()),
                        Expect::Message(_) => Outcome::Refused(Vec::new()),
                    }
                } else {
                    Outcome::Refused(messages)
                }
            }
            // Not part of a folder import: read in the same batch, one after the other.
            _ => read_guarded(case, &case_files),
        };
        check_row(case, &outcome);
    }
    // The good LabelMe file's labels, exactly as read on their own.
    let good = formats::labelme::parse(
        &std::fs::read(corpus_dir().join("labelme/good.json")).expect("good.json"),
    )
    .expect("a good file");
    let imported = dataset.image("labelme/photo.png").expect("the good image");
    assert_eq!(imported.shapes, good.annotations.shapes);
    assert_eq!(imported.shapes.len(), 2);
    assert!(report.issues_of("labelme/good.json").next().is_none());
}

#[test]
fn stored_annotations_hash_the_same_after_the_hostile_batch() {
    let cases = cases();
    // The store, keyed as IndexedDB keys it: a project opened from the corpus's good files.
    let mut store: BTreeMap<String, JsonRow> = BTreeMap::new();
    let (earlier, _, _) = folder_import(&good_files(&cases));
    store.extend(store_rows("earlier", &earlier));
    let of = |store: &BTreeMap<String, JsonRow>, project: &str| {
        hash_rows(store.values().filter(|row| row.project_id == project))
    };
    let before = of(&store, "earlier");
    let earlier_rows = store.len();
    assert!(earlier_rows >= 2, "the good files have labels to store");

    // The hostile batch: the whole corpus opened as a new project into the same store, every
    // other reader run on its files.
    let (batch, _, _) = folder_import(&corpus_files());
    store.extend(store_rows("batch", &batch));
    let case_files: HashSet<String> = cases.iter().map(|case| case.file.clone()).collect();
    for case in cases
        .iter()
        .filter(|case| !case.reader.imports_annotations())
    {
        read_guarded(case, &case_files);
    }
    assert_eq!(
        of(&store, "earlier"),
        before,
        "the earlier project's rows changed"
    );

    // An image no hostile annotation file names has, in the batch project, byte for byte the
    // annotations it had in the earlier one.
    let hostile_annotations: Vec<(String, Vec<u8>)> = corpus_files()
        .into_iter()
        .filter(|(path, _)| {
            cases.iter().any(|case| {
                case.file == *path
                    && case.reader.imports_annotations()
                    && matches!(case.expect, Expect::Message(_))
            })
        })
        .collect();
    let images: Vec<InputFile> = corpus_files()
        .into_iter()
        .filter(|(path, _)| is_image_path(path))
        .map(|(path, bytes)| InputFile::new(path, bytes))
        .collect();
    let (unlabelled, _) = import_with_header_sizes(&images);
    let mut with_hostile = images.clone();
    with_hostile.extend(
        hostile_annotations
            .iter()
            .map(|(path, bytes)| InputFile::new(path.clone(), bytes.clone())),
    );
    let (touched_by_hostile, _) = import_with_header_sizes(&with_hostile);
    let annotations_json = |dataset: &Dataset, path: &str| {
        dataset
            .image(path)
            .filter(|image| !image.shapes.is_empty() || !image.flags.is_empty())
            .map(|image| serde_json::to_string(image).expect("serialises"))
    };
    let mut untouched = 0;
    for image in &unlabelled.images {
        let path = &image.image_path;
        if annotations_json(&touched_by_hostile, path) != annotations_json(&unlabelled, path) {
            continue;
        }
        untouched += 1;
        assert_eq!(
            annotations_json(&batch, path),
            annotations_json(&earlier, path),
            "{path}: its annotations changed in the hostile batch"
        );
    }
    assert!(untouched >= 10, "{untouched} untouched images");
    assert!(
        annotations_json(&batch, "labelme/photo.png").is_some(),
        "the good image keeps its labels"
    );
}
