//! The main window: it creates the state contexts, opens the start project, loads the open
//! image, and routes the window's key presses.

use leptos::prelude::*;

use crate::ai::Ai;
use crate::autosave::{self, Storage};
use crate::components::{
    AiPanel, CanvasView, ExportPanel, HelpOverlay, ImageGrid, ImageList, LabelsPanel, LinkPreview,
    PerfPanel, ProjectList, QualityPanel, SettingsDialog, StatusBar, UpdateBanner, label_images,
};
use crate::importer::Importer;
use crate::keyboard;
use crate::navigation::{Navigation, OpenImage};
use crate::offline::Offline;
use crate::pipeline::ImagePipeline;
use crate::project_loader::{DEMO_MANIFEST_URL, ProjectLoadError};
use crate::project_open::open_start_project;
use crate::quality::Quality;
use crate::settings_state::{self, SettingsState};
use crate::studio::{Studio, ViewState};

#[component]
pub fn App() -> impl IntoView {
    let offline = Offline::start();
    provide_context(offline);
    let storage = Storage::new();
    provide_context(storage);
    let settings = settings_state::load_saved();
    let pipeline = ImagePipeline::new(storage, &settings);
    provide_context(pipeline);
    storage.set_room_maker(std::rc::Rc::new(move |bytes| {
        Box::pin(async move { pipeline.make_room(bytes).await })
    }));
    let nav = Navigation::new(DEMO_MANIFEST_URL, pipeline);
    provide_context(nav);
    let studio = Studio::new(Signal::derive(move || nav.current_path()));
    let doc = studio.doc;
    let view = ViewState::new(Signal::derive(move || nav.open_image.with(OpenImage::size)));
    provide_context(studio.save);
    provide_context(studio.ui);
    provide_context(doc);
    provide_context(studio);
    provide_context(view);
    autosave::start(storage, studio, nav.manifest_url.into());

    // The worker starts when AI is first used (the AI panel), not with the page.
    let ai = Ai::new(pipeline);
    provide_context(ai);
    let user_settings = SettingsState::new(settings, ai, pipeline);
    provide_context(user_settings);
    let quality = Quality::new();
    provide_context(quality);
    quality.drive(nav);
    // Each project's flags, exclusions and cached scores, loaded when it opens.
    Effect::new(move || {
        let project_id = doc.project_id.get();
        if nav.manifest.with(Option::is_some) {
            leptos::task::spawn_local(quality.load_project(storage, nav, project_id));
        }
    });

    let importer = Importer::new(nav, studio, storage, pipeline);
    provide_context(importer);
    importer.accept_from_outside();

    open_start_project(nav, studio, storage);

    // Load the open image whenever the cursor or the project changes, through the image
    // pipeline (cache, decode), then prefetch its neighbours; a tier-2 level of a large image
    // is replaced by the original once decoded. A load that finishes after the user has
    // moved on is dropped. A new image starts fitted, with nothing selected or being drawn.
    let generation = StoredValue::new(0_u64);
    Effect::new(move || {
        let index = nav.cursor.get().index();
        let entry = nav.manifest.with(|m| {
            m.as_ref()
                .and_then(|m| index.and_then(|i| m.images.get(i)).cloned())
        });
        studio.image_changed(view);
        let Some(entry) = entry else {
            nav.open_image.set(OpenImage::None);
            return;
        };
        let path = entry.path.clone();
        generation.update_value(|g| *g += 1);
        let this_load = generation.get_value();
        nav.open_image.set(OpenImage::Loading);
        leptos::task::spawn_local(async move {
            let current = move || generation.get_value() == this_load;
            let shown = match pipeline.open(&entry).await {
                _ if !current() => return,
                Ok(shown) => shown,
                Err(ProjectLoadError::Superseded) => return,
                Err(err) => {
                    nav.open_image.set(OpenImage::Failed(err.to_string()));
                    return;
                }
            };
            let natural = shown.natural;
            doc.note_image_size(&path, natural.width as u32, natural.height as u32);
            let is_level = shown.is_level();
            nav.open_image.set(OpenImage::Loaded(shown));
            pipeline.prefetch(nav.neighbours(pipeline.prefetch_depth()));
            if is_level
                && let Ok(original) = pipeline.open_original(&entry).await
                && current()
            {
                nav.open_image.set(OpenImage::Loaded(original));
            }
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
                nav.step(true);
                true
            }
            "a" | "A" | "ArrowLeft" if plain => {
                nav.step(false);
                true
            }
            "g" | "G" if plain => {
                studio.ui.toggle_centre();
                true
            }
            // U: the next image without shapes; Shift+U the previous one.
            "u" | "U" if plain => {
                doc.labelled.with_untracked(|labelled| {
                    nav.step_where(!event.shift_key(), |path| !labelled.contains(path));
                });
                true
            }
            "i" | "I" if plain => {
                if let Some(entry) = nav.current_entry() {
                    let title = format!("Labelling {}", entry.name);
                    label_images(ai, nav, studio, vec![entry], title);
                }
                true
            }
            _ => keyboard::key_down(studio, view, &event),
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
        <UpdateBanner />
        <div class="app">
            <div class="side">
                <ImageList />
                <ProjectList />
            </div>
            // The grid covers the canvas area while shown; the canvas stays mounted.
            <CanvasView />
            <ImageGrid />
            <div class="side right">
                <LabelsPanel />
                <AiPanel />
                <QualityPanel />
                <ExportPanel />
            </div>
            <StatusBar />
            <PerfPanel />
            <SettingsDialog />
            <HelpOverlay />
            <LinkPreview />
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
