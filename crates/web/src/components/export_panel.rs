//! Export (a zip of the project's annotations in LabelMe / YOLO / COCO / VOC, without the
//! images the quality panel excluded, saying how many and why) and import of LabelMe JSON
//! files onto the project's images, with the import report.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use leptos::prelude::*;
use sightline_core::annotation::Dataset;
use sightline_core::formats::dataset::{Split, SplitRule};
use sightline_core::formats::{self, ExportOptions, Format, ImportOptions, InputFile};
use sightline_core::history::Command;
use sightline_core::quality::left_out_summary;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::dataset_export::{DatasetRequest, Exported, export_with_images};
use crate::image_loader::js_error_text;
use crate::navigation::Navigation;
use crate::pipeline::ImagePipeline;
use crate::quality::Quality;
use crate::share_link::capitalise;
use crate::studio::Studio;

/// The project's dataset with an entry for every image of the manifest.
fn dataset_of(nav: Navigation, studio: Studio) -> Dataset {
    dataset_without(nav, studio, &HashMap::new())
}

/// The project's dataset with an entry for every image of the manifest but those in
/// `excluded` (left out by the quality panel).
fn dataset_without(nav: Navigation, studio: Studio, excluded: &HashMap<String, String>) -> Dataset {
    let mut dataset = studio.doc.dataset.with_untracked(Clone::clone);
    nav.manifest.with_untracked(|manifest| {
        for entry in manifest.iter().flat_map(|m| &m.images) {
            dataset.image_mut_or_insert(&entry.path);
        }
    });
    dataset
        .images
        .retain(|image| !excluded.contains_key(&image.image_path));
    dataset
}

fn export_zip(
    nav: Navigation,
    studio: Studio,
    quality: Quality,
    format: Format,
) -> Result<String, String> {
    let excluded = quality.excluded();
    let dataset = dataset_without(nav, studio, &excluded);
    let export = formats::export(&dataset, format, &ExportOptions::default())
        .map_err(|e| format!("Export failed: {e}."))?;
    let entries = export
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.bytes.as_slice()));
    let zip = formats::zip_archive(entries).map_err(|e| format!("Export failed: {e}."))?;
    let project = studio.doc.project_id.get_untracked();
    crate::download::download(
        &zip,
        &format!("{project}-{}.zip", format.name()),
        "application/zip",
    )
    .map_err(|e| format!("The browser refused the download ({e}); try again."))?;
    let mut message = format!(
        "Exported {} file(s) as {} ({} shapes).",
        export.files.len(),
        format.name(),
        dataset.shape_count()
    );
    if let Some(left_out) = left_out_summary(excluded.values().map(String::as_str)) {
        message.push_str(&format!(" {left_out}."));
    }
    if !export.issues.is_empty() {
        message.push_str(&problems_line(&export.issues));
        if export
            .issues
            .iter()
            .any(|i| matches!(i.problem, formats::ExportProblem::ImageSizeUnknown { .. }))
        {
            message.push_str(" — open those images once so their size is known.");
        }
    }
    Ok(message)
}

/// Reads the chosen files, imports them with `core::formats` and adds their shapes to the
/// project's images (one undo step per image).
async fn import_files(nav: Navigation, studio: Studio, files: web_sys::FileList) {
    let mut inputs: Vec<InputFile> = Vec::new();
    let mut report_lines = Vec::new();
    for index in 0..files.length() {
        let Some(file) = files.get(index) else {
            continue;
        };
        match JsFuture::from(file.text()).await {
            Ok(text) => inputs.push(InputFile::new(
                file.name(),
                text.as_string().unwrap_or_default(),
            )),
            Err(err) => report_lines.push(format!(
                "{}: could not be read ({})",
                file.name(),
                js_error_text(&err)
            )),
        }
    }
    // The project's images take part by name, so that each file finds its image.
    let known = dataset_of(nav, studio);
    for image in &known.images {
        inputs.push(InputFile::new(image.image_path.clone(), Vec::new()));
    }
    let options = ImportOptions {
        format: Some(Format::Labelme),
    };
    let size_of = |file: &InputFile| known.image(&file.path).and_then(|i| i.image_size);
    let (imported, report) = formats::import_folder(&inputs, &options, &size_of);
    for class in &imported.classes {
        studio.doc.ensure_class(class);
    }
    let mut shapes_added = 0;
    for image in imported.images.iter().filter(|i| !i.shapes.is_empty()) {
        let first = studio
            .doc
            .dataset
            .with_untracked(|d| d.image(&image.image_path).map_or(0, |i| i.shapes.len()));
        let commands: Vec<Command> = image
            .shapes
            .iter()
            .enumerate()
            .map(|(i, shape)| Command::Create {
                index: first + i,
                shape: shape.clone(),
            })
            .collect();
        let count = commands.len();
        if studio
            .doc
            .apply_to(&image.image_path, Command::Batch { commands }, None)
        {
            shapes_added += count;
        }
    }
    studio.keep_valid_selection();
    report_lines.insert(
        0,
        format!(
            "Imported {shapes_added} shape(s) from {} file(s); {} problem(s).",
            report.files_imported.len(),
            report.issues.len()
        ),
    );
    report_lines.extend(report.issues.iter().map(ToString::to_string));
    studio.ui.import_report.set(Some(report_lines));
}

/// A dataset export in progress: entries written, and the switch that cancels it.
#[derive(Clone)]
struct ExportJob {
    done: usize,
    total: usize,
    cancel: Rc<Cell<bool>>,
}

fn exported_message(
    exported: &Exported,
    format: Format,
    excluded: &HashMap<String, String>,
) -> String {
    let plan = &exported.plan;
    let mut message = format!(
        "Exported {} image(s) and {} label file(s) as a {} dataset ({:.1} MB",
        plan.images.len() - exported.unreadable.len(),
        plan.files.len(),
        format.name(),
        exported.bytes as f64 / 1e6,
    );
    if format != Format::Labelme {
        let splits: Vec<String> = Split::ALL
            .iter()
            .filter(|s| plan.count(**s) > 0)
            .map(|s| format!("{} {}", plan.count(*s), s.name()))
            .collect();
        message.push_str(&format!("; {}", splits.join(", ")));
    }
    message.push_str(").");
    if let Some(left_out) = left_out_summary(excluded.values().map(String::as_str)) {
        message.push_str(&format!(" {left_out}."));
    }
    if !exported.unreadable.is_empty() {
        message.push_str(&format!(
            " {} image(s) could not be read, their labels are written: {}",
            exported.unreadable.len(),
            exported
                .unreadable
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if !plan.issues.is_empty() {
        message.push_str(&problems_line(&plan.issues));
    }
    message
}

/// " N problem(s): " and the first five.
fn problems_line(issues: &[formats::ExportIssue]) -> String {
    let shown: Vec<String> = issues.iter().take(5).map(ToString::to_string).collect();
    format!(" {} problem(s): {}", issues.len(), shown.join("; "))
}

#[component]
pub fn ExportPanel() -> impl IntoView {
    let nav = expect_context::<Navigation>();
    let studio = expect_context::<Studio>();
    let quality = expect_context::<Quality>();
    let pipeline = expect_context::<ImagePipeline>();
    let format = RwSignal::new(Format::Labelme);
    let with_images = RwSignal::new(false);
    let val_percent = RwSignal::new(20.0_f64);
    let seed = RwSignal::new(0_u64);
    let by_folder = RwSignal::new(true);
    let job = RwSignal::new_local(None::<ExportJob>);
    let left_out = move || {
        quality
            .curation
            .with(|all| left_out_summary(all.values().filter_map(|r| r.excluded.as_deref())))
    };
    let on_export = move |_| {
        if !with_images.get_untracked() {
            let message = match export_zip(nav, studio, quality, format.get_untracked()) {
                Ok(message) | Err(message) => message,
            };
            studio.ui.notice.set(Some(message));
            return;
        }
        if job.with_untracked(Option::is_some) {
            return;
        }
        let fraction = (val_percent.get_untracked() / 100.0).clamp(0.0, 1.0);
        let (seed, by_folder) = (seed.get_untracked(), by_folder.get_untracked());
        let split = if by_folder {
            SplitRule::ByFolder {
                val_fraction: fraction,
                seed,
            }
        } else {
            SplitRule::Ratio {
                val_fraction: fraction,
                seed,
            }
        };
        let cancel = Rc::new(Cell::new(false));
        job.set(Some(ExportJob {
            done: 0,
            total: 0,
            cancel: cancel.clone(),
        }));
        leptos::task::spawn_local(async move {
            let excluded = quality.excluded();
            let format = format.get_untracked();
            let request = DatasetRequest {
                dataset: dataset_without(nav, studio, &excluded),
                format,
                split,
                file_name: format!(
                    "{}-{}-dataset.zip",
                    studio.doc.project_id.get_untracked(),
                    format.name()
                ),
            };
            let progress = move |done, total| {
                job.update(|j| {
                    if let Some(j) = j {
                        j.done = done;
                        j.total = total;
                    }
                })
            };
            let result = export_with_images(nav, pipeline, &request, cancel, progress).await;
            job.set(None);
            let message = match result {
                Ok(exported) => exported_message(&exported, format, &excluded),
                Err(error) => capitalise(&error.to_string()),
            };
            studio.ui.notice.set(Some(message));
        });
    };
    let on_import = move |event: web_sys::Event| {
        let Some(input) = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(files) = input.files() else { return };
        leptos::task::spawn_local(async move {
            import_files(nav, studio, files).await;
            input.set_value("");
        });
    };
    view! {
        <section class="export-panel" aria-label="Export and import">
            <header>"Export / import"</header>
            <div class="row">
                <select data-testid="export-format" on:change=move |event| {
                    let value = event_target_value(&event);
                    if let Some(chosen) = Format::ALL.iter().find(|f| f.name() == value) {
                        format.set(*chosen);
                    }
                }>
                    {Format::ALL
                        .iter()
                        .map(|f| view! { <option value=f.name()>{f.name().to_uppercase()}</option> })
                        .collect_view()}
                </select>
                <button data-testid="export" on:click=on_export disabled=move || job.with(Option::is_some)>
                    "Export zip"
                </button>
            </div>
            <label class="row" title="Write the images too, in the format's own layout (Ultralytics images/ and labels/ by split, COCO images/ + annotations/, VOC JPEGImages/): a dataset that trains as it is">
                <input type="checkbox" data-testid="export-images" prop:checked=move || with_images.get()
                    on:change=move |event| with_images.set(event_target_checked(&event)) />
                "Include images"
            </label>
            <Show when=move || with_images.get() && format.get() != Format::Labelme>
                <div class="row export-split">
                    <label title="Share of the images in the validation split">
                        "val % "
                        <input type="number" min="0" max="100" step="1" data-testid="export-val-percent"
                            prop:value=move || val_percent.get().to_string()
                            on:input=move |event| {
                                if let Ok(v) = event_target_value(&event).parse::<f64>() { val_percent.set(v) }
                            } />
                    </label>
                    <label title="The same seed always gives the same split">
                        "seed "
                        <input type="number" min="0" step="1" data-testid="export-seed"
                            prop:value=move || seed.get().to_string()
                            on:input=move |event| {
                                if let Ok(v) = event_target_value(&event).parse::<u64>() { seed.set(v) }
                            } />
                    </label>
                    <label title="Images already in train/ val/ test/ folders keep their split">
                        <input type="checkbox" data-testid="export-by-folder" prop:checked=move || by_folder.get()
                            on:change=move |event| by_folder.set(event_target_checked(&event)) />
                        "by folder"
                    </label>
                </div>
            </Show>
            {move || job.get().map(|j| {
                let cancel = j.cancel.clone();
                view! {
                    <div class="import-progress" role="status" data-testid="export-progress">
                        <progress max=j.total.max(1) value=j.done></progress>
                        <span>{format!("Writing {}/{}", j.done, j.total)}</span>
                        <button data-testid="export-cancel" on:click=move |_| cancel.set(true)>"Cancel"</button>
                    </div>
                }
            })}
            {move || left_out().map(|text| view! {
                <p class="muted" data-testid="export-left-out">{text}" (quality panel)"</p>
            })}
            <label class="import">
                "Import LabelMe JSON: "
                <input type="file" multiple accept=".json,application/json" data-testid="import"
                    on:change=on_import />
            </label>
            <Show when=move || studio.ui.import_report.with(Option::is_some)>
                <div class="import-report" role="status" data-testid="import-report">
                    <button class="close" title="Dismiss" on:click=move |_| studio.ui.import_report.set(None)>"✕"</button>
                    <ul>
                        {move || studio.ui.import_report.get().unwrap_or_default().into_iter()
                            .map(|line| view! { <li>{line}</li> }).collect_view()}
                    </ul>
                </div>
            </Show>
        </section>
    }
}
