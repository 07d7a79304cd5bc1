//! The project store in IndexedDB: projects, image metadata and the annotations of each
//! image (versioned), original image bytes and model files, under a versioned schema with
//! an upgrade path.
//!
//! The schema (stores, key paths, the version that adds each) and the serde type of every
//! store's rows are `sightline_protocol::store`'s, shared with the worker, which reads
//! `blobs` and `models`; transactions, migrations and the rows' JS form are
//! `sightline_idb_store`'s. This module is the page's API over them, with errors in words
//! for the user.
//!
//! Wrapper crate: `idb` (0.6). Of the three maintained wrappers, `idb` is the small
//! futures-based one that `rexie` itself is built on; it depends only on wasm-bindgen/web-sys
//! `0.2`/`0.3` (so it builds with the workspace's pinned wasm-bindgen =0.2.130), exposes the
//! IndexedDB model as it is (upgrade events with the old version, transactions, key
//! ranges), and pulls in no macro crates. `indexed_db_futures` 0.6 pulls in a tree of
//! proc-macro helper crates (accessory, delegate-display, fancy_constructor, sealed, ...) for
//! the same features; `rexie` hides the upgrade event that our migrations need.

use std::collections::HashSet;

use idb::{Database, DatabaseEvent, Factory, KeyRange, TransactionMode};
use sightline_core::annotation::ImageAnnotations;
use sightline_core::merge::{merge_classes, merge_image};
use sightline_idb_store::{JsBytes, from_js, get, in_transaction, migrate, to_js};
use sightline_protocol::store::{
    ANNOTATIONS, BLOBS, BlobRow, CURATION, IMAGES, JsonRecord, JsonRow, MODELS, ModelRow, PROJECTS,
    StoreSpec, project_key_bounds, record_key,
};
use wasm_bindgen::{JsCast, JsValue};

pub use sightline_protocol::store::{
    AnnotationRecord, CurationRecord, DATABASE_NAME, ImageRecord, ModelSummary, ProjectRecord,
    QualityRecord, SCHEMA_VERSION,
};

/// Why the store could not do what was asked, in words for the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// IndexedDB is missing (private mode in some browsers, a sandboxed frame).
    #[error(
        "this browser offers no storage for the page ({0}); edits stay in this tab \
         only — export your annotations before closing it"
    )]
    Unavailable(String),
    /// The database could not be opened or upgraded.
    #[error("could not open the saved projects ({0}); close other Sightline tabs and reload")]
    Open(String),
    /// A read failed.
    #[error("could not read saved {store} ({detail}); reload to try again")]
    Read { store: &'static str, detail: String },
    /// A write failed (quota, a closed database...).
    #[error(
        "could not save {store} ({detail}); your edits are kept in this tab and saving \
         is retried — free some disk space if this goes on"
    )]
    Write { store: &'static str, detail: String },
    /// A stored record could not be read back.
    #[error("a saved record ({key}) could not be read ({detail}); it was skipped")]
    Corrupt { key: String, detail: String },
}

impl StorageError {
    /// Whether the browser refused a write for want of space (`QuotaExceededError`, as
    /// `sightline_idb_store::Error` words it): the image cache makes room and retries;
    /// annotations keep the edit in memory.
    pub fn is_quota(&self) -> bool {
        matches!(self, Self::Write { detail, .. } if detail.contains("QuotaExceededError"))
    }

    /// A failed read of `store`.
    pub(crate) fn read(store: StoreSpec, detail: impl std::fmt::Display) -> Self {
        Self::Read {
            store: store.name,
            detail: detail.to_string(),
        }
    }

    /// A failed write of `store`.
    pub(crate) fn write(store: StoreSpec, detail: impl std::fmt::Display) -> Self {
        Self::Write {
            store: store.name,
            detail: detail.to_string(),
        }
    }
}

/// The page's `localStorage` (small settings: the last project, the AI and cache settings),
/// `None` where the browser offers none.
pub(crate) fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Original bytes of one file, to store under their content key.
pub struct BlobRecord<'a> {
    pub key: &'a str,
    pub bytes: &'a [u8],
    /// The MIME type the browser gave the file (may be empty).
    pub mime: &'a str,
}

/// The key range of every record of `project_id` in a store keyed by
/// [`record_key`](sightline_protocol::store::record_key).
fn project_range(project_id: &str) -> Result<KeyRange, idb::Error> {
    let (lower, upper) = project_key_bounds(project_id);
    KeyRange::bound(
        &JsValue::from_str(&lower),
        &JsValue::from_str(&upper),
        Some(false),
        Some(false),
    )
}

/// The records stored as `values`, and the rows that could not be read.
fn decode_all<R: JsonRecord>(values: Vec<JsValue>) -> (Vec<R>, Vec<StorageError>) {
    decode_rows(values, |row: JsonRow| {
        let record = row.record();
        (row.key, record)
    })
}

/// Each value read as a `Row`, then as a record by `read` (which also gives the row's key for
/// the error); with the values that could not be read, so one bad row loses nothing else.
fn decode_rows<Row: serde::de::DeserializeOwned, R>(
    values: Vec<JsValue>,
    read: impl Fn(Row) -> (String, Result<R, serde_json::Error>),
) -> (Vec<R>, Vec<StorageError>) {
    let mut records = Vec::new();
    let mut problems = Vec::new();
    for value in values {
        let Ok(row) = from_js::<Row>(value) else {
            problems.push(StorageError::Corrupt {
                key: "?".to_owned(),
                detail: "not a Sightline record".to_owned(),
            });
            continue;
        };
        match read(row) {
            (_, Ok(record)) => records.push(record),
            (key, Err(err)) => problems.push(StorageError::Corrupt {
                key,
                detail: err.to_string(),
            }),
        }
    }
    (records, problems)
}

/// An image's annotations as edited in this tab, and the saved record they were made
/// from (`base_version` 0 and no `base` when never saved).
pub struct AnnotationEdit {
    pub base_version: u64,
    pub base: Option<ImageAnnotations>,
    pub ours: AnnotationRecord,
}

/// An open project database.
pub struct Store {
    database: Database,
}

impl Store {
    /// Opens (creating or upgrading) the app's database at the current schema.
    pub async fn open(name: &str) -> Result<Self, StorageError> {
        Self::open_at_version(name, SCHEMA_VERSION).await
    }

    /// Opens `name` at schema `version` (older versions exist for the upgrade tests).
    pub async fn open_at_version(name: &str, version: u32) -> Result<Self, StorageError> {
        let factory = Factory::new().map_err(|e| StorageError::Unavailable(e.to_string()))?;
        let mut request = factory
            .open(name, Some(version))
            .map_err(|e| StorageError::Open(e.to_string()))?;
        let upgrade_error = std::rc::Rc::new(std::cell::RefCell::new(None::<String>));
        let upgrade_error_in_handler = upgrade_error.clone();
        request.on_upgrade_needed(move |event| {
            let result = event.database().and_then(|database| {
                let old_version = event.old_version()?;
                migrate(&database, old_version, version)
            });
            if let Err(error) = result {
                *upgrade_error_in_handler.borrow_mut() = Some(error.to_string());
            }
        });
        let opened = request.await;
        if let Some(detail) = upgrade_error.borrow_mut().take() {
            return Err(StorageError::Open(format!(
                "schema upgrade failed: {detail}"
            )));
        }
        let mut database = opened.map_err(|e| StorageError::Open(e.to_string()))?;
        // A newer build in another tab upgrading the schema must not wait for this tab:
        // close, and let the next write reopen (see `Storage::forget_store`).
        database.on_version_change(|event| {
            let close = event.target().and_then(|db| {
                let close = js_sys::Reflect::get(&db, &"close".into()).ok()?;
                close.dyn_ref::<js_sys::Function>()?.call0(&db).ok()
            });
            if close.is_none() {
                web_sys::console::warn_1(&"sightline: could not close the old database".into());
            }
        });
        Ok(Self { database })
    }

    /// Deletes a whole database (tests start from nothing).
    pub async fn delete_database(name: &str) -> Result<(), StorageError> {
        let factory = Factory::new().map_err(|e| StorageError::Unavailable(e.to_string()))?;
        factory
            .delete(name)
            .map_err(|e| StorageError::Open(e.to_string()))?
            .await
            .map_err(|e| StorageError::Open(e.to_string()))
    }

    /// The open database, for the stores kept by other modules (`cache_store`).
    pub(crate) fn database(&self) -> &Database {
        &self.database
    }

    /// The schema version of the open database.
    pub fn version(&self) -> u32 {
        self.database.version().unwrap_or(0)
    }

    pub fn store_names(&self) -> Vec<String> {
        self.database.store_names()
    }

    /// Closes the connection (an upgrade by another connection waits for this).
    pub fn close(self) {
        self.database.close();
    }

    /// Writes `rows` (JS objects already) to `store` in one transaction.
    pub(crate) async fn put_all(
        &self,
        store: StoreSpec,
        rows: Vec<JsValue>,
    ) -> Result<(), StorageError> {
        in_transaction(
            &self.database,
            &[store],
            TransactionMode::ReadWrite,
            async |tx| {
                let object_store = tx.object_store(store.name)?;
                for row in &rows {
                    object_store.put(row, None)?;
                }
                Ok(())
            },
        )
        .await
        .map_err(|e| StorageError::write(store, e))
    }

    /// Saves `records` (replacing those with the same keys) in one transaction.
    async fn put_records<R: JsonRecord>(&self, records: &[R]) -> Result<(), StorageError> {
        let mut rows = Vec::with_capacity(records.len());
        for record in records {
            let row = JsonRow::of(record).map_err(|e| StorageError::write(R::STORE, e))?;
            rows.push(to_js(&row).map_err(|e| StorageError::write(R::STORE, e))?);
        }
        self.put_all(R::STORE, rows).await
    }

    /// Every row of `store`, or those of `project_id` only.
    pub(crate) async fn get_range(
        &self,
        store: StoreSpec,
        project_id: Option<&str>,
    ) -> Result<Vec<JsValue>, StorageError> {
        in_transaction(
            &self.database,
            &[store],
            TransactionMode::ReadOnly,
            async |tx| {
                let query = match project_id {
                    Some(id) => Some(project_range(id)?.into()),
                    None => None,
                };
                Ok(tx.object_store(store.name)?.get_all(query, None)?.await?)
            },
        )
        .await
        .map_err(|e| StorageError::read(store, e))
    }

    /// The records of `project_id` (of every project when `None`), and the rows that could
    /// not be read.
    async fn records<R: JsonRecord>(
        &self,
        project_id: Option<&str>,
    ) -> Result<(Vec<R>, Vec<StorageError>), StorageError> {
        let values = self.get_range(R::STORE, project_id).await?;
        Ok(decode_all(values))
    }

    /// Saves a project record (replacing the one with the same id).
    pub async fn put_project(&self, project: &ProjectRecord) -> Result<(), StorageError> {
        self.put_records(std::slice::from_ref(project)).await
    }

    /// Every saved project, and the records that could not be read.
    pub async fn projects(&self) -> Result<(Vec<ProjectRecord>, Vec<StorageError>), StorageError> {
        self.records(None).await
    }

    /// The project with `id`, if saved.
    pub async fn project(&self, id: &str) -> Result<Option<ProjectRecord>, StorageError> {
        let (projects, _) = self.projects().await?;
        Ok(projects.into_iter().find(|project| project.id == id))
    }

    /// Saves the annotations of some images of a project, each with its version.
    pub async fn put_annotations(&self, records: &[AnnotationRecord]) -> Result<(), StorageError> {
        self.put_records(records).await
    }

    /// Saves each edit over the record it was made from, in one transaction. Where another
    /// tab saved the image since (the stored version is not the edit's base version), the
    /// edit is merged into that record ([`merge_image`]) instead of replacing it, and the
    /// record written has a version other than `base_version + 1`. Returns what was
    /// written, in the order of `edits`.
    pub async fn save_annotations(
        &self,
        edits: &[AnnotationEdit],
    ) -> Result<Vec<AnnotationRecord>, StorageError> {
        let keys: Vec<String> = edits.iter().map(|edit| edit.ours.key()).collect();
        self.update_records(&keys, |i, stored: Option<AnnotationRecord>| {
            let edit = &edits[i];
            match stored {
                Some(theirs) if theirs.version != edit.base_version => AnnotationRecord {
                    project_id: edit.ours.project_id.clone(),
                    version: theirs.version + 1,
                    annotations: merge_image(
                        edit.base.as_ref(),
                        &edit.ours.annotations,
                        &theirs.annotations,
                    ),
                },
                _ => AnnotationRecord {
                    version: edit.base_version + 1,
                    ..edit.ours.clone()
                },
            }
        })
        .await
    }

    /// Saves the project record; where another tab changed its classes since this tab read
    /// `base_classes`, our class changes are merged into theirs. Returns what was written.
    pub async fn save_project(
        &self,
        ours: &ProjectRecord,
        base_classes: &[String],
    ) -> Result<ProjectRecord, StorageError> {
        let written = self
            .update_records(&[ours.key()], |_, stored: Option<ProjectRecord>| {
                let Some(theirs) = stored.filter(|theirs| theirs.classes != base_classes) else {
                    return ours.clone();
                };
                let mut class_colours = theirs.class_colours;
                class_colours.extend(ours.class_colours.clone());
                ProjectRecord {
                    classes: merge_classes(base_classes, &ours.classes, &theirs.classes),
                    class_colours,
                    ..ours.clone()
                }
            })
            .await?;
        written
            .into_iter()
            .next()
            .ok_or_else(|| StorageError::write(PROJECTS, "nothing written"))
    }

    /// Reads the record under each key and writes what `decide` makes of it (given the
    /// key's index and the stored record, `None` when absent or unreadable, since an
    /// unreadable row holds nothing to keep), all in one transaction: no other tab writes
    /// between the read and the write.
    async fn update_records<R: JsonRecord>(
        &self,
        keys: &[String],
        decide: impl Fn(usize, Option<R>) -> R,
    ) -> Result<Vec<R>, StorageError> {
        use sightline_idb_store::Error;
        in_transaction(
            &self.database,
            &[R::STORE],
            TransactionMode::ReadWrite,
            async |tx| {
                let object_store = tx.object_store(R::STORE.name)?;
                let mut written = Vec::with_capacity(keys.len());
                for (i, key) in keys.iter().enumerate() {
                    let stored = object_store.get(JsValue::from_str(key))?.await?;
                    let stored = stored
                        .and_then(|value| from_js::<JsonRow>(value).ok())
                        .and_then(|row| row.record::<R>().ok());
                    let record = decide(i, stored);
                    let row = JsonRow::of(&record)
                        .map_err(|e| e.to_string())
                        .and_then(|row| to_js(&row).map_err(|e| e.to_string()))
                        .map_err(Error::Row)?;
                    object_store.put(&row, None)?;
                    written.push(record);
                }
                Ok(written)
            },
        )
        .await
        .map_err(|e| StorageError::write(R::STORE, e))
    }

    /// The saved annotations of one image, `None` if never saved.
    pub async fn annotation(
        &self,
        project_id: &str,
        path: &str,
    ) -> Result<Option<AnnotationRecord>, StorageError> {
        let key = record_key(project_id, path);
        let Some(row) = self.row::<JsonRow>(ANNOTATIONS, &key).await? else {
            return Ok(None);
        };
        row.record().map(Some).map_err(|e| StorageError::Corrupt {
            key,
            detail: e.to_string(),
        })
    }

    /// The saved annotations of every image of a project, and the records that could not
    /// be read.
    pub async fn annotations(
        &self,
        project_id: &str,
    ) -> Result<(Vec<AnnotationRecord>, Vec<StorageError>), StorageError> {
        self.records(Some(project_id)).await
    }

    /// Saves image metadata (schema v2 and later).
    pub async fn put_images(&self, images: &[ImageRecord]) -> Result<(), StorageError> {
        self.put_records(images).await
    }

    /// The saved image metadata of a project.
    pub async fn images(
        &self,
        project_id: &str,
    ) -> Result<(Vec<ImageRecord>, Vec<StorageError>), StorageError> {
        self.records(Some(project_id)).await
    }

    /// Saves quality scores (schema v5), by image content.
    pub async fn put_quality(&self, records: &[QualityRecord]) -> Result<(), StorageError> {
        self.put_records(records).await
    }

    /// Every stored quality record (they are by content, shared between projects).
    pub async fn quality(&self) -> Result<(Vec<QualityRecord>, Vec<StorageError>), StorageError> {
        self.records(None).await
    }

    /// Saves the user's flags and exclusions of some images (schema v5).
    pub async fn put_curation(&self, records: &[CurationRecord]) -> Result<(), StorageError> {
        self.put_records(records).await
    }

    /// The flags and exclusions of a project's images.
    pub async fn curation(
        &self,
        project_id: &str,
    ) -> Result<(Vec<CurationRecord>, Vec<StorageError>), StorageError> {
        self.records(Some(project_id)).await
    }

    /// Deletes a project with its images, annotations and curation, in one transaction; then the
    /// stored image bytes that no other project holds.
    pub async fn delete_project(&self, project_id: &str) -> Result<(), StorageError> {
        let (own, _) = self.images(project_id).await?;
        in_transaction(
            &self.database,
            &[PROJECTS, ANNOTATIONS, IMAGES, CURATION],
            TransactionMode::ReadWrite,
            async |tx| {
                tx.object_store(PROJECTS.name)?
                    .delete(JsValue::from_str(project_id))?;
                for store in [ANNOTATIONS, IMAGES, CURATION] {
                    let range = project_range(project_id)?;
                    tx.object_store(store.name)?.delete(range)?;
                }
                Ok(())
            },
        )
        .await
        .map_err(|e| StorageError::write(PROJECTS, e))?;
        let keys: Vec<String> = own.into_iter().filter_map(|i| i.blob_key).collect();
        self.forget_blobs(&keys).await
    }

    /// Deletes the stored bytes under `keys` that no image record refers to any more.
    pub async fn forget_blobs(&self, keys: &[String]) -> Result<(), StorageError> {
        if keys.is_empty() || !self.store_names().iter().any(|name| name == BLOBS.name) {
            return Ok(());
        }
        in_transaction(
            &self.database,
            &[IMAGES, BLOBS],
            TransactionMode::ReadWrite,
            async |tx| {
                let images = tx.object_store(IMAGES.name)?.get_all(None, None)?.await?;
                let (images, _) = decode_all::<ImageRecord>(images);
                let used: HashSet<&str> = images
                    .iter()
                    .filter_map(|i| i.blob_key.as_deref())
                    .collect();
                let blobs = tx.object_store(BLOBS.name)?;
                for key in keys.iter().filter(|key| !used.contains(key.as_str())) {
                    blobs.delete(JsValue::from_str(key))?;
                }
                Ok(())
            },
        )
        .await
        .map_err(|e| StorageError::write(BLOBS, e))
    }

    /// Whether bytes are stored under `key`.
    pub async fn has_blob(&self, key: &str) -> Result<bool, StorageError> {
        let count = in_transaction(
            &self.database,
            &[BLOBS],
            TransactionMode::ReadOnly,
            async |tx| {
                Ok(tx
                    .object_store(BLOBS.name)?
                    .count(Some(JsValue::from_str(key).into()))?
                    .await?)
            },
        )
        .await
        .map_err(|e| StorageError::read(BLOBS, e))?;
        Ok(count > 0)
    }

    /// Stores original file bytes under their content keys (bytes already stored under a
    /// key are the same bytes, so writing them again is harmless).
    pub async fn put_blobs(&self, blobs: &[BlobRecord<'_>]) -> Result<(), StorageError> {
        let mut rows = Vec::with_capacity(blobs.len());
        for blob in blobs {
            let row = BlobRow {
                key: blob.key.to_owned(),
                bytes: JsBytes::copy_of(blob.bytes),
                mime: blob.mime.to_owned(),
            };
            rows.push(to_js(&row).map_err(|e| StorageError::write(BLOBS, e))?);
        }
        self.put_all(BLOBS, rows).await
    }

    /// The row of `store` under `key`, `None` if absent.
    pub(crate) async fn row<R: serde::de::DeserializeOwned>(
        &self,
        store: StoreSpec,
        key: &str,
    ) -> Result<Option<R>, StorageError> {
        let value = get(&self.database, store, key)
            .await
            .map_err(|e| StorageError::read(store, e))?;
        value
            .map(|value| from_js(value).map_err(|e| StorageError::read(store, e)))
            .transpose()
    }

    /// The stored bytes under `key` as a browser `Blob` of their type, `None` if absent.
    pub async fn blob(&self, key: &str) -> Result<Option<web_sys::Blob>, StorageError> {
        let Some(row) = self.row::<BlobRow<JsBytes>>(BLOBS, key).await? else {
            return Ok(None);
        };
        let blob = crate::image_loader::blob_of(&row.bytes.0, &row.mime)
            .map_err(|e| StorageError::read(BLOBS, e))?;
        Ok(Some(blob))
    }

    /// Stores a model file (and its AnyLabeling config) under the ONNX bytes' content key.
    pub async fn put_model(
        &self,
        summary: &ModelSummary,
        onnx: &[u8],
        config: Option<&str>,
    ) -> Result<(), StorageError> {
        let row = ModelRow::new(summary, JsBytes::copy_of(onnx), config)
            .map_err(|e| StorageError::write(MODELS, e))?;
        let value = to_js(&row).map_err(|e| StorageError::write(MODELS, e))?;
        self.put_all(MODELS, vec![value]).await
    }

    /// The stored models (without their bytes), oldest first.
    pub async fn models(&self) -> Result<(Vec<ModelSummary>, Vec<StorageError>), StorageError> {
        let values = self.get_range(MODELS, None).await?;
        // The bytes are not read: they stay in JS memory.
        let (mut models, problems) = decode_rows(values, |row: ModelRow<serde::de::IgnoredAny>| {
            let summary = row.summary();
            (row.key, summary)
        });
        models.sort_by(|a, b| a.added_ms.total_cmp(&b.added_ms));
        Ok((models, problems))
    }

    /// Removes a stored model.
    pub async fn delete_model(&self, key: &str) -> Result<(), StorageError> {
        in_transaction(
            &self.database,
            &[MODELS],
            TransactionMode::ReadWrite,
            async |tx| {
                tx.object_store(MODELS.name)?
                    .delete(JsValue::from_str(key))?;
                Ok(())
            },
        )
        .await
        .map_err(|e| StorageError::write(MODELS, e))
    }
}
