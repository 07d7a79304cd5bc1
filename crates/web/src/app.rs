//! The main window and the state it shares through context.

use leptos::prelude::*;
use sightline_core::project::{ImageCursor, Manifest};
use web_sys::ImageBitmap;

use crate::autosave::{self, Storage};
use crate::components::{
    CanvasView, ExportPanel, HelpOverlay, ImageList, LabelsPanel, ProjectList, StatusBar,
};
use crate::image_loader;
use crate::keyboard;
use crate::project_loader::{self, DEMO_MANIFEST_URL};
use crate::studio::{DEMO_PROJECT_ID, Studio};
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

impl AppState {
    /// Path of the open image in the manifest (the key of its annotations).
    pub fn current_path(&self) -> Option<String> {
        let index = self.cursor.get().index()?;
        self.manifest.with(|m| {
            m.as_ref()?
                .images
                .get(index)
                .map(|image| image.path.clone())
        })
    }
}

/// Opens the project whose manifest is at `manifest_url` under `project_id`, restoring its
/// saved annotations.
pub fn open_project(
    state: AppState,
    studio: Studio,
    storage: Storage,
    project_id: String,
    manifest_url: String,
) {
    state.manifest_url.set(manifest_url.clone());
    leptos::task::spawn_local(async move {
        match project_loader::load_manifest(&manifest_url).await {
            Ok(manifest) => {
                autosave::restore_project(storage, studio, &project_id, &manifest_url, &manifest)
                    .await;
                state.project_error.set(None);
                state.cursor.set(ImageCursor::new(manifest.images.len()));
                state.manifest.set(Some(manifest));
            }
            Err(err) => state.project_error.set(Some(err)),
        }
    });
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
    let studio = Studio::new(Signal::derive(move || state.current_path()));
    provide_context(studio);
    let storage = Storage::new();
    provide_context(storage);
    autosave::start(storage, studio, state.manifest_url.into());

    worker_bridge::start_worker(state.worker);

    // Open the demo project under its stable id, so its annotations survive reloads.
    open_project(
        state,
        studio,
        storage,
        DEMO_PROJECT_ID.to_owned(),
        DEMO_MANIFEST_URL.to_owned(),
    );

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
        let path = path.clone();
        generation.update_value(|g| *g += 1);
        let this_load = generation.get_value();
        state.open_image.set(OpenImage::Loading);
        leptos::task::spawn_local(async move {
            let loaded = image_loader::load_bitmap(&url).await;
            if generation.get_value() != this_load {
                return;
            }
            state.open_image.set(match loaded {
                Ok(bitmap) => {
                    studio.note_image_size(&path, bitmap.width(), bitmap.height());
                    OpenImage::Loaded(bitmap)
                }
                Err(err) => OpenImage::Failed(err.to_string()),
            });
        });
    });

    // Shortcuts: A/D move through the images, as in AnyLabeling; the editor's keys are in
    // `keyboard.rs`. None fires while the user types in a field.
    let keys = window_event_listener(leptos::ev::keydown, move |event| {
        if typing_in_a_field(&event) {
            return;
        }
        let plain = !(event.ctrl_key() || event.meta_key() || event.alt_key());
        let handled = match event.key().as_str() {
            "d" | "D" | "ArrowRight" if plain => {
                state.cursor.update(|c| *c = c.next());
                true
            }
            "a" | "A" | "ArrowLeft" if plain => {
                state.cursor.update(|c| *c = c.previous());
                true
            }
            _ => keyboard::key_down(studio, &event),
        };
        if handled {
            event.prevent_default();
        }
    });
    let keys_up = window_event_listener(leptos::ev::keyup, move |event| {
        keyboard::key_up(studio, &event);
    });
    on_cleanup(move || {
        keys.remove();
        keys_up.remove();
    });

    view! {
        <div class="app">
            <div class="side">
                <ImageList />
                <ProjectList />
            </div>
            <CanvasView />
            <div class="side right">
                <LabelsPanel />
                <ExportPanel />
            </div>
            <StatusBar />
            <HelpOverlay />
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
            let text_input = element
                .dyn_ref::<web_sys::HtmlInputElement>()
                .is_some_and(|input| {
                    // Checkboxes, colour pickers and file inputs take no typing: shortcuts
                    // keep working after a click on a visibility toggle.
                    !matches!(
                        input.type_().as_str(),
                        "checkbox" | "radio" | "color" | "file" | "button" | "submit" | "range"
                    )
                });
            text_input
                || matches!(element.tag_name().as_str(), "TEXTAREA" | "SELECT")
                || element.get_attribute("contenteditable").is_some()
        })
}
