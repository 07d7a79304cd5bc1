//! The list of the project's images (left).

use leptos::prelude::*;

use crate::navigation::Navigation;

#[component]
pub fn ImageList() -> impl IntoView {
    let nav = expect_context::<Navigation>();
    // With an image filter in force, only the matching images are listed.
    let entries = move || {
        let filter = nav.filter.get();
        nav.manifest.with(|m| {
            m.as_ref()
                .map(|m| {
                    m.images
                        .iter()
                        .enumerate()
                        .filter(|(_, e)| {
                            filter.as_ref().is_none_or(|f| f.matching.contains(&e.path))
                        })
                        .map(|(i, e)| (i, e.name.clone()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    view! {
        <nav class="image-list" aria-label="Images">
            <header>
                <span>"Images"</span>
                <span class="count" data-testid="image-count">
                    {move || match nav.filter.with(|f| f.as_ref().map(|f| f.matching.len())) {
                        Some(shown) => format!("{shown} of {}", nav.cursor.get().len()),
                        None => nav.cursor.get().len().to_string(),
                    }}
                </span>
            </header>
            <Show when=move || nav.project_error.with(Option::is_some)>
                <p class="error" role="alert">{move || nav.project_error.get()}</p>
            </Show>
            <ol>
                <For each=entries key=|(index, name)| (*index, name.clone()) let:((index, name))>
                    <li data-testid="image-item"
                        class:current=move || nav.cursor.get().index() == Some(index)
                        aria-current=move || {
                            (nav.cursor.get().index() == Some(index)).then_some("true")
                        }
                        on:click=move |_| nav.cursor.update(|c| *c = c.go_to(index))
                        title=name.clone()
                    >
                        {name.clone()}
                    </li>
                </For>
            </ol>
        </nav>
    }
}
