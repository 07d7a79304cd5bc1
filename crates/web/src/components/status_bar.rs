//! The status bar (bottom): position in the project, image size, the worker and its backend,
//! and the buttons that open the performance panel and the settings.

use leptos::prelude::*;
use sightline_protocol::Backend;

use crate::ai::Ai;
use crate::components::{OfflineStatus, StorageStatus};
use crate::navigation::{Navigation, OpenImage};
use crate::studio::{SaveState, SaveStatus, UiState};
use crate::worker_bridge::WorkerState;

#[component]
pub fn StatusBar() -> impl IntoView {
    let nav = expect_context::<Navigation>();
    let save = expect_context::<SaveStatus>();
    let ui = expect_context::<UiState>();
    let ai = expect_context::<Ai>();
    let save_state = move || match save.state.get() {
        SaveState::Restoring => "restoring…".to_owned(),
        SaveState::Saved => "saved".to_owned(),
        SaveState::Pending => "unsaved".to_owned(),
        SaveState::Saving => "saving…".to_owned(),
        SaveState::Failed(error) => format!("not saved: {error}"),
    };
    let save_failed = move || matches!(save.state.get(), SaveState::Failed(_));
    let position = move || {
        let cursor = nav.cursor.get();
        match cursor.index() {
            Some(index) => format!("{} / {}", index + 1, cursor.len()),
            None => "no images".to_owned(),
        }
    };
    let image_size = move || {
        nav.open_image.with(|open| match open {
            OpenImage::Loaded(shown) => {
                format!("{} × {}", shown.natural.width, shown.natural.height)
            }
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
            <span class="save-state" class:failed=save_failed data-testid="save-state" role="status"
                title=save_state>
                {save_state}
            </span>
            <Show when=move || ui.notice.with(Option::is_some)>
                <span class="notice" data-testid="notice">
                    {move || ui.notice.get()}
                    <button title="Dismiss" on:click=move |_| ui.notice.set(None)>"✕"</button>
                </span>
            </Show>
            <span class="spacer"></span>
            <StorageStatus />
            <OfflineStatus />
            <span data-testid="worker">{worker}</span>
            <span class="backend" data-testid="backend" title=backend_detail>
                {backend}
            </span>
            <button data-testid="open-perf" class:active=move || ui.perf_open.get()
                aria-pressed=move || ui.perf_open.get().to_string()
                title="Performance: cache, decode and inference figures"
                on:click=move |_| ui.perf_open.update(|open| *open = !*open)>
                "Performance"
            </button>
            <button data-testid="open-settings" title="Settings: cache budgets, prefetch, decoders, batch, backend"
                on:click=move |_| ui.settings_open.set(true)>
                "Settings"
            </button>
        </footer>
    }
}
