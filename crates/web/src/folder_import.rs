//! Opening the user's folder (or loose files) as a new project, in two phases so that a
//! folder of 10,000 images shows its first image within a second of the pick.
//!
//! [`start_import`]: the picked files are sorted out by `core::project::plan_folder`; every
//! annotation file of any format (LabelMe, YOLO, COCO, VOC) goes through
//! `core::formats::import_folder`, whose per-file report the user sees; the project, its
//! image list and its annotations are saved. The app opens it at once, showing images from
//! the picked files. [`store_originals`] then stores each original in IndexedDB under its
//! content key (SHA-256, by the browser's `crypto.subtle`), checked by
//! `core::image_check`, with progress and cancel; what it stored is kept whatever happens
//! next, and picking the folder again finishes an import that was cut short.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use sightline_core::annotation::ImageSize;
use sightline_core::formats::{self, ImportOptions, InputFile};
use sightline_core::image_check::check_image;
use sightline_core::project::{ImageEntry, Manifest, image_size_from_header, plan_folder};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::autosave::Storage;
use crate::image_loader::js_error_text;
use crate::storage::{AnnotationRecord, BlobRecord, ImageRecord, ProjectRecord, StorageError};

/// Images stored per IndexedDB transaction: big enough to amortise a transaction, small
/// enough that progress moves and a cancel is quick.
const CHUNK: usize = 8;

/// Why an import stopped.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ImportFailure {
    #[error(
        "Import cancelled; the images stored so far are kept (open the folder again to store \
         the rest)."
    )]
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

/// A file to import and its path in what the user opened (`folder/sub/a.jpg`, or a name).
#[derive(Clone)]
pub struct Picked {
    pub path: String,
    pub file: web_sys::File,
}

impl Picked {
    /// A file from a file input: its path inside the picked folder, or its name.
    pub fn from_input(file: web_sys::File) -> Self {
        Self {
            path: listed_path(&file),
            file,
        }
    }
}

/// The path of a picked file inside the picked folder (`webkitRelativePath`), or its name.
fn listed_path(file: &web_sys::File) -> String {
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
pub(crate) fn new_project_id(name: &str) -> String {
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

/// What the first phase of an import made: the project, already saved and ready to open
/// from the picked files, and what is left to store in the background.
pub struct Started {
    pub project: ProjectRecord,
    pub manifest: Manifest,
    /// The picked images by path: the pipeline shows them from here until they are stored.
    pub files: HashMap<String, web_sys::File>,
    /// The images whose originals are still to store, by path.
    pub to_store: Vec<String>,
    /// What the user is told: a summary line, then one line per problem.
    pub report: Vec<String>,
}

/// The image size from the first bytes of `file` (64 KB hold every format's header).
async fn header_size(file: &web_sys::File) -> Option<ImageSize> {
    let head = file.slice_with_i32_and_i32(0, 64 * 1024).ok()?;
    let buffer = JsFuture::from(head.array_buffer()).await.ok()?;
    image_size_from_header(&js_sys::Uint8Array::new(&buffer).to_vec())
}

/// The first phase of opening `files` as a project, quick enough that the first image shows
/// within a second of the pick: the folder is sorted out, its annotation files imported
/// (reading the headers of the images only when there are annotation files, which need
/// their sizes), and the project saved with its image list — before any original is read
/// whole. [`store_originals`] then stores the originals in the background.
///
/// A folder already opened whose import was cut short (the tab closed) resumes instead:
/// the same project, only the images not yet stored.
pub async fn start_import(storage: Storage, picked: Vec<Picked>) -> Result<Started, ImportFailure> {
    let listing: Vec<String> = picked.iter().map(|p| p.path.clone()).collect();
    let files: Vec<web_sys::File> = picked.into_iter().map(|p| p.file).collect();
    let plan = plan_folder(&listing);
    if plan.images.is_empty() {
        return Err(ImportFailure::NoImages);
    }
    let store = storage.store().await?;
    let picked: HashMap<String, web_sys::File> = plan
        .images
        .iter()
        .map(|(index, path)| (path.clone(), files[*index].clone()))
        .collect();
    if let Some(started) = resume(&store, &plan.name, &picked).await? {
        return Ok(started);
    }

    let mut problems: Vec<String> = Vec::new();
    let mut sizes: HashMap<String, Option<ImageSize>> = HashMap::new();
    if !plan.annotation_files.is_empty() {
        for (_, path) in &plan.images {
            sizes.insert(path.clone(), header_size(&picked[path]).await);
        }
    }
    let project_name = if plan.name.is_empty() {
        "Opened files".to_owned()
    } else {
        plan.name.clone()
    };
    let project_id = new_project_id(&plan.name);
    let image_records: Vec<ImageRecord> = plan
        .images
        .iter()
        .map(|(_, path)| ImageRecord::new(&project_id, path, sizes.get(path).copied().flatten()))
        .collect();

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
    Ok(Started {
        manifest: manifest_of(&project, &image_records),
        to_store: image_records.iter().map(|r| r.path.clone()).collect(),
        project,
        files: picked,
        report: lines,
    })
}

/// The image list of `project` from its image records, sorted by path.
fn manifest_of(project: &ProjectRecord, records: &[ImageRecord]) -> Manifest {
    let mut images: Vec<ImageEntry> = records
        .iter()
        .map(|image| ImageEntry {
            name: image.name.clone(),
            path: image.path.clone(),
            blob_key: image.blob_key.clone(),
        })
        .collect();
    images.sort_by(|a, b| a.path.cmp(&b.path));
    Manifest {
        name: project.name.clone(),
        images,
        models: Vec::new(),
    }
}

/// A saved project named `name` with images not yet stored that this pick holds: its import
/// was cut short, and goes on.
async fn resume(
    store: &crate::storage::Store,
    name: &str,
    picked: &HashMap<String, web_sys::File>,
) -> Result<Option<Started>, ImportFailure> {
    let (projects, _) = store.projects().await?;
    for project in projects
        .into_iter()
        .filter(|p| p.stored_images && p.name == name)
    {
        let (records, _) = store.images(&project.id).await?;
        let missing: Vec<String> = records
            .iter()
            .filter(|r| r.blob_key.is_none() && picked.contains_key(&r.path))
            .map(|r| r.path.clone())
            .collect();
        if missing.is_empty() {
            continue;
        }
        let report = vec![format!(
            "Resuming the import of “{}”: {} image(s) left to store.",
            project.name,
            missing.len()
        )];
        return Ok(Some(Started {
            manifest: manifest_of(&project, &records),
            project,
            files: picked.clone(),
            to_store: missing,
            report,
        }));
    }
    Ok(None)
}

/// The second phase: stores the originals of `paths` (from `files`) under their content
/// keys, checking each, in chunks; `stored(path, key)` follows each chunk, `progress(done,
/// total)` the count. Cancelling, or closing the tab, keeps what was stored: the project
/// opens with those images, and picking the folder again stores the rest (see
/// [`start_import`]). Returns one line per image with a problem.
pub async fn store_originals(
    storage: Storage,
    project_id: String,
    paths: Vec<String>,
    files: HashMap<String, web_sys::File>,
    cancel: Rc<Cell<bool>>,
    progress: impl Fn(usize, usize),
    stored: impl Fn(&str, &str),
) -> Result<Vec<String>, ImportFailure> {
    let store = storage.store().await?;
    let mut problems = Vec::new();
    let total = paths.len();
    progress(0, total);
    for (chunk_index, chunk) in paths.chunks(CHUNK).enumerate() {
        if cancel.get() {
            return Err(ImportFailure::Cancelled);
        }
        let mut read: Vec<(String, Vec<u8>, String)> = Vec::with_capacity(chunk.len());
        let mut records = Vec::with_capacity(chunk.len());
        for path in chunk {
            let Some(file) = files.get(path) else {
                continue;
            };
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
            let checked = check_image(path, &bytes);
            let problem = checked.as_ref().err().map(ToString::to_string);
            if let Some(problem) = &problem {
                problems.push(format!("{path}: {problem}"));
            }
            records.push(ImageRecord {
                blob_key: Some(key.clone()),
                problem,
                ..ImageRecord::new(&project_id, path, checked.ok().map(|c| c.size))
            });
            read.push((key, bytes, file.type_()));
        }
        let blobs: Vec<BlobRecord<'_>> = read
            .iter()
            .map(|(key, bytes, mime)| BlobRecord { key, bytes, mime })
            .collect();
        // Bytes first, then the records that point at them: a tab closed in between leaves
        // unreferenced bytes (removed with the project), never a record without its bytes.
        store.put_blobs(&blobs).await?;
        store.put_images(&records).await?;
        for record in &records {
            if let Some(key) = &record.blob_key {
                stored(&record.path, key);
            }
        }
        progress(((chunk_index + 1) * CHUNK).min(total), total);
    }
    Ok(problems)
}
