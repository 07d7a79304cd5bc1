//! Opening a project: a manifest fetched from beside the app (the demo in `demo/`), or a
//! project whose images are stored in IndexedDB (opened from the user's files).

use std::collections::HashMap;

use sightline_core::image_check::ImageProblem;
use sightline_core::project::{ImageEntry, Manifest, ManifestError};

use crate::autosave::Storage;
use crate::image_loader::{BitmapError, LoadError, fetch, js_error_text};
use crate::storage::{ProjectRecord, StorageError};

/// Where the demo project's manifest is served, relative to the page.
pub const DEMO_MANIFEST_URL: &str = "demo/manifest.json";

/// Why a project or one of its images could not be opened, in words for the user.
#[derive(Debug, thiserror::Error)]
pub enum ProjectLoadError {
    /// The manifest or the image could not be fetched or decoded.
    #[error(transparent)]
    Fetch(#[from] LoadError),
    /// The manifest's text could not be read from the response (the browser's words).
    #[error("{0}")]
    Body(String),
    /// The manifest is not one.
    #[error("{url}: {error}")]
    Manifest { url: String, error: ManifestError },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the stored copy of {path} is missing; open its folder again")]
    MissingBlob { path: String },
    #[error("{path} is not an image the browser can decode: {detail}")]
    Decode { path: String, detail: BitmapError },
    /// Found wrong before decoding: empty, not an image, truncated, too large.
    #[error("{path}: {problem}")]
    Bad { path: String, problem: ImageProblem },
    #[error("{path} could not be read: {detail}")]
    Read { path: String, detail: String },
    /// A newer request took its place (the user moved on).
    #[error("superseded by a newer request")]
    Superseded,
}

/// Fetches and parses a project manifest.
pub async fn load_manifest(url: &str) -> Result<Manifest, ProjectLoadError> {
    let response = fetch(url).await?;
    let body = |err| ProjectLoadError::Body(js_error_text(&err));
    let text_promise = response.text().map_err(body)?;
    let text = wasm_bindgen_futures::JsFuture::from(text_promise)
        .await
        .map_err(body)?
        .as_string()
        .unwrap_or_default();
    Manifest::from_json(&text).map_err(|error| ProjectLoadError::Manifest {
        url: url.to_owned(),
        error,
    })
}

/// The URL of an image of a manifest loaded from `manifest_url`.
pub fn image_url(manifest_url: &str, image_path: &str) -> String {
    match manifest_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{image_path}"),
        None => image_path.to_owned(),
    }
}

/// The image list of a project whose images are stored in IndexedDB, sorted by path, with
/// the problems found in some images when they were imported (by path).
pub async fn load_stored_manifest(
    storage: Storage,
    project: &ProjectRecord,
) -> Result<(Manifest, HashMap<String, String>), ProjectLoadError> {
    let store = storage.store().await?;
    let (mut images, problems) = store.images(&project.id).await?;
    if let Some(problem) = problems.first() {
        web_sys::console::warn_1(&problem.to_string().into());
    }
    images.sort_by(|a, b| a.path.cmp(&b.path));
    let mut problems: HashMap<String, String> = images
        .iter()
        .filter_map(|i| Some((i.path.clone(), i.problem.clone()?)))
        .collect();
    for image in images.iter().filter(|i| i.blob_key.is_none()) {
        problems.insert(
            image.path.clone(),
            format!(
                "{}: not stored yet (the import was cut short); open the folder again to \
                 store it",
                image.path
            ),
        );
    }
    let manifest = Manifest {
        name: project.name.clone(),
        images: images
            .into_iter()
            .map(|image| ImageEntry {
                name: image.name,
                path: image.path,
                blob_key: image.blob_key,
            })
            .collect(),
        models: Vec::new(),
    };
    Ok((manifest, problems))
}
