//! The AI panel (right): the model manager (add from a file or URL, the demo's model, see
//! classes, input size and backend, remove), settings, auto-labelling with progress, rate,
//! ETA and cancel, accepting or rejecting predictions, and the image filter.
//!
//! Nothing AI runs until the panel is opened: the worker and its models load on first use.

use leptos::prelude::*;
use sightline_core::history::Command;
use sightline_core::project::ImageEntry;
use sightline_protocol::settings::BATCH_SIZE;
use sightline_protocol::{BackendChoice, DetectParams, FilterParams, ModelTask, PrecisionChoice};
use wasm_bindgen::JsCast;

use crate::ai::{Ai, AiError, AiSettings};
use crate::autosave::Storage;
use crate::folder_import::read_bytes;
use crate::navigation::{ImageFilter, Navigation};
use crate::project_loader::image_url;
use crate::studio::Studio;
use crate::worker_bridge::WorkerState;

use super::job_status::JobStatus;

/// Reads the picked model files: one ONNX, optionally with its AnyLabeling YAML.
async fn picked_model(
    files: Vec<web_sys::File>,
) -> Result<(String, Vec<u8>, Option<String>), AiError> {
    let is = |f: &web_sys::File, exts: &[&str]| {
        let name = f.name().to_ascii_lowercase();
        exts.iter().any(|ext| name.ends_with(ext))
    };
    let configs: Vec<&web_sys::File> = files.iter().filter(|f| is(f, &[".yaml", ".yml"])).collect();
    let models: Vec<&web_sys::File> = files.iter().filter(|f| is(f, &[".onnx"])).collect();
    let config = match configs.first() {
        Some(file) => Some(
            String::from_utf8(read_bytes(file).await?)
                .map_err(|_| AiError::ModelFile(format!("{} is not UTF-8 text", file.name())))?,
        ),
        None => None,
    };
    // With a config, the ONNX it names; else the only ONNX picked.
    let model = match (&config, models.as_slice()) {
        (_, []) => {
            return Err(AiError::ModelFile(
                "Pick an .onnx file (with its AnyLabeling .yaml if you have one).".into(),
            ));
        }
        (_, [only]) => *only,
        (Some(text), several) => several
            .iter()
            .find(|f| text.contains(&f.name()))
            .copied()
            .ok_or_else(|| {
                AiError::ModelFile("The config names none of the picked .onnx files.".into())
            })?,
        (None, _) => {
            return Err(AiError::ModelFile("Pick one .onnx file at a time.".into()));
        }
    };
    let onnx = read_bytes(model).await?;
    Ok((model.name(), onnx, config))
}

#[component]
pub fn AiPanel() -> impl IntoView {
    let nav = expect_context::<Navigation>();
    let studio = expect_context::<Studio>();
    let storage = expect_context::<Storage>();
    let ai = expect_context::<Ai>();
    let open = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let url = RwSignal::new(String::new());

    let toggle = move |_| {
        let now_open = !open.get_untracked();
        open.set(now_open);
        if now_open {
            // First use: start the worker (its code loads now) and list the models.
            if let Err(error) = ai.worker.start() {
                ai.message.set(Some(error.to_string()));
            }
            leptos::task::spawn_local(async move { ai.refresh_models(storage).await });
        }
    };

    let finish_add = move |result: Result<sightline_protocol::ModelInfo, AiError>| {
        busy.set(false);
        ai.message.set(Some(match result {
            Ok(info) => format!(
                "Model “{}” ready: {} class(es), {}×{}, on {} in {} ({}).",
                info.name,
                info.classes.len(),
                info.input_width,
                info.input_height,
                info.backend.label(),
                info.precision.label(),
                info.precision_note,
            ),
            Err(error) => format!("Model not added: {error}"),
        }));
    };
    let on_file = move |event: web_sys::Event| {
        let Some(input) = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let files: Vec<web_sys::File> = input
            .files()
            .map(|list| (0..list.length()).filter_map(|i| list.get(i)).collect())
            .unwrap_or_default();
        input.set_value("");
        busy.set(true);
        ai.message.set(Some("Loading the model…".to_owned()));
        leptos::task::spawn_local(async move {
            let result = async {
                let (name, onnx, config) = picked_model(files).await?;
                ai.add_model(storage, name, onnx, config, nav.probe_images())
                    .await
            }
            .await;
            finish_add(result);
        });
    };
    let add_url = move |target: String| {
        busy.set(true);
        ai.message.set(Some(format!("Fetching {target}…")));
        leptos::task::spawn_local(async move {
            finish_add(
                ai.add_model_from_url(storage, target, nav.probe_images())
                    .await,
            );
        });
    };

    let demo_models = move || {
        let manifest_url = nav.manifest_url.get();
        nav.manifest.with(|m| {
            m.iter()
                .flat_map(|m| m.models.iter())
                .filter(|entry| {
                    let file = entry
                        .path
                        .rsplit('/')
                        .next()
                        .unwrap_or(&entry.path)
                        .to_owned();
                    !ai.models
                        .with(|models| models.iter().any(|s| s.file_name == file))
                })
                .map(|entry| (entry.name.clone(), image_url(&manifest_url, &entry.path)))
                .collect::<Vec<_>>()
        })
    };

    let active_info = move || {
        let key = ai.active.get()?;
        ai.infos.with(|infos| infos.get(&key).cloned())
    };
    let settings = move || ai.settings.get();
    let set_param = move |apply: &dyn Fn(&mut AiSettings, f64), event: web_sys::Event| {
        let value: f64 = event_target_value(&event).parse().unwrap_or(f64::NAN);
        if value.is_finite() {
            let mut next = ai.settings.get_untracked();
            apply(&mut next, value);
            ai.save_settings(next);
        }
    };

    let label_current = move |_| {
        if let Some(entry) = nav.current_entry() {
            let title = format!("Labelling {}", entry.name);
            label_images(ai, nav, studio, vec![entry], title);
        }
    };
    let label_many = move |unlabelled_only: bool| {
        let entries: Vec<ImageEntry> = nav
            .entries()
            .into_iter()
            .filter(|entry| {
                !unlabelled_only
                    || studio.doc.dataset.with_untracked(|d| {
                        d.image(&entry.path).is_none_or(|i| i.shapes.is_empty())
                    })
            })
            .collect();
        let title = if unlabelled_only {
            "Labelling unlabelled images"
        } else {
            "Labelling all images"
        };
        label_images(ai, nav, studio, entries, title.to_owned());
    };
    let review_threshold = RwSignal::new(0.5_f64);
    let accept_all = move |_| {
        let shapes = studio.doc.current_shapes();
        studio
            .doc
            .apply(Command::accept_all_predictions(&shapes), None);
    };
    let reject_below = move |_| {
        let shapes = studio.doc.current_shapes();
        studio.doc.apply(
            Command::reject_predictions_below(&shapes, review_threshold.get_untracked()),
            None,
        );
        studio.keep_valid_selection();
    };

    let filter_classes = RwSignal::new(Vec::<String>::new());
    let filter_min = RwSignal::new(0.5_f32);
    let filter_max = RwSignal::new(1.0_f32);
    let run_filter = move |_| {
        let params = FilterParams {
            classes: filter_classes.get_untracked(),
            min_confidence: filter_min.get_untracked(),
            max_confidence: filter_max.get_untracked(),
        };
        let images = nav.image_refs(&nav.entries());
        let kept = params.clone();
        ai.run_filter(images, params, move |matching| {
            nav.filter.set(Some(ImageFilter {
                params: kept,
                matching,
            }));
        });
    };

    let backend_line = move || match ai.worker.state.get() {
        WorkerState::Idle => "not started".to_owned(),
        WorkerState::Starting => "starting…".to_owned(),
        WorkerState::Ready(info) => format!("{} ready", info.backend.label()),
        WorkerState::Failed(error) => format!("failed: {error}"),
    };

    view! {
        <section class="ai-panel" aria-label="AI">
            <header class="toggle" data-testid="ai-toggle" on:click=toggle>
                <span>{move || if open.get() { "▾ AI" } else { "▸ AI" }}</span>
                <span class="muted" data-testid="ai-state">{backend_line}</span>
            </header>
            <Show when=move || open.get()>
                <div class="ai-body">
                    <ul class="models" data-testid="models">
                        <For each=move || ai.models.get() key=|m| m.key.clone() let:model>
                            {
                                let key = model.key.clone();
                                let key_radio = model.key.clone();
                                let key_remove = model.key.clone();
                                let key_info = model.key.clone();
                                let fallback = model.name.clone();
                                view! {
                                    <li data-testid="model-item">
                                        <input type="radio" name="active-model"
                                            prop:checked=move || ai.active.get().as_deref() == Some(key.as_str())
                                            on:change=move |_| ai.active.set(Some(key_radio.clone())) />
                                        <span class="name">
                                            {move || ai.infos.with(|i| i.get(&key_info).map(|i| i.name.clone())).unwrap_or(fallback.clone())}
                                        </span>
                                        <button title="Remove this model"
                                            on:click=move |_| {
                                                let key = key_remove.clone();
                                                leptos::task::spawn_local(async move { ai.remove_model(storage, key).await });
                                            }>"✕"</button>
                                    </li>
                                }
                            }
                        </For>
                    </ul>
                    {move || active_info().map(|info| view! {
                        <p class="model-info" data-testid="model-info">
                            {format!(
                                "{} · {}×{} · {} · ",
                                match info.task { ModelTask::Detect => "detect", ModelTask::Segment => "segment" },
                                info.input_width, info.input_height, info.backend.label(),
                            )}
                            <span data-testid="model-precision" title=info.precision_note.clone()>
                                {info.precision.label()}
                            </span>
                            {format!(" · {}: {}", info.classes.len(), info.classes.join(", "))}
                        </p>
                    })}
                    <For each=demo_models key=|(name, _)| name.clone() let:((name, target))>
                        <p class="demo-model">
                            <button data-testid="add-demo-model" disabled=move || busy.get()
                                on:click=move |_| add_url(target.clone())>"Add"</button>
                            " " {name}
                        </p>
                    </For>
                    <label class="button">"Add model file…"
                        <input type="file" multiple accept=".onnx,.yaml,.yml" data-testid="add-model"
                            on:change=on_file disabled=move || busy.get() />
                    </label>
                    <div class="row">
                        <input type="url" placeholder="https://…/model.onnx" prop:value=move || url.get()
                            on:input=move |e| url.set(event_target_value(&e)) />
                        <button disabled=move || busy.get() || url.with(String::is_empty)
                            on:click=move |_| add_url(url.get_untracked())>"Add"</button>
                    </div>

                    <div class="settings">
                        <label>"conf" <input type="number" min="0" max="1" step="0.05" data-testid="ai-conf"
                            prop:value=move || format!("{:.2}", settings().params.confidence)
                            on:change=move |e| set_param(&|s, v| s.params.confidence = v as f32, e) /></label>
                        <label>"IoU" <input type="number" min="0" max="1" step="0.05"
                            prop:value=move || format!("{:.2}", settings().params.iou)
                            on:change=move |e| set_param(&|s, v| s.params.iou = v as f32, e) /></label>
                        <label>"batch" <input type="number" min=*BATCH_SIZE.start() max=*BATCH_SIZE.end() step="1" data-testid="ai-batch"
                            prop:value=move || settings().params.batch
                            on:change=move |e| set_param(&|s, v| {
                                s.params.batch = v.clamp(f64::from(*BATCH_SIZE.start()), f64::from(*BATCH_SIZE.end())) as u32;
                            }, e) /></label>
                        <label title="f16 is used only when it finds what f32 finds on the first images">"precision "
                            <select data-testid="ai-precision" on:change=move |e| {
                                let precision = match event_target_value(&e).as_str() {
                                    "f32" => PrecisionChoice::F32,
                                    "f16" => PrecisionChoice::F16,
                                    _ => PrecisionChoice::Auto,
                                };
                                let settings = ai.settings.get_untracked();
                                ai.save_settings(AiSettings {
                                    params: DetectParams { precision, ..settings.params },
                                    ..settings
                                });
                            }>
                                <option value="auto" selected=move || settings().params.precision == PrecisionChoice::Auto>"auto"</option>
                                <option value="f32" selected=move || settings().params.precision == PrecisionChoice::F32>"f32"</option>
                                <option value="f16" selected=move || settings().params.precision == PrecisionChoice::F16>"f16"</option>
                            </select>
                        </label>
                        <label>"backend "
                            <select data-testid="ai-backend" on:change=move |e| {
                                let backend = match event_target_value(&e).as_str() {
                                    "webgpu" => BackendChoice::WebGpu,
                                    "cpu" => BackendChoice::Cpu,
                                    _ => BackendChoice::Auto,
                                };
                                ai.save_settings(AiSettings { backend, ..ai.settings.get_untracked() });
                            }>
                                <option value="auto" selected=move || settings().backend == BackendChoice::Auto>"auto"</option>
                                <option value="webgpu" selected=move || settings().backend == BackendChoice::WebGpu>"WebGPU"</option>
                                <option value="cpu" selected=move || settings().backend == BackendChoice::Cpu>"CPU"</option>
                            </select>
                        </label>
                    </div>

                    <div class="row">
                        <button data-testid="label-image" title="Auto-label this image (I)"
                            disabled=move || ai.job.with(Option::is_some) on:click=label_current>"Label image"</button>
                        <button data-testid="label-unlabelled" disabled=move || ai.job.with(Option::is_some)
                            on:click=move |_| label_many(true)>"Unlabelled"</button>
                        <button data-testid="label-all" disabled=move || ai.job.with(Option::is_some)
                            on:click=move |_| label_many(false)>"All"</button>
                    </div>
                    <JobStatus prefix="ai" />
                    <div class="row">
                        <button data-testid="accept-all" title="Accept every prediction on this image"
                            on:click=accept_all>"Accept all"</button>
                        <button data-testid="reject-below" on:click=reject_below>"Reject below"</button>
                        <input type="number" min="0" max="1" step="0.05" prop:value=move || review_threshold.get()
                            on:change=move |e| {
                                if let Ok(v) = event_target_value(&e).parse() { review_threshold.set(v) }
                            } />
                    </div>

                    <fieldset class="filter" data-testid="filter">
                        <legend>"Filter images by detections"</legend>
                        {move || active_info().map(|info| info.classes.into_iter().map(|class| {
                            let name = class.clone();
                            let name_change = class.clone();
                            view! {
                                <label class="class">
                                    <input type="checkbox" data-testid="filter-class" value=class.clone()
                                        prop:checked=move || filter_classes.with(|c| c.contains(&name))
                                        on:change=move |e| {
                                            let on = event_target_checked(&e);
                                            filter_classes.update(|c| {
                                                c.retain(|x| *x != name_change);
                                                if on { c.push(name_change.clone()); }
                                            });
                                        } />
                                    {class}
                                </label>
                            }
                        }).collect_view())}
                        <div class="row">
                            <label>"from" <input type="number" min="0" max="1" step="0.05" data-testid="filter-min"
                                prop:value=move || format!("{:.2}", filter_min.get())
                                on:change=move |e| { if let Ok(v) = event_target_value(&e).parse() { filter_min.set(v) } } /></label>
                            <label>"to" <input type="number" min="0" max="1" step="0.05" data-testid="filter-max"
                                prop:value=move || format!("{:.2}", filter_max.get())
                                on:change=move |e| { if let Ok(v) = event_target_value(&e).parse() { filter_max.set(v) } } /></label>
                        </div>
                        <div class="row">
                            <button data-testid="run-filter" disabled=move || ai.job.with(Option::is_some)
                                on:click=run_filter>"Filter"</button>
                            <button data-testid="clear-filter" disabled=move || nav.filter.with(Option::is_none)
                                on:click=move |_| nav.filter.set(None)>"Show all"</button>
                        </div>
                    </fieldset>
                    <Show when=move || ai.message.with(Option::is_some)>
                        <p class="ai-message" role="status" data-testid="ai-message">{move || ai.message.get()}</p>
                    </Show>
                </div>
            </Show>
        </section>
    }
}

/// Auto-labels `entries` with the active model: each image's predictions become its
/// predicted shapes as soon as it is done (one undo step per image), and the image's size
/// is noted.
pub fn label_images(
    ai: Ai,
    nav: Navigation,
    studio: Studio,
    entries: Vec<ImageEntry>,
    title: String,
) {
    ai.label(
        nav.image_refs(&entries),
        title,
        move |path, found, predictions| {
            studio.doc.note_image_size(path, found.width, found.height);
            studio.apply_predictions(path, predictions)
        },
        move || studio.keep_valid_selection(),
    );
}
