//! Opening a project. For now: the demo project shipped in `demo/` beside the app.

use sightline_core::project::Manifest;

use crate::image_loader::{LoadError, fetch, js_error_text};

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
