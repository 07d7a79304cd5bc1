//! Pure helpers of the canvas editor: which shape or vertex is under the pointer (with a
//! tolerance in view pixels, so hit-testing feels the same at every zoom), shapes made by a
//! drag, rotation of rotated rectangles, and the label colour palette.

use crate::annotation::{Shape, ShapeKind};
use crate::geometry::{bbox_in_image, contains_point};
use crate::view::{Point, ViewTransform};

/// Distinct colours for label classes (Tableau 10 plus two), in class order.
pub const LABEL_PALETTE: [(u8, u8, u8); 12] = [
    (0x4e, 0x79, 0xa7),
    (0xf2, 0x8e, 0x2b),
    (0xe1, 0x57, 0x59),
    (0x76, 0xb7, 0xb2),
    (0x59, 0xa1, 0x4f),
    (0xed, 0xc9, 0x48),
    (0xb0, 0x7a, 0xa1),
    (0xff, 0x9d, 0xa7),
    (0x9c, 0x75, 0x5f),
    (0xba, 0xb0, 0xac),
    (0x17, 0xbe, 0xcf),
    (0xbc, 0xbd, 0x22),
];

/// The colour of the class at `class_index`; the palette repeats after 12 classes.
pub fn label_colour(class_index: usize) -> (u8, u8, u8) {
    LABEL_PALETTE[class_index % LABEL_PALETTE.len()]
}

/// [`label_colour`] as a CSS `#rrggbb` string.
pub fn label_colour_css(class_index: usize) -> String {
    let (r, g, b) = label_colour(class_index);
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// The colour of a label that may not be a class: its class colour, or a colour picked by a
/// stable hash of the name.
pub fn colour_of_label(classes: &[String], label: &str) -> String {
    match classes.iter().position(|class| class == label) {
        Some(index) => label_colour_css(index),
        None => {
            let hash = label.bytes().fold(0_usize, |h, b| {
                h.wrapping_mul(31).wrapping_add(usize::from(b))
            });
            label_colour_css(hash)
        }
    }
}

fn distance(a: Point, b: Point) -> f64 {
    (a.x - b.x).hypot(a.y - b.y)
}

/// The shape under `point_in_view`, among those `visible` says are shown. A hit within
/// `tolerance_in_view` view pixels of a point, line or outline counts. When several shapes
/// are hit, the one with the smallest box wins (so a small box inside a large one can be
/// picked), later shapes first among equals.
pub fn shape_at(
    shapes: &[Shape],
    visible: impl Fn(usize) -> bool,
    point_in_view: Point,
    view_from_image: &ViewTransform,
    tolerance_in_view: f64,
) -> Option<usize> {
    let point_in_image = view_from_image.image_from_view(point_in_view);
    let tolerance_in_image = tolerance_in_view / view_from_image.scale.max(f64::MIN_POSITIVE);
    let mut best: Option<(usize, f64)> = None;
    for (index, shape) in shapes.iter().enumerate().rev() {
        if !visible(index) || !contains_point(shape, point_in_image, tolerance_in_image) {
            continue;
        }
        let area = bbox_in_image(shape).map_or(0.0, |rect| rect.area());
        if best.is_none_or(|(_, best_area)| area < best_area) {
            best = Some((index, area));
        }
    }
    best.map(|(index, _)| index)
}

/// The vertex of one of the `candidates` shapes within `tolerance_in_view` view pixels of
/// `point_in_view`: `(shape, vertex)`, the nearest one when several are close.
pub fn vertex_at(
    shapes: &[Shape],
    candidates: &[usize],
    point_in_view: Point,
    view_from_image: &ViewTransform,
    tolerance_in_view: f64,
) -> Option<(usize, usize)> {
    let mut best: Option<((usize, usize), f64)> = None;
    for &shape_index in candidates {
        let Some(shape) = shapes.get(shape_index) else {
            continue;
        };
        for (vertex, point_in_image) in shape.points_in_image.iter().enumerate() {
            let gap = distance(
                view_from_image.view_from_image(*point_in_image),
                point_in_view,
            );
            if gap <= tolerance_in_view && best.is_none_or(|(_, best_gap)| gap < best_gap) {
                best = Some(((shape_index, vertex), gap));
            }
        }
    }
    best.map(|(hit, _)| hit)
}

/// The shape a press at `start_in_image` and a release at `end_in_image` make with a
/// two-point tool. `None` when the drag is degenerate (a box without area, a zero-length
/// line, a circle without radius) or the kind is not drawn by dragging.
pub fn shape_from_drag(
    kind: ShapeKind,
    label: &str,
    start_in_image: Point,
    end_in_image: Point,
) -> Option<Shape> {
    let min = Point::new(
        start_in_image.x.min(end_in_image.x),
        start_in_image.y.min(end_in_image.y),
    );
    let max = Point::new(
        start_in_image.x.max(end_in_image.x),
        start_in_image.y.max(end_in_image.y),
    );
    let has_area = max.x - min.x > 0.0 && max.y - min.y > 0.0;
    let has_length = distance(start_in_image, end_in_image) > 0.0;
    match kind {
        ShapeKind::Rectangle if has_area => Some(Shape::rectangle(label, min, max)),
        ShapeKind::RotatedRectangle if has_area => Some(Shape::new(
            label,
            ShapeKind::RotatedRectangle,
            vec![min, Point::new(max.x, min.y), max, Point::new(min.x, max.y)],
        )),
        ShapeKind::Circle | ShapeKind::Line if has_length => {
            Some(Shape::new(label, kind, vec![start_in_image, end_in_image]))
        }
        ShapeKind::Point => Some(Shape::new(label, ShapeKind::Point, vec![end_in_image])),
        _ => None,
    }
}

/// Whether the tools that need two points make their shape by dragging (or by two clicks).
pub fn is_drag_kind(kind: ShapeKind) -> bool {
    matches!(
        kind,
        ShapeKind::Rectangle | ShapeKind::RotatedRectangle | ShapeKind::Circle | ShapeKind::Line
    )
}

/// `shape` turned by `angle_radians` (clockwise on screen) about the centre of its points.
pub fn rotated(shape: &Shape, angle_radians: f64) -> Shape {
    let count = shape.points_in_image.len().max(1) as f64;
    let center = Point::new(
        shape.points_in_image.iter().map(|p| p.x).sum::<f64>() / count,
        shape.points_in_image.iter().map(|p| p.y).sum::<f64>() / count,
    );
    let (sin, cos) = angle_radians.sin_cos();
    let mut turned = shape.clone();
    for point in &mut turned.points_in_image {
        let (dx, dy) = (point.x - center.x, point.y - center.y);
        *point = Point::new(
            center.x + dx * cos - dy * sin,
            center.y + dx * sin + dy * cos,
        );
    }
    turned
}

/// `shape` with vertex `vertex` dragged to `to`. A rotated rectangle stays a rectangle: the
/// opposite corner stays put, the angle is kept, and the dragged corner goes to `to`
/// projected on the rectangle's axes (its neighbours follow). Other shapes just move the
/// vertex. `None` when `vertex` does not exist.
pub fn with_vertex_dragged(shape: &Shape, vertex: usize, to: Point) -> Option<Shape> {
    let points = &shape.points_in_image;
    if vertex >= points.len() {
        return None;
    }
    let mut dragged = shape.clone();
    if shape.kind == ShapeKind::RotatedRectangle && points.len() == 4 {
        let at = |i: usize| points[(vertex + i) % 4];
        let (corner, next, opposite, previous) = (at(0), at(1), at(2), at(3));
        let unit = |from: Point, to: Point| {
            let (dx, dy) = (to.x - from.x, to.y - from.y);
            let length = dx.hypot(dy);
            (length > 1e-12).then(|| Point::new(dx / length, dy / length))
        };
        if let (Some(a), Some(b)) = (unit(corner, next), unit(corner, previous)) {
            let (dx, dy) = (to.x - opposite.x, to.y - opposite.y);
            let (along_a, along_b) = (dx * a.x + dy * a.y, dx * b.x + dy * b.y);
            let offset_a = Point::new(along_a * a.x, along_a * a.y);
            let offset_b = Point::new(along_b * b.x, along_b * b.y);
            let mut place = |i: usize, p: Point| dragged.points_in_image[(vertex + i) % 4] = p;
            place(
                0,
                Point::new(
                    opposite.x + offset_a.x + offset_b.x,
                    opposite.y + offset_a.y + offset_b.y,
                ),
            );
            place(
                1,
                Point::new(opposite.x + offset_b.x, opposite.y + offset_b.y),
            );
            place(
                3,
                Point::new(opposite.x + offset_a.x, opposite.y + offset_a.y),
            );
            return Some(dragged);
        }
    }
    dragged.points_in_image[vertex] = to;
    Some(dragged)
}

/// `shape` moved by `delta_in_image`.
pub fn translated(shape: &Shape, delta_in_image: Point) -> Shape {
    let mut moved = shape.clone();
    for point in &mut moved.points_in_image {
        *point = Point::new(point.x + delta_in_image.x, point.y + delta_in_image.y);
    }
    moved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(scale: f64) -> ViewTransform {
        ViewTransform {
            scale,
            offset_in_view: Point::new(10.0, 20.0),
        }
    }

    #[test]
    fn dragging_a_rotated_corner_keeps_a_rectangle_at_the_same_angle() {
        let shape = Shape::rotated_rectangle(
            "r",
            Point::new(50.0, 40.0),
            crate::view::Size::new(20.0, 10.0),
            0.6,
        );
        let before = shape.points_in_image.clone();
        let dragged =
            with_vertex_dragged(&shape, 0, Point::new(before[0].x - 7.0, before[0].y + 3.0))
                .expect("vertex 0 exists");
        let p = &dragged.points_in_image;
        assert_eq!(p[2], before[2], "the opposite corner stays");
        let dot =
            |a: Point, b: Point, c: Point| (a.x - b.x) * (c.x - b.x) + (a.y - b.y) * (c.y - b.y);
        for i in 0..4 {
            let right = dot(p[(i + 3) % 4], p[i], p[(i + 1) % 4]);
            assert!(right.abs() < 1e-9, "corner {i} is square: {right}");
        }
        let angle = |q: &[Point]| (q[1].y - q[0].y).atan2(q[1].x - q[0].x);
        assert!((angle(p) - angle(&before)).abs() < 1e-9, "same angle");
        // Other shapes just move the vertex.
        let poly = Shape::polygon(
            "p",
            vec![
                Point::new(0.0, 0.0),
                Point::new(4.0, 0.0),
                Point::new(0.0, 3.0),
            ],
        );
        let moved = with_vertex_dragged(&poly, 1, Point::new(9.0, 9.0)).expect("exists");
        assert_eq!(moved.points_in_image[1], Point::new(9.0, 9.0));
        assert_eq!(moved.points_in_image[0], Point::new(0.0, 0.0));
        assert!(with_vertex_dragged(&poly, 3, Point::new(0.0, 0.0)).is_none());
    }

    #[test]
    fn palette_repeats_and_formats_as_css() {
        assert_eq!(label_colour(0), label_colour(12));
        assert_eq!(label_colour_css(0), "#4e79a7");
        let classes = vec!["cat".to_owned(), "dog".to_owned()];
        assert_eq!(colour_of_label(&classes, "dog"), label_colour_css(1));
        // Not a class: the palette entry of its name's hash, whatever the classes are
        // ("bird": ((98·31 + 105)·31 + 114)·31 + 100 = 3024057 ≡ 9 mod 12).
        assert_eq!(colour_of_label(&classes, "bird"), label_colour_css(9));
        assert_eq!(colour_of_label(&[], "bird"), label_colour_css(9));
        // A class's colour is its position's, not its hash's ("dog": 99644 ≡ 8 mod 12).
        assert_eq!(colour_of_label(&[], "dog"), label_colour_css(8));
    }

    #[test]
    fn smaller_shape_inside_a_larger_one_wins() {
        let shapes = vec![
            Shape::rectangle("big", Point::new(0.0, 0.0), Point::new(100.0, 100.0)),
            Shape::rectangle("small", Point::new(40.0, 40.0), Point::new(60.0, 60.0)),
        ];
        let t = view(2.0);
        let inside_small = t.view_from_image(Point::new(50.0, 50.0));
        assert_eq!(shape_at(&shapes, |_| true, inside_small, &t, 3.0), Some(1));
        let inside_big = t.view_from_image(Point::new(10.0, 10.0));
        assert_eq!(shape_at(&shapes, |_| true, inside_big, &t, 3.0), Some(0));
        assert_eq!(
            shape_at(&shapes, |i| i != 1, inside_small, &t, 3.0),
            Some(0)
        );
        let outside = t.view_from_image(Point::new(150.0, 150.0));
        assert_eq!(shape_at(&shapes, |_| true, outside, &t, 3.0), None);
    }

    #[test]
    fn tolerance_is_in_view_pixels() {
        let shapes = vec![Shape::new(
            "p",
            ShapeKind::Point,
            vec![Point::new(10.0, 10.0)],
        )];
        // 4 view pixels right of the point: a hit at scale 1 with tolerance 5, and at scale
        // 4 too (1 image pixel away), but not at scale 1 with tolerance 3.
        for scale in [1.0, 4.0] {
            let t = view(scale);
            let near = t.view_from_image(Point::new(10.0, 10.0));
            let near = Point::new(near.x + 4.0, near.y);
            assert_eq!(
                shape_at(&shapes, |_| true, near, &t, 5.0),
                Some(0),
                "scale {scale}"
            );
            assert_eq!(
                shape_at(&shapes, |_| true, near, &t, 3.0),
                None,
                "scale {scale}"
            );
        }
    }

    #[test]
    fn nearest_vertex_of_a_candidate() {
        let shapes = vec![Shape::polygon(
            "p",
            vec![
                Point::new(0.0, 0.0),
                Point::new(10.0, 0.0),
                Point::new(10.0, 10.0),
            ],
        )];
        let t = view(1.0);
        let near_second = t.view_from_image(Point::new(9.0, 1.0));
        assert_eq!(vertex_at(&shapes, &[0], near_second, &t, 5.0), Some((0, 1)));
        assert_eq!(vertex_at(&shapes, &[], near_second, &t, 5.0), None);
        assert_eq!(vertex_at(&shapes, &[7], near_second, &t, 5.0), None);
    }

    #[test]
    fn drags_make_valid_shapes_and_degenerate_drags_none() {
        let a = Point::new(30.0, 5.0);
        let b = Point::new(10.0, 25.0);
        let rect = shape_from_drag(ShapeKind::Rectangle, "x", a, b).expect("a box");
        assert_eq!(
            rect.points_in_image,
            vec![Point::new(10.0, 5.0), Point::new(30.0, 25.0)]
        );
        let rotated_box = shape_from_drag(ShapeKind::RotatedRectangle, "x", a, b).expect("box");
        assert_eq!(rotated_box.points_in_image.len(), 4);
        assert!(rotated_box.has_valid_point_count());
        let circle = shape_from_drag(ShapeKind::Circle, "x", a, b).expect("circle");
        assert_eq!(circle.points_in_image, vec![a, b]);
        assert!(shape_from_drag(ShapeKind::Line, "x", a, b).is_some());
        assert!(shape_from_drag(ShapeKind::Point, "x", a, a).is_some());
        assert!(shape_from_drag(ShapeKind::Rectangle, "x", a, Point::new(40.0, 5.0)).is_none());
        assert!(shape_from_drag(ShapeKind::Circle, "x", a, a).is_none());
        assert!(shape_from_drag(ShapeKind::Polygon, "x", a, b).is_none());
        assert!(is_drag_kind(ShapeKind::Rectangle) && !is_drag_kind(ShapeKind::Polygon));
    }

    #[test]
    fn rotation_keeps_the_centre_and_translation_moves_every_point() {
        let shape = shape_from_drag(
            ShapeKind::RotatedRectangle,
            "x",
            Point::new(0.0, 0.0),
            Point::new(20.0, 10.0),
        )
        .expect("box");
        let turned = rotated(&shape, std::f64::consts::FRAC_PI_2);
        // Quarter turn about (10, 5): the top-left corner (0, 0) goes to (15, -5).
        assert!((turned.points_in_image[0].x - 15.0).abs() < 1e-9);
        assert!((turned.points_in_image[0].y + 5.0).abs() < 1e-9);
        let moved = translated(&shape, Point::new(1.0, -2.0));
        assert_eq!(moved.points_in_image[2], Point::new(21.0, 8.0));
    }
}
