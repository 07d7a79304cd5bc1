//! Dataset formats: reading a folder of images and label files into a [`Dataset`], and
//! writing a dataset back out.
//!
//! A folder is given as an in-memory list of [`InputFile`]s (relative path and bytes), so the
//! browser (a picked directory) and the CLI (a walked directory) share every line of this
//! code. Import never stops at the first bad file: each problem becomes an [`ImportIssue`]
//! naming the file, the line or field, and what was done (file skipped, entry skipped, or
//! kept as read), and everything else imports. Export produces [`OutputFile`]s plus where
//! each image goes; [`zip_archive`] packs them for a download, and [`ZipStream`] writes a
//! zip entry by entry into any sink. [`dataset`] plans an export with the images, in each
//! format's layout with train / val splits, for streaming into a [`ZipStream`].
//!
//! One module per format: [`labelme`] (also AnyLabeling / X-AnyLabeling), [`yolo`] (detect
//! and segment), [`coco`], [`voc`] (Pascal VOC XML).

pub mod coco;
pub mod dataset;
pub mod labelme;
pub mod voc;
pub mod yolo;
mod zip_archive;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::annotation::{Dataset, ImageAnnotations, ImageSize, Shape, ShapeKind};

pub use zip_archive::{ZipError, ZipStream, zip_archive};

/// Slack, in image pixels, before a point counts as outside its image.
pub const POINT_TOLERANCE_PX: f64 = 0.5;

/// One file of a folder being imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputFile {
    /// Path relative to the folder, `/` or `\` separated.
    pub path: String,
    pub bytes: Vec<u8>,
}

impl InputFile {
    pub fn new(path: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            path: normalise_path(&path.into()),
            bytes: bytes.into(),
        }
    }
}

/// One file to write, path relative to the output folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// The dataset formats Sightline reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Labelme,
    Yolo,
    Coco,
    Voc,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Labelme, Format::Yolo, Format::Coco, Format::Voc];

    pub fn name(self) -> &'static str {
        match self {
            Format::Labelme => "labelme",
            Format::Yolo => "yolo",
            Format::Coco => "coco",
            Format::Voc => "voc",
        }
    }
}

/// What went wrong in one file.
#[derive(Clone, Debug, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum ImportError {
    #[error("not valid JSON (line {line}, column {column}): {message}")]
    MalformedJson {
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "line {line}, column {column}: {token} is not a JSON number (Python's json writes NaN \
         and Infinity so); {count} such value(s) read as missing"
    )]
    NotJsonNumber {
        line: usize,
        column: usize,
        token: String,
        count: usize,
    },
    #[error("not valid XML (line {line}, byte {position}): {message}")]
    MalformedXml {
        line: usize,
        position: u64,
        message: String,
    },
    #[error("not valid YAML: {message}")]
    MalformedYaml { message: String },
    #[error("not UTF-8 text")]
    NotUtf8,
    #[error("field `{field}`: {message}")]
    InvalidField { field: String, message: String },
    #[error("line {line}: {found} values, expected {expected}")]
    WrongColumnCount {
        line: usize,
        found: usize,
        expected: String,
    },
    #[error("line {line}, value {column}: {text:?} is not a number")]
    InvalidNumber {
        line: usize,
        column: usize,
        text: String,
    },
    #[error(
        "line {line}: class id {class_id} is out of range, the dataset has {class_count} classes"
    )]
    ClassIdOutOfRange {
        line: usize,
        class_id: String,
        class_count: usize,
    },
    #[error("{location}: point ({x}, {y}) lies outside the {width}x{height} image")]
    PointOutsideImage {
        location: String,
        x: f64,
        y: f64,
        width: u32,
        height: u32,
    },
    #[error("`{field}`: unknown shape type {shape_type:?}")]
    UnknownShapeType { field: String, shape_type: String },
    #[error("`{field}`: a {shape_type} takes {expected} points, this one has {found}")]
    WrongPointCount {
        field: String,
        shape_type: String,
        found: usize,
        expected: String,
    },
    #[error("`{field}`: category id {category_id} is not in `categories`")]
    UnknownCategory { field: String, category_id: i64 },
    #[error("`{field}`: image id {image_id} is not in `images`")]
    UnknownImageId { field: String, image_id: i64 },
    #[error(
        "`{field}`: a crowd (RLE) mask; it is kept verbatim for COCO export and shown as its box"
    )]
    CrowdRle { field: String },
    #[error("annotations refer to image {image_path:?}, which is not in the folder")]
    ImageNotFound { image_path: String },
    #[error("the size of image {image_path:?} is unknown (no readable image header)")]
    ImageSizeUnknown { image_path: String },
    #[error("no class names (data.yaml or classes.txt): labels are named by class id")]
    MissingClassNames,
    #[error("not recognised as annotations of any supported format; ignored")]
    Unrecognised,
}

impl ImportError {
    /// Errors mean the input is wrong; warnings that something was imported differently.
    pub fn severity(&self) -> Severity {
        match self {
            ImportError::CrowdRle { .. }
            | ImportError::ImageNotFound { .. }
            | ImportError::MissingClassNames
            | ImportError::Unrecognised => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// The line of the file the problem is on, when the format has lines.
    pub fn line(&self) -> Option<usize> {
        match self {
            ImportError::MalformedJson { line, .. }
            | ImportError::NotJsonNumber { line, .. }
            | ImportError::MalformedXml { line, .. }
            | ImportError::WrongColumnCount { line, .. }
            | ImportError::InvalidNumber { line, .. }
            | ImportError::ClassIdOutOfRange { line, .. } => Some(*line),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Severity {
    Warning,
    Error,
}

/// What the importer did about a problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IssueOutcome {
    /// Nothing of the file was imported.
    FileSkipped,
    /// One shape, line or object was not imported; the rest of the file was.
    EntrySkipped,
    /// Imported as read (or as described by the error).
    Kept,
    /// Not an annotation file of a known format; nothing to import.
    Ignored,
}

/// One problem of one file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportIssue {
    pub file: String,
    pub error: ImportError,
    pub outcome: IssueOutcome,
}

impl ImportIssue {
    /// An error when the input is wrong or something was left out; a warning otherwise.
    pub fn severity(&self) -> Severity {
        match self.outcome {
            IssueOutcome::Kept | IssueOutcome::Ignored => self.error.severity(),
            IssueOutcome::FileSkipped | IssueOutcome::EntrySkipped => Severity::Error,
        }
    }
}

impl std::fmt::Display for ImportIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let outcome = match self.outcome {
            IssueOutcome::FileSkipped => "file skipped",
            IssueOutcome::EntrySkipped => "entry skipped",
            IssueOutcome::Kept => "kept",
            IssueOutcome::Ignored => "ignored",
        };
        write!(f, "{}: {} ({outcome})", self.file, self.error)
    }
}

/// What an import read and every problem it met.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    /// Annotation files that contributed shapes (or were read without problem).
    pub files_imported: Vec<String>,
    pub images_found: usize,
    pub shapes_imported: usize,
    pub issues: Vec<ImportIssue>,
}

impl ImportReport {
    pub fn push(&mut self, file: &str, error: ImportError, outcome: IssueOutcome) {
        self.issues.push(ImportIssue {
            file: file.to_owned(),
            error,
            outcome,
        });
    }

    pub fn errors(&self) -> impl Iterator<Item = &ImportIssue> {
        self.issues
            .iter()
            .filter(|issue| issue.severity() == Severity::Error)
    }

    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// The issues of one file.
    pub fn issues_of<'a>(&'a self, file: &'a str) -> impl Iterator<Item = &'a ImportIssue> {
        self.issues.iter().filter(move |issue| issue.file == file)
    }
}

/// How to import a folder.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// Read only this format; `None` recognises each file by its name and content.
    pub format: Option<Format>,
}

/// Whether `path` names an image by its extension (JPEG, PNG, BMP, GIF, WebP, TIFF; see
/// `image_check::format_of_path`).
pub fn is_image_path(path: &str) -> bool {
    crate::image_check::format_of_path(path).is_some()
}

/// `/`-separated, without `./`, `..` resolved where possible.
pub fn normalise_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            _ => parts.push(part),
        }
    }
    parts.join("/")
}

pub(crate) fn extension(path: &str) -> Option<&str> {
    let name = file_name(path);
    name.rfind('.').filter(|&i| i > 0).map(|i| &name[i + 1..])
}

pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// The file name without its extension.
pub(crate) fn file_stem(path: &str) -> &str {
    let name = file_name(path);
    match name.rfind('.') {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    }
}

/// The folder part of a path (empty at the root).
pub(crate) fn parent_dir(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

pub(crate) fn join_path(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        normalise_path(name)
    } else {
        normalise_path(&format!("{dir}/{name}"))
    }
}

/// Path with its extension replaced.
pub(crate) fn with_extension(path: &str, new_extension: &str) -> String {
    let dir = parent_dir(path);
    join_path(dir, &format!("{}.{new_extension}", file_stem(path)))
}

/// The images of the folder being imported, and how annotation files find theirs.
pub(crate) struct ImageIndex {
    sizes: HashMap<String, Option<ImageSize>>,
    by_stem: HashMap<String, Vec<String>>,
    by_name: HashMap<String, Vec<String>>,
}

impl ImageIndex {
    fn new(images: &[(String, Option<ImageSize>)]) -> Self {
        let mut index = Self {
            sizes: HashMap::new(),
            by_stem: HashMap::new(),
            by_name: HashMap::new(),
        };
        for (path, size) in images {
            index.sizes.insert(path.clone(), *size);
            index
                .by_stem
                .entry(file_stem(path).to_owned())
                .or_default()
                .push(path.clone());
            index
                .by_name
                .entry(file_name(path).to_owned())
                .or_default()
                .push(path.clone());
        }
        index
    }

    pub(crate) fn contains(&self, path: &str) -> bool {
        self.sizes.contains_key(path)
    }

    pub(crate) fn size_of(&self, path: &str) -> Option<ImageSize> {
        self.sizes.get(path).copied().flatten()
    }

    /// The image an annotation file names: `named` resolved against the annotation's folder,
    /// else the same file name in that folder, else an image with the annotation file's stem
    /// in its folder (or `images/` for `labels/`), else a unique image of that name anywhere.
    pub(crate) fn resolve(&self, annotation_path: &str, named: Option<&str>) -> Option<String> {
        let dir = parent_dir(annotation_path);
        if let Some(named) = named.filter(|n| !n.is_empty()) {
            let resolved = join_path(dir, named);
            if self.contains(&resolved) {
                return Some(resolved);
            }
            let beside = join_path(dir, file_name(named));
            if self.contains(&beside) {
                return Some(beside);
            }
            if let Some([only]) = self.by_name.get(file_name(named)).map(Vec::as_slice) {
                return Some(only.clone());
            }
        }
        let stem = file_stem(annotation_path);
        let candidates = self.by_stem.get(stem)?;
        let image_dirs = [dir.to_owned(), yolo::images_dir_for_labels_dir(dir)];
        for image_dir in &image_dirs {
            if let Some(found) = candidates.iter().find(|c| parent_dir(c) == image_dir) {
                return Some(found.clone());
            }
        }
        match candidates.as_slice() {
            [only] if named.is_none() => Some(only.clone()),
            _ => None,
        }
    }
}

/// Reads a folder: every image becomes an entry of the dataset (with its size from
/// `image_size_of`, which reads image headers and may return `None`), and every annotation
/// file of a recognised format adds its shapes to its image. Classes are gathered in the
/// order the label files give them (YOLO names, COCO categories), then in order of use.
pub fn import_folder(
    files: &[InputFile],
    options: &ImportOptions,
    image_size_of: &dyn Fn(&InputFile) -> Option<ImageSize>,
) -> (Dataset, ImportReport) {
    let mut report = ImportReport::default();
    let mut dataset = Dataset::default();
    let images: Vec<(String, Option<ImageSize>)> = files
        .iter()
        .filter(|file| is_image_path(&file.path))
        .map(|file| (normalise_path(&file.path), image_size_of(file)))
        .collect();
    for (path, size) in &images {
        dataset
            .images
            .push(ImageAnnotations::new(path.clone(), *size));
    }
    report.images_found = images.len();
    let index = ImageIndex::new(&images);

    let wants = |format: Format| options.format.is_none_or(|chosen| chosen == format);
    let mut yolo_files = Vec::new();
    for file in files.iter().filter(|file| !is_image_path(&file.path)) {
        let ext = extension(&file.path).map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("json") if wants(Format::Labelme) || wants(Format::Coco) => {
                // Parsed once; the kind of file is told by its keys.
                let value = match parse_json(&file.bytes) {
                    Ok((value, note)) => {
                        if let Some(note) = note {
                            report.push(&file.path, note, IssueOutcome::Kept);
                        }
                        value
                    }
                    Err(error) => {
                        report.push(&file.path, error, IssueOutcome::FileSkipped);
                        continue;
                    }
                };
                match (json_kind(&value), options.format) {
                    (JsonKind::Coco, None | Some(Format::Coco))
                    | (JsonKind::Unknown, Some(Format::Coco)) => coco::import_file(
                        &file.path,
                        coco::parse_value(value),
                        &index,
                        &mut dataset,
                        &mut report,
                    ),
                    (JsonKind::Labelme, None | Some(Format::Labelme))
                    | (JsonKind::Unknown, Some(Format::Labelme)) => labelme::import_file(
                        &file.path,
                        labelme::parse_value(value),
                        &index,
                        &mut dataset,
                        &mut report,
                    ),
                    (JsonKind::Unknown, None) => {
                        report.push(&file.path, ImportError::Unrecognised, IssueOutcome::Ignored)
                    }
                    // A COCO file while reading LabelMe, or the other way round.
                    _ => {}
                }
            }
            Some("xml") if wants(Format::Voc) => {
                voc::import_file(file, &index, &mut dataset, &mut report)
            }
            Some("txt" | "yaml" | "yml" | "names") if wants(Format::Yolo) => yolo_files.push(file),
            _ => {}
        }
    }
    if !yolo_files.is_empty() {
        yolo::import_files(
            &yolo_files,
            &index,
            options.format.is_some(),
            &mut dataset,
            &mut report,
        );
    }
    dataset.add_missing_classes();
    report.shapes_imported = dataset.shape_count();
    (dataset, report)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JsonKind {
    Labelme,
    Coco,
    Unknown,
}

fn json_kind(value: &serde_json::Value) -> JsonKind {
    let serde_json::Value::Object(map) = value else {
        return JsonKind::Unknown;
    };
    if map.contains_key("shapes") {
        JsonKind::Labelme
    } else if map.contains_key("annotations") || map.contains_key("categories") {
        JsonKind::Coco
    } else {
        JsonKind::Unknown
    }
}

/// Parses a JSON annotation file. Python's `json` (LabelMe, most converters) writes a NaN or
/// infinite float as the bare word `NaN`, `Infinity` or `-Infinity`, which is not JSON; rather
/// than lose every label of the file, each such word is read as `null` (so whatever held it
/// is reported and skipped where it is read, and the rest imports), and the first is
/// returned as an [`ImportError::NotJsonNumber`] note to report with the file.
pub(crate) fn parse_json(
    bytes: &[u8],
) -> Result<(serde_json::Value, Option<ImportError>), ImportError> {
    let error = match serde_json::from_slice(bytes) {
        Ok(value) => return Ok((value, None)),
        Err(error) => error,
    };
    let Some((patched, note)) = non_numbers_as_null(bytes) else {
        return Err(json_error(&error));
    };
    match serde_json::from_slice(&patched) {
        Ok(value) => Ok((value, Some(note))),
        // Wrong elsewhere too: that error, its column counted in the patched text.
        Err(error) => Err(json_error(&error)),
    }
}

/// `bytes` with every `NaN`, `Infinity` and `-Infinity` outside strings replaced by `null`,
/// and a note of the first and the count; `None` when there is none.
fn non_numbers_as_null(bytes: &[u8]) -> Option<(Vec<u8>, ImportError)> {
    const WORDS: [&[u8]; 3] = [b"-Infinity", b"Infinity", b"NaN"];
    let mut patched = Vec::with_capacity(bytes.len() + 16);
    let mut first: Option<(usize, usize, String)> = None;
    let mut count = 0;
    let (mut line, mut line_start) = (1, 0);
    let (mut in_string, mut escaped) = (false, false);
    let mut pos = 0;
    while pos < bytes.len() {
        let byte = bytes[pos];
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if let Some(word) = WORDS.iter().find(|word| bytes[pos..].starts_with(word)) {
            count += 1;
            first.get_or_insert_with(|| {
                let token = String::from_utf8_lossy(word).into_owned();
                (line, pos - line_start + 1, token)
            });
            patched.extend_from_slice(b"null");
            pos += word.len();
            continue;
        } else if byte == b'"' {
            in_string = true;
        }
        if byte == b'\n' {
            line += 1;
            line_start = pos + 1;
        }
        patched.push(byte);
        pos += 1;
    }
    let (line, column, token) = first?;
    let note = ImportError::NotJsonNumber {
        line,
        column,
        token,
        count,
    };
    Some((patched, note))
}

fn json_error(error: &serde_json::Error) -> ImportError {
    ImportError::MalformedJson {
        line: error.line(),
        column: error.column(),
        message: error.to_string(),
    }
}

/// Reports points outside the image (shape kept as read).
pub(crate) fn check_points_in_image(
    shape: &Shape,
    image_size: Option<ImageSize>,
    location: &str,
    file: &str,
    report: &mut ImportReport,
) {
    let Some(size) = image_size.filter(|size| !size.is_empty()) else {
        return;
    };
    if shape.kind == ShapeKind::Circle {
        // The second point of a circle may lie outside the image while the disc is inside.
        return;
    }
    let (width, height) = (f64::from(size.width), f64::from(size.height));
    let tolerance = POINT_TOLERANCE_PX;
    let outside = |p: &&crate::view::Point| {
        !(p.x >= -tolerance
            && p.y >= -tolerance
            && p.x <= width + tolerance
            && p.y <= height + tolerance)
    };
    if let Some(p) = shape.points_in_image.iter().find(outside) {
        report.push(
            file,
            ImportError::PointOutsideImage {
                location: location.to_owned(),
                x: p.x,
                y: p.y,
                width: size.width,
                height: size.height,
            },
            IssueOutcome::Kept,
        );
    }
}

/// How to write a dataset.
#[derive(Clone, Debug, Default)]
pub struct ExportOptions {
    /// YOLO: boxes (`detect`) or polygons (`segment`).
    pub yolo_task: yolo::YoloTask,
    /// LabelMe: write `imageData` back when the file had it (off by default: files stay small).
    pub embed_image_data: bool,
}

/// Where an image of the dataset goes in the written dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImagePlacement {
    pub image_path: String,
    pub output_path: String,
}

/// Something that could not be written as it is.
#[derive(Clone, Debug, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum ExportProblem {
    #[error("a {kind:?} cannot be written to {format}; shape left out")]
    ShapeNotRepresentable { kind: ShapeKind, format: String },
    #[error("a {kind:?} is written to {format} as {written_as}")]
    ShapeApproximated {
        kind: ShapeKind,
        format: String,
        written_as: String,
    },
    #[error("the shape has too few points for its kind; left out")]
    InvalidShape,
    #[error(
        "the image size is unknown, so its labels cannot be written to {format}; image left out"
    )]
    ImageSizeUnknown { format: String },
}

impl ExportProblem {
    /// Whether data was left out (as opposed to written in another form).
    pub fn loses_data(&self) -> bool {
        !matches!(self, ExportProblem::ShapeApproximated { .. })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportIssue {
    pub image_path: String,
    pub shape_index: Option<usize>,
    pub problem: ExportProblem,
}

impl std::fmt::Display for ExportIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.shape_index {
            Some(index) => write!(f, "{} shape {index}: {}", self.image_path, self.problem),
            None => write!(f, "{}: {}", self.image_path, self.problem),
        }
    }
}

/// Why an export failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("could not write JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("could not write YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("could not write XML: {0}")]
    Xml(String),
}

/// A written dataset: its label files, where each image goes, and what could not be written
/// as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Export {
    pub files: Vec<OutputFile>,
    pub image_placements: Vec<ImagePlacement>,
    pub issues: Vec<ExportIssue>,
}

impl Export {
    pub(crate) fn issue(
        &mut self,
        image_path: &str,
        shape_index: Option<usize>,
        problem: ExportProblem,
    ) {
        self.issues.push(ExportIssue {
            image_path: image_path.to_owned(),
            shape_index,
            problem,
        });
    }
}

/// Writes `dataset` in `format`. Classes not in `dataset.classes` are added (in order of use).
pub fn export(
    dataset: &Dataset,
    format: Format,
    options: &ExportOptions,
) -> Result<Export, ExportError> {
    let mut dataset_with_classes;
    let mut dataset = dataset;
    let missing = dataset
        .images
        .iter()
        .flat_map(|image| &image.shapes)
        .any(|shape| !dataset.classes.contains(&shape.label));
    if missing {
        dataset_with_classes = dataset.clone();
        dataset_with_classes.add_missing_classes();
        dataset = &dataset_with_classes;
    }
    match format {
        Format::Labelme => labelme::export(dataset, options),
        Format::Yolo => yolo::export(dataset, options),
        Format::Coco => coco::export(dataset),
        Format::Voc => voc::export(dataset),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn paths() {
        assert_eq!(normalise_path("./a\\b/../c.jpg"), "a/c.jpg");
        assert_eq!(normalise_path("../x.jpg"), "../x.jpg");
        assert_eq!(file_stem("a/b.c.jpg"), "b.c");
        assert_eq!(extension("a/.hidden"), None);
        assert_eq!(with_extension("a/b.jpg", "json"), "a/b.json");
        assert_eq!(parent_dir("a/b/c.jpg"), "a/b");
        assert!(is_image_path("X.JPG"));
    }

    #[test]
    fn python_non_numbers_are_read_as_missing_and_noted() {
        let text =
            b"{\"a\": [NaN, 1], \"s\": \"NaN \\\" Infinity\",\n \"b\": -Infinity, \"c\": Infinity}";
        let (value, note) = parse_json(text).expect("read");
        assert_eq!(value["a"], serde_json::json!([null, 1]));
        assert_eq!(value["s"], "NaN \" Infinity", "strings are left alone");
        assert_eq!((&value["b"], &value["c"]), (&Value::Null, &Value::Null));
        assert_eq!(
            note,
            Some(ImportError::NotJsonNumber {
                line: 1,
                column: 8,
                token: "NaN".to_owned(),
                count: 3
            })
        );
        assert_eq!(
            parse_json(b"[1]").expect("valid"),
            (serde_json::json!([1]), None)
        );
        // Still broken once they are read: the file's other error.
        assert!(matches!(
            parse_json(b"[NaN, 1,]"),
            Err(ImportError::MalformedJson { line: 1, .. })
        ));
        assert!(matches!(
            parse_json(b"[nan]"),
            Err(ImportError::MalformedJson { .. })
        ));
    }

    #[test]
    fn image_index_resolution() {
        let index = ImageIndex::new(&[
            ("images/train/a.jpg".to_owned(), None),
            ("b.png".to_owned(), None),
            ("dir/c.jpg".to_owned(), None),
        ]);
        assert_eq!(
            index.resolve("labels/train/a.txt", None).as_deref(),
            Some("images/train/a.jpg")
        );
        assert_eq!(
            index.resolve("b.json", Some("b.png")).as_deref(),
            Some("b.png")
        );
        assert_eq!(
            index
                .resolve("dir/x.json", Some("C:\\data\\c.jpg"))
                .as_deref(),
            Some("dir/c.jpg")
        );
        assert_eq!(
            index
                .resolve("dir/c.json", Some("../elsewhere/zzz.jpg"))
                .as_deref(),
            Some("dir/c.jpg")
        );
        assert_eq!(index.resolve("q.json", Some("q.jpg")), None);
    }
}
