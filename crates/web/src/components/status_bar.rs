//! The status bar (bottom): position in the project, image size, the worker and its backend.

use leptos::prelude::*;
use sightline_protocol::Backend;

use crate::ai::Ai;
use crate::app::{AppState, OpenImage};
use crate::studio::{SaveState, Studio};
use crate::worker_bridge::WorkerState;

#[component]
pub fn StatusBar() -> impl IntoView {
    let state = expect_context::<AppState>();
    let studio = expect_context::<Studio>();
    let ai = expect_context::<Ai>();
    let save_state = move || match studio.save_state.get() {
        SaveState::Restoring => "restoring…".to_owned(),
        SaveState::Saved => "saved".to_owned(),
        SaveState::Pending => "unsaved".to_owned(),
        SaveState::Saving => "saving…".to_owned(),
        SaveState::Failed(error) => format!("not saved: {error}"),
    };
    let save_failed = move || matches!(studio.save_state.get(), SaveState::Failed(_));
    let position = move || {
        let cursor = state.cursor.get();
        match cursor.index() {
            Some(index) => format!("{} / {}", index + 1, cursor.len()),
            None => "no images".to_owned(),
        }
    };
    let image_size = move || {
        state.open_image.with(|open| match open {
            OpenImage::Loaded(bitmap) => format!("{} × {}", bitmap.width(), bitmap.height()),
            _ => String::new(),
        })
    };
    let worker = move || match ai.worker.state.get() {
        WorkerState::Idle => "AI idle".to_owned(),
        WorkerState::Starting => "worker starting…".to_owned(),
        WorkerState::Ready(info) => format!("worker {}", info.version),
        WorkerState::Failed(err) => format!("worker failed: {err}"),
    };
    let backend = move || match ai.worker.state.get() {
        WorkerState::Ready(info) => info.backend.label().to_owned(),
        _ => String::new(),
    };
    let backend_detail = move || match ai.worker.state.get() {
        WorkerState::Ready(info) => match info.backend {
            Backend::WebGpu { adapter } => adapter,
            Backend::Cpu { reason } => reason,
        },
        _ => String::new(),
    };
    view! {
        <footer class="status-bar">
            <span data-testid="position">{position}</span>
            <span>{image_size}</span>
            <span class="save-state" class:failed=save_failed data-testid="save-state" role="status">
                {save_state}
            </span>
            <Show when=move || studio.notice.with(Option::is_some)>
                <span class="notice" data-testid="notice">
                    {move || studio.notice.get()}
                    <button title="Dismiss" on:click=move |_| studio.notice.set(None)>"✕"</button>
                </span>
            </Show>
            <span class="spacer"></span>
            <span data-testid="worker">{worker}</span>
            <span class="backend" data-testid="backend" title=backend_detail>
                {backend}
            </span>
        </footer>
    }
}
