//! Coordinate spaces of the canvas.
//!
//! Points are named by the space they live in: `image` (pixels of the original image, origin
//! top-left) and `view` (CSS pixels of the canvas element). A [`ViewTransform`] is
//! `view_from_image`: a uniform scale followed by a translation.

use serde::{Deserialize, Serialize};

/// A width and height in some space.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Size {
    pub width: f64,
    pub height: f64,
}

impl Size {
    pub fn new(width: f64, height: f64) -> Self {
        Self { width, height }
    }

    /// True when either side is zero, negative or not a number: nothing can be drawn into it.
    pub fn is_empty(&self) -> bool {
        !(self.width > 0.0 && self.height > 0.0)
    }
}

/// A point in some space.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    pub fn new(x: f64, y: f64) -> Self {
        Self { x, y }
    }
}

/// `view_from_image`: `view = image * scale + offset`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ViewTransform {
    /// View pixels per image pixel.
    pub scale: f64,
    /// Where the image origin lands in the view.
    pub offset_in_view: Point,
}

impl ViewTransform {
    pub const IDENTITY: Self = Self {
        scale: 1.0,
        offset_in_view: Point { x: 0.0, y: 0.0 },
    };

    /// The transform that shows the whole image as large as fits in the view, centred, with
    /// its aspect ratio kept. Degenerate sizes give the identity, so a caller never divides by
    /// zero.
    pub fn fit(image_size: Size, view_size: Size) -> Self {
        if image_size.is_empty() || view_size.is_empty() {
            return Self::IDENTITY;
        }
        let scale = (view_size.width / image_size.width).min(view_size.height / image_size.height);
        let offset_in_view = Point::new(
            (view_size.width - image_size.width * scale) / 2.0,
            (view_size.height - image_size.height * scale) / 2.0,
        );
        Self {
            scale,
            offset_in_view,
        }
    }

    pub fn view_from_image(&self, point_in_image: Point) -> Point {
        Point::new(
            point_in_image.x * self.scale + self.offset_in_view.x,
            point_in_image.y * self.scale + self.offset_in_view.y,
        )
    }

    pub fn image_from_view(&self, point_in_view: Point) -> Point {
        Point::new(
            (point_in_view.x - self.offset_in_view.x) / self.scale,
            (point_in_view.y - self.offset_in_view.y) / self.scale,
        )
    }

    /// Zoomed by `factor` (> 1 magnifies) keeping `anchor_in_view` fixed: the image point
    /// under the cursor stays under the cursor. A non-finite or non-positive factor, or a
    /// scale that would leave `min_scale..=max_scale`, is clamped into that range.
    pub fn zoomed_about(
        &self,
        anchor_in_view: Point,
        factor: f64,
        min_scale: f64,
        max_scale: f64,
    ) -> Self {
        let factor = if factor.is_finite() && factor > 0.0 {
            factor
        } else {
            1.0
        };
        let scale = (self.scale * factor).clamp(min_scale, max_scale);
        let anchor_in_image = self.image_from_view(anchor_in_view);
        Self {
            scale,
            offset_in_view: Point::new(
                anchor_in_view.x - anchor_in_image.x * scale,
                anchor_in_view.y - anchor_in_image.y * scale,
            ),
        }
    }

    /// Moved by `delta_in_view` (a drag of the canvas).
    pub fn panned_by(&self, delta_in_view: Point) -> Self {
        Self {
            scale: self.scale,
            offset_in_view: Point::new(
                self.offset_in_view.x + delta_in_view.x,
                self.offset_in_view.y + delta_in_view.y,
            ),
        }
    }

    /// The size an image of `image_size` takes in the view.
    pub fn view_size_of(&self, image_size: Size) -> Size {
        Size::new(
            image_size.width * self.scale,
            image_size.height * self.scale,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_wide_image_in_tall_view_fills_width_and_centres_vertically() {
        let t = ViewTransform::fit(Size::new(200.0, 100.0), Size::new(100.0, 100.0));
        assert_eq!(t.scale, 0.5);
        assert_eq!(t.offset_in_view, Point::new(0.0, 25.0));
        assert_eq!(
            t.view_size_of(Size::new(200.0, 100.0)),
            Size::new(100.0, 50.0)
        );
    }

    #[test]
    fn fit_small_image_scales_up() {
        let t = ViewTransform::fit(Size::new(10.0, 20.0), Size::new(300.0, 200.0));
        assert_eq!(t.scale, 10.0);
        assert_eq!(t.offset_in_view, Point::new(100.0, 0.0));
    }

    #[test]
    fn degenerate_sizes_give_identity() {
        assert_eq!(
            ViewTransform::fit(Size::new(0.0, 10.0), Size::new(10.0, 10.0)),
            ViewTransform::IDENTITY
        );
        assert_eq!(
            ViewTransform::fit(Size::new(10.0, 10.0), Size::new(10.0, f64::NAN)),
            ViewTransform::IDENTITY
        );
    }

    #[test]
    fn zoom_keeps_the_anchor_and_pan_moves() {
        let t = ViewTransform::fit(Size::new(640.0, 480.0), Size::new(800.0, 600.0));
        let anchor = Point::new(123.0, 456.0);
        let under = t.image_from_view(anchor);
        let zoomed = t.zoomed_about(anchor, 2.5, 0.01, 100.0);
        assert!((zoomed.scale - t.scale * 2.5).abs() < 1e-12);
        let still = zoomed.view_from_image(under);
        assert!((still.x - anchor.x).abs() < 1e-9 && (still.y - anchor.y).abs() < 1e-9);
        assert_eq!(t.zoomed_about(anchor, 1e9, 0.01, 100.0).scale, 100.0);
        assert_eq!(t.zoomed_about(anchor, f64::NAN, 0.01, 100.0), t);
        let panned = t.panned_by(Point::new(5.0, -3.0));
        assert_eq!(
            panned.view_from_image(Point::new(0.0, 0.0)),
            Point::new(t.offset_in_view.x + 5.0, t.offset_in_view.y - 3.0)
        );
    }

    #[test]
    fn image_from_view_inverts_view_from_image() {
        let t = ViewTransform::fit(Size::new(640.0, 427.0), Size::new(1013.0, 700.0));
        for &(x, y) in &[(0.0, 0.0), (639.0, 426.0), (12.5, 300.25)] {
            let p = Point::new(x, y);
            let back = t.image_from_view(t.view_from_image(p));
            assert!((back.x - p.x).abs() < 1e-9 && (back.y - p.y).abs() < 1e-9);
        }
    }
}
