//! "Share": the open project's labeling setup as a link to copy (or, when a link cannot carry
//! it, the advice to export a project file); and the preview of a link that was opened,
//! which asks before making a project of it. Everything from a link is shown as text.

use leptos::prelude::*;
use sightline_core::share::{ImageSourceSpec, LabelingSetup, MAX_LINK_CHARS};
use wasm_bindgen_futures::JsFuture;

use crate::ai::Ai;
use crate::autosave::Storage;
use crate::image_loader::absolute_url;
use crate::navigation::Navigation;
use crate::project_loader::load_manifest;
use crate::share_link::{
    Shared, capitalise, create_from_link, forget_incoming, incoming, open_created,
    share_open_project,
};
use crate::studio::Studio;

#[component]
pub fn ShareButton() -> impl IntoView {
    let nav = expect_context::<Navigation>();
    let studio = expect_context::<Studio>();
    let ai = expect_context::<Ai>();
    let shared = RwSignal::new(None::<Shared>);
    let copied = RwSignal::new(String::new());
    let copy = move |url: String| {
        leptos::task::spawn_local(async move {
            let Some(window) = web_sys::window() else {
                return;
            };
            let clipboard = window.navigator().clipboard();
            let said = match JsFuture::from(clipboard.write_text(&url)).await {
                Ok(_) => "Copied.",
                Err(_) => "The browser did not allow copying: select the link and copy it.",
            };
            copied.set(said.to_owned());
        });
    };
    view! {
        <button data-testid="share" title="Share this labeling setup (classes, model, images, annotations) as a link"
            on:click=move |_| {
                copied.set(String::new());
                shared.set(Some(share_open_project(nav, studio, ai)));
            }>
            "Share…"
        </button>
        {move || shared.get().map(|result| view! {
            <div class="dialog-backdrop" on:click=move |_| shared.set(None)>
                <div class="dialog share-dialog" role="dialog" aria-modal="true" aria-label="Share"
                    data-testid="share-dialog" on:click=|event| event.stop_propagation()>
                    <header>
                        <span>"Share this setup"</span>
                        <button title="Close" on:click=move |_| shared.set(None)>"✕"</button>
                    </header>
                    {match result {
                        Shared::Link { url, notes } => {
                            let length = url.chars().count();
                            let for_copy = url.clone();
                            view! {
                                <p class="hint">"Anyone who opens the link gets these classes, the model and the images, in a new project of their own. Nothing is uploaded: the setup is inside the link."</p>
                                <textarea readonly rows="4" data-testid="share-link">{url}</textarea>
                                <p class="hint" data-testid="share-length">
                                    {format!("{length} of {MAX_LINK_CHARS} characters")}
                                </p>
                                {notes.into_iter().map(|note| view! { <p class="hint" data-testid="share-note">{note}</p> }).collect_view()}
                                <footer>
                                    <span class="hint" data-testid="share-copied">{move || copied.get()}</span>
                                    <button class="primary" data-testid="share-copy" on:click=move |_| copy(for_copy.clone())>"Copy link"</button>
                                </footer>
                            }.into_any()
                        }
                        Shared::NeedsProjectFile(reason) => view! {
                            <p data-testid="share-needs-file">{reason}</p>
                            <p class="hint">"“Export project” (under Projects) writes one file with the images, annotations and classes; “Open project…” restores it anywhere."</p>
                        }.into_any(),
                    }}
                </div>
            </div>
        })}
    }
}

/// A link opened in this tab: what it holds, and a question before anything changes.
#[component]
pub fn LinkPreview() -> impl IntoView {
    let nav = expect_context::<Navigation>();
    let studio = expect_context::<Studio>();
    let storage = expect_context::<Storage>();
    let ai = expect_context::<Ai>();
    let link = RwSignal::new(incoming());
    let busy = RwSignal::new(None::<String>);
    let failure = RwSignal::new(None::<String>);
    // A link pasted into the address bar of an open tab changes only the fragment.
    let on_hash = window_event_listener(leptos::ev::hashchange, move |_| {
        if let Some(found) = incoming() {
            link.set(Some(found));
        }
    });
    on_cleanup(move || on_hash.remove());
    let close = move || {
        forget_incoming();
        link.set(None);
    };
    let accept = move |setup: LabelingSetup| {
        failure.set(None);
        busy.set(Some("Fetching the images…".to_owned()));
        leptos::task::spawn_local(async move {
            let progress = move |done: usize, total: usize| {
                busy.set(Some(format!(
                    "Fetching and storing the images: {done}/{total}"
                )));
            };
            match create_from_link(storage, ai, &setup, progress).await {
                Ok(created) => {
                    let mut message = format!(
                        "Created the project “{}” from the shared link.",
                        created.project.name
                    );
                    if !created.problems.is_empty() {
                        message.push_str(&format!(
                            " {} could not be loaded: {}",
                            created.problems.len(),
                            created.problems.join("; ")
                        ));
                    }
                    studio.ui.notice.set(Some(message));
                    open_created(nav, studio, storage, &setup, created.project);
                    busy.set(None);
                    close();
                }
                Err(error) => {
                    // Nothing was created: the preview stays, saying why.
                    busy.set(None);
                    failure.set(Some(capitalise(&error)));
                }
            }
        });
    };
    view! {
        {move || link.get().map(|result| view! {
            <div class="dialog-backdrop">
                <div class="dialog link-preview" role="dialog" aria-modal="true" aria-label="Shared link"
                    data-testid="link-preview">
                    {match result {
                        Ok(setup) => preview(setup, busy, failure, accept, close).into_any(),
                        Err(error) => view! {
                            <header><span>"This link cannot be opened"</span></header>
                            <p data-testid="link-error" role="alert">{capitalise(&error.to_string())}</p>
                            <p class="hint">"Nothing was changed: your projects are as they were."</p>
                            <footer>
                                <button class="primary" data-testid="link-close" on:click=move |_| close()>"Close"</button>
                            </footer>
                        }.into_any(),
                    }}
                </div>
            </div>
        })}
    }
}

fn preview(
    setup: LabelingSetup,
    busy: RwSignal<Option<String>>,
    failure: RwSignal<Option<String>>,
    accept: impl Fn(LabelingSetup) + Copy + 'static,
    close: impl Fn() + Copy + 'static,
) -> impl IntoView {
    let source = RwSignal::new(match &setup.images {
        ImageSourceSpec::Urls(urls) => format!("{} image(s) from their addresses", urls.len()),
        ImageSourceSpec::Manifest(url) => format!("the images listed at {url}"),
        ImageSourceSpec::ProjectFile(url) => format!("the project file at {url}"),
    });
    // A manifest says how many images it lists: read it (a plain GET; nothing is stored).
    if let ImageSourceSpec::Manifest(url) = &setup.images {
        let url = absolute_url(url);
        leptos::task::spawn_local(async move {
            let said = match load_manifest(&url).await {
                Ok(manifest) => format!("{} image(s) listed at {url}", manifest.images.len()),
                Err(error) => format!("the images listed at {url} (not readable now: {error})"),
            };
            source.set(said);
        });
    }
    let annotated = setup.annotations.as_ref().map_or(0, |a| a.len());
    let shapes: usize = setup
        .annotations
        .as_ref()
        .map_or(0, |a| a.values().map(Vec::len).sum());
    let model = setup.model.as_ref().map(|m| {
        format!(
            "{} (confidence ≥ {:.2}, IoU {:.2})",
            m.url, m.confidence, m.iou
        )
    });
    let name = if setup.name.is_empty() {
        "a shared setup".to_owned()
    } else {
        setup.name.clone()
    };
    let classes = setup.classes.clone();
    view! {
        <header><span>"Open a shared labeling setup?"</span></header>
        <dl class="link-facts">
            <dt>"Name"</dt><dd data-testid="link-name">{name}</dd>
            <dt>"Images"</dt><dd data-testid="link-images">{move || source.get()}</dd>
            <dt>"Classes"</dt>
            <dd>
                <ul class="link-classes">
                    {classes.into_iter().map(|class| {
                        let colour = class.colour.clone().unwrap_or_default();
                        view! {
                            <li data-testid="link-class">
                                <span class="swatch" style:background=colour></span>
                                {class.name}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </dd>
            <dt>"Model"</dt><dd data-testid="link-model">{model.unwrap_or_else(|| "none".to_owned())}</dd>
            <dt>"Annotations"</dt>
            <dd data-testid="link-annotations">{format!("{shapes} shape(s) on {annotated} image(s)")}</dd>
        </dl>
        <p class="hint">"Accepting makes a new project in this browser; the project open now is kept as it is."</p>
        {move || busy.get().map(|text| view! { <p role="status" data-testid="link-busy">{text}</p> })}
        {move || failure.get().map(|text| view! { <p role="alert" class="settings-error" data-testid="link-failed">{text}</p> })}
        <footer>
            <button data-testid="link-cancel" disabled=move || busy.with(Option::is_some) on:click=move |_| close()>"Cancel"</button>
            <button class="primary" data-testid="link-accept" disabled=move || busy.with(Option::is_some)
                on:click=move |_| accept(setup.clone())>"Create project"</button>
        </footer>
    }
}
