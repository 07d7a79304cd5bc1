//! What the offline app shows: the update banner (top), "Install" and the isolation and
//! offline marks (status bar), and "Make AI available offline" (settings).

use leptos::prelude::*;

use crate::offline::{AiFiles, Offline, megabytes};

/// "A new version is ready": the user chooses when to reload.
#[component]
pub fn UpdateBanner() -> impl IntoView {
    let offline = expect_context::<Offline>();
    let dismissed = RwSignal::new(false);
    view! {
        <Show when=move || offline.update_ready.get() && !dismissed.get()>
            <div class="update-banner" role="status" data-testid="update-banner">
                <span>"A new version of Sightline is ready. Your work is saved; reloading keeps it."</span>
                <button class="primary" data-testid="update-reload" on:click=move |_| offline.apply_update()>
                    "Reload now"
                </button>
                <button data-testid="update-later" on:click=move |_| dismissed.set(true)>"Later"</button>
            </div>
        </Show>
    }
}

/// Status-bar marks: offline readiness, cross-origin isolation, and "Install" when offered.
#[component]
pub fn OfflineStatus() -> impl IntoView {
    let offline = expect_context::<Offline>();
    let isolation_title = if offline.isolated {
        "Cross-origin isolated: SharedArrayBuffer and wasm threads are available"
    } else {
        "Not cross-origin isolated (the host sends no COOP/COEP headers and no service worker serves the page yet)"
    };
    view! {
        <span class="offline-mark" data-testid="offline-ready"
            title=move || format!("Build {}", offline.build)>
            {move || if offline.controlled.get() { "works offline" } else { "online only" }}
        </span>
        <span class="isolation" data-testid="isolation" data-isolated=offline.isolated.to_string()
            title=isolation_title>
            {if offline.isolated { "isolated" } else { "not isolated" }}
        </span>
        <Show when=move || offline.can_install.get()>
            <button data-testid="install-app" title="Install Sightline as an app: it opens in its own window and works offline"
                on:click=move |_| offline.install()>
                "Install"
            </button>
        </Show>
    }
}

/// Settings: keep the worker in the cache so AI works with the network gone.
#[component]
pub fn OfflineSettings() -> impl IntoView {
    let offline = expect_context::<Offline>();
    leptos::task::spawn_local(async move { offline.refresh_ai_files().await });
    let state = move || match offline.ai_files.get() {
        AiFiles::Unknown => {
            "Offline use needs the service worker (it starts after the first load).".to_owned()
        }
        AiFiles::Missing => {
            "AI is not available offline yet: its files load the first time it is used.".to_owned()
        }
        AiFiles::Caching { done, total } => {
            format!("Downloading {} of {}", megabytes(done), megabytes(total))
        }
        AiFiles::Cached => "AI is available offline.".to_owned(),
        AiFiles::Failed(reason) => format!("Could not make AI available offline: {reason}"),
    };
    let caching = move || matches!(offline.ai_files.get(), AiFiles::Caching { .. });
    view! {
        <div class="setting offline-settings">
            <span class="label">"Offline"</span>
            <p class="hint" data-testid="ai-offline-state">{state}</p>
            {move || match offline.ai_files.get() {
                AiFiles::Caching { done, total } => view! {
                    <progress max=total.max(1.0) value=done></progress>
                    <button type="button" data-testid="ai-offline-cancel" on:click=move |_| offline.cancel_ai_files()>"Cancel"</button>
                }.into_any(),
                _ => view! {
                    <button type="button" data-testid="ai-offline" disabled=caching
                        on:click=move |_| leptos::task::spawn_local(offline.cache_ai_files())>
                        "Make AI available offline"
                    </button>
                }.into_any(),
            }}
        </div>
    }
}
