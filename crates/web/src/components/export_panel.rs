//! Export (a zip of the project's annotations in LabelMe / YOLO / COCO / VOC, without the
//! images the quality panel excluded, saying how many and why) and import of LabelMe JSON
//! files onto the project's images, with the import report.

use std::collections::HashMap;

use leptos::prelude::*;
use sightline_core::annotation::Dataset;
use sightline_core::formats::{self, ExportOptions, Format, ImportOptions, InputFile};
use sightline_core::history::Command;
use sightline_core::quality::left_out_summary;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::image_loader::js_error_text;
use crate::navigation::Navigation;
use crate::quality::Quality;
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

/// Offers `bytes` as a file download.
fn download(bytes: &[u8], file_name: &str, mime: &str) -> Result<(), String> {
    let js = |e: wasm_bindgen::JsValue| js_error_text(&e);
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob =
        web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(js)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(js)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let anchor: web_sys::HtmlAnchorElement =
        document.create_element("a").map_err(js)?.unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(file_name);
    anchor.click();
    web_sys::Url::revoke_object_url(&url).map_err(js)?;
    Ok(())
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
    download(
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
        message.push_str(&format!(" {} problem(s): ", export.issues.len()));
        let shown: Vec<String> = export
            .issues
            .iter()
            .take(5)
            .map(ToString::to_string)
            .collect();
        message.push_str(&shown.join("; "));
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

#[component]
pub fn ExportPanel() -> impl IntoView {
    let nav = expect_context::<Navigation>();
    let studio = expect_context::<Studio>();
    let quality = expect_context::<Quality>();
    let format = RwSignal::new(Format::Labelme);
    let left_out = move || {
        quality
            .curation
            .with(|all| left_out_summary(all.values().filter_map(|r| r.excluded.as_deref())))
    };
    let on_export = move |_| {
        let message = match export_zip(nav, studio, quality, format.get_untracked()) {
            Ok(message) | Err(message) => message,
        };
        studio.ui.notice.set(Some(message));
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
                <button data-testid="export" on:click=on_export>"Export zip"</button>
            </div>
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
