//! Drawing the canvas: the open image at the current zoom, its shapes in their label's
//! colour (the selection highlighted, vertices as handles) and the shape being drawn.

use std::collections::{HashMap, HashSet};

use sightline_core::annotation::{Shape, ShapeKind};
use sightline_core::editing::colour_of_label;
use sightline_core::geometry::{bbox_in_image, outline_polygon};
use sightline_core::view::{Point, Size, ViewTransform};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageBitmap};

use crate::image_loader::{draw_bitmap, js_error_text};
use sightline_core::interaction::Draft;

/// Side of a vertex handle of a selected shape, in view pixels.
pub const HANDLE_SIZE: f64 = 7.0;

/// What is drawn over the image.
pub struct Scene<'a> {
    pub shapes: &'a [Shape],
    pub classes: &'a [String],
    /// Colours chosen for classes by name.
    pub class_colours: &'a std::collections::BTreeMap<String, String>,
    pub selection: &'a [usize],
    pub hidden: &'a HashSet<usize>,
}

fn context_of(canvas: &HtmlCanvasElement) -> Result<CanvasRenderingContext2d, String> {
    Ok(canvas
        .get_context("2d")
        .map_err(|err| js_error_text(&err))?
        .ok_or("the canvas has no 2d context")?
        .unchecked_into())
}

/// The canvas size in CSS pixels; sizes its backing store at the device pixel ratio.
pub fn prepare(canvas: &HtmlCanvasElement) -> Size {
    let ratio = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
    let view_size = Size::new(
        f64::from(canvas.client_width()),
        f64::from(canvas.client_height()),
    );
    let width = (view_size.width * ratio).round() as u32;
    let height = (view_size.height * ratio).round() as u32;
    if canvas.width() != width || canvas.height() != height {
        canvas.set_width(width);
        canvas.set_height(height);
    }
    view_size
}

/// Clears the canvas and draws the image (if any: its bitmap and the original's size, which
/// `view_from_image` is for) with `view_from_image`, then the scene.
pub fn draw(
    canvas: &HtmlCanvasElement,
    bitmap: Option<(&ImageBitmap, Size)>,
    view_from_image: &ViewTransform,
    scene: &Scene<'_>,
) -> Result<(), String> {
    let ratio = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
    let view_size = Size::new(
        f64::from(canvas.client_width()),
        f64::from(canvas.client_height()),
    );
    let context = context_of(canvas)?;
    let js = |err: JsValue| js_error_text(&err);
    context
        .set_transform(ratio, 0.0, 0.0, ratio, 0.0, 0.0)
        .map_err(js)?;
    context.clear_rect(0.0, 0.0, view_size.width, view_size.height);
    let Some((bitmap, natural)) = bitmap else {
        return Ok(());
    };
    draw_bitmap(&context, bitmap, natural, view_from_image).map_err(|e| e.to_string())?;

    // Only shapes whose box meets the view are drawn: at high zoom most are off screen.
    let margin_in_image = HANDLE_SIZE / view_from_image.scale.max(f64::MIN_POSITIVE);
    let top_left = view_from_image.image_from_view(Point::new(0.0, 0.0));
    let bottom_right =
        view_from_image.image_from_view(Point::new(view_size.width, view_size.height));
    let in_view = |shape: &Shape| {
        bbox_in_image(shape).is_none_or(|rect| {
            rect.max.x >= top_left.x - margin_in_image
                && rect.min.x <= bottom_right.x + margin_in_image
                && rect.max.y >= top_left.y - margin_in_image
                && rect.min.y <= bottom_right.y + margin_in_image
        })
    };
    let selected: HashSet<usize> = scene.selection.iter().copied().collect();
    // Colours are looked up once per label, not once per shape.
    let mut colours: HashMap<&str, String> = HashMap::new();
    for (index, shape) in scene.shapes.iter().enumerate() {
        if scene.hidden.contains(&index) || !in_view(shape) {
            continue;
        }
        let colour = colours.entry(shape.label.as_str()).or_insert_with(|| {
            match scene.class_colours.get(&shape.label) {
                Some(colour) => colour.clone(),
                None => colour_of_label(scene.classes, &shape.label),
            }
        });
        draw_shape(
            &context,
            shape,
            view_from_image,
            colour,
            selected.contains(&index),
        )?;
    }
    Ok(())
}

/// Clears the overlay canvas and draws the shape being drawn on it. The overlay changes on
/// every pointer move while drawing; the image and the shapes below are not redrawn then.
pub fn draw_overlay(
    canvas: &HtmlCanvasElement,
    view_from_image: Option<&ViewTransform>,
    draft: &Draft,
) -> Result<(), String> {
    let ratio = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
    let view_size = Size::new(
        f64::from(canvas.client_width()),
        f64::from(canvas.client_height()),
    );
    let context = context_of(canvas)?;
    context
        .set_transform(ratio, 0.0, 0.0, ratio, 0.0, 0.0)
        .map_err(|e| js_error_text(&e))?;
    context.clear_rect(0.0, 0.0, view_size.width, view_size.height);
    match view_from_image {
        Some(view_from_image) => draw_draft(&context, draft, view_from_image),
        None => Ok(()),
    }
}

fn trace(context: &CanvasRenderingContext2d, points_in_view: &[Point], closed: bool) {
    context.begin_path();
    for (i, p) in points_in_view.iter().enumerate() {
        if i == 0 {
            context.move_to(p.x, p.y);
        } else {
            context.line_to(p.x, p.y);
        }
    }
    if closed {
        context.close_path();
    }
}

fn draw_shape(
    context: &CanvasRenderingContext2d,
    shape: &Shape,
    view_from_image: &ViewTransform,
    colour: &str,
    selected: bool,
) -> Result<(), String> {
    let in_view: Vec<Point> = shape
        .points_in_image
        .iter()
        .map(|p| view_from_image.view_from_image(*p))
        .collect();
    context.set_stroke_style_str(colour);
    context.set_fill_style_str(colour);
    context.set_line_width(if selected { 3.0 } else { 2.0 });
    context
        .set_line_dash(&js_sys::Array::new())
        .map_err(|e| js_error_text(&e))?;
    match shape.kind {
        ShapeKind::Point => {
            let Some(p) = in_view.first() else {
                return Ok(());
            };
            context.begin_path();
            context
                .arc(
                    p.x,
                    p.y,
                    if selected { 6.0 } else { 4.5 },
                    0.0,
                    std::f64::consts::TAU,
                )
                .map_err(|e| js_error_text(&e))?;
            context.fill();
            context.set_stroke_style_str("#ffffff");
            context.set_line_width(1.5);
            context.stroke();
        }
        ShapeKind::Line | ShapeKind::Linestrip => {
            trace(context, &in_view, false);
            context.stroke();
        }
        ShapeKind::Circle => {
            let [center, edge] = in_view.as_slice() else {
                return Ok(());
            };
            let radius = (edge.x - center.x).hypot(edge.y - center.y);
            context.begin_path();
            context
                .arc(center.x, center.y, radius, 0.0, std::f64::consts::TAU)
                .map_err(|e| js_error_text(&e))?;
            context.set_global_alpha(if selected { 0.35 } else { 0.18 });
            context.fill();
            context.set_global_alpha(1.0);
            context.stroke();
        }
        _ => {
            let Some(outline) = outline_polygon(shape) else {
                return Ok(());
            };
            let outline: Vec<Point> = outline
                .iter()
                .map(|p| view_from_image.view_from_image(*p))
                .collect();
            trace(context, &outline, true);
            context.set_global_alpha(if selected { 0.35 } else { 0.18 });
            context.fill();
            context.set_global_alpha(1.0);
            context.stroke();
        }
    }
    // Vertices as handles: large squares on the selection, small dots elsewhere.
    for p in &in_view {
        if selected {
            let half = HANDLE_SIZE / 2.0;
            context.set_fill_style_str("#ffffff");
            context.fill_rect(p.x - half, p.y - half, HANDLE_SIZE, HANDLE_SIZE);
            context.set_line_width(1.5);
            context.set_stroke_style_str(colour);
            context.stroke_rect(p.x - half, p.y - half, HANDLE_SIZE, HANDLE_SIZE);
        } else if shape.kind != ShapeKind::Point {
            context.set_fill_style_str(colour);
            context.fill_rect(p.x - 2.0, p.y - 2.0, 4.0, 4.0);
        }
    }
    if selected && let Some(first) = in_view.first() {
        context.set_font("12px system-ui, sans-serif");
        context.set_fill_style_str(colour);
        context
            .fill_text(&shape.label, first.x + 6.0, first.y - 6.0)
            .map_err(|e| js_error_text(&e))?;
    }
    Ok(())
}

fn draw_draft(
    context: &CanvasRenderingContext2d,
    draft: &Draft,
    view_from_image: &ViewTransform,
) -> Result<(), String> {
    let dash = js_sys::Array::of2(&JsValue::from(6.0), &JsValue::from(4.0));
    context
        .set_line_dash(&dash)
        .map_err(|e| js_error_text(&e))?;
    context.set_stroke_style_str("#ffffff");
    context.set_line_width(2.0);
    let to_view = |p: &Point| view_from_image.view_from_image(*p);
    match draft {
        Draft::None => {}
        Draft::Drag {
            kind,
            start_in_image,
            end_in_image,
            ..
        } => {
            let (a, b) = (to_view(start_in_image), to_view(end_in_image));
            match kind {
                ShapeKind::Circle => {
                    context.begin_path();
                    let radius = (b.x - a.x).hypot(b.y - a.y);
                    context
                        .arc(a.x, a.y, radius, 0.0, std::f64::consts::TAU)
                        .map_err(|e| js_error_text(&e))?;
                    context.stroke();
                }
                ShapeKind::Line => {
                    trace(context, &[a, b], false);
                    context.stroke();
                }
                _ => context.stroke_rect(
                    a.x.min(b.x),
                    a.y.min(b.y),
                    (b.x - a.x).abs(),
                    (b.y - a.y).abs(),
                ),
            }
        }
        Draft::Vertices {
            points_in_image,
            pointer_in_image,
            kind,
        } => {
            let mut in_view: Vec<Point> = points_in_image.iter().map(to_view).collect();
            if let Some(pointer) = pointer_in_image {
                in_view.push(to_view(pointer));
            }
            trace(context, &in_view, false);
            context.stroke();
            if *kind == ShapeKind::Polygon
                && let Some(first) = in_view.first()
            {
                // The first vertex closes the polygon: show it larger.
                context.set_fill_style_str("#ffffff");
                context.fill_rect(first.x - 4.0, first.y - 4.0, 8.0, 8.0);
            }
        }
    }
    context
        .set_line_dash(&js_sys::Array::new())
        .map_err(|e| js_error_text(&e))?;
    Ok(())
}
