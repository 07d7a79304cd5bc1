//! "Export project" and "Open project…": the open project as one `.sightline` file, and such
//! a file restored as a new project (with progress and cancel for the export).

use std::cell::Cell;
use std::rc::Rc;

use leptos::prelude::*;
use sightline_protocol::settings::Settings;
use wasm_bindgen::JsCast;

use crate::autosave::Storage;
use crate::components::ShareButton;
use crate::folder_import::read_bytes;
use crate::navigation::Navigation;
use crate::pipeline::ImagePipeline;
use crate::project_open::open_saved_project;
use crate::project_transfer::{export_project, manifest_of, open_project_file};
use crate::quality::Quality;
use crate::settings_state::SettingsState;
use crate::studio::Studio;

/// A project file being written or read.
#[derive(Clone)]
struct Transfer {
    title: &'static str,
    done: usize,
    total: usize,
    cancel: Option<Rc<Cell<bool>>>,
}

#[component]
pub fn ProjectFileButtons() -> impl IntoView {
    let nav = expect_context::<Navigation>();
    let studio = expect_context::<Studio>();
    let storage = expect_context::<Storage>();
    let pipeline = expect_context::<ImagePipeline>();
    let quality = expect_context::<Quality>();
    let settings = expect_context::<SettingsState>();
    let transfer = RwSignal::new_local(None::<Transfer>);
    let progress = move |done: usize, total: usize| {
        transfer.update(|t| {
            if let Some(t) = t {
                t.done = done;
                t.total = total;
            }
        })
    };

    let on_export = move |_| {
        if transfer.with_untracked(Option::is_some) {
            return;
        }
        let cancel = Rc::new(Cell::new(false));
        transfer.set(Some(Transfer {
            title: "Writing the project file",
            done: 0,
            total: 0,
            cancel: Some(cancel.clone()),
        }));
        let manifest = manifest_of(nav, studio, quality);
        let images = manifest.images.len();
        let saved = serde_json::from_str(&settings.settings().get_untracked().to_json())
            .unwrap_or(serde_json::Value::Null);
        leptos::task::spawn_local(async move {
            let result = export_project(nav, pipeline, manifest, saved, cancel, progress).await;
            transfer.set(None);
            let message = match result {
                Ok(unreadable) if unreadable.is_empty() => {
                    format!("Exported the project with its {images} image(s).")
                }
                Ok(unreadable) => format!(
                    "Exported the project; {} image(s) could not be read and have annotations only: {}",
                    unreadable.len(),
                    unreadable.join("; ")
                ),
                Err(error) => error.to_string(),
            };
            studio.ui.notice.set(Some(message));
        });
    };

    let on_open = move |event: web_sys::Event| {
        let Some(input) = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|list| list.get(0)) else {
            return;
        };
        input.set_value("");
        if transfer.with_untracked(Option::is_some) {
            return;
        }
        transfer.set(Some(Transfer {
            title: "Restoring the project",
            done: 0,
            total: 0,
            cancel: None,
        }));
        leptos::task::spawn_local(async move {
            let result = match read_bytes(&file).await {
                Ok(bytes) => open_project_file(storage, &bytes, progress)
                    .await
                    .map_err(|e| format!("{}: {e}", file.name())),
                Err(error) => Err(format!("{}: could not be read ({error})", file.name())),
            };
            transfer.set(None);
            match result {
                Ok((project, saved)) => {
                    apply_settings(settings, &saved);
                    studio.ui.notice.set(Some(format!(
                        "Opened the project “{}” from {}.",
                        project.name,
                        file.name()
                    )));
                    open_saved_project(nav, studio, storage, project);
                }
                Err(message) => studio.ui.notice.set(Some(message)),
            }
        });
    };

    view! {
        <div class="open-buttons">
            <button data-testid="export-project" title="Save the whole project (images, annotations, classes, settings) as one file that “Open project…” restores on any machine"
                on:click=on_export disabled=move || transfer.with(Option::is_some)>
                "Export project"
            </button>
            <ShareButton />
            <label class="button" title="Restore a project file (.sightline) as a new project">
                "Open project…"
                <input type="file" accept=".sightline,.zip,application/zip" data-testid="open-project-file"
                    on:change=on_open />
            </label>
        </div>
        {move || transfer.get().map(|t| {
            let cancel = t.cancel.clone();
            view! {
                <div class="import-progress" role="status" data-testid="project-file-progress">
                    <progress max=t.total.max(1) value=t.done></progress>
                    <span>{format!("{} {}/{}", t.title, t.done, t.total)}</span>
                    {cancel.map(|cancel| view! {
                        <button on:click=move |_| cancel.set(true)>"Cancel"</button>
                    })}
                </div>
            }
        })}
    }
}

/// The settings a project file carries, where they are valid on this machine.
fn apply_settings(state: SettingsState, saved: &serde_json::Value) {
    if saved.is_null() {
        return;
    }
    let cores = web_sys::window().map_or(4, |w| w.navigator().hardware_concurrency() as u32);
    let (settings, errors) = Settings::from_json(&saved.to_string(), cores);
    if errors.is_empty() {
        let _ = state.save(settings);
    }
}
