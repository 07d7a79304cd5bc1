//! YOLO (Ultralytics) detect and segment labels: one `labels/<image stem>.txt` per image, one
//! object per line, coordinates normalised to [0, 1] by the image size:
//!
//! - detect: `class cx cy w h` (a sixth value, a confidence as `save_conf` writes it, is read
//!   as the shape's score);
//! - segment: `class x1 y1 x2 y2 x3 y3 ...` (three or more vertices).
//!
//! Class names come from `data.yaml` (`names:` as a list or as `{id: name}`) or from
//! `classes.txt` / `*.names` (one per line). Images sit under `images/`, labels under the
//! parallel `labels/` folder, as Ultralytics expects; export writes that layout, `data.yaml`
//! and `classes.txt`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    Export, ExportError, ExportOptions, ExportProblem, ImageIndex, ImagePlacement, ImportError,
    ImportReport, InputFile, IssueOutcome, OutputFile, check_points_in_image, extension, file_name,
    file_stem, parent_dir,
};
use crate::annotation::{Dataset, ImageSize, Shape, ShapeKind};
use crate::geometry::{self, Rect};
use crate::view::Point;

/// Which labels to write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum YoloTask {
    /// Boxes: `class cx cy w h`.
    #[default]
    Detect,
    /// Polygons: `class x1 y1 x2 y2 ...`.
    Segment,
}

/// Decimal places written for normalised coordinates (1e-8 of the image side).
const DECIMALS: usize = 8;

/// The folder of images that a folder of labels belongs to: the last `labels` component
/// becomes `images` (`labels/train` → `images/train`).
pub fn images_dir_for_labels_dir(dir: &str) -> String {
    swap_last_component(dir, "labels", "images")
}

fn swap_last_component(dir: &str, from: &str, to: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').collect();
    if let Some(i) = parts.iter().rposition(|part| *part == from) {
        parts[i] = to;
    }
    parts.join("/")
}

/// Where an image and its label file go in an exported YOLO dataset.
pub fn output_paths(image_path: &str) -> (String, String) {
    let dir = parent_dir(image_path);
    let has_images_dir = dir.split('/').any(|part| part == "images");
    let image_out = if has_images_dir {
        image_path.to_owned()
    } else {
        format!("images/{image_path}")
    };
    let labels_dir = swap_last_component(parent_dir(&image_out), "images", "labels");
    let label_out = format!("{labels_dir}/{}.txt", file_stem(image_path));
    (image_out, label_out)
}

/// One object of a label file, normalised.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelLine {
    pub line: usize,
    pub class_id: usize,
    pub kind: LineKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum LineKind {
    /// Centre and size, normalised; optional confidence.
    Box {
        cx: f64,
        cy: f64,
        w: f64,
        h: f64,
        score: Option<f64>,
    },
    /// Normalised vertices.
    Polygon(Vec<Point>),
}

/// Reads one label file. Each bad line is an error with its (1-based) line number; the
/// good lines come back.
pub fn parse_labels(text: &str) -> (Vec<LabelLine>, Vec<ImportError>) {
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let tokens: Vec<&str> = raw.split_whitespace().collect();
        if tokens.is_empty() {
            continue;
        }
        match parse_line(line, &tokens) {
            Ok(parsed) => lines.push(parsed),
            Err(error) => errors.push(error),
        }
    }
    (lines, errors)
}

fn parse_line(line: usize, tokens: &[&str]) -> Result<LabelLine, ImportError> {
    let n = tokens.len();
    if !(n == 5 || n == 6 || (n >= 7 && n % 2 == 1)) {
        return Err(ImportError::WrongColumnCount {
            line,
            found: n,
            expected: "5 (box), 6 (box and confidence) or an odd number of at least 7 (polygon)"
                .to_owned(),
        });
    }
    let mut values = Vec::with_capacity(n);
    for (column, token) in tokens.iter().enumerate() {
        match token.parse::<f64>() {
            Ok(v) if v.is_finite() => values.push(v),
            _ => {
                return Err(ImportError::InvalidNumber {
                    line,
                    column: column + 1,
                    text: (*token).to_owned(),
                });
            }
        }
    }
    let class = values[0];
    if class < 0.0 || class.fract() != 0.0 || class > u32::MAX as f64 {
        return Err(ImportError::ClassIdOutOfRange {
            line,
            class_id: tokens[0].to_owned(),
            class_count: 0,
        });
    }
    let class_id = class as usize;
    let kind = if n <= 6 {
        LineKind::Box {
            cx: values[1],
            cy: values[2],
            w: values[3],
            h: values[4],
            score: values.get(5).copied(),
        }
    } else {
        LineKind::Polygon(
            values[1..]
                .chunks_exact(2)
                .map(|c| Point::new(c[0], c[1]))
                .collect(),
        )
    };
    Ok(LabelLine {
        line,
        class_id,
        kind,
    })
}

#[derive(Deserialize)]
struct DataYaml {
    names: Option<Names>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Names {
    List(Vec<serde_yaml::Value>),
    Map(BTreeMap<i64, serde_yaml::Value>),
}

fn yaml_name(value: &serde_yaml::Value) -> String {
    match value {
        serde_yaml::Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
    }
}

/// Class names from a `data.yaml`; `Ok(None)` when it has no `names`.
pub fn parse_data_yaml(text: &str) -> Result<Option<Vec<String>>, ImportError> {
    let data: DataYaml = serde_yaml::from_str(text).map_err(|e| ImportError::MalformedYaml {
        message: e.to_string(),
    })?;
    Ok(match data.names {
        None => None,
        Some(Names::List(names)) => Some(names.iter().map(yaml_name).collect()),
        Some(Names::Map(map)) => {
            let mut names = Vec::new();
            for (id, name) in map {
                let Ok(id) = usize::try_from(id) else {
                    return Err(ImportError::InvalidField {
                        field: "names".to_owned(),
                        message: format!("class id {id} is negative"),
                    });
                };
                if id > 100_000 {
                    return Err(ImportError::InvalidField {
                        field: "names".to_owned(),
                        message: format!("class id {id} is too large"),
                    });
                }
                if names.len() <= id {
                    names.resize_with(id + 1, String::new);
                }
                names[id] = yaml_name(&name);
            }
            // Ids without a name are named by their number.
            for (id, name) in names.iter_mut().enumerate() {
                if name.is_empty() {
                    *name = id.to_string();
                }
            }
            Some(names)
        }
    })
}

/// Class names from `classes.txt` / `*.names`: one per non-empty line.
pub fn parse_class_list(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

fn is_class_list(path: &str) -> bool {
    let name = file_name(path).to_ascii_lowercase();
    name == "classes.txt" || name == "obj.names" || extension(&name) == Some("names")
}

fn text_of<'a>(file: &'a InputFile, report: &mut ImportReport) -> Option<&'a str> {
    match std::str::from_utf8(&file.bytes) {
        Ok(text) => Some(text),
        Err(_) => {
            report.push(&file.path, ImportError::NotUtf8, IssueOutcome::FileSkipped);
            None
        }
    }
}

pub(crate) fn import_files(
    files: &[&InputFile],
    index: &ImageIndex,
    forced: bool,
    dataset: &mut Dataset,
    report: &mut ImportReport,
) {
    let mut names: Option<Vec<String>> = None;
    for file in files {
        let ext = extension(&file.path).map(str::to_ascii_lowercase);
        if matches!(ext.as_deref(), Some("yaml" | "yml")) {
            let Some(text) = text_of(file, report) else {
                continue;
            };
            match parse_data_yaml(text) {
                Ok(Some(found)) => {
                    if names.is_none() {
                        names = Some(found);
                    }
                    report.files_imported.push(file.path.clone());
                }
                Ok(None) => {}
                Err(error) => report.push(&file.path, error, IssueOutcome::FileSkipped),
            }
        }
    }
    for file in files.iter().filter(|file| is_class_list(&file.path)) {
        let Some(text) = text_of(file, report) else {
            continue;
        };
        if names.is_none() {
            names = Some(parse_class_list(text));
        }
        report.files_imported.push(file.path.clone());
    }
    let label_files: Vec<&&InputFile> = files
        .iter()
        .filter(|file| {
            extension(&file.path).is_some_and(|ext| ext.eq_ignore_ascii_case("txt"))
                && !is_class_list(&file.path)
                && (forced
                    || parent_dir(&file.path)
                        .split('/')
                        .any(|part| part == "labels")
                    || index.resolve(&file.path, None).is_some())
        })
        .collect();
    if label_files.is_empty() {
        return;
    }
    let names_known = names.is_some();
    if let Some(names) = &names {
        for name in names {
            dataset.class_index_or_insert(name);
        }
    } else {
        report.push(
            "(dataset)",
            ImportError::MissingClassNames,
            IssueOutcome::Kept,
        );
    }
    let names = names.unwrap_or_default();
    for file in label_files {
        let Some(text) = text_of(file, report) else {
            continue;
        };
        let Some(image_path) = index.resolve(&file.path, None) else {
            let image_path = format!(
                "{}/{}.*",
                images_dir_for_labels_dir(parent_dir(&file.path)),
                file_stem(&file.path)
            );
            report.push(
                &file.path,
                ImportError::ImageNotFound { image_path },
                IssueOutcome::FileSkipped,
            );
            continue;
        };
        let Some(size) = index.size_of(&image_path).filter(|size| !size.is_empty()) else {
            report.push(
                &file.path,
                ImportError::ImageSizeUnknown { image_path },
                IssueOutcome::FileSkipped,
            );
            continue;
        };
        let (lines, errors) = parse_labels(text);
        for error in errors {
            let error = match error {
                ImportError::ClassIdOutOfRange { line, class_id, .. } => {
                    ImportError::ClassIdOutOfRange {
                        line,
                        class_id,
                        class_count: names.len(),
                    }
                }
                other => other,
            };
            report.push(&file.path, error, IssueOutcome::EntrySkipped);
        }
        let mut shapes = Vec::new();
        for line in lines {
            let label = if names_known {
                match names.get(line.class_id) {
                    Some(name) => name.clone(),
                    None => {
                        report.push(
                            &file.path,
                            ImportError::ClassIdOutOfRange {
                                line: line.line,
                                class_id: line.class_id.to_string(),
                                class_count: names.len(),
                            },
                            IssueOutcome::EntrySkipped,
                        );
                        continue;
                    }
                }
            } else {
                for id in dataset.classes.len()..=line.class_id.min(100_000) {
                    dataset.classes.push(id.to_string());
                }
                line.class_id.to_string()
            };
            let shape = shape_from_line(label, &line.kind, size);
            check_points_in_image(
                &shape,
                Some(size),
                &format!("line {}", line.line),
                &file.path,
                report,
            );
            shapes.push(shape);
        }
        dataset
            .image_mut_or_insert(&image_path)
            .shapes
            .extend(shapes);
        report.files_imported.push(file.path.clone());
    }
}

/// The shape of one label line, in pixels of an image of `size`.
pub fn shape_from_line(label: String, kind: &LineKind, size: ImageSize) -> Shape {
    let (width, height) = (f64::from(size.width), f64::from(size.height));
    match kind {
        LineKind::Box {
            cx,
            cy,
            w,
            h,
            score,
        } => {
            let mut shape = Shape::rectangle(
                label,
                Point::new((cx - w / 2.0) * width, (cy - h / 2.0) * height),
                Point::new((cx + w / 2.0) * width, (cy + h / 2.0) * height),
            );
            shape.score = *score;
            shape
        }
        LineKind::Polygon(points) => Shape::polygon(
            label,
            points
                .iter()
                .map(|p| Point::new(p.x * width, p.y * height))
                .collect(),
        ),
    }
}

fn number(value: f64) -> String {
    let text = format!("{value:.DECIMALS$}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// The label line of one shape, or what kept it out.
pub fn line_of_shape(
    shape: &Shape,
    class_id: usize,
    size: ImageSize,
    task: YoloTask,
) -> Result<(String, Option<ExportProblem>), ExportProblem> {
    let format = || format!("YOLO {task:?}").to_lowercase();
    if !shape.has_valid_point_count() {
        return Err(ExportProblem::InvalidShape);
    }
    if matches!(
        shape.kind,
        ShapeKind::Point | ShapeKind::Line | ShapeKind::Linestrip
    ) {
        return Err(ExportProblem::ShapeNotRepresentable {
            kind: shape.kind,
            format: format(),
        });
    }
    let (width, height) = (f64::from(size.width), f64::from(size.height));
    match task {
        YoloTask::Detect => {
            let rect: Rect = geometry::bbox_in_image(shape).ok_or(ExportProblem::InvalidShape)?;
            let c = rect.center();
            let values = [
                c.x / width,
                c.y / height,
                rect.width() / width,
                rect.height() / height,
            ];
            let text: Vec<String> = values.iter().map(|v| number(*v)).collect();
            Ok((format!("{class_id} {}", text.join(" ")), None))
        }
        YoloTask::Segment => {
            let polygon = geometry::outline_polygon(shape).ok_or(ExportProblem::InvalidShape)?;
            let approximated = match shape.kind {
                ShapeKind::Circle => Some(format!("a {}-gon", geometry::CIRCLE_POLYGON_VERTICES)),
                ShapeKind::Mask => Some("its box".to_owned()),
                _ => None,
            };
            let mut text = class_id.to_string();
            for p in &polygon {
                text.push(' ');
                text.push_str(&number(p.x / width));
                text.push(' ');
                text.push_str(&number(p.y / height));
            }
            let note = approximated.map(|written_as| ExportProblem::ShapeApproximated {
                kind: shape.kind,
                format: format(),
                written_as,
            });
            Ok((text, note))
        }
    }
}

#[derive(Serialize)]
struct DataYamlOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    train: &'a str,
    val: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    test: Option<&'a str>,
    nc: usize,
    names: BTreeMap<usize, &'a str>,
}

impl<'a> DataYamlOut<'a> {
    fn new(classes: &'a [String], path: Option<&'a str>, folders: &SplitFolders<'a>) -> Self {
        Self {
            path,
            train: folders.train,
            val: folders.val,
            test: folders.test,
            nc: classes.len(),
            names: classes
                .iter()
                .enumerate()
                .map(|(i, name)| (i, name.as_str()))
                .collect(),
        }
    }

    fn to_text(&self) -> Result<String, ExportError> {
        Ok(format!(
            "# Written by Sightline.\n{}",
            serde_yaml::to_string(self)?
        ))
    }
}

/// The image folders of a dataset's splits, relative to its `data.yaml`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitFolders<'a> {
    pub train: &'a str,
    pub val: &'a str,
    pub test: Option<&'a str>,
}

/// The `data.yaml` of a dataset with these classes (labels only: train and val are both
/// `images`).
pub fn data_yaml(classes: &[String]) -> Result<String, ExportError> {
    let folders = SplitFolders {
        train: "images",
        val: "images",
        test: None,
    };
    DataYamlOut::new(classes, Some("."), &folders).to_text()
}

/// The `data.yaml` of a dataset split into `folders`. It has no `path:`: Ultralytics then
/// takes the folder holding `data.yaml` as the dataset root, wherever the zip is unpacked
/// and wherever training is started from (`path: .` would mean the working directory).
pub fn data_yaml_with_splits(
    classes: &[String],
    folders: &SplitFolders<'_>,
) -> Result<String, ExportError> {
    DataYamlOut::new(classes, None, folders).to_text()
}

pub(crate) fn export(dataset: &Dataset, options: &ExportOptions) -> Result<Export, ExportError> {
    let mut export = Export::default();
    for image in &dataset.images {
        let (image_out, label_out) = output_paths(&image.image_path);
        export.image_placements.push(ImagePlacement {
            image_path: image.image_path.clone(),
            output_path: image_out,
        });
        let Some(size) = image.image_size.filter(|size| !size.is_empty()) else {
            export.issue(
                &image.image_path,
                None,
                ExportProblem::ImageSizeUnknown {
                    format: "YOLO".to_owned(),
                },
            );
            continue;
        };
        let mut text = String::new();
        for (i, shape) in image.shapes.iter().enumerate() {
            let class_id = dataset
                .classes
                .iter()
                .position(|c| *c == shape.label)
                .unwrap_or(0);
            match line_of_shape(shape, class_id, size, options.yolo_task) {
                Ok((line, note)) => {
                    text.push_str(&line);
                    text.push('\n');
                    if let Some(note) = note {
                        export.issue(&image.image_path, Some(i), note);
                    }
                }
                Err(problem) => export.issue(&image.image_path, Some(i), problem),
            }
        }
        export.files.push(OutputFile {
            path: label_out,
            bytes: text.into_bytes(),
        });
    }
    export.files.push(OutputFile {
        path: "data.yaml".to_owned(),
        bytes: data_yaml(&dataset.classes)?.into_bytes(),
    });
    let mut classes = dataset.classes.join("\n");
    classes.push('\n');
    export.files.push(OutputFile {
        path: "classes.txt".to_owned(),
        bytes: classes.into_bytes(),
    });
    Ok(export)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_paths() {
        assert_eq!(
            output_paths("a.jpg"),
            ("images/a.jpg".to_owned(), "labels/a.txt".to_owned())
        );
        assert_eq!(
            output_paths("images/train/a.jpg"),
            (
                "images/train/a.jpg".to_owned(),
                "labels/train/a.txt".to_owned()
            )
        );
        assert_eq!(
            output_paths("x/a.png"),
            ("images/x/a.png".to_owned(), "labels/x/a.txt".to_owned())
        );
        assert_eq!(
            images_dir_for_labels_dir("data/labels/val"),
            "data/images/val"
        );
    }

    #[test]
    fn lines_parse_and_fail_with_line_numbers() {
        let (lines, errors) = parse_labels(
            "0 0.5 0.5 0.2 0.2\n\n1 0.1 0.1 0.2 0.1 0.3 0.3\n2 0.5 0.5\n3 a 0.5 0.5 0.5\n0 0.5 0.5 0.1 0.1 0.9\n",
        );
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1].line, 3);
        assert!(matches!(lines[1].kind, LineKind::Polygon(ref p) if p.len() == 3));
        assert!(matches!(lines[2].kind, LineKind::Box { score: Some(s), .. } if s == 0.9));
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(matches!(
            errors[0],
            ImportError::WrongColumnCount {
                line: 4,
                found: 3,
                ..
            }
        ));
        assert!(
            matches!(&errors[1], ImportError::InvalidNumber { line: 5, column: 2, text } if text == "a")
        );
    }

    #[test]
    fn data_yaml_names_as_list_or_map() {
        assert_eq!(
            parse_data_yaml("names: [cat, dog]\n").expect("yaml"),
            Some(vec!["cat".to_owned(), "dog".to_owned()])
        );
        assert_eq!(
            parse_data_yaml("path: .\nnames:\n  0: cat\n  2: 'no'\n").expect("yaml"),
            Some(vec!["cat".to_owned(), "1".to_owned(), "no".to_owned()])
        );
        let written = data_yaml(&["a b".to_owned(), "yes".to_owned()]).expect("yaml");
        assert_eq!(
            parse_data_yaml(&written).expect("yaml"),
            Some(vec!["a b".to_owned(), "yes".to_owned()])
        );
        assert!(matches!(
            parse_data_yaml("names: [a"),
            Err(ImportError::MalformedYaml { .. })
        ));
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(1.0), "1");
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(1.0 / 3.0), "0.33333333");
    }
}
