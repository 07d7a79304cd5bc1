//! The labels panel (right): the shapes of the open image and the project's classes.

use leptos::prelude::*;

use crate::app::AppState;

#[component]
pub fn LabelsPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    view! {
        <aside class="labels-panel" aria-label="Labels">
            <header>"Labels"</header>
            <p class="empty">
                {move || match state.current_name() {
                    Some(name) => format!("No shapes on {name} yet."),
                    None => "Open an image to see its shapes.".to_owned(),
                }}
            </p>
        </aside>
    }
}
