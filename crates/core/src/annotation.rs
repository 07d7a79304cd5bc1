//! The annotation model: shapes on an image, and the annotations of a whole dataset.
//!
//! A [`Shape`] keeps its vertices as LabelMe does (a kind plus a list of points in image
//! pixels), so that files read from LabelMe, AnyLabeling and X-AnyLabeling are written back
//! exactly: a rectangle keeps its two (or four) corners in the order they were drawn, a
//! rotated rectangle its four corners. Keys that Sightline does not know are kept verbatim in
//! `extra`, and the key order of the file in `key_order`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::view::{Point, Size};

/// The geometric primitive of a shape and how its `points` are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShapeKind {
    /// Axis-aligned box: two opposite corners, or four corners as AnyLabeling writes them.
    Rectangle,
    /// Rotated box: its four corners in drawing order (X-AnyLabeling's `rotation`).
    RotatedRectangle,
    /// Closed polygon of three or more vertices.
    Polygon,
    /// A single point.
    Point,
    /// A segment: two points.
    Line,
    /// An open polyline of two or more points.
    Linestrip,
    /// Centre and a point on the circle.
    Circle,
    /// LabelMe's `mask` shape: the two corners of its box, the pixels in [`Shape::mask`].
    Mask,
}

impl ShapeKind {
    pub const ALL: [ShapeKind; 8] = [
        ShapeKind::Rectangle,
        ShapeKind::RotatedRectangle,
        ShapeKind::Polygon,
        ShapeKind::Point,
        ShapeKind::Line,
        ShapeKind::Linestrip,
        ShapeKind::Circle,
        ShapeKind::Mask,
    ];

    /// The `shape_type` LabelMe / X-AnyLabeling write for this kind.
    pub fn labelme_name(self) -> &'static str {
        match self {
            ShapeKind::Rectangle => "rectangle",
            ShapeKind::RotatedRectangle => "rotation",
            ShapeKind::Polygon => "polygon",
            ShapeKind::Point => "point",
            ShapeKind::Line => "line",
            ShapeKind::Linestrip => "linestrip",
            ShapeKind::Circle => "circle",
            ShapeKind::Mask => "mask",
        }
    }

    /// Reads a LabelMe `shape_type`; `None` for a type Sightline does not know.
    pub fn from_labelme_name(name: &str) -> Option<Self> {
        Some(match name {
            "rectangle" => ShapeKind::Rectangle,
            "rotation" | "rotated_rectangle" => ShapeKind::RotatedRectangle,
            "polygon" => ShapeKind::Polygon,
            "point" => ShapeKind::Point,
            "line" => ShapeKind::Line,
            "linestrip" | "line_strip" => ShapeKind::Linestrip,
            "circle" => ShapeKind::Circle,
            "mask" => ShapeKind::Mask,
            _ => return None,
        })
    }

    /// Whether `count` points make a valid shape of this kind.
    pub fn accepts_point_count(self, count: usize) -> bool {
        match self {
            ShapeKind::Rectangle => count == 2 || count == 4,
            ShapeKind::RotatedRectangle => count == 4,
            ShapeKind::Polygon => count >= 3,
            ShapeKind::Point => count == 1,
            ShapeKind::Line | ShapeKind::Circle | ShapeKind::Mask => count == 2,
            ShapeKind::Linestrip => count >= 2,
        }
    }

    /// Words for error messages: how many points this kind takes.
    pub fn expected_point_count(self) -> &'static str {
        match self {
            ShapeKind::Rectangle => "2 or 4",
            ShapeKind::RotatedRectangle => "4",
            ShapeKind::Polygon => "3 or more",
            ShapeKind::Point => "1",
            ShapeKind::Line | ShapeKind::Circle | ShapeKind::Mask => "2",
            ShapeKind::Linestrip => "2 or more",
        }
    }

    /// Whether vertices may be inserted into or removed from shapes of this kind.
    pub fn has_free_vertex_count(self) -> bool {
        matches!(self, ShapeKind::Polygon | ShapeKind::Linestrip)
    }
}

/// Size of an image in whole pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImageSize {
    pub width: u32,
    pub height: u32,
}

impl ImageSize {
    pub fn new(width: u32, height: u32) -> Self {
        Self { width, height }
    }

    pub fn as_size(self) -> Size {
        Size::new(f64::from(self.width), f64::from(self.height))
    }

    pub fn is_empty(self) -> bool {
        self.width == 0 || self.height == 0
    }
}

/// One annotation on an image. Points are in image pixels (origin top-left).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    pub label: String,
    pub kind: ShapeKind,
    pub points_in_image: Vec<Point>,
    #[serde(default)]
    pub group_id: Option<i64>,
    #[serde(default)]
    pub description: Option<String>,
    /// Per-shape flags (LabelMe writes `{name: bool}`; any JSON value is kept).
    #[serde(default)]
    pub flags: Map<String, Value>,
    /// Confidence of a model prediction in [0, 1].
    #[serde(default)]
    pub score: Option<f64>,
    /// A prediction not yet accepted by the user.
    #[serde(default)]
    pub predicted: bool,
    /// AnyLabeling / Pascal VOC `difficult`.
    #[serde(default)]
    pub difficult: bool,
    /// LabelMe's `mask`: a base64 PNG of the pixels inside the box, kept as read.
    #[serde(default)]
    pub mask: Option<String>,
    /// Keys of the source file that Sightline does not model, verbatim, in file order.
    #[serde(default)]
    pub extra: Map<String, Value>,
    /// The keys of the shape object in the order they were read, so that a round-trip
    /// writes the same keys in the same order. Empty for shapes made here.
    #[serde(default)]
    pub key_order: Vec<String>,
    /// The file wrote every coordinate as a JSON integer; integral coordinates are written
    /// back the same way.
    #[serde(default)]
    pub integer_points: bool,
}

impl Shape {
    /// A shape with no metadata.
    pub fn new(label: impl Into<String>, kind: ShapeKind, points_in_image: Vec<Point>) -> Self {
        Self {
            label: label.into(),
            kind,
            points_in_image,
            group_id: None,
            description: None,
            flags: Map::new(),
            score: None,
            predicted: false,
            difficult: false,
            mask: None,
            extra: Map::new(),
            key_order: Vec::new(),
            integer_points: false,
        }
    }

    /// An axis-aligned box from its top-left and bottom-right corners.
    pub fn rectangle(label: impl Into<String>, min: Point, max: Point) -> Self {
        Self::new(label, ShapeKind::Rectangle, vec![min, max])
    }

    pub fn polygon(label: impl Into<String>, points_in_image: Vec<Point>) -> Self {
        Self::new(label, ShapeKind::Polygon, points_in_image)
    }

    /// A rotated box from its centre, its size and its rotation (radians, clockwise in image
    /// space since y points down). Corners in order: top-left, top-right, bottom-right,
    /// bottom-left before rotation.
    pub fn rotated_rectangle(
        label: impl Into<String>,
        center: Point,
        size: Size,
        angle_radians: f64,
    ) -> Self {
        let (sin, cos) = angle_radians.sin_cos();
        let (hw, hh) = (size.width / 2.0, size.height / 2.0);
        let corners = [(-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh)]
            .iter()
            .map(|&(dx, dy)| {
                Point::new(
                    center.x + dx * cos - dy * sin,
                    center.y + dx * sin + dy * cos,
                )
            })
            .collect();
        Self::new(label, ShapeKind::RotatedRectangle, corners)
    }

    /// Whether the number of points fits the kind.
    pub fn has_valid_point_count(&self) -> bool {
        self.kind.accepts_point_count(self.points_in_image.len())
    }
}

/// The annotations of one image.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageAnnotations {
    /// Path of the image relative to the dataset root, with `/` separators.
    pub image_path: String,
    /// Size of the image, when known (from the annotation file or the image header).
    #[serde(default)]
    pub image_size: Option<ImageSize>,
    pub shapes: Vec<Shape>,
    /// Image-level flags (LabelMe `flags`).
    #[serde(default)]
    pub flags: Map<String, Value>,
    /// LabelMe `imageData` (base64 image) as read; written back only on request.
    #[serde(default)]
    pub image_data: Option<String>,
    /// LabelMe `version` as read.
    #[serde(default)]
    pub labelme_version: Option<String>,
    /// Top-level keys of the source file that Sightline does not model, verbatim.
    #[serde(default)]
    pub extra: Map<String, Value>,
    /// Top-level keys in the order they were read (empty for annotations made here).
    #[serde(default)]
    pub key_order: Vec<String>,
}

impl ImageAnnotations {
    pub fn new(image_path: impl Into<String>, image_size: Option<ImageSize>) -> Self {
        Self {
            image_path: image_path.into(),
            image_size,
            ..Self::default()
        }
    }
}

/// The annotations of a set of images and the ordered list of class names (the order
/// gives YOLO class ids and COCO category ids).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    pub classes: Vec<String>,
    pub images: Vec<ImageAnnotations>,
}

impl Dataset {
    /// The annotations of `image_path`, if the dataset has them.
    pub fn image(&self, image_path: &str) -> Option<&ImageAnnotations> {
        self.images
            .iter()
            .find(|image| image.image_path == image_path)
    }

    /// The annotations of `image_path`, added empty if missing.
    pub fn image_mut_or_insert(&mut self, image_path: &str) -> &mut ImageAnnotations {
        let index = match self
            .images
            .iter()
            .position(|image| image.image_path == image_path)
        {
            Some(index) => index,
            None => {
                self.images.push(ImageAnnotations::new(image_path, None));
                self.images.len() - 1
            }
        };
        &mut self.images[index]
    }

    /// Adds `label` to the classes if it is not there; returns its index.
    pub fn class_index_or_insert(&mut self, label: &str) -> usize {
        match self.classes.iter().position(|class| class == label) {
            Some(index) => index,
            None => {
                self.classes.push(label.to_owned());
                self.classes.len() - 1
            }
        }
    }

    /// Adds every label used by a shape to the classes, in order of first use.
    pub fn add_missing_classes(&mut self) {
        let labels: Vec<String> = self
            .images
            .iter()
            .flat_map(|image| image.shapes.iter().map(|shape| shape.label.clone()))
            .collect();
        for label in labels {
            self.class_index_or_insert(&label);
        }
    }

    pub fn shape_count(&self) -> usize {
        self.images.iter().map(|image| image.shapes.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labelme_names_round_trip() {
        for kind in ShapeKind::ALL {
            assert_eq!(
                ShapeKind::from_labelme_name(kind.labelme_name()),
                Some(kind)
            );
        }
        assert_eq!(
            ShapeKind::from_labelme_name("line_strip"),
            Some(ShapeKind::Linestrip)
        );
        assert_eq!(ShapeKind::from_labelme_name("cuboid"), None);
    }

    #[test]
    fn rotated_rectangle_corners() {
        let shape = Shape::rotated_rectangle(
            "a",
            Point::new(10.0, 10.0),
            Size::new(4.0, 2.0),
            std::f64::consts::FRAC_PI_2,
        );
        let p = shape.points_in_image[0];
        assert!(
            (p.x - 11.0).abs() < 1e-12 && (p.y - 8.0).abs() < 1e-12,
            "{p:?}"
        );
        assert!(shape.has_valid_point_count());
    }

    #[test]
    fn classes_are_added_in_order_of_use() {
        let mut dataset = Dataset::default();
        let image = dataset.image_mut_or_insert("a.jpg");
        image.shapes.push(Shape::new(
            "dog",
            ShapeKind::Point,
            vec![Point::new(1.0, 1.0)],
        ));
        image.shapes.push(Shape::new(
            "cat",
            ShapeKind::Point,
            vec![Point::new(1.0, 1.0)],
        ));
        image.shapes.push(Shape::new(
            "dog",
            ShapeKind::Point,
            vec![Point::new(1.0, 1.0)],
        ));
        dataset.add_missing_classes();
        assert_eq!(dataset.classes, ["dog", "cat"]);
        assert_eq!(dataset.shape_count(), 3);
    }
}
