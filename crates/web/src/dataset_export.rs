//! Exporting the project as a dataset with its images, in the format's own layout
//! (`core::formats::dataset`): label files first, then the images one at a time from
//! wherever they are, streamed into a zip in JS memory, with progress and cancel.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use leptos::prelude::*;
use sightline_core::annotation::{Dataset, ImageSize};
use sightline_core::formats::dataset::{DatasetOptions, DatasetPlan, SplitRule, plan_dataset};
use sightline_core::formats::{ExportOptions, Format, ZipStream};
use sightline_core::project::{ImageEntry, image_size_from_header};

use crate::download::{BlobParts, download_blob};
use crate::navigation::Navigation;
use crate::pipeline::ImagePipeline;

/// What the finished export wrote, for the user's message.
pub struct Exported {
    pub plan: DatasetPlan,
    pub bytes: u64,
    /// Images whose bytes could not be read, with the reason; their labels are still written.
    pub unreadable: Vec<String>,
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum DatasetExportError {
    #[error("export failed: {0}")]
    Plan(#[from] sightline_core::formats::ExportError),
    #[error("export failed: {0}")]
    Zip(#[from] sightline_core::formats::ZipError),
    #[error("cancelled: nothing was downloaded")]
    Cancelled,
    #[error("the browser refused the download ({0}); try again")]
    Download(String),
}

/// What to export and as what.
pub struct DatasetRequest {
    pub dataset: Dataset,
    pub format: Format,
    pub split: SplitRule,
    pub file_name: String,
}

/// Writes the dataset with its images and offers the zip as a download. `progress(done,
/// total)` follows each entry; setting `cancel` stops before the next one.
pub async fn export_with_images(
    nav: Navigation,
    pipeline: ImagePipeline,
    request: &DatasetRequest,
    cancel: Rc<Cell<bool>>,
    progress: impl Fn(usize, usize),
) -> Result<Exported, DatasetExportError> {
    let options = DatasetOptions {
        format: request.format,
        split: request.split,
        labels: ExportOptions::default(),
    };
    let entries: HashMap<String, ImageEntry> = nav.manifest.with_untracked(|m| {
        m.iter()
            .flat_map(|m| &m.images)
            .map(|e| (e.path.clone(), e.clone()))
            .collect()
    });
    // Pixel formats need each image's size; one never opened since its import may not have
    // it yet (or a LabelMe file said 0 × 0), and its header has it.
    let mut dataset = request.dataset.clone();
    let unknown = |size: Option<ImageSize>| size.is_none_or(|s| s.width == 0 || s.height == 0);
    for image in dataset.images.iter_mut().filter(|i| unknown(i.image_size)) {
        if let Some(entry) = entries.get(&image.image_path)
            && let Ok(bytes) = pipeline.original_bytes(entry).await
        {
            image.image_size = image_size_from_header(&bytes);
        }
    }
    let plan = plan_dataset(&dataset, &options)?;
    let total = plan.entry_count();
    let mut zip = ZipStream::new(BlobParts::default());
    for file in &plan.files {
        zip.add(&file.path, &file.bytes)?;
    }
    let mut done = plan.files.len();
    progress(done, total);
    let mut unreadable = Vec::new();
    for image in &plan.images {
        if cancel.get() {
            return Err(DatasetExportError::Cancelled);
        }
        let bytes = match entries.get(&image.image_path) {
            Some(entry) => pipeline
                .original_bytes(entry)
                .await
                .map_err(|e| e.to_string()),
            None => Err("not in the project's image list".to_owned()),
        };
        match bytes {
            Ok(bytes) => zip.add(&image.output_path, &bytes)?,
            Err(reason) => unreadable.push(format!("{}: {reason}", image.image_path)),
        }
        done += 1;
        progress(done, total);
    }
    let parts = zip.finish()?;
    let bytes = parts.written();
    let blob = parts
        .into_blob("application/zip")
        .map_err(DatasetExportError::Download)?;
    download_blob(&blob, &request.file_name).map_err(DatasetExportError::Download)?;
    Ok(Exported {
        plan,
        bytes,
        unreadable,
    })
}
