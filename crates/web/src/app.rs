//! The main window and the state it shares through context.

use leptos::prelude::*;
use sightline_core::project::{ImageCursor, Manifest};
use web_sys::ImageBitmap;

use crate::components::{CanvasView, ImageList, LabelsPanel, StatusBar};
use crate::image_loader;
use crate::project_loader::{self, DEMO_MANIFEST_URL};
use crate::worker_bridge::{self, WorkerState};

/// The open image: what is drawn, or why nothing is.
#[derive(Clone, Debug)]
pub enum OpenImage {
    None,
    Loading,
    Loaded(ImageBitmap),
    Failed(String),
}

/// State shared by the panels, provided as context by [`App`].
#[derive(Clone, Copy)]
pub struct AppState {
    pub manifest: RwSignal<Option<Manifest>>,
    pub manifest_url: RwSignal<String>,
    pub cursor: RwSignal<ImageCursor>,
    pub open_image: RwSignal<OpenImage, LocalStorage>,
    pub project_error: RwSignal<Option<String>>,
    pub worker: RwSignal<WorkerState>,
}

impl AppState {
    /// Name of the open image, if any.
    pub fn current_name(&self) -> Option<String> {
        let index = self.cursor.get().index()?;
        self.manifest.with(|m| {
            m.as_ref()?
                .images
                .get(index)
                .map(|image| image.name.clone())
        })
    }
}

#[component]
pub fn App() -> impl IntoView {
    let state = AppState {
        manifest: RwSignal::new(None),
        manifest_url: RwSignal::new(DEMO_MANIFEST_URL.to_owned()),
        cursor: RwSignal::new(ImageCursor::new(0)),
        open_image: RwSignal::new_local(OpenImage::None),
        project_error: RwSignal::new(None),
        worker: RwSignal::new(WorkerState::Starting),
    };
    provide_context(state);

    worker_bridge::start_worker(state.worker);

    // Open the demo project.
    leptos::task::spawn_local(async move {
        let url = state.manifest_url.get_untracked();
        match project_loader::load_manifest(&url).await {
            Ok(manifest) => {
                state.cursor.set(ImageCursor::new(manifest.images.len()));
                state.manifest.set(Some(manifest));
            }
            Err(err) => state.project_error.set(Some(err)),
        }
    });

    // Load the open image whenever the cursor or the project changes. A load that finishes
    // after the user has moved on is dropped.
    let generation = StoredValue::new(0_u64);
    Effect::new(move || {
        let index = state.cursor.get().index();
        let path = state.manifest.with(|m| {
            m.as_ref()
                .and_then(|m| index.and_then(|i| m.images.get(i)).map(|e| e.path.clone()))
        });
        let Some(path) = path else {
            state.open_image.set(OpenImage::None);
            return;
        };
        let url = project_loader::image_url(&state.manifest_url.get_untracked(), &path);
        generation.update_value(|g| *g += 1);
        let this_load = generation.get_value();
        state.open_image.set(OpenImage::Loading);
        leptos::task::spawn_local(async move {
            let loaded = image_loader::load_bitmap(&url).await;
            if generation.get_value() != this_load {
                return;
            }
            state.open_image.set(match loaded {
                Ok(bitmap) => OpenImage::Loaded(bitmap),
                Err(err) => OpenImage::Failed(err.to_string()),
            });
        });
    });

    // A/D move through the images, as in AnyLabeling.
    let keys = window_event_listener(leptos::ev::keydown, move |event| {
        if event.ctrl_key() || event.meta_key() || event.alt_key() || typing_in_a_field(&event) {
            return;
        }
        match event.key().as_str() {
            "d" | "D" | "ArrowRight" => state.cursor.update(|c| *c = c.next()),
            "a" | "A" | "ArrowLeft" => state.cursor.update(|c| *c = c.previous()),
            _ => return,
        }
        event.prevent_default();
    });
    on_cleanup(move || keys.remove());

    view! {
        <div class="app">
            <ImageList />
            <CanvasView />
            <LabelsPanel />
            <StatusBar />
        </div>
    }
}

/// Shortcuts must not fire while the user types a label.
fn typing_in_a_field(event: &web_sys::KeyboardEvent) -> bool {
    use wasm_bindgen::JsCast;
    event
        .target()
        .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|element| {
            matches!(element.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                || element.get_attribute("contenteditable").is_some()
        })
}
