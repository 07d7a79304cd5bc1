//! The help overlay (`?`): every keyboard shortcut and mouse gesture.

use leptos::prelude::*;

use crate::keyboard::{SHORTCUTS, tool_shortcuts};
use crate::studio::UiState;

#[component]
pub fn HelpOverlay() -> impl IntoView {
    let ui = expect_context::<UiState>();
    view! {
        <Show when=move || ui.help_open.get()>
            <div class="help-overlay" role="dialog" aria-label="Keyboard shortcuts" data-testid="help"
                on:click=move |_| ui.help_open.set(false)>
                <div class="help-card" on:click=|event| event.stop_propagation()>
                    <header>
                        <span>"Keyboard shortcuts"</span>
                        <button title="Close (Escape)" on:click=move |_| ui.help_open.set(false)>"✕"</button>
                    </header>
                    <table>
                        <tbody>
                            {tool_shortcuts()
                                .map(|(key, what)| view! { <tr><td><kbd>{key}</kbd></td><td>{what}</td></tr> })
                                .collect_view()}
                            {SHORTCUTS
                                .iter()
                                .map(|(key, what)| view! { <tr><td><kbd>{*key}</kbd></td><td>{*what}</td></tr> })
                                .collect_view()}
                        </tbody>
                    </table>
                </div>
            </div>
        </Show>
    }
}
