//! Opening a project: a manifest fetched from beside the app (the demo in `demo/`), or a
//! project whose images are stored in IndexedDB (opened from the user's files).

use sightline_core::project::{ImageEntry, Manifest};
use web_sys::ImageBitmap;

use crate::autosave::Storage;
use crate::image_loader::{LoadError, decode_blob, fetch, js_error_text, load_bitmap};
use crate::storage::ProjectRecord;

/// Where the demo project's manifest is served, relative to the page.
pub const DEMO_MANIFEST_URL: &str = "demo/manifest.json";

/// Fetches and parses a project manifest.
pub async fn load_manifest(url: &str) -> Result<Manifest, String> {
    let response = fetch(url).await.map_err(|err: LoadError| err.to_string())?;
    let text_promise = response.text().map_err(|err| js_error_text(&err))?;
    let text = wasm_bindgen_futures::JsFuture::from(text_promise)
        .await
        .map_err(|err| js_error_text(&err))?
        .as_string()
        .unwrap_or_default();
    Manifest::from_json(&text).map_err(|err| format!("{url}: {err}"))
}

/// The URL of an image of a manifest loaded from `manifest_url`.
pub fn image_url(manifest_url: &str, image_path: &str) -> String {
    match manifest_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{image_path}"),
        None => image_path.to_owned(),
    }
}

/// The image list of a project whose images are stored in IndexedDB, sorted by path.
pub async fn load_stored_manifest(
    storage: Storage,
    project: &ProjectRecord,
) -> Result<Manifest, String> {
    let store = storage.store().await.map_err(|e| e.to_string())?;
    let (mut images, problems) = store.images(&project.id).await.map_err(|e| e.to_string())?;
    if let Some(problem) = problems.first() {
        web_sys::console::warn_1(&problem.to_string().into());
    }
    images.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Manifest {
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
    })
}

/// Decodes one image of the open project: its stored bytes, or fetched beside the manifest.
pub async fn load_image(
    storage: Storage,
    manifest_url: &str,
    entry: &ImageEntry,
) -> Result<ImageBitmap, String> {
    match &entry.blob_key {
        Some(key) => {
            let store = storage.store().await.map_err(|e| e.to_string())?;
            let blob = store
                .blob(key)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| {
                    format!(
                        "the stored copy of {} is missing; open its folder again",
                        entry.path
                    )
                })?;
            decode_blob(&blob).await.map_err(|detail| {
                format!(
                    "{} is not an image the browser can decode: {detail}",
                    entry.path
                )
            })
        }
        None => load_bitmap(&image_url(manifest_url, &entry.path))
            .await
            .map_err(|e: LoadError| e.to_string()),
    }
}
