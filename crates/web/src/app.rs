//! The main window and the state it shares through context.

use leptos::prelude::*;
use sightline_core::project::{ImageCursor, Manifest};
use web_sys::ImageBitmap;

use crate::ai::Ai;
use crate::autosave::{self, Storage};
use crate::components::{
    AiPanel, CanvasView, ExportPanel, HelpOverlay, ImageList, LabelsPanel, ProjectList, StatusBar,
};
use crate::keyboard;
use crate::project_loader::{self, DEMO_MANIFEST_URL};
use crate::storage::ProjectRecord;
use crate::studio::{DEMO_PROJECT_ID, Studio};

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
    /// The open image's entry.
    pub fn current_entry(&self) -> Option<sightline_core::project::ImageEntry> {
        let index = self.cursor.get_untracked().index()?;
        self.manifest
            .with_untracked(|m| m.as_ref()?.images.get(index).cloned())
    }

    /// Moves `step` images (±1) among those listed: with an image filter in force, the
    /// non-matching ones are skipped.
    pub fn step(&self, ai: Ai, forward: bool) {
        let filter = ai.filter.get_untracked();
        let Some(filter) = filter else {
            self.cursor
                .update(|c| *c = if forward { c.next() } else { c.previous() });
            return;
        };
        let Some(index) = self.cursor.get_untracked().index() else {
            return;
        };
        let target = self.manifest.with_untracked(|m| {
            let images = &m.as_ref()?.images;
            let matches = |i: &usize| filter.matching.contains(&images[*i].path);
            if forward {
                (index + 1..images.len()).find(matches)
            } else {
                (0..index).rev().find(matches)
            }
        });
        if let Some(target) = target {
            self.cursor.update(|c| *c = c.go_to(target));
        }
    }

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

/// Where the id of the last opened project is remembered (`localStorage`), so a reload
/// reopens it.
const LAST_PROJECT_KEY: &str = "sightline.last_project";

fn remember_project(id: &str) {
    if let Some(local) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = local.set_item(LAST_PROJECT_KEY, id);
    }
}

fn last_project() -> Option<String> {
    web_sys::window()?
        .local_storage()
        .ok()??
        .get_item(LAST_PROJECT_KEY)
        .ok()?
}

/// Installs an opened project's image list and restored annotations.
async fn install_project(
    state: AppState,
    studio: Studio,
    storage: Storage,
    project_id: String,
    manifest_url: String,
    manifest: Manifest,
) {
    state.manifest_url.set(manifest_url.clone());
    autosave::restore_project(storage, studio, &project_id, &manifest_url, &manifest).await;
    remember_project(&project_id);
    state.project_error.set(None);
    state.cursor.set(ImageCursor::new(manifest.images.len()));
    state.manifest.set(Some(manifest));
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
    leptos::task::spawn_local(async move {
        match project_loader::load_manifest(&manifest_url).await {
            Ok(manifest) => {
                install_project(state, studio, storage, project_id, manifest_url, manifest).await
            }
            Err(err) => state.project_error.set(Some(err)),
        }
    });
}

/// Opens a saved project: from IndexedDB when its images are stored there, else from its
/// manifest.
pub fn open_saved_project(
    state: AppState,
    studio: Studio,
    storage: Storage,
    project: ProjectRecord,
) {
    if !project.stored_images {
        open_project(state, studio, storage, project.id, project.manifest_url);
        return;
    }
    leptos::task::spawn_local(async move {
        match project_loader::load_stored_manifest(storage, &project).await {
            Ok(manifest) => {
                install_project(state, studio, storage, project.id, String::new(), manifest).await
            }
            Err(err) => state.project_error.set(Some(err)),
        }
    });
}

/// Reopens the project open before the reload, else the demo.
fn open_start_project(state: AppState, studio: Studio, storage: Storage) {
    leptos::task::spawn_local(async move {
        let last = match last_project() {
            Some(id) if id != DEMO_PROJECT_ID => match storage.store().await {
                Ok(store) => store.project(&id).await.ok().flatten(),
                Err(_) => None,
            },
            _ => None,
        };
        match last {
            Some(project) => open_saved_project(state, studio, storage, project),
            None => open_project(
                state,
                studio,
                storage,
                DEMO_PROJECT_ID.to_owned(),
                DEMO_MANIFEST_URL.to_owned(),
            ),
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
    };
    provide_context(state);
    let studio = Studio::new(Signal::derive(move || state.current_path()));
    provide_context(studio);
    let storage = Storage::new();
    provide_context(storage);
    autosave::start(storage, studio, state.manifest_url.into());

    // The worker starts when AI is first used (the AI panel), not with the page.
    let ai = Ai::new();
    provide_context(ai);

    // The project open before a reload, else the demo (under its stable id, so its
    // annotations survive reloads).
    open_start_project(state, studio, storage);

    // Load the open image whenever the cursor or the project changes. A load that finishes
    // after the user has moved on is dropped.
    let generation = StoredValue::new(0_u64);
    Effect::new(move || {
        let index = state.cursor.get().index();
        let entry = state.manifest.with(|m| {
            m.as_ref()
                .and_then(|m| index.and_then(|i| m.images.get(i)).cloned())
        });
        let Some(entry) = entry else {
            state.open_image.set(OpenImage::None);
            return;
        };
        let manifest_url = state.manifest_url.get_untracked();
        let path = entry.path.clone();
        generation.update_value(|g| *g += 1);
        let this_load = generation.get_value();
        state.open_image.set(OpenImage::Loading);
        leptos::task::spawn_local(async move {
            let loaded = project_loader::load_image(storage, &manifest_url, &entry).await;
            if generation.get_value() != this_load {
                return;
            }
            state.open_image.set(match loaded {
                Ok(bitmap) => {
                    studio.note_image_size(&path, bitmap.width(), bitmap.height());
                    OpenImage::Loaded(bitmap)
                }
                Err(err) => OpenImage::Failed(err),
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
                state.step(ai, true);
                true
            }
            "a" | "A" | "ArrowLeft" if plain => {
                state.step(ai, false);
                true
            }
            "i" | "I" if plain => {
                if let Some(entry) = state.current_entry() {
                    let title = format!("Labelling {}", entry.name);
                    ai.label(state, studio, vec![entry], title);
                }
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
                <AiPanel />
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
