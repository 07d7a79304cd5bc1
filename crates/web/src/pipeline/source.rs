//! Where an image's original bytes come from: the file the user picked (while its folder is
//! still being stored), the stored copy in IndexedDB, or the project's manifest URL.

use std::collections::HashMap;

use sightline_core::project::ImageEntry;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

use crate::autosave::Storage;
use crate::image_loader::{LoadError, fetch, js_error_text};
use crate::project_loader::{ProjectLoadError, image_url};

/// The sources of the open project's images.
#[derive(Default)]
pub struct Sources {
    /// Where a manifest project's images are fetched from (empty for stored projects).
    pub manifest_url: String,
    /// Files picked this session, by path: shown before (and while) they are stored.
    pub files: HashMap<String, web_sys::File>,
}

/// Where one image's original is.
pub enum Origin {
    File(web_sys::File),
    Stored {
        key: String,
    },
    Url(String),
    /// Nowhere: an image of a stored project whose bytes were never stored (its import
    /// was cut short).
    Missing,
}

impl Sources {
    /// Where the original of `entry` is.
    pub fn origin(&self, entry: &ImageEntry) -> Origin {
        if let Some(file) = self.files.get(&entry.path) {
            return Origin::File(file.clone());
        }
        match &entry.blob_key {
            Some(key) => Origin::Stored { key: key.clone() },
            None if self.manifest_url.is_empty() => Origin::Missing,
            None => Origin::Url(image_url(&self.manifest_url, &entry.path)),
        }
    }
}

impl Origin {
    /// The original bytes (of the image at `path`, for the errors).
    pub async fn blob(self, storage: Storage, path: &str) -> Result<Blob, ProjectLoadError> {
        match self {
            Origin::File(file) => Ok(file.into()),
            Origin::Stored { key } => {
                let store = storage.store().await?;
                store
                    .blob(&key)
                    .await?
                    .ok_or_else(|| ProjectLoadError::MissingBlob {
                        path: path.to_owned(),
                    })
            }
            Origin::Missing => Err(ProjectLoadError::MissingBlob {
                path: path.to_owned(),
            }),
            Origin::Url(url) => {
                let response = fetch(&url).await?;
                let network = |err| LoadError::Network {
                    url: url.clone(),
                    detail: js_error_text(&err),
                };
                let promise = response.blob().map_err(network)?;
                Ok(JsFuture::from(promise)
                    .await
                    .map_err(network)?
                    .unchecked_into())
            }
        }
    }
}

/// The whole content of `blob`, copied into wasm memory (to check and hash it).
pub async fn bytes_of(blob: &Blob) -> Result<Vec<u8>, String> {
    let buffer = JsFuture::from(blob.array_buffer())
        .await
        .map_err(|err| js_error_text(&err))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}
