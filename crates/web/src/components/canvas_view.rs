//! The canvas (centre): the open image with its shapes, the tools, zoom and pan, and the
//! previous/next buttons.
//!
//! A thin adapter: DOM events become `core::interaction` inputs ([`Studio::interact`]), and
//! what is drawn is a function of the state alone — the transform comes from
//! [`ViewState::transform`], never from an earlier frame — so the order in which redraws
//! land cannot change the picture. The canvas's `data-shape-count`, `data-drawn` and
//! `data-image` (the drawn image's path) say what the last frame drew, so tests can wait
//! for the frame rather than for the state.

use leptos::prelude::*;
use sightline_core::interaction::{Button, Input, Key, Modifiers, TOOLS, Tool};
use sightline_core::view::{Point, ViewTransform};
use web_sys::{HtmlCanvasElement, MouseEvent, PointerEvent};

use crate::navigation::{Navigation, OpenImage};
use crate::render::{self, Scene};
use crate::studio::{Studio, ViewState};

fn point_in_view(canvas: &HtmlCanvasElement, event: &MouseEvent) -> Point {
    let rect = canvas.get_bounding_client_rect();
    Point::new(
        f64::from(event.client_x()) - rect.left(),
        f64::from(event.client_y()) - rect.top(),
    )
}

/// What the last frame drew.
#[derive(Clone, Debug, Default, PartialEq)]
struct Frame {
    /// The path of the image drawn, if one was.
    image: Option<String>,
    shapes: usize,
}

/// Draws the image and its shapes with the transform in force; returns what it drew.
fn draw_scene(
    canvas: &HtmlCanvasElement,
    nav: Navigation,
    studio: Studio,
    view: ViewState,
) -> Result<Frame, String> {
    let view_size = render::prepare(canvas);
    if view.view_size.get_untracked() != view_size {
        view.view_size.set(view_size);
    }
    if view_size.is_empty() {
        return Ok(Frame::default());
    }
    let transform = view.transform();
    let selection = studio.selection.get_untracked();
    let class_colours = studio.doc.class_colours.get_untracked();
    let path = studio.doc.current_path.get_untracked();
    studio.hidden.with_untracked(|hidden| {
        nav.open_image.with_untracked(|open| {
            let bitmap = match open {
                OpenImage::Loaded(shown) => Some((&shown.bitmap, shown.natural)),
                _ => None,
            };
            studio.doc.dataset.with_untracked(|dataset| {
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
                let transform = transform.unwrap_or(ViewTransform::IDENTITY);
                render::draw(canvas, bitmap, &transform, &scene)?;
                Ok(Frame {
                    image: bitmap.and(path.clone()),
                    shapes: shapes.len(),
                })
            })
        })
    })
}

#[component]
pub fn CanvasView() -> impl IntoView {
    let nav = expect_context::<Navigation>();
    let studio = expect_context::<Studio>();
    let view = expect_context::<ViewState>();
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let overlay_ref = NodeRef::<leptos::html::Canvas>::new();
    // Bumped on window resize so the image is refitted.
    let resized = RwSignal::new(0_u32);
    let resize = window_event_listener(leptos::ev::resize, move |_| resized.update(|n| *n += 1));
    on_cleanup(move || resize.remove());
    let frame = RwSignal::new(Frame::default());
    let draw_error = RwSignal::new(None::<String>);

    // Redraws wait for the next animation frame, so that many pointer moves in one frame
    // draw once; a change of the shape being drawn redraws only the overlay.
    let pending = StoredValue::new((false, false));
    let redraw = move |scene: bool| {
        if scene && let Some(canvas) = canvas_ref.get_untracked() {
            match draw_scene(&canvas, nav, studio, view) {
                Ok(drawn) => {
                    frame.set(drawn);
                    draw_error.set(None);
                }
                Err(err) => {
                    frame.set(Frame::default());
                    draw_error.set(Some(err));
                }
            }
        }
        if let Some(overlay) = overlay_ref.get_untracked() {
            render::prepare(&overlay);
            let result = studio.draft.with_untracked(|draft| {
                render::draw_overlay(&overlay, view.transform().as_ref(), draft)
            });
            if let Err(err) = result {
                draw_error.set(Some(err));
            }
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
            redraw(scene);
        });
    };
    Effect::new(move || {
        resized.track();
        canvas_ref.track();
        nav.open_image.track();
        view.zoom.track();
        view.view_size.track();
        studio.selection.track();
        studio.hidden.track();
        studio.doc.dataset.track();
        studio.doc.class_colours.track();
        nav.cursor.track();
        schedule(true);
    });
    Effect::new(move || {
        studio.draft.track();
        schedule(false);
    });

    let at_view = move |event: &MouseEvent| {
        canvas_ref
            .get_untracked()
            .map(|canvas| point_in_view(&canvas, event))
    };
    let on_pointer_down = move |event: PointerEvent| {
        let (Some(canvas), Some(at_view)) = (canvas_ref.get_untracked(), at_view(&event)) else {
            return;
        };
        let _ = canvas.set_pointer_capture(event.pointer_id());
        let button = Button::from_dom(event.button());
        let modifiers = Modifiers {
            additive: event.shift_key() || event.ctrl_key() || event.meta_key(),
            pan: studio.space_held.get_value(),
        };
        if button == Button::Middle || (button == Button::Primary && modifiers.pan) {
            // No autoscroll or text selection while panning.
            event.prevent_default();
        }
        studio.interact(
            view,
            Input::PointerDown {
                at_view,
                button,
                modifiers,
            },
        );
    };
    let on_pointer_move = move |event: PointerEvent| {
        if let Some(at_view) = at_view(&event) {
            studio.interact(view, Input::PointerMove { at_view });
        }
    };
    let on_pointer_up = move |event: PointerEvent| {
        let (Some(canvas), Some(at_view)) = (canvas_ref.get_untracked(), at_view(&event)) else {
            return;
        };
        let _ = canvas.release_pointer_capture(event.pointer_id());
        studio.interact(view, Input::PointerUp { at_view });
    };
    let on_double_click = move |_| {
        studio.interact(view, Input::DoubleClick);
    };
    let on_wheel = move |event: web_sys::WheelEvent| {
        let Some(at_view) = at_view(&event) else {
            return;
        };
        if view.transform().is_some() {
            event.prevent_default();
        }
        studio.interact(
            view,
            Input::Wheel {
                at_view,
                delta_y: event.delta_y(),
            },
        );
    };

    let message = move || {
        if let Some(err) = draw_error.get() {
            return Some(err);
        }
        nav.open_image.with(|open| match open {
            OpenImage::Failed(err) => Some(err.clone()),
            OpenImage::Loading => Some("Loading…".to_owned()),
            OpenImage::None => Some("No image open".to_owned()),
            OpenImage::Loaded(_) => None,
        })
    };
    let undo_redo = move || studio.doc.can_undo_redo();
    let drawn = move || frame.with(|f| f.image.is_some());
    let drawn_image = move || frame.with(|f| f.image.clone());
    let shape_count = move || frame.with(|f| f.shapes);

    view! {
        <main class="canvas-area">
            <div class="toolbar">
                <button
                    data-testid="previous"
                    title="Previous image (A)"
                    disabled=move || !nav.cursor.get().has_previous()
                    on:click=move |_| nav.step(false)
                >
                    "◀ Prev"
                </button>
                <span class="file-name" data-testid="file-name">
                    {move || nav.current_name().unwrap_or_default()}
                </span>
                <button
                    data-testid="next"
                    title="Next image (D)"
                    disabled=move || !nav.cursor.get().has_next()
                    on:click=move |_| nav.step(true)
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
                                on:click=move |_| studio.set_tool(view, tool)
                            >
                                {name}
                            </button>
                        }
                    })
                    .collect_view()}
                <span class="spacer"></span>
                <button data-testid="undo" title="Undo (Ctrl+Z)" disabled=move || !undo_redo().0
                    on:click=move |_| studio.undo_or_redo(view, false)>"Undo"</button>
                <button data-testid="redo" title="Redo (Ctrl+Shift+Z, Ctrl+Y)" disabled=move || !undo_redo().1
                    on:click=move |_| studio.undo_or_redo(view, true)>"Redo"</button>
                <button data-testid="fit" title="Fit the image (F)" on:click=move |_| view.fit()>"Fit"</button>
                <button data-testid="actual-size" title="Actual size (0)" on:click=move |_| { studio.interact(view, Input::Key(Key::ActualSize)); }>"1:1"</button>
                <button data-testid="help-button" title="Keyboard shortcuts (?)"
                    on:click=move |_| studio.ui.help_open.update(|open| *open = !*open)>"?"</button>
            </div>
            <div class="canvas-frame">
                <canvas
                    node_ref=canvas_ref
                    data-testid="canvas"
                    data-drawn=move || if drawn() { "true" } else { "false" }
                    data-image=drawn_image
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
