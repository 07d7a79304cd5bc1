//! Pascal VOC XML: one `Annotations/<image stem>.xml` per image, boxes only.
//!
//! ```xml
//! <annotation><filename>a.jpg</filename><size><width>640</width><height>480</height>
//!   <depth>3</depth></size><object><name>dog</name><difficult>0</difficult>
//!   <bndbox><xmin>10</xmin><ymin>20</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object>
//! </annotation>
//! ```
//!
//! Coordinates are written as read, without the 1-based shift some VOC tools apply:
//! whole numbers as integers, others as decimals (readers that use `float()` or
//! `int(float())` take both). Export writes `JPEGImages/` + `Annotations/`; every shape
//! with an area becomes its box (reported when it was not a box), points and lines cannot
//! be written.

use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::Event;

use super::{
    Export, ExportError, ExportProblem, ImageIndex, ImagePlacement, ImportError, ImportReport,
    InputFile, IssueOutcome, OutputFile, check_points_in_image, file_stem, join_path, parent_dir,
    with_extension,
};
use crate::annotation::{Dataset, ImageSize, Shape, ShapeKind};
use crate::geometry;
use crate::view::Point;

/// A parsed XML element: name, text and children (attributes are not used by VOC).
#[derive(Clone, Debug, Default, PartialEq)]
struct Element {
    name: String,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }
}

/// Nesting deeper than this is not a VOC file (and would make a hostile file expensive).
const MAX_DEPTH: usize = 64;

/// `line` is filled in by [`parse`], which has the text.
fn xml_error(position: u64, message: impl Into<String>) -> ImportError {
    ImportError::MalformedXml {
        line: 0,
        position,
        message: message.into(),
    }
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, position: u64) -> usize {
    let end = usize::try_from(position)
        .unwrap_or(usize::MAX)
        .min(text.len());
    1 + text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
}

fn parse_tree(text: &str) -> Result<Element, ImportError> {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = vec![Element::default()];
    loop {
        let event = reader
            .read_event()
            .map_err(|e| xml_error(reader.error_position(), e.to_string()))?;
        let position = reader.buffer_position();
        let decode_err = |e: quick_xml::encoding::EncodingError| xml_error(position, e.to_string());
        match event {
            Event::Start(start) => {
                if stack.len() > MAX_DEPTH {
                    return Err(xml_error(position, "elements nested too deeply"));
                }
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                stack.push(Element {
                    name,
                    ..Element::default()
                });
            }
            Event::Empty(start) => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(Element {
                        name,
                        ..Element::default()
                    });
                }
            }
            Event::End(_) => {
                let Some(element) = stack.pop() else {
                    return Err(xml_error(position, "unbalanced end tag"));
                };
                let Some(parent) = stack.last_mut() else {
                    return Err(xml_error(position, "unbalanced end tag"));
                };
                parent.children.push(element);
            }
            Event::Text(content) => {
                let decoded = content.decode().map_err(decode_err)?;
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&decoded);
                }
            }
            Event::CData(content) => {
                let decoded = content.decode().map_err(decode_err)?;
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&decoded);
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = reference.decode().map_err(decode_err)?;
                        resolve_predefined_entity(&name)
                            .ok_or_else(|| xml_error(position, format!("unknown entity &{name};")))?
                            .to_owned()
                    }
                    Err(e) => return Err(xml_error(position, e.to_string())),
                };
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if stack.len() != 1 {
        return Err(xml_error(
            reader.buffer_position(),
            "unclosed element at end of file",
        ));
    }
    let Some(root) = stack
        .pop()
        .and_then(|document| document.children.into_iter().next())
    else {
        return Err(xml_error(0, "no root element"));
    };
    Ok(root)
}

/// One VOC file as read: the image file name it names, its size, its boxes, and the
/// problems of single objects (each skipped).
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedFile {
    pub filename: Option<String>,
    pub image_size: Option<ImageSize>,
    pub shapes: Vec<Shape>,
    pub object_issues: Vec<ImportError>,
}

fn number(element: &Element, name: &str, field: &str) -> Result<f64, ImportError> {
    let text = element
        .child_text(name)
        .ok_or_else(|| ImportError::InvalidField {
            field: format!("{field}.{name}"),
            message: "missing".to_owned(),
        })?;
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| ImportError::InvalidField {
            field: format!("{field}.{name}"),
            message: format!("{text:?} is not a number"),
        })
}

/// Reads one VOC file.
pub fn parse(bytes: &[u8]) -> Result<ParsedFile, ImportError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ImportError::NotUtf8)?;
    let root = parse_tree(text).map_err(|error| match error {
        ImportError::MalformedXml {
            position, message, ..
        } => ImportError::MalformedXml {
            line: line_of(text, position),
            position,
            message,
        },
        other => other,
    })?;
    if root.name != "annotation" {
        return Err(ImportError::InvalidField {
            field: root.name.clone(),
            message: "the root element of a VOC file is <annotation>".to_owned(),
        });
    }
    let image_size = root.child("size").and_then(|size| {
        let width = size.child_text("width")?.parse::<f64>().ok()?;
        let height = size.child_text("height")?.parse::<f64>().ok()?;
        let in_range = |v: f64| v >= 0.0 && v <= f64::from(u32::MAX) && v.fract() == 0.0;
        (in_range(width) && in_range(height)).then(|| ImageSize::new(width as u32, height as u32))
    });
    let mut parsed = ParsedFile {
        filename: root.child_text("filename").map(str::to_owned),
        image_size,
        shapes: Vec::new(),
        object_issues: Vec::new(),
    };
    for (i, object) in root
        .children
        .iter()
        .filter(|c| c.name == "object")
        .enumerate()
    {
        let field = format!("object[{i}]");
        match parse_object(object, &field) {
            Ok(shape) => parsed.shapes.push(shape),
            Err(error) => parsed.object_issues.push(error),
        }
    }
    Ok(parsed)
}

fn parse_object(object: &Element, field: &str) -> Result<Shape, ImportError> {
    let name = object
        .child_text("name")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ImportError::InvalidField {
            field: format!("{field}.name"),
            message: "missing".to_owned(),
        })?;
    let box_field = format!("{field}.bndbox");
    let bndbox = object
        .child("bndbox")
        .ok_or_else(|| ImportError::InvalidField {
            field: box_field.clone(),
            message: "missing".to_owned(),
        })?;
    let xmin = number(bndbox, "xmin", &box_field)?;
    let ymin = number(bndbox, "ymin", &box_field)?;
    let xmax = number(bndbox, "xmax", &box_field)?;
    let ymax = number(bndbox, "ymax", &box_field)?;
    let mut shape = Shape::rectangle(name, Point::new(xmin, ymin), Point::new(xmax, ymax));
    shape.difficult = matches!(object.child_text("difficult"), Some("1" | "true"));
    if let Some(score) = object
        .child_text("score")
        .and_then(|s| s.parse::<f64>().ok())
    {
        shape.score = Some(score);
    }
    Ok(shape)
}

pub(crate) fn import_file(
    file: &InputFile,
    index: &ImageIndex,
    dataset: &mut Dataset,
    report: &mut ImportReport,
) {
    let parsed = match parse(&file.bytes) {
        Ok(parsed) => parsed,
        Err(error) => {
            report.push(&file.path, error, IssueOutcome::FileSkipped);
            return;
        }
    };
    for error in parsed.object_issues {
        report.push(&file.path, error, IssueOutcome::EntrySkipped);
    }
    let image_path = match index.resolve(&file.path, parsed.filename.as_deref()) {
        Some(path) => path,
        None => {
            let path = match &parsed.filename {
                Some(name) => join_path(parent_dir(&file.path), name),
                None => with_extension(&file.path, "jpg"),
            };
            report.push(
                &file.path,
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
        entry.image_size = parsed.image_size;
    }
    let size = entry.image_size;
    for (i, shape) in parsed.shapes.iter().enumerate() {
        check_points_in_image(shape, size, &format!("object[{i}]"), &file.path, report);
    }
    entry.shapes.extend(parsed.shapes);
    report.files_imported.push(file.path.clone());
}

fn format_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// The VOC XML of one image, and what could not be written as it is (by shape index).
pub fn to_xml(
    image_file_name: &str,
    folder: &str,
    image_size: Option<ImageSize>,
    shapes: &[Shape],
) -> (String, Vec<(usize, ExportProblem)>) {
    let mut problems = Vec::new();
    let mut xml = String::from("<annotation>\n");
    xml.push_str(&format!("  <folder>{}</folder>\n", escape(folder)));
    xml.push_str(&format!(
        "  <filename>{}</filename>\n",
        escape(image_file_name)
    ));
    xml.push_str("  <source>\n    <database>Unknown</database>\n  </source>\n");
    if let Some(size) = image_size {
        xml.push_str(&format!(
            "  <size>\n    <width>{}</width>\n    <height>{}</height>\n    <depth>3</depth>\n  </size>\n",
            size.width, size.height
        ));
    }
    xml.push_str("  <segmented>0</segmented>\n");
    for (i, shape) in shapes.iter().enumerate() {
        if !shape.has_valid_point_count() {
            problems.push((i, ExportProblem::InvalidShape));
            continue;
        }
        if matches!(
            shape.kind,
            ShapeKind::Point | ShapeKind::Line | ShapeKind::Linestrip
        ) {
            problems.push((
                i,
                ExportProblem::ShapeNotRepresentable {
                    kind: shape.kind,
                    format: "VOC".to_owned(),
                },
            ));
            continue;
        }
        let Some(rect) = geometry::bbox_in_image(shape) else {
            problems.push((i, ExportProblem::InvalidShape));
            continue;
        };
        let is_box = shape.kind == ShapeKind::Rectangle
            && (shape.points_in_image.len() == 2
                || geometry::polygon_area(&shape.points_in_image) == rect.area());
        if !is_box {
            problems.push((
                i,
                ExportProblem::ShapeApproximated {
                    kind: shape.kind,
                    format: "VOC".to_owned(),
                    written_as: "its box".to_owned(),
                },
            ));
        }
        xml.push_str("  <object>\n");
        xml.push_str(&format!(
            "    <name>{}</name>\n",
            escape(shape.label.as_str())
        ));
        xml.push_str("    <pose>Unspecified</pose>\n    <truncated>0</truncated>\n");
        xml.push_str(&format!(
            "    <difficult>{}</difficult>\n",
            u8::from(shape.difficult)
        ));
        if let Some(score) = shape.score {
            xml.push_str(&format!("    <score>{score}</score>\n"));
        }
        xml.push_str(&format!(
            "    <bndbox>\n      <xmin>{}</xmin>\n      <ymin>{}</ymin>\n      <xmax>{}</xmax>\n      <ymax>{}</ymax>\n    </bndbox>\n",
            format_number(rect.min.x),
            format_number(rect.min.y),
            format_number(rect.max.x),
            format_number(rect.max.y)
        ));
        xml.push_str("  </object>\n");
    }
    xml.push_str("</annotation>\n");
    (xml, problems)
}

pub(crate) fn export(dataset: &Dataset) -> Result<Export, ExportError> {
    let mut export = Export::default();
    let mut ids = String::new();
    for image in &dataset.images {
        let inner = image
            .image_path
            .strip_prefix("JPEGImages/")
            .unwrap_or(&image.image_path);
        let image_out = format!("JPEGImages/{inner}");
        let xml_out = format!("Annotations/{}", with_extension(inner, "xml"));
        let folder = parent_dir(&image_out)
            .rsplit('/')
            .next()
            .unwrap_or("JPEGImages");
        let file_name = super::file_name(&image.image_path);
        let (xml, problems) = to_xml(file_name, folder, image.image_size, &image.shapes);
        for (i, problem) in problems {
            export.issue(&image.image_path, Some(i), problem);
        }
        export.files.push(OutputFile {
            path: xml_out,
            bytes: xml.into_bytes(),
        });
        export.image_placements.push(ImagePlacement {
            image_path: image.image_path.clone(),
            output_path: image_out,
        });
        ids.push_str(&join_path(parent_dir(inner), file_stem(inner)));
        ids.push('\n');
    }
    export.files.push(OutputFile {
        path: "ImageSets/Main/default.txt".to_owned(),
        bytes: ids.into_bytes(),
    });
    Ok(export)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_boxes_entities_and_reports_bad_objects() {
        let xml = r#"<?xml version="1.0"?>
<annotation><filename>a&amp;b.jpg</filename><size><width>100</width><height>50</height></size>
<object><name>dog</name><difficult>1</difficult><bndbox><xmin>1</xmin><ymin>2.5</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object>
<object><name>cat</name><bndbox><xmin>x</xmin><ymin>2</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object>
<object><bndbox/></object>
</annotation>"#;
        let parsed = parse(xml.as_bytes()).expect("valid");
        assert_eq!(parsed.filename.as_deref(), Some("a&b.jpg"));
        assert_eq!(parsed.image_size, Some(ImageSize::new(100, 50)));
        assert_eq!(parsed.shapes.len(), 1);
        assert!(parsed.shapes[0].difficult);
        assert_eq!(parsed.shapes[0].points_in_image[0], Point::new(1.0, 2.5));
        assert_eq!(parsed.object_issues.len(), 2, "{:?}", parsed.object_issues);
        assert!(
            matches!(&parsed.object_issues[0], ImportError::InvalidField { field, .. } if field == "object[1].bndbox.xmin")
        );
        assert!(
            matches!(&parsed.object_issues[1], ImportError::InvalidField { field, .. } if field == "object[2].name")
        );
    }

    #[test]
    fn malformed_xml_is_an_error_with_position() {
        let err = parse(b"<annotation><object></annotation>").expect_err("malformed");
        assert!(matches!(err, ImportError::MalformedXml { .. }), "{err:?}");
        let err = parse(b"<annotation>\n<a>\n</b>").expect_err("mismatched");
        assert!(
            matches!(err, ImportError::MalformedXml { line: 3, .. }),
            "{err:?}"
        );
        let err = parse(b"<annotation><object>").expect_err("unclosed");
        assert!(matches!(err, ImportError::MalformedXml { .. }), "{err:?}");
    }

    #[test]
    fn written_xml_reads_back() {
        let mut shape = Shape::rectangle("a<b", Point::new(1.0, 2.0), Point::new(3.5, 4.0));
        shape.difficult = true;
        let (xml, problems) = to_xml(
            "x.jpg",
            "JPEGImages",
            Some(ImageSize::new(10, 10)),
            &[shape.clone()],
        );
        assert!(problems.is_empty());
        let parsed = parse(xml.as_bytes()).expect("valid");
        assert_eq!(parsed.shapes, vec![shape]);
    }
}
