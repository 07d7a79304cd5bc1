//! The settings dialog (opened from the status bar): cache budgets, prefetch depth, decoder
//! concurrency, batch size, backend and precision. Save validates through
//! `SettingsState::save` (`protocol::settings` holds the limits); a refused value stays in
//! its field with the reason beside it, and the dialog stays open. Cancel, Escape or a
//! click outside closes it unchanged.

use leptos::prelude::*;
use sightline_protocol::settings::{NUMBERS, Settings, SettingsError, field};
use sightline_protocol::{BackendChoice, PrecisionChoice};

use crate::components::{OfflineSettings, StorageSettings};
use crate::settings_state::SettingsState;
use crate::studio::UiState;

/// How the dialog labels a whole-number setting (`settings::NUMBERS`, by key): its label
/// and the unit beside the input.
fn label_of(key: &str) -> (&'static str, &'static str) {
    match key {
        "memory_cache_mb" => ("Memory cache", "MB"),
        "store_cache_mb" => ("Stored cache", "MB (0: off)"),
        "prefetch_depth" => ("Prefetch depth", "images each way"),
        "decoder_concurrency" => ("Decoders at once", "decoders"),
        "batch_size" => ("Batch size", "images per pass"),
        _ => ("", ""),
    }
}

const BACKENDS: [(BackendChoice, &str, &str); 3] = [
    (BackendChoice::Auto, "auto", "Auto"),
    (BackendChoice::WebGpu, "webgpu", "WebGPU"),
    (BackendChoice::Cpu, "cpu", "CPU"),
];

const PRECISIONS: [(PrecisionChoice, &str, &str); 3] = [
    (PrecisionChoice::Auto, "auto", "Auto"),
    (PrecisionChoice::F32, "f32", "f32"),
    (PrecisionChoice::F16, "f16", "f16"),
];

#[component]
pub fn SettingsDialog() -> impl IntoView {
    let ui = expect_context::<UiState>();
    view! {
        // A fresh form on every opening: a cancelled edit leaves nothing behind.
        <Show when=move || ui.settings_open.get()>
            <SettingsForm />
        </Show>
    }
}

#[component]
fn SettingsForm() -> impl IntoView {
    let ui = expect_context::<UiState>();
    let state = expect_context::<SettingsState>();
    let current = state.settings().get_untracked();
    let texts: Vec<RwSignal<String>> = NUMBERS
        .iter()
        .map(|f| RwSignal::new((f.get)(&current).to_string()))
        .collect();
    let backend = RwSignal::new(current.backend);
    let precision = RwSignal::new(current.precision);
    let errors = RwSignal::new(Vec::<SettingsError>::new());
    let card = NodeRef::<leptos::html::Div>::new();
    Effect::new(move || {
        if let Some(card) = card.get() {
            let _ = card.focus();
        }
    });

    let close = move || ui.settings_open.set(false);
    let save = {
        let texts = texts.clone();
        move || {
            let (draft, unreadable) = read_form(&current, &texts);
            let draft = Settings {
                backend: backend.get_untracked(),
                precision: precision.get_untracked(),
                ..draft
            };
            let refused = if unreadable.is_empty() {
                state.save(draft).err()
            } else {
                // The values that could be read are checked too, so every problem shows at
                // once (an unreadable field kept its current, valid value in the draft).
                let mut all = draft.validate().err().unwrap_or_default();
                all.extend(unreadable);
                Some(all)
            };
            match refused {
                Some(refused) => errors.set(refused),
                None => close(),
            }
        }
    };

    let field_errors = move |name: &'static str| {
        move || {
            errors.with(|errors| {
                errors
                    .iter()
                    .filter(|e| e.field == name)
                    .map(SettingsError::to_string)
                    .collect::<Vec<_>>()
            })
        }
    };
    let error_list = move |name: &'static str, key: &'static str| {
        view! {
            <For each=field_errors(name) key=|reason| reason.clone() let:reason>
                <p class="settings-error" data-testid="settings-error" data-field=key role="alert">{reason}</p>
            </For>
        }
    };
    let has_error =
        move |name: &'static str| move || errors.with(|e| e.iter().any(|e| e.field == name));

    view! {
        <div class="dialog-backdrop" on:click=move |_| close()>
            <div class="dialog settings-dialog" role="dialog" aria-modal="true" aria-label="Settings"
                data-testid="settings-dialog" tabindex="-1" node_ref=card
                on:click=|event| event.stop_propagation()
                on:keydown=move |event| {
                    // The dialog keeps its keys: no image or tool shortcut fires under it.
                    event.stop_propagation();
                    if event.key() == "Escape" {
                        event.prevent_default();
                        close();
                    }
                }>
                <header>
                    <span>"Settings"</span>
                    <button type="button" title="Close without saving (Escape)" on:click=move |_| close()>"✕"</button>
                </header>
                <form novalidate on:submit=move |event| {
                    event.prevent_default();
                    save();
                }>
                    {NUMBERS.iter().zip(texts.iter().copied()).map(|(f, text)| {
                        let (label, unit) = label_of(f.key);
                        view! {
                        <div class="setting">
                            <label>
                                <span class="label">{label}</span>
                                <input type="number" step="1" min=*f.range.start() max=*f.range.end()
                                    data-testid=format!("setting-{}", f.key)
                                    aria-invalid=move || has_error(f.field)().to_string()
                                    prop:value=move || text.get()
                                    on:input=move |event| text.set(event_target_value(&event)) />
                                <span class="unit">{unit}</span>
                            </label>
                            <p class="hint">{format!("{} to {}", f.range.start(), f.range.end())}</p>
                            {error_list(f.field, f.key)}
                        </div>
                    }}).collect_view()}
                    <div class="setting">
                        <label>
                            <span class="label">"Backend"</span>
                            <select data-testid="setting-backend" on:change=move |event| {
                                let value = event_target_value(&event);
                                if let Some((choice, _, _)) = BACKENDS.iter().find(|(_, v, _)| *v == value) {
                                    backend.set(*choice);
                                }
                            }>
                                {BACKENDS.iter().map(|(choice, value, text)| view! {
                                    <option value=*value selected=move || backend.get() == *choice>{*text}</option>
                                }).collect_view()}
                            </select>
                        </label>
                        {error_list(field::BACKEND, "backend")}
                    </div>
                    <div class="setting">
                        <label>
                            <span class="label">"Precision"</span>
                            <select data-testid="setting-precision" on:change=move |event| {
                                let value = event_target_value(&event);
                                if let Some((choice, _, _)) = PRECISIONS.iter().find(|(_, v, _)| *v == value) {
                                    precision.set(*choice);
                                }
                            }>
                                {PRECISIONS.iter().map(|(choice, value, text)| view! {
                                    <option value=*value selected=move || precision.get() == *choice>{*text}</option>
                                }).collect_view()}
                            </select>
                        </label>
                        <p class="hint">"f16 only where it finds what f32 finds on the first images"</p>
                        {error_list(field::PRECISION, "precision")}
                    </div>
                    <StorageSettings />
                    <OfflineSettings />
                    <footer>
                        <button type="button" data-testid="settings-cancel" on:click=move |_| close()>"Cancel"</button>
                        <button type="submit" class="primary" data-testid="settings-save">"Save"</button>
                    </footer>
                </form>
            </div>
        </div>
    }
}

/// The numbers typed, over `current`, and an error for each that is not a whole number.
fn read_form(current: &Settings, texts: &[RwSignal<String>]) -> (Settings, Vec<SettingsError>) {
    let mut draft = current.clone();
    let mut unreadable = Vec::new();
    for (f, text) in NUMBERS.iter().zip(texts) {
        let text = text.get_untracked();
        match text.trim().parse::<u32>() {
            Ok(value) => (f.set)(&mut draft, value),
            Err(_) => {
                let wanted = format!(
                    "a whole number from {} to {}",
                    f.range.start(),
                    f.range.end()
                );
                let reason = match text.trim() {
                    "" => format!("enter {wanted}"),
                    typed => format!("“{typed}” is not {wanted}"),
                };
                unreadable.push(SettingsError {
                    field: f.field,
                    reason,
                });
            }
        }
    }
    (draft, unreadable)
}
