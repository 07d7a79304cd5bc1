//! LabelMe JSON, as LabelMe, AnyLabeling and X-AnyLabeling write it: one file per image.
//!
//! ```json
//! {"version": "5.5.0", "flags": {}, "shapes": [{"label": "dog", "points": [[x, y], ...],
//!   "group_id": null, "description": "", "shape_type": "rectangle", "flags": {},
//!   "mask": null}], "imagePath": "dog.jpg", "imageData": null,
//!  "imageHeight": 480, "imageWidth": 640}
//! ```
//!
//! Reading keeps everything: keys Sightline does not model (AnyLabeling's `text`,
//! X-AnyLabeling's `attributes`, `kie_linking`, `direction`, anything else) stay verbatim in
//! `extra`, and a known key whose value has an unexpected type is kept there too. Writing
//! follows the key order of the file as read, writes `null` where the file had `null` and
//! leaves out the optional keys the file did not have, so a file read and written back is the
//! same JSON value. `imageData` is accepted but written back only on request.

use serde_json::{Map, Number, Value};

use super::{
    Export, ExportError, ExportOptions, ImageIndex, ImagePlacement, ImportError, ImportReport,
    IssueOutcome, OutputFile, check_points_in_image, file_name, join_path, parent_dir, parse_json,
    with_extension,
};
use crate::annotation::{Dataset, ImageAnnotations, ImageSize, Shape, ShapeKind};
use crate::view::Point;

/// The `version` written into files made here (a LabelMe version every reader accepts).
pub const LABELME_VERSION: &str = "5.5.0";

/// A LabelMe file as read: its annotations (with `image_path` the file's `imagePath`
/// verbatim) and the problems of single shapes.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedFile {
    pub annotations: ImageAnnotations,
    pub shape_issues: Vec<(ImportError, IssueOutcome)>,
}

const FILE_KEYS: [&str; 7] = [
    "version",
    "flags",
    "shapes",
    "imagePath",
    "imageData",
    "imageHeight",
    "imageWidth",
];

/// Reads one LabelMe file. An error means nothing of the file could be read; problems of
/// single shapes (the shape is then skipped) come back in `shape_issues`.
pub fn parse(bytes: &[u8]) -> Result<ParsedFile, ImportError> {
    let (value, note) = parse_json(bytes)?;
    let mut parsed = parse_value(value)?;
    if let Some(note) = note {
        parsed.shape_issues.insert(0, (note, IssueOutcome::Kept));
    }
    Ok(parsed)
}

/// Reads one file already parsed as JSON.
pub fn parse_value(value: Value) -> Result<ParsedFile, ImportError> {
    let Value::Object(mut map) = value else {
        return Err(ImportError::InvalidField {
            field: "(root)".to_owned(),
            message: "expected a JSON object".to_owned(),
        });
    };
    let key_order: Vec<String> = map.keys().cloned().collect();
    let Some(Value::Array(shape_values)) = map.remove("shapes") else {
        return Err(ImportError::InvalidField {
            field: "shapes".to_owned(),
            message: "missing, or not a list".to_owned(),
        });
    };
    let mut annotations = ImageAnnotations {
        key_order,
        ..ImageAnnotations::default()
    };
    let mut extra = Map::new();
    for (key, value) in map {
        match (key.as_str(), value) {
            ("version", Value::String(v)) => annotations.labelme_version = Some(v),
            ("flags", Value::Object(flags)) => annotations.flags = flags,
            ("imagePath", Value::String(path)) => annotations.image_path = path,
            ("imageData", Value::String(data)) => annotations.image_data = Some(data),
            ("imageData" | "imageHeight" | "imageWidth", Value::Null) => {}
            (_, value) => {
                extra.insert(key, value);
            }
        }
    }
    let height = extra.get("imageHeight").and_then(as_u32);
    let width = extra.get("imageWidth").and_then(as_u32);
    if let (Some(height), Some(width)) = (height, width) {
        annotations.image_size = Some(ImageSize::new(width, height));
        extra.remove("imageHeight");
        extra.remove("imageWidth");
    }
    annotations.extra = extra;

    let mut shape_issues = Vec::new();
    for (index, value) in shape_values.into_iter().enumerate() {
        match parse_shape(value, &format!("shapes[{index}]")) {
            Ok(shape) => annotations.shapes.push(shape),
            Err(error) => shape_issues.push((error, IssueOutcome::EntrySkipped)),
        }
    }
    Ok(ParsedFile {
        annotations,
        shape_issues,
    })
}

fn as_u32(value: &Value) -> Option<u32> {
    value.as_u64().and_then(|v| u32::try_from(v).ok())
}

fn parse_points(value: &Value, field: &str) -> Result<(Vec<Point>, bool), ImportError> {
    let invalid = |message: &str| ImportError::InvalidField {
        field: format!("{field}.points"),
        message: message.to_owned(),
    };
    let Value::Array(items) = value else {
        return Err(invalid("expected a list of [x, y] pairs"));
    };
    let mut all_integers = !items.is_empty();
    let mut points = Vec::with_capacity(items.len());
    for item in items {
        let pair = item.as_array().map(Vec::as_slice);
        let Some([x, y]) = pair else {
            return Err(invalid("expected a list of [x, y] pairs"));
        };
        let (Some(xf), Some(yf)) = (x.as_f64(), y.as_f64()) else {
            return Err(invalid("a coordinate is not a number"));
        };
        // Integers beyond 2^53 cannot come back as the same integer; write those as floats.
        all_integers &= !x.is_f64() && !y.is_f64() && xf.abs() < 9.0e15 && yf.abs() < 9.0e15;
        points.push(Point::new(xf, yf));
    }
    Ok((points, all_integers))
}

fn parse_shape(value: Value, field: &str) -> Result<Shape, ImportError> {
    let Value::Object(map) = value else {
        return Err(ImportError::InvalidField {
            field: field.to_owned(),
            message: "expected a JSON object".to_owned(),
        });
    };
    let key_order: Vec<String> = map.keys().cloned().collect();
    let label = match map.get("label") {
        Some(Value::String(label)) => label.clone(),
        _ => {
            return Err(ImportError::InvalidField {
                field: format!("{field}.label"),
                message: "missing, or not a string".to_owned(),
            });
        }
    };
    let shape_type = match map.get("shape_type") {
        None | Some(Value::Null) => "polygon".to_owned(),
        Some(Value::String(name)) => name.clone(),
        Some(other) => other.to_string(),
    };
    let Some(kind) = ShapeKind::from_labelme_name(&shape_type) else {
        return Err(ImportError::UnknownShapeType {
            field: format!("{field}.shape_type"),
            shape_type,
        });
    };
    let (points, integer_points) = parse_points(map.get("points").unwrap_or(&Value::Null), field)?;
    if !kind.accepts_point_count(points.len()) {
        return Err(ImportError::WrongPointCount {
            field: format!("{field}.points"),
            shape_type,
            found: points.len(),
            expected: kind.expected_point_count().to_owned(),
        });
    }
    let mut shape = Shape::new(label, kind, points);
    shape.key_order = key_order;
    shape.integer_points = integer_points;
    for (key, value) in map {
        match (key.as_str(), value) {
            ("label" | "points", _) => {}
            ("shape_type", Value::String(name)) if name == kind.labelme_name() => {}
            ("group_id", Value::Null) | ("description", Value::Null) | ("mask", Value::Null) => {}
            ("score", Value::Null) => {}
            ("group_id", Value::Number(n)) if n.as_i64().is_some() => shape.group_id = n.as_i64(),
            ("description", Value::String(text)) => shape.description = Some(text),
            ("flags", Value::Object(flags)) => shape.flags = flags,
            ("score", Value::Number(n)) if n.as_f64().is_some() => shape.score = n.as_f64(),
            ("difficult", Value::Bool(difficult)) => shape.difficult = difficult,
            ("mask", Value::String(mask)) => shape.mask = Some(mask),
            (_, value) => {
                shape.extra.insert(key, value);
            }
        }
    }
    Ok(shape)
}

fn coordinate(value: f64, integer: bool) -> Value {
    if integer && value.fract() == 0.0 && value.abs() < 9.0e15 {
        Value::Number(Number::from(value as i64))
    } else {
        Number::from_f64(value).map_or(Value::Null, Value::Number)
    }
}

/// A key Sightline models: its value, whether the model holds a value of its own for it
/// (else a verbatim value from `extra` wins), and whether it is written even when the file
/// did not have it.
struct Known {
    key: &'static str,
    value: Value,
    set: bool,
    always: bool,
}

fn known(key: &'static str, value: Value, set: bool, always: bool) -> Known {
    Known {
        key,
        value,
        set,
        always,
    }
}

/// The JSON object of one shape.
pub fn shape_to_json(shape: &Shape) -> Value {
    let optional = |v: Option<Value>| v.unwrap_or(Value::Null);
    let points = shape
        .points_in_image
        .iter()
        .map(|p| {
            Value::Array(vec![
                coordinate(p.x, shape.integer_points),
                coordinate(p.y, shape.integer_points),
            ])
        })
        .collect();
    // An alias as read (`line_strip`) is written back while it still names the kind.
    let shape_type = match shape.extra.get("shape_type") {
        Some(Value::String(alias)) if ShapeKind::from_labelme_name(alias) == Some(shape.kind) => {
            alias.clone()
        }
        _ => shape.kind.labelme_name().to_owned(),
    };
    let score = shape.score.and_then(Number::from_f64).map(Value::Number);
    let fields = vec![
        known("label", Value::String(shape.label.clone()), true, true),
        known(
            "score",
            optional(score.clone()),
            score.is_some(),
            score.is_some(),
        ),
        known("points", Value::Array(points), true, true),
        known(
            "group_id",
            optional(shape.group_id.map(Value::from)),
            shape.group_id.is_some(),
            true,
        ),
        known(
            "description",
            optional(shape.description.clone().map(Value::String)),
            shape.description.is_some(),
            shape.description.is_some(),
        ),
        known(
            "difficult",
            Value::Bool(shape.difficult),
            shape.difficult,
            shape.difficult,
        ),
        known("shape_type", Value::String(shape_type), true, true),
        known(
            "flags",
            Value::Object(shape.flags.clone()),
            !shape.flags.is_empty(),
            true,
        ),
        known(
            "mask",
            optional(shape.mask.clone().map(Value::String)),
            shape.mask.is_some(),
            shape.mask.is_some(),
        ),
    ];
    Value::Object(ordered_object(fields, &shape.extra, &shape.key_order))
}

/// Builds an object: the keys of `key_order` first, in that order; then known keys that are
/// always written or set; then the rest of `extra`. A verbatim value in `extra` wins over a
/// known key the model has no value of its own for.
fn ordered_object(
    fields: Vec<Known>,
    extra: &Map<String, Value>,
    key_order: &[String],
) -> Map<String, Value> {
    let mut object = Map::new();
    let value_of = |field: &Known| match extra.get(field.key) {
        Some(verbatim) if !field.set => verbatim.clone(),
        _ => field.value.clone(),
    };
    for key in key_order {
        if let Some(field) = fields.iter().find(|f| f.key == key) {
            object.insert(key.clone(), value_of(field));
        } else if let Some(verbatim) = extra.get(key) {
            object.insert(key.clone(), verbatim.clone());
        }
    }
    for field in &fields {
        if (field.always || field.set) && !object.contains_key(field.key) {
            object.insert(field.key.to_owned(), value_of(field));
        }
    }
    for (key, value) in extra {
        if !object.contains_key(key) {
            object.insert(key.clone(), value.clone());
        }
    }
    object
}

/// The JSON value of one LabelMe file. `image_path` is written as `imagePath` verbatim.
pub fn to_json(annotations: &ImageAnnotations, embed_image_data: bool) -> Value {
    let shapes = annotations.shapes.iter().map(shape_to_json).collect();
    let image_data = match (&annotations.image_data, embed_image_data) {
        (Some(data), true) => Some(Value::String(data.clone())),
        _ => None,
    };
    let size = annotations.image_size;
    let (height, width) = match size {
        Some(size) => (Value::from(size.height), Value::from(size.width)),
        None => (Value::Null, Value::Null),
    };
    // Without a size, write `null`s unless the file had something else there.
    let size_always = size.is_some()
        || !(annotations.extra.contains_key("imageHeight")
            || annotations.extra.contains_key("imageWidth"));
    let version = annotations.labelme_version.clone();
    let fields = vec![
        known(
            "version",
            Value::String(
                version
                    .clone()
                    .unwrap_or_else(|| LABELME_VERSION.to_owned()),
            ),
            version.is_some(),
            true,
        ),
        known(
            "flags",
            Value::Object(annotations.flags.clone()),
            !annotations.flags.is_empty(),
            true,
        ),
        known("shapes", Value::Array(shapes), true, true),
        known(
            "imagePath",
            Value::String(annotations.image_path.clone()),
            !annotations.image_path.is_empty(),
            true,
        ),
        known(
            "imageData",
            image_data.clone().unwrap_or(Value::Null),
            image_data.is_some(),
            true,
        ),
        known("imageHeight", height, size.is_some(), size_always),
        known("imageWidth", width, size.is_some(), size_always),
    ];
    debug_assert_eq!(fields.len(), FILE_KEYS.len());
    Value::Object(ordered_object(
        fields,
        &annotations.extra,
        &annotations.key_order,
    ))
}

/// One LabelMe file as bytes, indented by two spaces as LabelMe writes it.
pub fn write(
    annotations: &ImageAnnotations,
    embed_image_data: bool,
) -> Result<Vec<u8>, ExportError> {
    let mut bytes = serde_json::to_vec_pretty(&to_json(annotations, embed_image_data))?;
    bytes.push(b'\n');
    Ok(bytes)
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
    for (error, outcome) in parsed.shape_issues {
        report.push(file_path, error, outcome);
    }
    let mut annotations = parsed.annotations;
    let named = annotations.image_path.clone();
    let image_path = match index.resolve(file_path, Some(&named)) {
        Some(path) => path,
        None => {
            let path = if named.is_empty() {
                with_extension(file_path, "jpg")
            } else {
                join_path(parent_dir(file_path), file_name(&named))
            };
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
    if annotations.image_size.is_none() {
        annotations.image_size = index.size_of(&image_path);
    }
    for (i, shape) in annotations.shapes.iter().enumerate() {
        check_points_in_image(
            shape,
            annotations.image_size,
            &format!("shapes[{i}]"),
            file_path,
            report,
        );
    }
    annotations.image_path = image_path.clone();
    let entry = dataset.image_mut_or_insert(&image_path);
    if entry.shapes.is_empty() && entry.key_order.is_empty() {
        let size = entry.image_size;
        *entry = annotations;
        entry.image_size = entry.image_size.or(size);
    } else {
        entry.shapes.extend(annotations.shapes);
    }
    report.files_imported.push(file_path.to_owned());
}

pub(crate) fn export(dataset: &Dataset, options: &ExportOptions) -> Result<Export, ExportError> {
    let mut export = Export::default();
    for image in &dataset.images {
        let mut annotations = image.clone();
        annotations.image_path = file_name(&image.image_path).to_owned();
        export.files.push(OutputFile {
            path: with_extension(&image.image_path, "json"),
            bytes: write(&annotations, options.embed_image_data)?,
        });
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
    fn round_trip_keeps_unknown_keys_nulls_and_order() {
        let text = r#"{"version":"2.4.0","flags":{"a":true},"shapes":[{"label":"cat","text":"ocr",
            "points":[[1,2],[30,40]],"group_id":null,"description":"","difficult":false,
            "shape_type":"rectangle","flags":{},"attributes":{"color":"red"},"kie_linking":[],
            "score":0.5}],"imagePath":"a.jpg","imageData":null,"imageHeight":50,"imageWidth":60,
            "custom":{"x":1}}"#;
        let parsed = parse(text.as_bytes()).expect("valid");
        assert!(parsed.shape_issues.is_empty());
        let shape = &parsed.annotations.shapes[0];
        assert_eq!(shape.score, Some(0.5));
        assert!(shape.integer_points);
        assert_eq!(
            shape.extra.keys().collect::<Vec<_>>(),
            ["text", "attributes", "kie_linking"]
        );
        let written = to_json(&parsed.annotations, false);
        let original: Value = serde_json::from_str(text).expect("json");
        assert_eq!(written, original);
        let keys: Vec<&String> = written["shapes"][0]
            .as_object()
            .expect("object")
            .keys()
            .collect();
        let original_keys: Vec<&String> = original["shapes"][0]
            .as_object()
            .expect("object")
            .keys()
            .collect();
        assert_eq!(keys, original_keys);
    }

    #[test]
    fn fresh_shape_writes_labelme_5_keys() {
        let shape = Shape::rectangle("a", Point::new(1.5, 2.0), Point::new(3.0, 4.0));
        let json = shape_to_json(&shape);
        let keys: Vec<&String> = json.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["label", "points", "group_id", "shape_type", "flags"]);
        assert_eq!(json["points"][0][0], 1.5);
    }

    #[test]
    fn bad_shapes_are_reported_and_others_kept() {
        let text = r#"{"shapes":[{"label":"a","points":[[1,2]],"shape_type":"cuboid"},
            {"label":"b","points":[[1,2]],"shape_type":"rectangle"},
            {"label":"c","points":[[1,2],[3,4],[5,6]]}], "imagePath":"x.jpg"}"#;
        let parsed = parse(text.as_bytes()).expect("valid file");
        assert_eq!(parsed.annotations.shapes.len(), 1);
        assert_eq!(parsed.annotations.shapes[0].kind, ShapeKind::Polygon);
        assert_eq!(parsed.shape_issues.len(), 2, "{:?}", parsed.shape_issues);
        assert!(matches!(&parsed.shape_issues[0].0,
            ImportError::UnknownShapeType { field, shape_type } if field == "shapes[0].shape_type" && shape_type == "cuboid"));
        assert!(matches!(
            &parsed.shape_issues[1].0,
            ImportError::WrongPointCount { found: 1, .. }
        ));
    }

    /// Python's json writes a NaN coordinate as `NaN`: that shape is skipped, the rest kept.
    #[test]
    fn a_nan_coordinate_skips_its_shape_only() {
        let text = "{\"shapes\":[{\"label\":\"a\",\"points\":[[1,2],[3,4]],\"shape_type\":\"rectangle\"},\n  {\"label\":\"b\",\"points\":[[NaN,2],[3,4]],\"shape_type\":\"rectangle\"}],\"imagePath\":\"x.jpg\"}";
        let parsed = parse(text.as_bytes()).expect("read");
        assert_eq!(parsed.annotations.shapes.len(), 1);
        assert_eq!(parsed.annotations.shapes[0].label, "a");
        assert!(
            parsed
                .annotations
                .shapes
                .iter()
                .flat_map(|s| &s.points_in_image)
                .all(|p| p.x.is_finite() && p.y.is_finite())
        );
        let issues: Vec<&ImportError> = parsed.shape_issues.iter().map(|(e, _)| e).collect();
        assert!(
            matches!(
                issues[0],
                ImportError::NotJsonNumber {
                    line: 2,
                    column: 27,
                    count: 1,
                    ..
                }
            ),
            "{issues:?}"
        );
        assert!(
            matches!(issues[1], ImportError::InvalidField { field, .. } if field == "shapes[1].points"),
            "{issues:?}"
        );
    }

    #[test]
    fn image_data_is_not_embedded_by_default() {
        let text = r#"{"version":"5.0.1","flags":{},"shapes":[],"imagePath":"a.jpg","imageData":"AAAA","imageHeight":1,"imageWidth":1}"#;
        let parsed = parse(text.as_bytes()).expect("valid");
        assert_eq!(
            to_json(&parsed.annotations, false)["imageData"],
            Value::Null
        );
        assert_eq!(to_json(&parsed.annotations, true)["imageData"], "AAAA");
    }

    /// Found by the `labelme` fuzz target: a file without a size is written with `null`
    /// sizes, which must read back as "no size", not as unknown values.
    #[test]
    fn missing_size_round_trips() {
        let parsed = parse(br#"{"shapes":[],"imageHeight":12}"#).expect("valid");
        assert_eq!(parsed.annotations.image_size, None);
        let written = to_json(&parsed.annotations, false);
        assert!(
            written.get("imageWidth").is_none(),
            "no width added beside a kept height"
        );
        let bare = parse(br#"{"shapes":[]}"#).expect("valid");
        let again = parse(&write(&bare.annotations, false).expect("writes")).expect("reads");
        assert_eq!(again.annotations.extra, bare.annotations.extra);
        assert_eq!(again.annotations.image_size, None);
    }

    #[test]
    fn malformed_json_names_line() {
        let err = parse(b"{\n\"shapes\": [\n}").expect_err("malformed");
        assert!(
            matches!(err, ImportError::MalformedJson { line: 3, .. }),
            "{err:?}"
        );
    }
}
