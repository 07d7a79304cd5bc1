//! The list of the project's images (left).

use leptos::prelude::*;

use crate::app::AppState;

#[component]
pub fn ImageList() -> impl IntoView {
    let state = expect_context::<AppState>();
    let entries = move || {
        state.manifest.with(|m| {
            m.as_ref()
                .map(|m| {
                    m.images
                        .iter()
                        .map(|e| e.name.clone())
                        .enumerate()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    view! {
        <nav class="image-list" aria-label="Images">
            <header>
                <span>"Images"</span>
                <span class="count">{move || state.cursor.get().len()}</span>
            </header>
            <Show when=move || state.project_error.with(Option::is_some)>
                <p class="error" role="alert">{move || state.project_error.get()}</p>
            </Show>
            <ol>
                <For each=entries key=|(index, name)| (*index, name.clone()) let:((index, name))>
                    <li
                        class:current=move || state.cursor.get().index() == Some(index)
                        aria-current=move || {
                            (state.cursor.get().index() == Some(index)).then_some("true")
                        }
                        on:click=move |_| state.cursor.update(|c| *c = c.go_to(index))
                        title=name.clone()
                    >
                        {name.clone()}
                    </li>
                </For>
            </ol>
        </nav>
    }
}
