//! Geometry of shapes in image space: area, bounding box, hit testing, IoU and clipping.
//!
//! All functions take and return image pixels. Intersection-over-union is exact for boxes
//! and for polygon pairs where one polygon is convex (Sutherland–Hodgman clipping); for two
//! concave polygons it is estimated on a grid (see [`shape_iou`]).

use serde::{Deserialize, Serialize};

use crate::annotation::{Shape, ShapeKind};
use crate::view::{Point, Size};

/// Vertices used to draw a circle as a polygon.
pub const CIRCLE_POLYGON_VERTICES: usize = 32;

/// An axis-aligned box, `min` top-left and `max` bottom-right.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rect {
    pub min: Point,
    pub max: Point,
}

impl Rect {
    pub fn new(min: Point, max: Point) -> Self {
        Self { min, max }
    }

    /// The box of an image of `size`, from the origin.
    pub fn of_image(size: Size) -> Self {
        Self::new(Point::new(0.0, 0.0), Point::new(size.width, size.height))
    }

    pub fn width(&self) -> f64 {
        (self.max.x - self.min.x).max(0.0)
    }

    pub fn height(&self) -> f64 {
        (self.max.y - self.min.y).max(0.0)
    }

    pub fn area(&self) -> f64 {
        self.width() * self.height()
    }

    pub fn center(&self) -> Point {
        Point::new(
            (self.min.x + self.max.x) / 2.0,
            (self.min.y + self.max.y) / 2.0,
        )
    }

    pub fn contains(&self, point: Point) -> bool {
        point.x >= self.min.x
            && point.x <= self.max.x
            && point.y >= self.min.y
            && point.y <= self.max.y
    }

    pub fn intersection(&self, other: &Rect) -> Option<Rect> {
        let min = Point::new(self.min.x.max(other.min.x), self.min.y.max(other.min.y));
        let max = Point::new(self.max.x.min(other.max.x), self.max.y.min(other.max.y));
        (min.x < max.x && min.y < max.y).then_some(Rect::new(min, max))
    }

    pub fn iou(&self, other: &Rect) -> f64 {
        let inter = self.intersection(other).map_or(0.0, |r| r.area());
        let union = self.area() + other.area() - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }

    /// The corners clockwise (in image space) from the top-left.
    pub fn corners(&self) -> [Point; 4] {
        [
            self.min,
            Point::new(self.max.x, self.min.y),
            self.max,
            Point::new(self.min.x, self.max.y),
        ]
    }

    /// The smallest box holding all `points`; `None` for no points or non-finite ones.
    pub fn bounding(points: &[Point]) -> Option<Rect> {
        let first = points.first()?;
        let mut rect = Rect::new(*first, *first);
        for p in points {
            if !(p.x.is_finite() && p.y.is_finite()) {
                return None;
            }
            rect.min.x = rect.min.x.min(p.x);
            rect.min.y = rect.min.y.min(p.y);
            rect.max.x = rect.max.x.max(p.x);
            rect.max.y = rect.max.y.max(p.y);
        }
        Some(rect)
    }
}

fn distance(a: Point, b: Point) -> f64 {
    (a.x - b.x).hypot(a.y - b.y)
}

/// Shoelace area of a closed polygon (always non-negative).
pub fn polygon_area(points: &[Point]) -> f64 {
    signed_area(points).abs()
}

fn signed_area(points: &[Point]) -> f64 {
    if points.len() < 3 {
        return 0.0;
    }
    let mut twice = 0.0;
    for (i, a) in points.iter().enumerate() {
        let b = points[(i + 1) % points.len()];
        twice += a.x * b.y - b.x * a.y;
    }
    twice / 2.0
}

/// Even-odd rule; points on an edge may fall either way.
pub fn polygon_contains(points: &[Point], point: Point) -> bool {
    let mut inside = false;
    let mut j = points.len().wrapping_sub(1);
    for (i, a) in points.iter().enumerate() {
        let b = points[j];
        if (a.y > point.y) != (b.y > point.y)
            && point.x < (b.x - a.x) * (point.y - a.y) / (b.y - a.y) + a.x
        {
            inside = !inside;
        }
        j = i;
    }
    inside
}

fn distance_to_segment(point: Point, a: Point, b: Point) -> f64 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let length_squared = dx * dx + dy * dy;
    if length_squared == 0.0 {
        return distance(point, a);
    }
    let t = (((point.x - a.x) * dx + (point.y - a.y) * dy) / length_squared).clamp(0.0, 1.0);
    distance(point, Point::new(a.x + t * dx, a.y + t * dy))
}

/// Whether a polygon is convex (either orientation); degenerate polygons are not.
pub fn polygon_is_convex(points: &[Point]) -> bool {
    if points.len() < 3 {
        return false;
    }
    let mut sign = 0.0_f64;
    for i in 0..points.len() {
        let a = points[i];
        let b = points[(i + 1) % points.len()];
        let c = points[(i + 2) % points.len()];
        let cross = (b.x - a.x) * (c.y - b.y) - (b.y - a.y) * (c.x - b.x);
        if cross != 0.0 {
            if sign != 0.0 && cross.signum() != sign {
                return false;
            }
            sign = cross.signum();
        }
    }
    sign != 0.0
}

/// Sutherland–Hodgman: `subject` clipped by the convex polygon `clip`.
pub fn clip_polygon_by_convex(subject: &[Point], clip: &[Point]) -> Vec<Point> {
    let orientation = signed_area(clip).signum();
    let mut output = subject.to_vec();
    for i in 0..clip.len() {
        if output.is_empty() {
            break;
        }
        let (ca, cb) = (clip[i], clip[(i + 1) % clip.len()]);
        let inside = |p: Point| {
            ((cb.x - ca.x) * (p.y - ca.y) - (cb.y - ca.y) * (p.x - ca.x)) * orientation >= 0.0
        };
        let intersect = |p: Point, q: Point| {
            let (a1, b1) = (cb.y - ca.y, ca.x - cb.x);
            let c1 = a1 * ca.x + b1 * ca.y;
            let (a2, b2) = (q.y - p.y, p.x - q.x);
            let c2 = a2 * p.x + b2 * p.y;
            let det = a1 * b2 - a2 * b1;
            if det == 0.0 {
                p
            } else {
                Point::new((b2 * c1 - b1 * c2) / det, (a1 * c2 - a2 * c1) / det)
            }
        };
        let input = std::mem::take(&mut output);
        for (j, &current) in input.iter().enumerate() {
            let previous = input[(j + input.len() - 1) % input.len()];
            match (inside(current), inside(previous)) {
                (true, true) => output.push(current),
                (true, false) => {
                    output.push(intersect(previous, current));
                    output.push(current);
                }
                (false, true) => output.push(intersect(previous, current)),
                (false, false) => {}
            }
        }
    }
    output
}

/// The circle of a circle shape: centre and radius.
fn circle_of(shape: &Shape) -> Option<(Point, f64)> {
    match shape.points_in_image.as_slice() {
        [center, on_circle] => Some((*center, distance(*center, *on_circle))),
        _ => None,
    }
}

/// The outline of a shape that has an area, as a polygon in image pixels: rectangles give
/// their four corners, circles [`CIRCLE_POLYGON_VERTICES`] vertices, masks their box.
/// `None` for points, lines and linestrips, and for shapes with too few points.
pub fn outline_polygon(shape: &Shape) -> Option<Vec<Point>> {
    if !shape.has_valid_point_count() {
        return None;
    }
    match shape.kind {
        ShapeKind::Rectangle | ShapeKind::Mask => {
            if shape.points_in_image.len() == 4 && shape.kind == ShapeKind::Rectangle {
                Some(shape.points_in_image.clone())
            } else {
                Rect::bounding(&shape.points_in_image).map(|r| r.corners().to_vec())
            }
        }
        ShapeKind::RotatedRectangle | ShapeKind::Polygon => Some(shape.points_in_image.clone()),
        ShapeKind::Circle => {
            let (center, radius) = circle_of(shape)?;
            Some(
                (0..CIRCLE_POLYGON_VERTICES)
                    .map(|i| {
                        let angle =
                            i as f64 * std::f64::consts::TAU / CIRCLE_POLYGON_VERTICES as f64;
                        Point::new(
                            center.x + radius * angle.cos(),
                            center.y + radius * angle.sin(),
                        )
                    })
                    .collect(),
            )
        }
        ShapeKind::Point | ShapeKind::Line | ShapeKind::Linestrip => None,
    }
}

/// Area in square image pixels. Points and lines have none; a mask counts its whole box
/// (its pixels are not decoded here).
pub fn area_in_pixels(shape: &Shape) -> f64 {
    match shape.kind {
        ShapeKind::Circle => circle_of(shape).map_or(0.0, |(_, r)| std::f64::consts::PI * r * r),
        ShapeKind::Rectangle if shape.points_in_image.len() == 2 => {
            bbox_in_image(shape).map_or(0.0, |r| r.area())
        }
        _ => outline_polygon(shape).map_or(0.0, |polygon| polygon_area(&polygon)),
    }
}

/// The bounding box in image pixels (a circle's whole disc).
pub fn bbox_in_image(shape: &Shape) -> Option<Rect> {
    if shape.kind == ShapeKind::Circle {
        let (center, radius) = circle_of(shape)?;
        return Some(Rect::new(
            Point::new(center.x - radius, center.y - radius),
            Point::new(center.x + radius, center.y + radius),
        ));
    }
    Rect::bounding(&shape.points_in_image)
}

/// Hit test in image pixels: inside an area shape, or within `tolerance_px` of a point or a
/// line (and of the outline of any shape).
pub fn contains_point(shape: &Shape, point: Point, tolerance_px: f64) -> bool {
    let points = &shape.points_in_image;
    match shape.kind {
        ShapeKind::Point => points
            .first()
            .is_some_and(|p| distance(*p, point) <= tolerance_px),
        ShapeKind::Line | ShapeKind::Linestrip => points
            .windows(2)
            .any(|w| distance_to_segment(point, w[0], w[1]) <= tolerance_px),
        ShapeKind::Circle => {
            circle_of(shape).is_some_and(|(c, r)| distance(c, point) <= r + tolerance_px)
        }
        _ => outline_polygon(shape).is_some_and(|polygon| {
            polygon_contains(&polygon, point)
                || (0..polygon.len()).any(|i| {
                    distance_to_segment(point, polygon[i], polygon[(i + 1) % polygon.len()])
                        <= tolerance_px
                })
        }),
    }
}

/// Cells per side of the grid that estimates the IoU of two concave polygons.
const IOU_GRID_CELLS: usize = 256;

/// Intersection over union of the areas of two shapes, in [0, 1]; 0 when either has no area.
///
/// Exact for two axis-aligned two-point rectangles and whenever one outline is convex;
/// for two concave polygons an estimate on a 256×256 grid over their common box (error
/// about 1/256 of that box's side).
pub fn shape_iou(a: &Shape, b: &Shape) -> f64 {
    if a.kind == ShapeKind::Rectangle
        && b.kind == ShapeKind::Rectangle
        && a.points_in_image.len() == 2
        && b.points_in_image.len() == 2
    {
        return match (bbox_in_image(a), bbox_in_image(b)) {
            (Some(ra), Some(rb)) => ra.iou(&rb),
            _ => 0.0,
        };
    }
    let (Some(pa), Some(pb)) = (outline_polygon(a), outline_polygon(b)) else {
        return 0.0;
    };
    polygon_iou(&pa, &pb)
}

/// IoU of two simple polygons (see [`shape_iou`] for exactness).
pub fn polygon_iou(a: &[Point], b: &[Point]) -> f64 {
    let (area_a, area_b) = (polygon_area(a), polygon_area(b));
    if area_a <= 0.0 || area_b <= 0.0 {
        return 0.0;
    }
    let intersection = if polygon_is_convex(b) {
        polygon_area(&clip_polygon_by_convex(a, b))
    } else if polygon_is_convex(a) {
        polygon_area(&clip_polygon_by_convex(b, a))
    } else {
        let (Some(ra), Some(rb)) = (Rect::bounding(a), Rect::bounding(b)) else {
            return 0.0;
        };
        let Some(common) = ra.intersection(&rb) else {
            return 0.0;
        };
        let (cell_w, cell_h) = (
            common.width() / IOU_GRID_CELLS as f64,
            common.height() / IOU_GRID_CELLS as f64,
        );
        let mut hits = 0usize;
        for row in 0..IOU_GRID_CELLS {
            for column in 0..IOU_GRID_CELLS {
                let p = Point::new(
                    common.min.x + (column as f64 + 0.5) * cell_w,
                    common.min.y + (row as f64 + 0.5) * cell_h,
                );
                if polygon_contains(a, p) && polygon_contains(b, p) {
                    hits += 1;
                }
            }
        }
        hits as f64 * cell_w * cell_h
    };
    let union = area_a + area_b - intersection;
    if union > 0.0 {
        (intersection / union).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

fn clamp_point(point: Point, image: Rect) -> Point {
    Point::new(
        point.x.clamp(image.min.x, image.max.x),
        point.y.clamp(image.min.y, image.max.y),
    )
}

/// Whether every point lies in the image (with `tolerance_px` of slack on each side).
pub fn points_in_image(shape: &Shape, image_size: Size, tolerance_px: f64) -> bool {
    shape.points_in_image.iter().all(|p| {
        p.x >= -tolerance_px
            && p.y >= -tolerance_px
            && p.x <= image_size.width + tolerance_px
            && p.y <= image_size.height + tolerance_px
    })
}

/// The shape cut to the image. Rectangles, masks and line points are clamped; polygons and
/// rotated rectangles are clipped exactly (a rotated rectangle that is cut becomes a polygon);
/// a circle or point is kept whole if its centre is inside. `None` when nothing is left.
pub fn clipped_to_image(shape: &Shape, image_size: Size) -> Option<Shape> {
    let image = Rect::of_image(image_size);
    if points_in_image(shape, image_size, 0.0) {
        return Some(shape.clone());
    }
    let mut clipped = shape.clone();
    match shape.kind {
        ShapeKind::Point | ShapeKind::Circle => {
            return shape
                .points_in_image
                .first()
                .is_some_and(|p| image.contains(*p))
                .then_some(clipped);
        }
        ShapeKind::Rectangle | ShapeKind::Mask | ShapeKind::Line | ShapeKind::Linestrip => {
            let rect = bbox_in_image(shape)?;
            let is_area = matches!(shape.kind, ShapeKind::Rectangle | ShapeKind::Mask);
            if is_area && rect.intersection(&image).is_none() {
                return None;
            }
            clipped.points_in_image = shape
                .points_in_image
                .iter()
                .map(|p| clamp_point(*p, image))
                .collect();
        }
        ShapeKind::Polygon | ShapeKind::RotatedRectangle => {
            let polygon = clip_polygon_by_convex(&shape.points_in_image, &image.corners());
            if polygon.len() < 3 || polygon_area(&polygon) <= 0.0 {
                return None;
            }
            clipped.kind = ShapeKind::Polygon;
            clipped.points_in_image = polygon;
        }
    }
    Some(clipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(x: f64, y: f64) -> Point {
        Point::new(x, y)
    }

    fn close(a: f64, b: f64, eps: f64) -> bool {
        (a - b).abs() <= eps
    }

    #[test]
    fn areas() {
        assert_eq!(
            area_in_pixels(&Shape::rectangle("a", p(10.0, 10.0), p(0.0, 20.0))),
            100.0
        );
        let triangle = Shape::polygon("a", vec![p(0.0, 0.0), p(4.0, 0.0), p(0.0, 3.0)]);
        assert_eq!(area_in_pixels(&triangle), 6.0);
        let circle = Shape::new("a", ShapeKind::Circle, vec![p(5.0, 5.0), p(5.0, 7.0)]);
        assert!(close(
            area_in_pixels(&circle),
            std::f64::consts::PI * 4.0,
            1e-12
        ));
        assert_eq!(
            area_in_pixels(&Shape::new("a", ShapeKind::Point, vec![p(1.0, 1.0)])),
            0.0
        );
        let rotated = Shape::rotated_rectangle("a", p(50.0, 50.0), Size::new(10.0, 4.0), 0.7);
        assert!(close(area_in_pixels(&rotated), 40.0, 1e-9));
    }

    #[test]
    fn bbox_of_circle_is_its_disc() {
        let circle = Shape::new("a", ShapeKind::Circle, vec![p(5.0, 5.0), p(8.0, 9.0)]);
        let rect = bbox_in_image(&circle).expect("circle has a box");
        assert_eq!(rect, Rect::new(p(0.0, 0.0), p(10.0, 10.0)));
    }

    #[test]
    fn hit_testing() {
        let square = Shape::polygon(
            "a",
            vec![p(0.0, 0.0), p(10.0, 0.0), p(10.0, 10.0), p(0.0, 10.0)],
        );
        assert!(contains_point(&square, p(5.0, 5.0), 0.0));
        assert!(!contains_point(&square, p(11.0, 5.0), 0.5));
        assert!(contains_point(&square, p(10.4, 5.0), 0.5));
        let line = Shape::new("a", ShapeKind::Line, vec![p(0.0, 0.0), p(10.0, 0.0)]);
        assert!(contains_point(&line, p(5.0, 1.0), 1.0));
        assert!(!contains_point(&line, p(5.0, 2.0), 1.0));
        let circle = Shape::new("a", ShapeKind::Circle, vec![p(0.0, 0.0), p(3.0, 4.0)]);
        assert!(contains_point(&circle, p(4.9, 0.0), 0.0));
        assert!(!contains_point(&circle, p(5.1, 0.0), 0.0));
    }

    #[test]
    fn iou_of_boxes_and_polygons() {
        let a = Shape::rectangle("a", p(0.0, 0.0), p(10.0, 10.0));
        let b = Shape::rectangle("b", p(5.0, 0.0), p(15.0, 10.0));
        assert!(close(shape_iou(&a, &b), 50.0 / 150.0, 1e-12));
        assert_eq!(shape_iou(&a, &a), 1.0);
        let pa = Shape::polygon(
            "a",
            vec![p(0.0, 0.0), p(10.0, 0.0), p(10.0, 10.0), p(0.0, 10.0)],
        );
        let pb = Shape::polygon(
            "b",
            vec![p(5.0, 0.0), p(15.0, 0.0), p(15.0, 10.0), p(5.0, 10.0)],
        );
        assert!(close(shape_iou(&pa, &pb), 50.0 / 150.0, 1e-12));
        // Two concave "L" shapes: estimated on the grid.
        let l = |dx: f64| {
            vec![
                p(dx, 0.0),
                p(dx + 10.0, 0.0),
                p(dx + 10.0, 5.0),
                p(dx + 5.0, 5.0),
                p(dx + 5.0, 10.0),
                p(dx, 10.0),
            ]
        };
        let iou = polygon_iou(&l(0.0), &l(0.0));
        assert!(close(iou, 1.0, 0.02), "{iou}");
        // Shifted by 5: only the 5×5 square where the bars overlap is shared, of 75 + 75
        // - 25 = 125: IoU 0.2.
        let iou = polygon_iou(&l(0.0), &l(5.0));
        assert!(close(iou, 0.2, 0.02), "{iou}");
        let disjoint = Shape::rectangle("c", p(100.0, 100.0), p(110.0, 110.0));
        assert_eq!(shape_iou(&a, &disjoint), 0.0);
        assert_eq!(
            shape_iou(&a, &Shape::new("p", ShapeKind::Point, vec![p(1.0, 1.0)])),
            0.0
        );
    }

    #[test]
    fn clipping_to_image() {
        let size = Size::new(100.0, 50.0);
        let rect = Shape::rectangle("a", p(-10.0, 10.0), p(50.0, 80.0));
        let clipped = clipped_to_image(&rect, size).expect("overlaps");
        assert_eq!(clipped.points_in_image, vec![p(0.0, 10.0), p(50.0, 50.0)]);
        let triangle = Shape::polygon("a", vec![p(-50.0, 0.0), p(50.0, 0.0), p(50.0, 100.0)]);
        let clipped = clipped_to_image(&triangle, size).expect("overlaps");
        assert!(points_in_image(&clipped, size, 1e-9));
        assert!(close(area_in_pixels(&clipped), 50.0 * 50.0, 1e-9));
        let outside = Shape::rectangle("a", p(200.0, 200.0), p(300.0, 300.0));
        assert_eq!(clipped_to_image(&outside, size), None);
        let inside = Shape::new("a", ShapeKind::Point, vec![p(1.0, 1.0)]);
        assert_eq!(clipped_to_image(&inside, size), Some(inside));
    }
}
