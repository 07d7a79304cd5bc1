//! The saved projects (left, under the images): open a folder or files as a new project,
//! reopen or delete one.

use leptos::prelude::*;

use crate::autosave::Storage;
use crate::components::ProjectFileButtons;
use crate::folder_import::Picked;
use crate::importer::Importer;
use crate::navigation::Navigation;
use crate::project_loader::DEMO_MANIFEST_URL;
use crate::project_open::{open_project, open_saved_project};
use crate::studio::{DEMO_PROJECT_ID, Studio};

#[component]
pub fn ProjectList() -> impl IntoView {
    let nav = expect_context::<Navigation>();
    let studio = expect_context::<Studio>();
    let storage = expect_context::<Storage>();
    let importer = expect_context::<Importer>();
    let importing = importer.importing;

    let delete = move |id: String| {
        let confirmed = web_sys::window()
            .and_then(|w| {
                w.confirm_with_message(&format!(
                    "Delete project {id} with its saved annotations and stored images?"
                ))
                .ok()
            })
            .unwrap_or(false);
        if !confirmed {
            return;
        }
        leptos::task::spawn_local(async move {
            let result = async {
                let store = storage.store().await?;
                store.delete_project(&id).await?;
                storage.refresh_projects().await
            }
            .await;
            match result {
                Ok(()) => {
                    if studio.doc.project_id.get_untracked() == id {
                        // Its images may be gone with it: go back to the demo.
                        open_project(
                            nav,
                            studio,
                            storage,
                            DEMO_PROJECT_ID.to_owned(),
                            DEMO_MANIFEST_URL.to_owned(),
                        );
                        studio.ui.notice.set(Some(format!("Deleted project {id}.")));
                    }
                }
                Err(error) => studio.ui.notice.set(Some(error.to_string())),
            }
        });
    };

    let on_pick = move |event: web_sys::Event| {
        use wasm_bindgen::JsCast;
        let Some(input) = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(list) = input.files() else {
            return;
        };
        let files: Vec<Picked> = (0..list.length())
            .filter_map(|i| list.get(i))
            .map(Picked::from_input)
            .collect();
        // The same folder can be picked again later.
        input.set_value("");
        importer.import(files);
    };

    view! {
        <section class="project-list" aria-label="Projects">
            <header>"Projects"</header>
            <div class="open-buttons">
                <label class="button" title="Open a folder of images (with LabelMe, YOLO, COCO or VOC annotations) as a new project">
                    "Open folder…"
                    <input type="file" multiple prop:webkitdirectory=true data-testid="open-folder"
                        on:change=on_pick />
                </label>
                <label class="button" title="Open image and annotation files as a new project">
                    "Open files…"
                    <input type="file" multiple data-testid="open-files"
                        accept="image/*,.json,.txt,.xml,.yaml,.yml"
                        on:change=on_pick />
                </label>
            </div>
            <ProjectFileButtons />
            {move || importing.get().map(|i| {
                let cancel = i.cancel.clone();
                view! {
                    <div class="import-progress" role="status" data-testid="import-progress">
                        <progress max=i.total.max(1) value=i.done></progress>
                        <span>{format!("Storing images {}/{}", i.done, i.total)}</span>
                        <button on:click=move |_| cancel.set(true)>"Cancel"</button>
                    </div>
                }
            })}
            <ul>
                <For each=move || storage.projects.get() key=|p| (p.id.clone(), p.updated_ms.to_bits()) let:project>
                    {
                        let id = project.id.clone();
                        let id_for_delete = project.id.clone();
                        let title = if project.stored_images {
                            "stored in this browser".to_owned()
                        } else {
                            project.manifest_url.clone()
                        };
                        let name = if project.name.is_empty() { project.id.clone() } else { project.name.clone() };
                        let record = project.clone();
                        view! {
                            <li data-testid="project-item" class:current=move || studio.doc.project_id.get() == id>
                                <span class="name" title=title>{name}</span>
                                <button title="Reopen this project" on:click=move |_| {
                                    open_saved_project(nav, studio, storage, record.clone())
                                }>"Open"</button>
                                <button title="Delete the project, its annotations and stored images"
                                    on:click=move |_| delete(id_for_delete.clone())>"Delete"</button>
                            </li>
                        }
                    }
                </For>
            </ul>
        </section>
    }
}
