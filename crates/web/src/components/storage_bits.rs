//! Where the user's work is kept: a status-bar mark (kept / may be cleared / nearly full,
//! with the usage) and a settings section that explains it and can ask the browser again.

use leptos::prelude::*;
use sightline_core::durability::StorageStanding;

use crate::autosave::Storage;

/// Status-bar mark; its tooltip says what the standing means and what to do.
#[component]
pub fn StorageStatus() -> impl IntoView {
    let durability = expect_context::<Storage>().durability;
    let facts = durability.facts;
    let warn = move || {
        matches!(
            facts.get().standing(),
            StorageStanding::Full | StorageStanding::NearlyFull | StorageStanding::MayBeCleared
        )
    };
    view! {
        <span class="storage-mark" class:warn=warn data-testid="storage-status"
            data-standing=move || format!("{:?}", facts.get().standing())
            title=move || facts.get().advice()>
            {move || facts.get().label()}
        </span>
    }
}

/// Settings: the standing in full, and a button to ask the browser to keep the data.
#[component]
pub fn StorageSettings() -> impl IntoView {
    let durability = expect_context::<Storage>().durability;
    let facts = durability.facts;
    durability.refresh();
    let kept = move || facts.get().standing() == StorageStanding::Kept;
    view! {
        <div class="setting storage-settings">
            <span class="label">"Storage"</span>
            <p class="hint" data-testid="storage-advice">
                {move || facts.get().label()} ". " {move || facts.get().advice()}
            </p>
            <button type="button" data-testid="storage-persist" disabled=kept
                on:click=move |_| durability.ask()>
                "Ask the browser to keep Sightline's data"
            </button>
        </div>
    }
}
