//! Shareable labeling links (`core::share` is the codec): the open project's setup as a link,
//! and a link that was opened made into a new project after the user agreed. A link is
//! input from anyone: it is decoded and checked before anything is shown, its labels are
//! only ever shown as text, and accepting it creates a new project: the one open is never
//! overwritten.

use std::collections::{BTreeMap, HashSet};

use leptos::prelude::*;
use sightline_core::annotation::ImageAnnotations;
use sightline_core::project_file::{ProjectImage, ProjectManifest};
use sightline_core::share::{
    self, ImageSourceSpec, LabelingSetup, LinkError, SharedClass, SharedModel,
};
use wasm_bindgen_futures::JsFuture;

use crate::ai::{Ai, AiSettings};
use crate::autosave::Storage;
use crate::image_loader::{absolute_url, fetch, js_error_text};
use crate::navigation::Navigation;
use crate::project_loader::{image_url, load_manifest};
use crate::project_transfer::{open_project_file, restore};
use crate::storage::ProjectRecord;
use crate::studio::Studio;

/// A link for the open project, or why there is none.
#[derive(Clone, Debug, PartialEq)]
pub enum Shared {
    Link {
        url: String,
        /// What the link leaves out, said to the user ("annotations do not fit", …).
        notes: Vec<String>,
    },
    /// Only a project file can carry this project.
    NeedsProjectFile(String),
}

/// The open project's setup: its classes and colours, the active model when it came from a
/// URL, its images (by manifest), the open image and, when they fit, its annotations.
pub fn share_open_project(nav: Navigation, studio: Studio, ai: Ai) -> Shared {
    let manifest_url = nav.manifest_url.get_untracked();
    if manifest_url.is_empty() {
        return Shared::NeedsProjectFile(
            "This project's images are stored in this browser only, so a link cannot reach \
             them: share a project file instead."
                .to_owned(),
        );
    }
    let dataset = studio.doc.dataset.get_untracked();
    let colours = studio.doc.class_colours.get_untracked();
    let mut notes = Vec::new();
    let model = ai.active.get_untracked().and_then(|key| {
        let url = ai.model_url(&key);
        if url.is_none() {
            notes
                .push("The model was added from a file, so the link does not carry it.".to_owned());
        }
        let params = ai.settings.get_untracked().params;
        Some(SharedModel {
            url: absolute_url(&url?),
            confidence: params.confidence,
            iou: params.iou,
        })
    });
    let annotations: BTreeMap<String, _> = dataset
        .images
        .iter()
        .filter(|image| !image.shapes.is_empty())
        .map(|image| (image.image_path.clone(), image.shapes.clone()))
        .collect();
    let mut setup = LabelingSetup {
        name: studio.doc.project_name.get_untracked(),
        classes: dataset
            .classes
            .iter()
            .map(|name| SharedClass {
                name: name.clone(),
                colour: colours.get(name).cloned(),
            })
            .collect(),
        model,
        images: ImageSourceSpec::Manifest(absolute_url(&manifest_url)),
        open: nav.current_path(),
        annotations: (!annotations.is_empty()).then_some(annotations),
    };
    let base = web_sys::window()
        .and_then(|w| w.location().href().ok())
        .unwrap_or_default();
    match share::link(&base, &setup) {
        Ok(url) => Shared::Link { url, notes },
        Err(LinkError::TooLong { .. }) if setup.annotations.is_some() => {
            setup.annotations = None;
            notes.push(
                "The annotations do not fit in a link and are left out: share a project file \
                 to pass them on."
                    .to_owned(),
            );
            match share::link(&base, &setup) {
                Ok(url) => Shared::Link { url, notes },
                Err(error) => Shared::NeedsProjectFile(capitalise(&error.to_string())),
            }
        }
        Err(error) => Shared::NeedsProjectFile(capitalise(&error.to_string())),
    }
}

/// The link in the page's address, if there is one: decoded and checked.
pub fn incoming() -> Option<Result<LabelingSetup, LinkError>> {
    let hash = web_sys::window()?.location().hash().ok()?;
    let payload = share::payload_of(&hash)?;
    Some(share::decode(payload))
}

/// Takes the link out of the address, so a reload does not ask again.
pub fn forget_incoming() {
    if let Some(window) = web_sys::window()
        && let Ok(history) = window.history()
    {
        let path = window.location().pathname().unwrap_or_default();
        let search = window.location().search().unwrap_or_default();
        let _ = history.replace_state_with_url(
            &wasm_bindgen::JsValue::NULL,
            "",
            Some(&format!("{path}{search}")),
        );
    }
}

/// What a new project from a link came to.
pub struct FromLink {
    pub project: ProjectRecord,
    /// One line per image or model that could not be fetched; the rest loaded.
    pub problems: Vec<String>,
}

/// Makes `setup` into a new project: fetches its images (CORS), stores them with the link's
/// classes, colours and annotations, adds its model. The open project is not touched.
pub async fn create_from_link(
    storage: Storage,
    ai: Ai,
    setup: &LabelingSetup,
    progress: impl Fn(usize, usize),
) -> Result<FromLink, String> {
    let mut problems = Vec::new();
    let project = match &setup.images {
        ImageSourceSpec::ProjectFile(url) => {
            let bytes = fetch_bytes(&absolute_url(url)).await?;
            let (project, _) = open_project_file(storage, &bytes, &progress)
                .await
                .map_err(|e| e.to_string())?;
            project
        }
        ImageSourceSpec::Manifest(url) => {
            let url = absolute_url(url);
            let manifest = load_manifest(&url).await.map_err(|e| e.to_string())?;
            let sources = manifest
                .images
                .iter()
                .map(|e| (e.path.clone(), image_url(&url, &e.path)))
                .collect();
            let name = if setup.name.is_empty() {
                manifest.name.clone()
            } else {
                setup.name.clone()
            };
            store_fetched(storage, setup, name, sources, &progress, &mut problems).await?
        }
        ImageSourceSpec::Urls(urls) => {
            let sources = named_by_url(urls);
            let name = if setup.name.is_empty() {
                "Shared images".to_owned()
            } else {
                setup.name.clone()
            };
            store_fetched(storage, setup, name, sources, &progress, &mut problems).await?
        }
    };
    if let Some(model) = &setup.model {
        let mut settings: AiSettings = ai.settings.get_untracked();
        settings.params.confidence = model.confidence;
        settings.params.iou = model.iou;
        ai.save_settings(settings);
        let url = absolute_url(&model.url);
        if let Err(error) = ai
            .add_model_from_url(storage, url.clone(), Vec::new())
            .await
        {
            problems.push(format!("model {url}: {error}"));
        }
    }
    Ok(FromLink { project, problems })
}

/// Paths for image URLs: their file names, made unique.
fn named_by_url(urls: &[String]) -> Vec<(String, String)> {
    let mut used = HashSet::new();
    urls.iter()
        .map(|url| {
            let base = url
                .split(['?', '#'])
                .next()
                .and_then(|u| u.rsplit('/').next())
                .filter(|n| !n.is_empty())
                .unwrap_or("image")
                .to_owned();
            let mut name = base.clone();
            let mut n = 2;
            while !used.insert(name.clone()) {
                name = match base.rsplit_once('.') {
                    Some((stem, ext)) => format!("{stem}-{n}.{ext}"),
                    None => format!("{base}-{n}"),
                };
                n += 1;
            }
            (name, url.clone())
        })
        .collect()
}

/// Fetches each `(path, url)`; what loaded is stored as a new project with the setup's
/// classes and annotations (keyed by URL or by path), what failed is listed.
async fn store_fetched(
    storage: Storage,
    setup: &LabelingSetup,
    name: String,
    sources: Vec<(String, String)>,
    progress: &impl Fn(usize, usize),
    problems: &mut Vec<String>,
) -> Result<ProjectRecord, String> {
    let mut manifest = ProjectManifest::new(name);
    manifest.classes = setup.classes.iter().map(|c| c.name.clone()).collect();
    manifest.class_colours = setup
        .classes
        .iter()
        .filter_map(|c| Some((c.name.clone(), c.colour.clone()?.to_lowercase())))
        .collect();
    let mut originals = Vec::new();
    let total = sources.len();
    for (done, (path, url)) in sources.into_iter().enumerate() {
        progress(done, total);
        match fetch_bytes(&absolute_url(&url)).await {
            Ok(bytes) => {
                let shapes = setup
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(&url).or_else(|| a.get(&path)))
                    .cloned();
                let mut image = ProjectImage::new(path.clone(), None);
                image.annotations = shapes.map(|shapes| {
                    let mut annotations = ImageAnnotations::new(path.clone(), None);
                    annotations.shapes = shapes;
                    annotations
                });
                manifest.images.push(image);
                originals.push((path, bytes));
            }
            Err(error) => problems.push(error),
        }
    }
    if manifest.images.is_empty() {
        return Err(format!(
            "None of the link's {total} image(s) could be fetched: {}",
            problems.join("; ")
        ));
    }
    restore(storage, &manifest, originals, progress)
        .await
        .map_err(|e| e.to_string())
}

async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let response = fetch(url).await.map_err(|e| e.to_string())?;
    let promise = response
        .array_buffer()
        .map_err(|e| format!("could not read {url}: {}", js_error_text(&e)))?;
    let buffer = JsFuture::from(promise)
        .await
        .map_err(|e| format!("could not read {url}: {}", js_error_text(&e)))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// `text` with its first letter upper-case (error texts start lower-case, as Rust's do).
pub fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Opens what a link created: remembered by the app's project list, started on the link's
/// image.
pub fn open_created(
    nav: Navigation,
    studio: Studio,
    storage: Storage,
    setup: &LabelingSetup,
    project: ProjectRecord,
) {
    let start = setup.open.as_ref().map(|open| match &setup.images {
        ImageSourceSpec::Urls(urls) => named_by_url(urls)
            .into_iter()
            .find(|(_, url)| url == open)
            .map_or_else(|| open.clone(), |(path, _)| path),
        _ => open.clone(),
    });
    nav.start_at.set_value(start);
    crate::project_open::open_saved_project(nav, studio, storage, project);
}
