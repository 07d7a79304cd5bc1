//! COCO JSON (instances): `images`, `categories` and `annotations` with `bbox` `[x, y, w, h]`
//! and `segmentation` polygons in pixels.
//!
//! Reading: every annotation is checked on its own, so one bad annotation skips only itself.
//! An annotation of several polygons (as labelme2coco writes a LabelMe group) becomes one
//! polygon shape per part sharing a `group_id`; a single four-vertex polygon that is exactly
//! its box becomes a rectangle; an annotation without segmentation is its box. Crowd (RLE)
//! masks are not decoded: they are reported, shown as their box, and kept verbatim (in the
//! shape's `extra`) so that a COCO export writes them back unchanged. A results file's
//! `score` becomes the shape's score.
//!
//! Writing: category ids are class index + 1, image and annotation ids count from 1, shapes
//! of one label sharing a `group_id` on an image become one annotation.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::{
    Export, ExportError, ExportProblem, ImageIndex, ImagePlacement, ImportError, ImportReport,
    IssueOutcome, OutputFile, check_points_in_image, normalise_path, parse_json,
};
use crate::annotation::{Dataset, ImageSize, Shape, ShapeKind};
use crate::geometry::{self, Rect};
use crate::view::Point;

/// Path of the annotation file in an exported dataset.
pub const ANNOTATIONS_PATH: &str = "annotations.json";

/// Key in [`Shape::extra`] that carries a crowd (RLE) segmentation verbatim.
pub const EXTRA_SEGMENTATION: &str = "coco_segmentation";

/// One image of a COCO file and the shapes on it.
#[derive(Clone, Debug, PartialEq)]
pub struct CocoImage {
    pub id: i64,
    pub file_name: String,
    pub image_size: Option<ImageSize>,
    pub shapes: Vec<Shape>,
}

/// A COCO file as read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParsedFile {
    /// Category names in order of id.
    pub categories: Vec<String>,
    pub images: Vec<CocoImage>,
    pub annotation_count: usize,
    /// Problems of single entries (`field` names the entry, e.g. `annotations[3]`).
    pub issues: Vec<(ImportError, IssueOutcome)>,
}

fn invalid(field: &str, message: &str) -> ImportError {
    ImportError::InvalidField {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

fn list<'a>(map: &'a Map<String, Value>, key: &str) -> Result<&'a [Value], ImportError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(invalid(key, "not a list")),
    }
}

fn numbers(value: &Value) -> Option<Vec<f64>> {
    value.as_array()?.iter().map(Value::as_f64).collect()
}

/// Reads a COCO file. An error means the file as a whole is unusable.
pub fn parse(bytes: &[u8]) -> Result<ParsedFile, ImportError> {
    let (value, note) = parse_json(bytes)?;
    let mut parsed = parse_value(value)?;
    if let Some(note) = note {
        parsed.issues.insert(0, (note, IssueOutcome::Kept));
    }
    Ok(parsed)
}

/// Reads one file already parsed as JSON.
pub fn parse_value(value: Value) -> Result<ParsedFile, ImportError> {
    let Value::Object(root) = value else {
        return Err(invalid("(root)", "expected a JSON object"));
    };
    let mut parsed = ParsedFile::default();

    let mut categories: Vec<(i64, String)> = Vec::new();
    for (i, category) in list(&root, "categories")?.iter().enumerate() {
        let field = format!("categories[{i}]");
        match (
            category.get("id").and_then(Value::as_i64),
            category.get("name").and_then(Value::as_str),
        ) {
            (Some(id), Some(name)) => categories.push((id, name.to_owned())),
            _ => parsed.issues.push((
                invalid(&field, "needs an integer `id` and a string `name`"),
                IssueOutcome::EntrySkipped,
            )),
        }
    }
    categories.sort_by_key(|(id, _)| *id);
    let category_names: HashMap<i64, String> = categories.iter().cloned().collect();
    parsed.categories = categories.into_iter().map(|(_, name)| name).collect();

    let mut image_index_by_id = HashMap::new();
    for (i, image) in list(&root, "images")?.iter().enumerate() {
        let field = format!("images[{i}]");
        let (Some(id), Some(file_name)) = (
            image.get("id").and_then(Value::as_i64),
            image.get("file_name").and_then(Value::as_str),
        ) else {
            parsed.issues.push((
                invalid(&field, "needs an integer `id` and a string `file_name`"),
                IssueOutcome::EntrySkipped,
            ));
            continue;
        };
        let dimension = |key: &str| {
            image
                .get(key)
                .and_then(Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
        };
        let image_size = match (dimension("width"), dimension("height")) {
            (Some(width), Some(height)) => Some(ImageSize::new(width, height)),
            _ => None,
        };
        image_index_by_id.insert(id, parsed.images.len());
        parsed.images.push(CocoImage {
            id,
            file_name: file_name.to_owned(),
            image_size,
            shapes: Vec::new(),
        });
    }

    for (i, annotation) in list(&root, "annotations")?.iter().enumerate() {
        let field = format!("annotations[{i}]");
        parsed.annotation_count += 1;
        match parse_annotation(annotation, &field, &category_names) {
            Ok((image_id, shapes, notes)) => {
                let Some(&image_index) = image_index_by_id.get(&image_id) else {
                    parsed.issues.push((
                        ImportError::UnknownImageId {
                            field: format!("{field}.image_id"),
                            image_id,
                        },
                        IssueOutcome::EntrySkipped,
                    ));
                    continue;
                };
                parsed
                    .issues
                    .extend(notes.into_iter().map(|note| (note, IssueOutcome::Kept)));
                parsed.images[image_index].shapes.extend(shapes);
            }
            Err(error) => parsed.issues.push((error, IssueOutcome::EntrySkipped)),
        }
    }
    Ok(parsed)
}

type ParsedAnnotation = (i64, Vec<Shape>, Vec<ImportError>);

fn parse_annotation(
    annotation: &Value,
    field: &str,
    category_names: &HashMap<i64, String>,
) -> Result<ParsedAnnotation, ImportError> {
    let Some(object) = annotation.as_object() else {
        return Err(invalid(field, "expected a JSON object"));
    };
    let image_id = object
        .get("image_id")
        .and_then(Value::as_i64)
        .ok_or_else(|| invalid(&format!("{field}.image_id"), "missing, or not an integer"))?;
    let category_id = object
        .get("category_id")
        .and_then(Value::as_i64)
        .ok_or_else(|| {
            invalid(
                &format!("{field}.category_id"),
                "missing, or not an integer",
            )
        })?;
    let Some(label) = category_names.get(&category_id) else {
        return Err(ImportError::UnknownCategory {
            field: format!("{field}.category_id"),
            category_id,
        });
    };
    let bbox = match object.get("bbox") {
        None | Some(Value::Null) => None,
        Some(value) => match numbers(value).as_deref() {
            Some(&[x, y, w, h]) if w >= 0.0 && h >= 0.0 => {
                Some(Rect::new(Point::new(x, y), Point::new(x + w, y + h)))
            }
            _ => {
                return Err(invalid(
                    &format!("{field}.bbox"),
                    "expected [x, y, width, height]",
                ));
            }
        },
    };
    let score = object.get("score").and_then(Value::as_f64);
    let crowd = object.get("iscrowd").and_then(Value::as_i64).unwrap_or(0) != 0;
    let mut notes = Vec::new();
    let segmentation = object.get("segmentation").unwrap_or(&Value::Null);
    let box_shape = |rect: Rect| Shape::rectangle(label.clone(), rect.min, rect.max);
    let mut shapes = Vec::new();
    match segmentation {
        Value::Array(polygons) if !polygons.is_empty() && !crowd => {
            let group_id = (polygons.len() > 1)
                .then(|| object.get("id").and_then(Value::as_i64))
                .flatten();
            for (p, polygon) in polygons.iter().enumerate() {
                let seg_field = format!("{field}.segmentation[{p}]");
                let Some(values) = numbers(polygon) else {
                    return Err(invalid(&seg_field, "expected a list of numbers"));
                };
                if values.len() < 6 || values.len() % 2 != 0 {
                    return Err(invalid(
                        &seg_field,
                        "a polygon needs an even count of at least 6 numbers",
                    ));
                }
                let points: Vec<Point> = values
                    .chunks_exact(2)
                    .map(|c| Point::new(c[0], c[1]))
                    .collect();
                let mut shape = match bbox {
                    Some(rect)
                        if polygons.len() == 1
                            && points.len() == 4
                            && is_box_outline(&points, rect) =>
                    {
                        box_shape(rect)
                    }
                    _ => Shape::polygon(label.clone(), points),
                };
                shape.group_id = group_id;
                shapes.push(shape);
            }
        }
        Value::Array(_) | Value::Null if !crowd => {
            let Some(rect) = bbox else {
                return Err(invalid(field, "has neither a segmentation nor a bbox"));
            };
            shapes.push(box_shape(rect));
        }
        _ => {
            // A crowd annotation or an RLE object: kept verbatim, shown as its box.
            let Some(rect) = bbox else {
                return Err(invalid(
                    &format!("{field}.bbox"),
                    "a crowd (RLE) annotation needs a bbox",
                ));
            };
            let mut shape = box_shape(rect);
            shape
                .extra
                .insert(EXTRA_SEGMENTATION.to_owned(), segmentation.clone());
            shape
                .extra
                .insert("iscrowd".to_owned(), Value::from(i64::from(crowd)));
            notes.push(ImportError::CrowdRle {
                field: format!("{field}.segmentation"),
            });
            shapes.push(shape);
        }
    }
    for shape in &mut shapes {
        shape.score = score;
    }
    Ok((image_id, shapes, notes))
}

fn is_box_outline(points: &[Point], rect: Rect) -> bool {
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * (1.0 + a.abs());
    let corners = rect.corners();
    points
        .iter()
        .all(|p| corners.iter().any(|c| close(p.x, c.x) && close(p.y, c.y)))
        && corners
            .iter()
            .all(|c| points.iter().any(|p| close(p.x, c.x) && close(p.y, c.y)))
}

pub(crate) fn import_file(
    file_path: &str,
    parsed: Result<ParsedFile, ImportError>,
    index: &ImageIndex,
    dataset: &mut Dataset,
    report: &mut ImportReport,
) {
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(error) => {
            report.push(file_path, error, IssueOutcome::FileSkipped);
            return;
        }
    };
    for (error, outcome) in parsed.issues {
        report.push(file_path, error, outcome);
    }
    for name in &parsed.categories {
        dataset.class_index_or_insert(name);
    }
    for image in parsed.images {
        let image_path = match index.resolve(file_path, Some(&image.file_name)) {
            Some(path) => path,
            None => {
                let path = normalise_path(&image.file_name);
                report.push(
                    file_path,
                    ImportError::ImageNotFound {
                        image_path: path.clone(),
                    },
                    IssueOutcome::Kept,
                );
                path
            }
        };
        let entry = dataset.image_mut_or_insert(&image_path);
        if entry.image_size.is_none() {
            entry.image_size = image.image_size;
        }
        let size = entry.image_size;
        for (i, shape) in image.shapes.iter().enumerate() {
            let location = format!("image {} shape {i}", image.id);
            check_points_in_image(shape, size, &location, file_path, report);
        }
        entry.shapes.extend(image.shapes);
    }
    report.files_imported.push(file_path.to_owned());
}

fn polygon_json(points: &[Point]) -> Value {
    Value::Array(
        points
            .iter()
            .flat_map(|p| [p.x, p.y])
            .map(|v| json!(v))
            .collect(),
    )
}

/// The COCO JSON value of a dataset, and what could not be written as it is.
pub fn to_json(dataset: &Dataset) -> (Value, Vec<(String, usize, ExportProblem)>) {
    let mut problems = Vec::new();
    let mut images = Vec::new();
    let mut annotations = Vec::new();
    for (image_index, image) in dataset.images.iter().enumerate() {
        let image_id = image_index as i64 + 1;
        let mut entry = json!({"id": image_id, "file_name": image.image_path});
        if let (Some(size), Some(object)) = (image.image_size, entry.as_object_mut()) {
            object.insert("width".to_owned(), json!(size.width));
            object.insert("height".to_owned(), json!(size.height));
        }
        images.push(entry);
        // (label, group) → index in `annotations` of this image's grouped annotation
        let mut groups: HashMap<(&str, i64), usize> = HashMap::new();
        for (shape_index, shape) in image.shapes.iter().enumerate() {
            let category_id = dataset
                .classes
                .iter()
                .position(|c| *c == shape.label)
                .unwrap_or(0)
                + 1;
            let mut problem =
                |p: ExportProblem| problems.push((image.image_path.clone(), shape_index, p));
            if !shape.has_valid_point_count() {
                problem(ExportProblem::InvalidShape);
                continue;
            }
            if matches!(
                shape.kind,
                ShapeKind::Point | ShapeKind::Line | ShapeKind::Linestrip
            ) {
                problem(ExportProblem::ShapeNotRepresentable {
                    kind: shape.kind,
                    format: "COCO".to_owned(),
                });
                continue;
            }
            let (Some(outline), Some(rect)) = (
                geometry::outline_polygon(shape),
                geometry::bbox_in_image(shape),
            ) else {
                problem(ExportProblem::InvalidShape);
                continue;
            };
            if let Some(verbatim) = shape.extra.get(EXTRA_SEGMENTATION) {
                let crowd = shape.extra.get("iscrowd").cloned().unwrap_or(json!(1));
                annotations.push(json!({
                    "id": annotations.len() + 1, "image_id": image_id, "category_id": category_id,
                    "segmentation": verbatim, "area": rect.area(),
                    "bbox": [rect.min.x, rect.min.y, rect.width(), rect.height()], "iscrowd": crowd,
                }));
                continue;
            }
            match shape.kind {
                ShapeKind::Circle => problem(ExportProblem::ShapeApproximated {
                    kind: shape.kind,
                    format: "COCO".to_owned(),
                    written_as: format!("a {}-gon", geometry::CIRCLE_POLYGON_VERTICES),
                }),
                ShapeKind::Mask => problem(ExportProblem::ShapeApproximated {
                    kind: shape.kind,
                    format: "COCO".to_owned(),
                    written_as: "its box".to_owned(),
                }),
                _ => {}
            }
            let area = geometry::area_in_pixels(shape);
            if let Some(group) = shape.group_id
                && let Some(&existing) = groups.get(&(shape.label.as_str(), group))
                && let Some(Value::Object(annotation)) = annotations.get_mut(existing)
            {
                if let Some(Value::Array(segmentation)) = annotation.get_mut("segmentation") {
                    segmentation.push(polygon_json(&outline));
                }
                let old = annotation.get("bbox").and_then(numbers).unwrap_or_default();
                if let [x, y, w, h] = old[..] {
                    let union = Rect::new(
                        Point::new(x.min(rect.min.x), y.min(rect.min.y)),
                        Point::new((x + w).max(rect.max.x), (y + h).max(rect.max.y)),
                    );
                    annotation.insert(
                        "bbox".to_owned(),
                        json!([union.min.x, union.min.y, union.width(), union.height()]),
                    );
                }
                let old_area = annotation
                    .get("area")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0);
                annotation.insert("area".to_owned(), json!(old_area + area));
                continue;
            }
            if let Some(group) = shape.group_id {
                groups.insert((shape.label.as_str(), group), annotations.len());
            }
            let mut annotation = json!({
                "id": annotations.len() + 1, "image_id": image_id, "category_id": category_id,
                "segmentation": [polygon_json(&outline)], "area": area,
                "bbox": [rect.min.x, rect.min.y, rect.width(), rect.height()], "iscrowd": 0,
            });
            if let (Some(score), Some(object)) = (shape.score, annotation.as_object_mut()) {
                object.insert("score".to_owned(), json!(score));
            }
            annotations.push(annotation);
        }
    }
    let categories: Vec<Value> = dataset
        .classes
        .iter()
        .enumerate()
        .map(|(i, name)| json!({"id": i + 1, "name": name, "supercategory": ""}))
        .collect();
    let value = json!({
        "info": {"description": "Written by Sightline"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": categories,
    });
    (value, problems)
}

pub(crate) fn export(dataset: &Dataset) -> Result<Export, ExportError> {
    let mut export = Export::default();
    let (value, problems) = to_json(dataset);
    for (image_path, shape_index, problem) in problems {
        export.issue(&image_path, Some(shape_index), problem);
    }
    export.files.push(OutputFile {
        path: ANNOTATIONS_PATH.to_owned(),
        bytes: serde_json::to_vec(&value)?,
    });
    for image in &dataset.images {
        export.image_placements.push(ImagePlacement {
            image_path: image.image_path.clone(),
            output_path: image.image_path.clone(),
        });
    }
    Ok(export)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_parse_and_bad_ones_skip_alone() {
        let text = r#"{"images":[{"id":7,"file_name":"a.jpg","width":100,"height":50}],
          "categories":[{"id":3,"name":"dog"},{"id":1,"name":"cat"}],
          "annotations":[
            {"id":1,"image_id":7,"category_id":3,"bbox":[10,10,20,10],"segmentation":[[10,10,30,10,30,20,10,20]],"iscrowd":0},
            {"id":2,"image_id":7,"category_id":1,"bbox":[0,0,5,5],"segmentation":[[0,0,5,0,5,5],[6,6,7,6,7,7]]},
            {"id":3,"image_id":7,"category_id":9,"bbox":[0,0,5,5]},
            {"id":4,"image_id":8,"category_id":1,"bbox":[0,0,5,5]},
            {"id":5,"image_id":7,"category_id":1,"bbox":[1,1,2,2],"segmentation":{"counts":[1,2],"size":[50,100]},"iscrowd":1}
          ]}"#;
        let parsed = parse(text.as_bytes()).expect("valid");
        assert_eq!(parsed.categories, ["cat", "dog"]);
        let shapes = &parsed.images[0].shapes;
        assert_eq!(shapes.len(), 4);
        assert_eq!(shapes[0].kind, ShapeKind::Rectangle);
        assert_eq!(shapes[1].group_id, Some(2));
        assert_eq!(shapes[2].group_id, Some(2));
        assert!(shapes[3].extra.contains_key(EXTRA_SEGMENTATION));
        assert_eq!(parsed.issues.len(), 3, "{:?}", parsed.issues);
        assert!(matches!(
            &parsed.issues[0].0,
            ImportError::UnknownCategory { category_id: 9, .. }
        ));
        assert!(matches!(
            &parsed.issues[1].0,
            ImportError::UnknownImageId { image_id: 8, .. }
        ));
        assert!(matches!(
            &parsed.issues[2],
            (ImportError::CrowdRle { .. }, IssueOutcome::Kept)
        ));
        // The RLE is written back verbatim.
        let dataset = Dataset {
            classes: vec!["cat".to_owned()],
            images: vec![crate::annotation::ImageAnnotations {
                shapes: vec![shapes[3].clone()],
                ..crate::annotation::ImageAnnotations::new("a.jpg", None)
            }],
        };
        let (value, problems) = to_json(&dataset);
        assert!(problems.is_empty());
        assert_eq!(
            value["annotations"][0]["segmentation"]["counts"],
            json!([1, 2])
        );
        assert_eq!(value["annotations"][0]["iscrowd"], 1);
    }
}
