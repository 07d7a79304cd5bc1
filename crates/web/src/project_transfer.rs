//! A project as one file (`core::project_file`): "Export project" writes its originals,
//! annotations, classes, colours, curation marks and settings; "Open project…" (or a shared
//! link pointing at one) restores it as a new project in this browser. The project open
//! before is never touched: a restore always makes a new one.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use leptos::prelude::*;
use sightline_core::project::ImageEntry;
use sightline_core::project_file::{
    EXTENSION, MIME_TYPE, ProjectFileError, ProjectFileWriter, ProjectImage, ProjectManifest,
    ProjectWriteError, read_project_file,
};
use sightline_protocol::store::{AnnotationRecord, CurationRecord, ImageRecord};

use crate::autosave::Storage;
use crate::download::{BlobParts, download_blob};
use crate::folder_import::{content_key, new_project_id};
use crate::navigation::Navigation;
use crate::pipeline::ImagePipeline;
use crate::quality::Quality;
use crate::storage::{BlobRecord, ProjectRecord, StorageError};
use crate::studio::Studio;

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("could not write the project file: {0}")]
    Write(#[from] ProjectWriteError),
    #[error("{0}")]
    Read(#[from] ProjectFileError),
    #[error("could not save the project in this browser: {0}")]
    Storage(#[from] StorageError),
    #[error("cancelled: nothing was downloaded")]
    Cancelled,
    #[error("the browser refused the download ({0}); try again")]
    Download(String),
    #[error("could not read {path}: {detail}")]
    Hash { path: String, detail: String },
}

/// The open project as a manifest: every image of its list with its annotations and marks.
pub fn manifest_of(nav: Navigation, studio: Studio, quality: Quality) -> ProjectManifest {
    let mut manifest = ProjectManifest::new(studio.doc.project_name.get_untracked());
    let dataset = studio.doc.dataset.get_untracked();
    manifest.classes = dataset.classes.clone();
    manifest.class_colours = studio.doc.class_colours.get_untracked();
    let curation = quality.curation.get_untracked();
    let entries: Vec<ImageEntry> = nav
        .manifest
        .with_untracked(|m| m.iter().flat_map(|m| m.images.clone()).collect());
    for entry in entries {
        let annotations = dataset.image(&entry.path).cloned();
        let size = annotations.as_ref().and_then(|a| a.image_size);
        let mut image = ProjectImage::new(entry.path.clone(), size);
        image.name = entry.name.clone();
        image.annotations = annotations;
        if let Some(mark) = curation.get(&entry.path) {
            image.flagged = mark.flagged;
            image.excluded = mark.excluded.clone();
        }
        manifest.images.push(image);
    }
    manifest
}

/// Writes the open project as one file and offers it as a download; images whose bytes
/// cannot be read are listed (their annotations are kept).
pub async fn export_project(
    nav: Navigation,
    pipeline: ImagePipeline,
    mut manifest: ProjectManifest,
    settings: serde_json::Value,
    cancel: Rc<Cell<bool>>,
    progress: impl Fn(usize, usize),
) -> Result<Vec<String>, TransferError> {
    manifest.settings = settings;
    let entries: HashMap<String, ImageEntry> = nav.manifest.with_untracked(|m| {
        m.iter()
            .flat_map(|m| &m.images)
            .map(|e| (e.path.clone(), e.clone()))
            .collect()
    });
    let mut writer = ProjectFileWriter::new(BlobParts::default());
    let mut unreadable = Vec::new();
    let total = manifest.images.len();
    for (done, image) in manifest.images.iter().enumerate() {
        if cancel.get() {
            return Err(TransferError::Cancelled);
        }
        progress(done, total);
        let Some(entry) = entries.get(&image.path) else {
            continue;
        };
        match pipeline.original_bytes(entry).await {
            Ok(bytes) => {
                writer.add_original(&image.path, &bytes)?;
            }
            Err(error) => unreadable.push(format!("{}: {error}", image.path)),
        }
    }
    progress(total, total);
    let name = if manifest.name.is_empty() {
        "project".to_owned()
    } else {
        manifest.name.clone()
    };
    let parts = writer.finish(manifest)?;
    let blob = parts
        .into_blob(MIME_TYPE)
        .map_err(TransferError::Download)?;
    download_blob(&blob, &format!("{name}.{EXTENSION}")).map_err(TransferError::Download)?;
    Ok(unreadable)
}

/// Restores a project file's bytes as a new project, stored in this browser. Returns it and
/// the settings the file carries.
pub async fn open_project_file(
    storage: Storage,
    bytes: &[u8],
    progress: impl Fn(usize, usize),
) -> Result<(ProjectRecord, serde_json::Value), TransferError> {
    let mut file = read_project_file(bytes)?;
    let manifest = file.manifest().clone();
    let mut originals = Vec::new();
    for image in &manifest.images {
        if let Some(bytes) = file.original(&image.path)? {
            originals.push((image.path.clone(), bytes));
        }
    }
    let project = restore(storage, &manifest, originals, progress).await?;
    Ok((project, manifest.settings))
}

/// Stores `manifest` (with the `originals` it has, by path) as a new project: blobs under
/// their content keys, image records, annotations, curation marks, then the project record,
/// last, so a restore cut short leaves no project pointing at missing records.
pub async fn restore(
    storage: Storage,
    manifest: &ProjectManifest,
    originals: Vec<(String, Vec<u8>)>,
    progress: impl Fn(usize, usize),
) -> Result<ProjectRecord, TransferError> {
    let store = storage.store().await?;
    let project_id = new_project_id(&manifest.name);
    let total = originals.len();
    let mut keys: HashMap<String, String> = HashMap::new();
    for (done, (path, bytes)) in originals.into_iter().enumerate() {
        progress(done, total);
        let key = content_key(&bytes).await.map_err(|e| TransferError::Hash {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        store
            .put_blobs(&[BlobRecord {
                key: &key,
                bytes: &bytes,
                mime: "",
            }])
            .await?;
        keys.insert(path, key);
    }
    progress(total, total);
    let images: Vec<ImageRecord> = manifest
        .images
        .iter()
        .map(|image| {
            let mut record = ImageRecord::new(&project_id, &image.path, image.size);
            record.name = image.name.clone();
            record.blob_key = keys.get(&image.path).cloned();
            record.problem = image.problem.clone();
            record
        })
        .collect();
    store.put_images(&images).await?;
    let annotations: Vec<AnnotationRecord> = manifest
        .images
        .iter()
        .filter_map(|image| {
            Some(AnnotationRecord {
                project_id: project_id.clone(),
                version: 1,
                annotations: image.annotations.clone()?,
            })
        })
        .collect();
    store.put_annotations(&annotations).await?;
    let curation: Vec<CurationRecord> = manifest
        .images
        .iter()
        .filter(|image| image.flagged || image.excluded.is_some())
        .map(|image| CurationRecord {
            project_id: project_id.clone(),
            path: image.path.clone(),
            flagged: image.flagged,
            excluded: image.excluded.clone(),
        })
        .collect();
    store.put_curation(&curation).await?;
    let project = ProjectRecord {
        id: project_id,
        name: manifest.name.clone(),
        manifest_url: String::new(),
        stored_images: true,
        classes: manifest.classes.clone(),
        class_colours: manifest.class_colours.clone(),
        updated_ms: js_sys::Date::now(),
    };
    store.put_project(&project).await?;
    storage.refresh_projects().await?;
    Ok(project)
}
