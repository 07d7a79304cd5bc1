//! The canvas (centre): the open image fitted to the view, previous/next buttons.

use leptos::prelude::*;

use crate::app::{AppState, OpenImage};
use crate::image_loader;

#[component]
pub fn CanvasView() -> impl IntoView {
    let state = expect_context::<AppState>();
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    // Bumped on window resize so the image is refitted.
    let resized = RwSignal::new(0_u32);
    let resize = window_event_listener(leptos::ev::resize, move |_| resized.update(|n| *n += 1));
    on_cleanup(move || resize.remove());
    let drawn = RwSignal::new(false);
    let draw_error = RwSignal::new(None::<String>);

    Effect::new(move || {
        resized.track();
        let Some(canvas) = canvas_ref.get() else {
            return;
        };
        state.open_image.with(|open| {
            let bitmap = match open {
                OpenImage::Loaded(bitmap) => Some(bitmap),
                _ => None,
            };
            match image_loader::draw_fitted(&canvas, bitmap) {
                Ok(transform) => {
                    drawn.set(transform.is_some());
                    draw_error.set(None);
                }
                Err(err) => {
                    drawn.set(false);
                    draw_error.set(Some(err));
                }
            }
        });
    });

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

    view! {
        <main class="canvas-area">
            <div class="toolbar">
                <button
                    data-testid="previous"
                    title="Previous image (A)"
                    disabled=move || !state.cursor.get().has_previous()
                    on:click=move |_| state.cursor.update(|c| *c = c.previous())
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
                    on:click=move |_| state.cursor.update(|c| *c = c.next())
                >
                    "Next ▶"
                </button>
            </div>
            <div class="canvas-frame">
                <canvas
                    node_ref=canvas_ref
                    data-testid="canvas"
                    data-drawn=move || if drawn.get() { "true" } else { "false" }
                ></canvas>
                <Show when=move || message().is_some()>
                    <p class="canvas-message" role="status">{message}</p>
                </Show>
            </div>
        </main>
    }
}
