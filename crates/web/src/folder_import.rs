//! Opening the user's folder (or loose files) as a new project.
//!
//! The picked files are sorted out by `core::project::plan_folder`; each image's original
//! bytes are stored in IndexedDB under their content key (SHA-256, by the browser's
//! `crypto.subtle`), its size read from the header; every annotation file of any format
//! (LabelMe, YOLO, COCO, VOC) goes through `core::formats::import_folder`, whose per-file
//! report the user sees. The project record is written last, so an import that fails or is
//! cancelled half-way leaves no half project behind (and its stored bytes are removed).

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use sightline_core::annotation::ImageSize;
use sightline_core::formats::{self, ImportOptions, InputFile};
use sightline_core::project::{image_size_from_header, plan_folder};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::autosave::Storage;
use crate::image_loader::js_error_text;
use crate::storage::{AnnotationRecord, BlobRecord, ImageRecord, ProjectRecord, StorageError};

/// Images stored per IndexedDB transaction: big enough to amortise a transaction, small
/// enough that progress moves and a cancel is quick.
const CHUNK: usize = 8;

/// How an import ended.
pub struct Imported {
    pub project: ProjectRecord,
    /// What the user is told: a summary line, then one line per problem.
    pub report: Vec<String>,
}

/// Why nothing was imported.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ImportFailure {
    #[error("Import cancelled; nothing was added.")]
    Cancelled,
    #[error("No images found (JPEG, PNG, BMP, GIF, WebP, TIFF); nothing was added.")]
    NoImages,
    #[error("Import failed: {0}")]
    Storage(#[from] StorageError),
    #[error("Import failed: hashing {path}: {error}")]
    Hashing { path: String, error: FileError },
}

/// Why a picked file could not be read or hashed, in the browser's words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("this browser has no crypto API")]
    NoCrypto,
    #[error("{0}")]
    Browser(String),
}

impl FileError {
    fn browser(err: wasm_bindgen::JsValue) -> Self {
        Self::Browser(js_error_text(&err))
    }
}

/// The lowercase hex SHA-256 of `bytes` — the content key shared with the worker.
pub async fn content_key(bytes: &[u8]) -> Result<String, FileError> {
    let crypto = js_sys::Reflect::get(&js_sys::global(), &"crypto".into())
        .map_err(FileError::browser)?
        .dyn_into::<web_sys::Crypto>()
        .map_err(|_| FileError::NoCrypto)?;
    let promise = crypto
        .subtle()
        .digest_with_str_and_u8_array("SHA-256", bytes)
        .map_err(FileError::browser)?;
    let digest = JsFuture::from(promise).await.map_err(FileError::browser)?;
    let digest = js_sys::Uint8Array::new(&digest).to_vec();
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// The path of a picked file inside the picked folder (`webkitRelativePath`), or its name.
pub fn listed_path(file: &web_sys::File) -> String {
    let relative = js_sys::Reflect::get(file, &"webkitRelativePath".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    if relative.is_empty() {
        file.name()
    } else {
        relative
    }
}

/// The whole content of a picked file.
pub async fn read_bytes(file: &web_sys::File) -> Result<Vec<u8>, FileError> {
    let buffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(FileError::browser)?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// A new project id: the folder's name made safe, and the time.
fn new_project_id(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .take(40)
        .collect();
    format!(
        "folder-{}-{}",
        if slug.is_empty() { "files" } else { &slug },
        js_sys::Date::now() as u64
    )
}

/// Imports `files` as a new project. `progress(done, total)` follows the images stored;
/// setting `cancel` stops at the next chunk, removing what this import stored.
pub async fn import_files(
    storage: Storage,
    files: Vec<web_sys::File>,
    cancel: Rc<Cell<bool>>,
    progress: impl Fn(usize, usize),
) -> Result<Imported, ImportFailure> {
    let listing: Vec<String> = files.iter().map(listed_path).collect();
    let plan = plan_folder(&listing);
    if plan.images.is_empty() {
        return Err(ImportFailure::NoImages);
    }
    let store = storage.store().await?;
    let mut problems: Vec<String> = Vec::new();
    let mut sizes: HashMap<String, Option<ImageSize>> = HashMap::new();
    let mut image_records: Vec<ImageRecord> = Vec::new();
    let mut stored_keys: Vec<String> = Vec::new();
    let project_name = if plan.name.is_empty() {
        "Opened files".to_owned()
    } else {
        plan.name.clone()
    };
    let project_id = new_project_id(&plan.name);
    let total = plan.images.len();
    progress(0, total);
    for (chunk_index, chunk) in plan.images.chunks(CHUNK).enumerate() {
        if cancel.get() {
            // Nothing references what was stored so far: remove it.
            let _ = store.forget_blobs(&stored_keys).await;
            return Err(ImportFailure::Cancelled);
        }
        let mut read: Vec<(String, Vec<u8>, String)> = Vec::with_capacity(chunk.len());
        for (index, path) in chunk {
            let file = &files[*index];
            let bytes = match read_bytes(file).await {
                Ok(bytes) => bytes,
                Err(detail) => {
                    problems.push(format!("{path}: could not be read ({detail}); skipped"));
                    continue;
                }
            };
            let key = content_key(&bytes)
                .await
                .map_err(|error| ImportFailure::Hashing {
                    path: path.clone(),
                    error,
                })?;
            let size = image_size_from_header(&bytes);
            if size.is_none() {
                problems.push(format!(
                    "{path}: the image header could not be read; it may not open"
                ));
            }
            sizes.insert(path.clone(), size);
            image_records.push(ImageRecord {
                project_id: project_id.clone(),
                path: path.clone(),
                name: path.rsplit('/').next().unwrap_or(path).to_owned(),
                width: size.map(|s| s.width),
                height: size.map(|s| s.height),
                blob_key: Some(key.clone()),
            });
            read.push((key, bytes, file.type_()));
        }
        let blobs: Vec<BlobRecord<'_>> = read
            .iter()
            .map(|(key, bytes, mime)| BlobRecord { key, bytes, mime })
            .collect();
        if let Err(error) = store.put_blobs(&blobs).await {
            let _ = store.forget_blobs(&stored_keys).await;
            return Err(error.into());
        }
        stored_keys.extend(read.into_iter().map(|(key, _, _)| key));
        progress(((chunk_index + 1) * CHUNK).min(total), total);
    }

    // Annotations of every format, attached to the images by path.
    let mut inputs: Vec<InputFile> = Vec::new();
    for (index, path) in &plan.annotation_files {
        match read_bytes(&files[*index]).await {
            Ok(bytes) => inputs.push(InputFile::new(path.clone(), bytes)),
            Err(detail) => problems.push(format!("{path}: could not be read ({detail})")),
        }
    }
    for record in &image_records {
        inputs.push(InputFile::new(record.path.clone(), Vec::new()));
    }
    let size_of = |file: &InputFile| sizes.get(&file.path).copied().flatten();
    let (dataset, report) = formats::import_folder(&inputs, &ImportOptions::default(), &size_of);
    let annotations: Vec<AnnotationRecord> = dataset
        .images
        .iter()
        .filter(|image| !image.shapes.is_empty() || !image.flags.is_empty())
        .map(|image| AnnotationRecord {
            project_id: project_id.clone(),
            version: 1,
            annotations: image.clone(),
        })
        .collect();
    let project = ProjectRecord {
        id: project_id.clone(),
        name: project_name,
        manifest_url: String::new(),
        stored_images: true,
        classes: dataset.classes.clone(),
        class_colours: Default::default(),
        updated_ms: js_sys::Date::now(),
    };
    let written = async {
        store.put_images(&image_records).await?;
        store.put_annotations(&annotations).await?;
        store.put_project(&project).await
    }
    .await;
    if let Err(error) = written {
        let _ = store.delete_project(&project_id).await;
        let _ = store.forget_blobs(&stored_keys).await;
        return Err(error.into());
    }

    let mut lines = vec![format!(
        "Opened {} image(s) as project “{}”: {} shape(s) from {} annotation file(s); {} \
         problem(s).",
        image_records.len(),
        project.name,
        report.shapes_imported,
        report.files_imported.len(),
        report.issues.len() + problems.len()
    )];
    lines.extend(problems);
    lines.extend(report.issues.iter().map(ToString::to_string));
    if !plan.skipped.is_empty() {
        lines.push(format!(
            "{} other file(s) skipped (not images or annotations): {}",
            plan.skipped.len(),
            plan.skipped
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(Imported {
        project,
        report: lines,
    })
}
