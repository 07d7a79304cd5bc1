//! The saved projects (left, under the images): reopen or delete one.

use leptos::prelude::*;

use crate::app::{AppState, open_project};
use crate::autosave::Storage;
use crate::studio::Studio;

#[component]
pub fn ProjectList() -> impl IntoView {
    let state = expect_context::<AppState>();
    let studio = expect_context::<Studio>();
    let storage = expect_context::<Storage>();
    let delete = move |id: String| {
        let confirmed = web_sys::window()
            .and_then(|w| {
                w.confirm_with_message(&format!("Delete the saved annotations of {id}?"))
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
                    if studio.project_id.get_untracked() == id {
                        studio.reset();
                        studio
                            .notice
                            .set(Some(format!("Deleted project {id}; its images stay open.")));
                    }
                }
                Err(error) => studio.notice.set(Some(error.to_string())),
            }
        });
    };
    view! {
        <section class="project-list" aria-label="Projects">
            <header>"Projects"</header>
            <ul>
                <For each=move || storage.projects.get() key=|p| (p.id.clone(), p.updated_ms.to_bits()) let:project>
                    {
                        let id = project.id.clone();
                        let id_for_open = project.id.clone();
                        let id_for_delete = project.id.clone();
                        let url = project.manifest_url.clone();
                        view! {
                            <li data-testid="project-item" class:current=move || studio.project_id.get() == id>
                                <span class="name" title=project.manifest_url.clone()>
                                    {if project.name.is_empty() { project.id.clone() } else { project.name.clone() }}
                                </span>
                                <button title="Reopen this project" on:click=move |_| {
                                    open_project(state, studio, storage, id_for_open.clone(), url.clone())
                                }>"Open"</button>
                                <button title="Delete its saved annotations"
                                    on:click=move |_| delete(id_for_delete.clone())>"Delete"</button>
                            </li>
                        }
                    }
                </For>
            </ul>
        </section>
    }
}
