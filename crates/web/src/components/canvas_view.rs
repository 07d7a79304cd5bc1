//! The canvas (centre): the open image with its shapes, the tools, zoom and pan, and the
//! previous/next buttons.

use leptos::prelude::*;
use sightline_core::annotation::ShapeKind;
use sightline_core::editing::{is_drag_kind, shape_at, shape_from_drag, vertex_at};
use sightline_core::history::{Command, GestureId};
use sightline_core::view::{Point, Size, ViewTransform};
use web_sys::{HtmlCanvasElement, PointerEvent};

use crate::app::{AppState, OpenImage};
use crate::render::{self, Scene};
use crate::studio::{Draft, Studio, TOOLS, Tool};

/// How near (view pixels) the pointer must be to pick a shape, a vertex, or close a polygon.
const PICK_TOLERANCE: f64 = 5.0;
const HANDLE_TOLERANCE: f64 = 7.0;
/// A press and release closer than this (view pixels) are a click, not a drag.
const CLICK_SLOP: f64 = 3.0;
const MIN_SCALE: f64 = 0.01;
const MAX_SCALE: f64 = 64.0;

/// What the pointer is doing between press and release.
#[derive(Clone, Debug)]
enum Gesture {
    Idle,
    Pan {
        last_in_view: Point,
    },
    MoveShapes {
        gesture: GestureId,
        indices: Vec<usize>,
        last_in_image: Point,
    },
    MoveVertex {
        gesture: GestureId,
        shape: usize,
        vertex: usize,
    },
    DragCreate {
        start_in_view: Point,
    },
}

fn point_in_view(canvas: &HtmlCanvasElement, event: &web_sys::MouseEvent) -> Point {
    let rect = canvas.get_bounding_client_rect();
    Point::new(
        f64::from(event.client_x()) - rect.left(),
        f64::from(event.client_y()) - rect.top(),
    )
}

fn distance(a: Point, b: Point) -> f64 {
    (a.x - b.x).hypot(a.y - b.y)
}

/// Zooms about the centre of the view to 1 view pixel per image pixel.
pub fn actual_size(studio: Studio) {
    let Some(transform) = studio.drawn_transform.get_value() else {
        return;
    };
    let size = studio.view_size.get_untracked();
    let centre = Point::new(size.width / 2.0, size.height / 2.0);
    let factor = 1.0 / transform.scale;
    studio.view.set(Some(
        transform.zoomed_about(centre, factor, MIN_SCALE, MAX_SCALE),
    ));
}

#[component]
pub fn CanvasView() -> impl IntoView {
    let state = expect_context::<AppState>();
    let ai = expect_context::<crate::ai::Ai>();
    let studio = expect_context::<Studio>();
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    // Bumped on window resize so the image is refitted.
    let resized = RwSignal::new(0_u32);
    let resize = window_event_listener(leptos::ev::resize, move |_| resized.update(|n| *n += 1));
    on_cleanup(move || resize.remove());
    let drawn = RwSignal::new(false);
    let draw_error = RwSignal::new(None::<String>);
    let gesture = StoredValue::new(Gesture::Idle);

    // A new image starts fitted, with nothing selected or being drawn.
    Effect::new(move |_| {
        state.cursor.track();
        studio.view.set(None);
        studio.selection.set(Vec::new());
        studio.hidden.set(Default::default());
        studio.draft.set(Draft::None);
    });

    // Redraws wait for the next animation frame, so that many pointer moves in one frame
    // draw once; a change of the shape being drawn redraws only the overlay.
    let overlay_ref = NodeRef::<leptos::html::Canvas>::new();
    let pending = StoredValue::new((false, false));
    let draw_scene = move || {
        let Some(canvas) = canvas_ref.get_untracked() else {
            return;
        };
        let view_size = render::prepare(&canvas);
        if studio.view_size.get_untracked() != view_size {
            studio.view_size.set(view_size);
        }
        let zoom = studio.view.get_untracked();
        let selection = studio.selection.get_untracked();
        studio.hidden.with_untracked(|hidden| {
            state.open_image.with_untracked(|open| {
                let bitmap = match open {
                    OpenImage::Loaded(bitmap) => Some(bitmap),
                    _ => None,
                };
                if view_size.is_empty() {
                    drawn.set(false);
                    return;
                }
                let transform = match (bitmap, zoom) {
                    (Some(_), Some(zoom)) => zoom,
                    (Some(bitmap), None) => ViewTransform::fit(
                        Size::new(f64::from(bitmap.width()), f64::from(bitmap.height())),
                        view_size,
                    ),
                    (None, _) => ViewTransform::IDENTITY,
                };
                studio.drawn_transform.set_value(bitmap.map(|_| transform));
                let path = studio.current_path.get_untracked();
                let class_colours = studio.class_colours.get_untracked();
                let result = studio.dataset.with_untracked(|dataset| {
                    let shapes = path
                        .as_deref()
                        .and_then(|p| dataset.image(p))
                        .map_or(&[][..], |image| &image.shapes[..]);
                    let scene = Scene {
                        shapes,
                        classes: &dataset.classes,
                        class_colours: &class_colours,
                        selection: &selection,
                        hidden,
                    };
                    render::draw(&canvas, bitmap, &transform, &scene)
                });
                match result {
                    Ok(()) => {
                        drawn.set(bitmap.is_some());
                        draw_error.set(None);
                    }
                    Err(err) => {
                        drawn.set(false);
                        draw_error.set(Some(err));
                    }
                }
            })
        });
    };
    let draw_overlay = move || {
        let Some(overlay) = overlay_ref.get_untracked() else {
            return;
        };
        render::prepare(&overlay);
        let transform = studio.drawn_transform.get_value();
        let result = studio
            .draft
            .with_untracked(|draft| render::draw_overlay(&overlay, transform.as_ref(), draft));
        if let Err(err) = result {
            draw_error.set(Some(err));
        }
    };
    let schedule = move |scene: bool| {
        let (scene_pending, overlay_pending) = pending.get_value();
        pending.set_value((scene_pending || scene, true));
        if scene_pending || overlay_pending {
            return;
        }
        request_animation_frame(move || {
            let (scene, _) = pending.get_value();
            pending.set_value((false, false));
            if scene {
                draw_scene();
            }
            draw_overlay();
        });
    };
    Effect::new(move || {
        resized.track();
        canvas_ref.track();
        state.open_image.track();
        studio.view.track();
        studio.selection.track();
        studio.hidden.track();
        studio.dataset.track();
        studio.class_colours.track();
        state.cursor.track();
        schedule(true);
    });
    Effect::new(move || {
        studio.draft.track();
        schedule(false);
    });

    let on_pointer_down = move |event: PointerEvent| {
        let Some(canvas) = canvas_ref.get_untracked() else {
            return;
        };
        let Some(transform) = studio.drawn_transform.get_value() else {
            return;
        };
        let at_view = point_in_view(&canvas, &event);
        let at_image = transform.image_from_view(at_view);
        let _ = canvas.set_pointer_capture(event.pointer_id());
        if event.button() == 1 || (event.button() == 0 && studio.space_held.get_value()) {
            event.prevent_default();
            gesture.set_value(Gesture::Pan {
                last_in_view: at_view,
            });
            return;
        }
        if event.button() != 0 {
            return;
        }
        match studio.tool.get_untracked() {
            Tool::Select => {
                let shapes = studio.current_shapes();
                let selection = studio.selection.get_untracked();
                let hidden = studio.hidden.get_untracked();
                let additive = event.shift_key() || event.ctrl_key() || event.meta_key();
                let visible_selection: Vec<usize> = selection
                    .iter()
                    .copied()
                    .filter(|i| !hidden.contains(i))
                    .collect();
                if !additive
                    && let Some((shape, vertex)) = vertex_at(
                        &shapes,
                        &visible_selection,
                        at_view,
                        &transform,
                        HANDLE_TOLERANCE,
                    )
                {
                    gesture.set_value(Gesture::MoveVertex {
                        gesture: studio.new_gesture(),
                        shape,
                        vertex,
                    });
                    return;
                }
                match shape_at(
                    &shapes,
                    |i| !hidden.contains(&i),
                    at_view,
                    &transform,
                    PICK_TOLERANCE,
                ) {
                    Some(index) if additive => {
                        studio.selection.update(|s| {
                            if let Some(at) = s.iter().position(|&i| i == index) {
                                s.remove(at);
                            } else {
                                s.push(index);
                            }
                        });
                    }
                    Some(index) => {
                        let indices = if selection.contains(&index) {
                            selection
                        } else {
                            vec![index]
                        };
                        studio.selection.set(indices.clone());
                        gesture.set_value(Gesture::MoveShapes {
                            gesture: studio.new_gesture(),
                            indices,
                            last_in_image: at_image,
                        });
                    }
                    None if !additive => studio.selection.set(Vec::new()),
                    None => {}
                }
            }
            Tool::Create(ShapeKind::Point) => {
                let label = studio.current_label();
                if let Some(shape) = shape_from_drag(ShapeKind::Point, &label, at_image, at_image) {
                    studio.create_shape(shape);
                }
            }
            Tool::Create(kind) if is_drag_kind(kind) => {
                if let Draft::Drag {
                    kind,
                    start_in_image,
                    awaiting_click: true,
                    ..
                } = studio.draft.get_untracked()
                {
                    // The second click of a click-click box.
                    studio.draft.set(Draft::None);
                    let label = studio.current_label();
                    if let Some(shape) = shape_from_drag(kind, &label, start_in_image, at_image) {
                        studio.create_shape(shape);
                    }
                    return;
                }
                studio.draft.set(Draft::Drag {
                    kind,
                    start_in_image: at_image,
                    end_in_image: at_image,
                    awaiting_click: false,
                });
                gesture.set_value(Gesture::DragCreate {
                    start_in_view: at_view,
                });
            }
            Tool::Create(kind) => {
                // Polygon or linestrip: each click adds a vertex; a click on the first vertex
                // closes a polygon.
                match studio.draft.get_untracked() {
                    Draft::Vertices {
                        kind,
                        mut points_in_image,
                        ..
                    } => {
                        let closes = kind == ShapeKind::Polygon
                            && points_in_image.len() >= 3
                            && points_in_image.first().is_some_and(|first| {
                                distance(transform.view_from_image(*first), at_view)
                                    <= HANDLE_TOLERANCE
                            });
                        if closes {
                            studio.finish_vertices_draft();
                            return;
                        }
                        let repeats = points_in_image.last().is_some_and(|last| {
                            distance(transform.view_from_image(*last), at_view) <= CLICK_SLOP
                        });
                        if !repeats {
                            points_in_image.push(at_image);
                        }
                        studio.draft.set(Draft::Vertices {
                            kind,
                            points_in_image,
                            pointer_in_image: Some(at_image),
                        });
                    }
                    _ => studio.draft.set(Draft::Vertices {
                        kind,
                        points_in_image: vec![at_image],
                        pointer_in_image: Some(at_image),
                    }),
                }
            }
        }
    };

    let on_pointer_move = move |event: PointerEvent| {
        let Some(canvas) = canvas_ref.get_untracked() else {
            return;
        };
        let Some(transform) = studio.drawn_transform.get_value() else {
            return;
        };
        let at_view = point_in_view(&canvas, &event);
        let at_image = transform.image_from_view(at_view);
        match gesture.get_value() {
            Gesture::Idle => match studio.draft.get_untracked() {
                Draft::Vertices {
                    kind,
                    points_in_image,
                    ..
                } => studio.draft.set(Draft::Vertices {
                    kind,
                    points_in_image,
                    pointer_in_image: Some(at_image),
                }),
                Draft::Drag {
                    kind,
                    start_in_image,
                    awaiting_click: true,
                    ..
                } => studio.draft.set(Draft::Drag {
                    kind,
                    start_in_image,
                    end_in_image: at_image,
                    awaiting_click: true,
                }),
                _ => {}
            },
            Gesture::Pan { last_in_view } => {
                let delta = Point::new(at_view.x - last_in_view.x, at_view.y - last_in_view.y);
                studio.view.set(Some(transform.panned_by(delta)));
                gesture.set_value(Gesture::Pan {
                    last_in_view: at_view,
                });
            }
            Gesture::MoveShapes {
                gesture: id,
                indices,
                last_in_image,
            } => {
                let delta = Point::new(at_image.x - last_in_image.x, at_image.y - last_in_image.y);
                if delta.x == 0.0 && delta.y == 0.0 {
                    return;
                }
                // Borrowed, not copied: a drag of 1,000 shapes runs this on every move.
                let command = studio
                    .with_shapes_untracked(|shapes| Command::translate(shapes, &indices, delta));
                if let Ok(command) = command {
                    studio.apply(command, Some(id));
                }
                gesture.set_value(Gesture::MoveShapes {
                    gesture: id,
                    indices,
                    last_in_image: at_image,
                });
            }
            Gesture::MoveVertex {
                gesture: id,
                shape,
                vertex,
            } => {
                let command = studio.with_shapes_untracked(|shapes| {
                    Command::drag_vertex(shapes, shape, vertex, at_image)
                });
                if let Ok(command) = command {
                    studio.apply(command, Some(id));
                }
            }
            Gesture::DragCreate { .. } => {
                if let Draft::Drag {
                    kind,
                    start_in_image,
                    ..
                } = studio.draft.get_untracked()
                {
                    studio.draft.set(Draft::Drag {
                        kind,
                        start_in_image,
                        end_in_image: at_image,
                        awaiting_click: false,
                    });
                }
            }
        }
    };

    let on_pointer_up = move |event: PointerEvent| {
        let Some(canvas) = canvas_ref.get_untracked() else {
            return;
        };
        let _ = canvas.release_pointer_capture(event.pointer_id());
        let finished = gesture.get_value();
        gesture.set_value(Gesture::Idle);
        let Gesture::DragCreate { start_in_view } = finished else {
            return;
        };
        let Some(transform) = studio.drawn_transform.get_value() else {
            return;
        };
        let at_view = point_in_view(&canvas, &event);
        let Draft::Drag {
            kind,
            start_in_image,
            ..
        } = studio.draft.get_untracked()
        else {
            return;
        };
        if distance(start_in_view, at_view) <= CLICK_SLOP {
            // A click: the box ends at the next click.
            studio.draft.set(Draft::Drag {
                kind,
                start_in_image,
                end_in_image: start_in_image,
                awaiting_click: true,
            });
            return;
        }
        studio.draft.set(Draft::None);
        let label = studio.current_label();
        let at_image = transform.image_from_view(at_view);
        if let Some(shape) = shape_from_drag(kind, &label, start_in_image, at_image) {
            studio.create_shape(shape);
        }
    };

    let on_double_click = move |_| {
        if matches!(studio.draft.get_untracked(), Draft::Vertices { .. }) {
            studio.finish_vertices_draft();
        }
    };

    let on_wheel = move |event: web_sys::WheelEvent| {
        let Some(canvas) = canvas_ref.get_untracked() else {
            return;
        };
        let Some(transform) = studio.drawn_transform.get_value() else {
            return;
        };
        event.prevent_default();
        let at_view = point_in_view(&canvas, &event);
        let factor = (-event.delta_y() * 0.0015).exp();
        studio.view.set(Some(
            transform.zoomed_about(at_view, factor, MIN_SCALE, MAX_SCALE),
        ));
    };

    let message = move || {
        if let Some(err) = draw_error.get() {
            return Some(err);
        }
        state.open_image.with(|open| match open {
            OpenImage::Failed(err) => Some(err.clone()),
            OpenImage::Loading => Some("Loading…".to_owned()),
            OpenImage::None => Some("No image open".to_owned()),
            OpenImage::Loaded(_) => None,
        })
    };
    let undo_redo = move || studio.can_undo_redo();
    let shape_count = move || studio.with_current_shapes(|shapes| shapes.len());

    view! {
        <main class="canvas-area">
            <div class="toolbar">
                <button
                    data-testid="previous"
                    title="Previous image (A)"
                    disabled=move || !state.cursor.get().has_previous()
                    on:click=move |_| state.step(ai, false)
                >
                    "◀ Prev"
                </button>
                <span class="file-name" data-testid="file-name">
                    {move || state.current_name().unwrap_or_default()}
                </span>
                <button
                    data-testid="next"
                    title="Next image (D)"
                    disabled=move || !state.cursor.get().has_next()
                    on:click=move |_| state.step(ai, true)
                >
                    "Next ▶"
                </button>
            </div>
            <div class="toolbar tools" role="toolbar" aria-label="Tools">
                {TOOLS
                    .iter()
                    .map(|&(tool, key, name)| {
                        view! {
                            <button
                                class="tool"
                                class:active=move || studio.tool.get() == tool
                                aria-pressed=move || if studio.tool.get() == tool { "true" } else { "false" }
                                data-testid=format!("tool-{}", tool.slug())
                                title=format!("{name} ({key})")
                                on:click=move |_| {
                                    studio.draft.set(Draft::None);
                                    studio.tool.set(tool);
                                }
                            >
                                {name}
                            </button>
                        }
                    })
                    .collect_view()}
                <span class="spacer"></span>
                <button data-testid="undo" title="Undo (Ctrl+Z)" disabled=move || !undo_redo().0
                    on:click=move |_| studio.undo_or_redo(false)>"Undo"</button>
                <button data-testid="redo" title="Redo (Ctrl+Shift+Z, Ctrl+Y)" disabled=move || !undo_redo().1
                    on:click=move |_| studio.undo_or_redo(true)>"Redo"</button>
                <button data-testid="fit" title="Fit the image (F)" on:click=move |_| studio.view.set(None)>"Fit"</button>
                <button data-testid="actual-size" title="Actual size (0)" on:click=move |_| actual_size(studio)>"1:1"</button>
                <button data-testid="help-button" title="Keyboard shortcuts (?)"
                    on:click=move |_| studio.help_open.update(|open| *open = !*open)>"?"</button>
            </div>
            <div class="canvas-frame">
                <canvas
                    node_ref=canvas_ref
                    data-testid="canvas"
                    data-drawn=move || if drawn.get() { "true" } else { "false" }
                    data-shape-count=shape_count
                    class:tool-create=move || studio.tool.get() != Tool::Select
                    on:pointerdown=on_pointer_down
                    on:pointermove=on_pointer_move
                    on:pointerup=on_pointer_up
                    on:dblclick=on_double_click
                    on:wheel=on_wheel
                    on:contextmenu=|event| event.prevent_default()
                ></canvas>
                <canvas node_ref=overlay_ref class="overlay" data-testid="overlay" aria-hidden="true"></canvas>
                <Show when=move || message().is_some()>
                    <p class="canvas-message" role="status">{message}</p>
                </Show>
            </div>
        </main>
    }
}
