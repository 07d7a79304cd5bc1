//! The project store in IndexedDB: projects, image metadata and the annotations of each
//! image (versioned), under a versioned schema with an upgrade path.
//!
//! Wrapper crate: `idb` (0.6). Of the three maintained wrappers, `idb` is the small
//! futures-based one that `rexie` itself is built on; it depends only on wasm-bindgen/web-sys
//! `0.2`/`0.3` (so it builds with the workspace's pinned wasm-bindgen =0.2.130), exposes the
//! IndexedDB model as it is (upgrade events with the old version, transactions, key
//! ranges), and pulls in no macro crates. `indexed_db_futures` 0.6 pulls in a tree of
//! proc-macro helper crates (accessory, delegate-display, fancy_constructor, sealed, ...) for
//! the same features; `rexie` hides the upgrade event that our migrations need.
//!
//! Values are stored as small JS objects whose payload is JSON text written by serde: the
//! annotation model (`core::annotation`) is serde-first, and JSON keeps exactly what it
//! wrote (key order, unknown keys) without a second serialiser.
//!
//! Schema history:
//! - v1: `projects` (key `id`), `annotations` (key `key` = project id, U+001F, image path).
//! - v2: adds `images` (key `key`, same form): image metadata (name, size).
//! - v3: adds `blobs` (key `key` = content key, the SHA-256 of the bytes): original image
//!   bytes of projects opened from the user's files, shared by every project that holds the
//!   same file; and `models` (same key, of the ONNX bytes): model files for the worker.
//!   Image records gain `blob_key`, project records `stored_images`. The worker reads
//!   `blobs` and `models` by key (`sightline_protocol::store` names them).

use idb::{
    Database, DatabaseEvent, Factory, KeyPath, KeyRange, ObjectStoreParams, TransactionMode,
};
use serde::{Deserialize, Serialize};
use sightline_core::annotation::ImageAnnotations;
use wasm_bindgen::{JsCast, JsValue};

/// The database the app uses.
pub const DATABASE_NAME: &str = sightline_protocol::store::DATABASE_NAME;
/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = 3;

const PROJECTS: &str = "projects";
const ANNOTATIONS: &str = "annotations";
const IMAGES: &str = "images";
const BLOBS: &str = sightline_protocol::store::BLOBS;
const MODELS: &str = sightline_protocol::store::MODELS;
const KEY_SEPARATOR: char = '\u{1f}';

/// Why the store could not do what was asked, in words for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageError {
    /// IndexedDB is missing (private mode in some browsers, a sandboxed frame).
    Unavailable(String),
    /// The database could not be opened or upgraded.
    Open(String),
    /// A read failed.
    Read { store: &'static str, detail: String },
    /// A write failed (quota, a closed database...).
    Write { store: &'static str, detail: String },
    /// A stored record could not be read back.
    Corrupt { key: String, detail: String },
}

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorageError::Unavailable(detail) => write!(
                f,
                "this browser offers no storage for the page ({detail}); edits stay in this tab \
                 only — export your annotations before closing it"
            ),
            StorageError::Open(detail) => write!(
                f,
                "could not open the saved projects ({detail}); close other Sightline tabs and reload"
            ),
            StorageError::Read { store, detail } => {
                write!(
                    f,
                    "could not read saved {store} ({detail}); reload to try again"
                )
            }
            StorageError::Write { store, detail } => write!(
                f,
                "could not save {store} ({detail}); your edits are kept in this tab and saving \
                 is retried — free some disk space if this goes on"
            ),
            StorageError::Corrupt { key, detail } => {
                write!(
                    f,
                    "a saved record ({key}) could not be read ({detail}); it was skipped"
                )
            }
        }
    }
}

/// A project as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProjectRecord {
    pub id: String,
    pub name: String,
    /// Where the project's manifest is fetched from (empty for projects opened from the
    /// user's files).
    pub manifest_url: String,
    /// True when the project's images are stored in `blobs` (opened from the user's files):
    /// the image list then comes from the `images` store, not from a manifest.
    #[serde(default)]
    pub stored_images: bool,
    /// Label classes in order (YOLO ids, COCO categories).
    pub classes: Vec<String>,
    /// Colours the user chose for classes (`#rrggbb`); others take the palette's.
    #[serde(default)]
    pub class_colours: std::collections::BTreeMap<String, String>,
    /// Milliseconds since the epoch of the last save.
    pub updated_ms: f64,
}

/// Metadata of one image of a project.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    pub project_id: String,
    pub path: String,
    pub name: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The content key of the original bytes in `blobs`; `None` for images fetched from
    /// the project's manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob_key: Option<String>,
}

/// Original bytes of one file, to store under their content key.
pub struct BlobRecord<'a> {
    pub key: &'a str,
    pub bytes: &'a [u8],
    /// The MIME type the browser gave the file (may be empty).
    pub mime: &'a str,
}

/// A model file the user added, as listed by the model manager.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    /// Content key of the ONNX bytes.
    pub key: String,
    /// The config's display name, else the file name.
    pub name: String,
    /// The ONNX file's name.
    pub file_name: String,
    pub size_bytes: u64,
    pub added_ms: f64,
}

/// The annotations of one image with the version of this save (1 for the first).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnnotationRecord {
    pub project_id: String,
    pub version: u64,
    pub annotations: ImageAnnotations,
}

fn js_text(value: &JsValue) -> String {
    crate::image_loader::js_error_text(value)
}

fn idb_text(error: &idb::Error) -> String {
    error.to_string()
}

fn record_key(project_id: &str, path: &str) -> String {
    format!("{project_id}{KEY_SEPARATOR}{path}")
}

/// The key range of every record of `project_id` in a store keyed by [`record_key`].
fn project_range(project_id: &str) -> Result<KeyRange, idb::Error> {
    let lower = JsValue::from_str(&format!("{project_id}{KEY_SEPARATOR}"));
    let upper = JsValue::from_str(&format!("{project_id}{KEY_SEPARATOR}\u{10ffff}"));
    KeyRange::bound(&lower, &upper, Some(false), Some(false))
}

/// `{key, project_id, json}`: the stored form of every record.
fn stored_value(key: &str, project_id: &str, json: &str) -> Result<JsValue, JsValue> {
    let object = js_sys::Object::new();
    js_sys::Reflect::set(&object, &"key".into(), &key.into())?;
    js_sys::Reflect::set(&object, &"id".into(), &key.into())?;
    js_sys::Reflect::set(&object, &"project_id".into(), &project_id.into())?;
    js_sys::Reflect::set(&object, &"json".into(), &json.into())?;
    Ok(object.into())
}

fn json_of(value: &JsValue) -> Option<(String, String)> {
    let key = js_sys::Reflect::get(value, &"key".into())
        .ok()?
        .as_string()?;
    let json = js_sys::Reflect::get(value, &"json".into())
        .ok()?
        .as_string()?;
    Some((key, json))
}

fn decode_all<T: for<'de> Deserialize<'de>>(values: &[JsValue]) -> (Vec<T>, Vec<StorageError>) {
    let mut records = Vec::new();
    let mut problems = Vec::new();
    for value in values {
        let Some((key, json)) = json_of(value) else {
            problems.push(StorageError::Corrupt {
                key: "?".to_owned(),
                detail: "not a Sightline record".to_owned(),
            });
            continue;
        };
        match serde_json::from_str(&json) {
            Ok(record) => records.push(record),
            Err(err) => problems.push(StorageError::Corrupt {
                key,
                detail: err.to_string(),
            }),
        }
    }
    (records, problems)
}

/// Commits a read-write transaction; an abort by the browser is a write error of `store`.
async fn commit(transaction: idb::Transaction, store: &'static str) -> Result<(), StorageError> {
    let write = |detail: String| StorageError::Write { store, detail };
    let result = transaction
        .commit()
        .map_err(|e| write(idb_text(&e)))?
        .await
        .map_err(|e| write(idb_text(&e)))?;
    if result.is_committed() {
        Ok(())
    } else {
        Err(write("the browser aborted the transaction".to_owned()))
    }
}

/// Creates what each schema version adds, from `old_version` up to `new_version`.
fn upgrade(database: &Database, old_version: u32, new_version: u32) -> Result<(), idb::Error> {
    let keyed_by = |key: &str| {
        let mut params = ObjectStoreParams::new();
        params.key_path(Some(KeyPath::new_single(key)));
        params
    };
    if old_version < 1 && new_version >= 1 {
        database.create_object_store(PROJECTS, keyed_by("id"))?;
        database.create_object_store(ANNOTATIONS, keyed_by("key"))?;
    }
    if old_version < 2 && new_version >= 2 {
        database.create_object_store(IMAGES, keyed_by("key"))?;
    }
    if old_version < 3 && new_version >= 3 {
        database.create_object_store(BLOBS, keyed_by("key"))?;
        database.create_object_store(MODELS, keyed_by("key"))?;
    }
    Ok(())
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
        let factory = Factory::new().map_err(|e| StorageError::Unavailable(idb_text(&e)))?;
        let mut request = factory
            .open(name, Some(version))
            .map_err(|e| StorageError::Open(idb_text(&e)))?;
        let upgrade_error = std::rc::Rc::new(std::cell::RefCell::new(None::<String>));
        let upgrade_error_in_handler = upgrade_error.clone();
        request.on_upgrade_needed(move |event| {
            let result = event.database().and_then(|database| {
                let old_version = event.old_version()?;
                upgrade(&database, old_version, version)
            });
            if let Err(error) = result {
                *upgrade_error_in_handler.borrow_mut() = Some(idb_text(&error));
            }
        });
        let opened = request.await;
        if let Some(detail) = upgrade_error.borrow_mut().take() {
            return Err(StorageError::Open(format!(
                "schema upgrade failed: {detail}"
            )));
        }
        let mut database = opened.map_err(|e| StorageError::Open(idb_text(&e)))?;
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
        let factory = Factory::new().map_err(|e| StorageError::Unavailable(idb_text(&e)))?;
        factory
            .delete(name)
            .map_err(|e| StorageError::Open(idb_text(&e)))?
            .await
            .map_err(|e| StorageError::Open(idb_text(&e)))
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

    async fn put_all(
        &self,
        store_name: &'static str,
        values: Vec<JsValue>,
    ) -> Result<(), StorageError> {
        let write = |detail: String| StorageError::Write {
            store: store_name,
            detail,
        };
        let transaction = self
            .database
            .transaction(&[store_name], TransactionMode::ReadWrite)
            .map_err(|e| write(idb_text(&e)))?;
        let store = transaction
            .object_store(store_name)
            .map_err(|e| write(idb_text(&e)))?;
        for value in &values {
            store.put(value, None).map_err(|e| write(idb_text(&e)))?;
        }
        commit(transaction, store_name).await
    }

    async fn get_range(
        &self,
        store_name: &'static str,
        project_id: Option<&str>,
    ) -> Result<Vec<JsValue>, StorageError> {
        let read = |detail: String| StorageError::Read {
            store: store_name,
            detail,
        };
        let transaction = self
            .database
            .transaction(&[store_name], TransactionMode::ReadOnly)
            .map_err(|e| read(idb_text(&e)))?;
        let store = transaction
            .object_store(store_name)
            .map_err(|e| read(idb_text(&e)))?;
        let query = match project_id {
            Some(id) => Some(project_range(id).map_err(|e| read(idb_text(&e)))?.into()),
            None => None,
        };
        let values = store
            .get_all(query, None)
            .map_err(|e| read(idb_text(&e)))?
            .await
            .map_err(|e| read(idb_text(&e)))?;
        Ok(values)
    }

    /// Saves a project record (replacing the one with the same id).
    pub async fn put_project(&self, project: &ProjectRecord) -> Result<(), StorageError> {
        let write = |detail: String| StorageError::Write {
            store: PROJECTS,
            detail,
        };
        let json = serde_json::to_string(project).map_err(|e| write(e.to_string()))?;
        let value =
            stored_value(&project.id, &project.id, &json).map_err(|e| write(js_text(&e)))?;
        self.put_all(PROJECTS, vec![value]).await
    }

    /// Every saved project, and the records that could not be read.
    pub async fn projects(&self) -> Result<(Vec<ProjectRecord>, Vec<StorageError>), StorageError> {
        let values = self.get_range(PROJECTS, None).await?;
        Ok(decode_all(&values))
    }

    /// The project with `id`, if saved.
    pub async fn project(&self, id: &str) -> Result<Option<ProjectRecord>, StorageError> {
        let (projects, _) = self.projects().await?;
        Ok(projects.into_iter().find(|project| project.id == id))
    }

    /// Saves the annotations of some images of a project, each with its version.
    pub async fn put_annotations(&self, records: &[AnnotationRecord]) -> Result<(), StorageError> {
        let write = |detail: String| StorageError::Write {
            store: ANNOTATIONS,
            detail,
        };
        let mut values = Vec::with_capacity(records.len());
        for record in records {
            let key = record_key(&record.project_id, &record.annotations.image_path);
            let json = serde_json::to_string(record).map_err(|e| write(e.to_string()))?;
            values.push(
                stored_value(&key, &record.project_id, &json).map_err(|e| write(js_text(&e)))?,
            );
        }
        self.put_all(ANNOTATIONS, values).await
    }

    /// The saved annotations of every image of a project, and the records that could not
    /// be read.
    pub async fn annotations(
        &self,
        project_id: &str,
    ) -> Result<(Vec<AnnotationRecord>, Vec<StorageError>), StorageError> {
        let values = self.get_range(ANNOTATIONS, Some(project_id)).await?;
        Ok(decode_all(&values))
    }

    /// Saves image metadata (schema v2 and later).
    pub async fn put_images(&self, images: &[ImageRecord]) -> Result<(), StorageError> {
        let write = |detail: String| StorageError::Write {
            store: IMAGES,
            detail,
        };
        let mut values = Vec::with_capacity(images.len());
        for image in images {
            let key = record_key(&image.project_id, &image.path);
            let json = serde_json::to_string(image).map_err(|e| write(e.to_string()))?;
            values.push(
                stored_value(&key, &image.project_id, &json).map_err(|e| write(js_text(&e)))?,
            );
        }
        self.put_all(IMAGES, values).await
    }

    /// The saved image metadata of a project.
    pub async fn images(
        &self,
        project_id: &str,
    ) -> Result<(Vec<ImageRecord>, Vec<StorageError>), StorageError> {
        let values = self.get_range(IMAGES, Some(project_id)).await?;
        Ok(decode_all(&values))
    }

    /// Deletes a project with its images and annotations, in one transaction; then the
    /// stored image bytes that no other project holds.
    pub async fn delete_project(&self, project_id: &str) -> Result<(), StorageError> {
        let write = |detail: String| StorageError::Write {
            store: PROJECTS,
            detail,
        };
        let e = |error: idb::Error| write(idb_text(&error));
        let (own, _) = self.images(project_id).await?;
        let stores = [PROJECTS, ANNOTATIONS, IMAGES];
        let transaction = self
            .database
            .transaction(&stores, TransactionMode::ReadWrite)
            .map_err(e)?;
        transaction
            .object_store(PROJECTS)
            .map_err(e)?
            .delete(JsValue::from_str(project_id))
            .map_err(e)?;
        for store_name in [ANNOTATIONS, IMAGES] {
            let range = project_range(project_id).map_err(e)?;
            transaction
                .object_store(store_name)
                .map_err(e)?
                .delete(range)
                .map_err(e)?;
        }
        commit(transaction, PROJECTS).await?;
        let keys: Vec<String> = own.into_iter().filter_map(|i| i.blob_key).collect();
        self.forget_blobs(&keys).await
    }

    /// Deletes the stored bytes under `keys` that no image record refers to any more.
    pub async fn forget_blobs(&self, keys: &[String]) -> Result<(), StorageError> {
        if keys.is_empty() || !self.store_names().iter().any(|name| name == BLOBS) {
            return Ok(());
        }
        let write = |detail: String| StorageError::Write {
            store: BLOBS,
            detail,
        };
        let e = |error: idb::Error| write(idb_text(&error));
        let transaction = self
            .database
            .transaction(&[IMAGES, BLOBS], TransactionMode::ReadWrite)
            .map_err(e)?;
        let images: Vec<JsValue> = transaction
            .object_store(IMAGES)
            .map_err(e)?
            .get_all(None, None)
            .map_err(e)?
            .await
            .map_err(e)?;
        let (images, _) = decode_all::<ImageRecord>(&images);
        let used: std::collections::HashSet<&str> = images
            .iter()
            .filter_map(|i| i.blob_key.as_deref())
            .collect();
        let blobs = transaction.object_store(BLOBS).map_err(e)?;
        for key in keys.iter().filter(|key| !used.contains(key.as_str())) {
            blobs.delete(JsValue::from_str(key)).map_err(e)?;
        }
        commit(transaction, BLOBS).await
    }

    /// Whether bytes are stored under `key`.
    pub async fn has_blob(&self, key: &str) -> Result<bool, StorageError> {
        let read = |detail: String| StorageError::Read {
            store: BLOBS,
            detail,
        };
        let e = |error: idb::Error| read(idb_text(&error));
        let transaction = self
            .database
            .transaction(&[BLOBS], TransactionMode::ReadOnly)
            .map_err(e)?;
        let count = transaction
            .object_store(BLOBS)
            .map_err(e)?
            .count(Some(JsValue::from_str(key).into()))
            .map_err(e)?
            .await
            .map_err(e)?;
        Ok(count > 0)
    }

    /// Stores original file bytes under their content keys (bytes already stored under a
    /// key are the same bytes, so writing them again is harmless).
    pub async fn put_blobs(&self, blobs: &[BlobRecord<'_>]) -> Result<(), StorageError> {
        let write = |detail: String| StorageError::Write {
            store: BLOBS,
            detail,
        };
        let mut values = Vec::with_capacity(blobs.len());
        for blob in blobs {
            let object = js_sys::Object::new();
            let set = |name: &str, value: &JsValue| {
                js_sys::Reflect::set(&object, &name.into(), value).map_err(|e| write(js_text(&e)))
            };
            set("key", &blob.key.into())?;
            set("bytes", &js_sys::Uint8Array::from(blob.bytes).into())?;
            set("type", &blob.mime.into())?;
            values.push(object.into());
        }
        self.put_all(BLOBS, values).await
    }

    /// The stored bytes under `key` as a browser `Blob` of their type, `None` if absent.
    pub async fn blob(&self, key: &str) -> Result<Option<web_sys::Blob>, StorageError> {
        let read = |detail: String| StorageError::Read {
            store: BLOBS,
            detail,
        };
        let e = |error: idb::Error| read(idb_text(&error));
        let transaction = self
            .database
            .transaction(&[BLOBS], TransactionMode::ReadOnly)
            .map_err(e)?;
        let value = transaction
            .object_store(BLOBS)
            .map_err(e)?
            .get(JsValue::from_str(key))
            .map_err(e)?
            .await
            .map_err(e)?;
        let Some(value) = value else {
            return Ok(None);
        };
        let bytes = js_sys::Reflect::get(&value, &"bytes".into()).map_err(|e| read(js_text(&e)))?;
        let mime = js_sys::Reflect::get(&value, &"type".into())
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default();
        let options = web_sys::BlobPropertyBag::new();
        options.set_type(&mime);
        let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(
            &js_sys::Array::of1(&bytes),
            &options,
        )
        .map_err(|e| read(js_text(&e)))?;
        Ok(Some(blob))
    }

    /// Stores a model file (and its AnyLabeling config) under the ONNX bytes' content key.
    pub async fn put_model(
        &self,
        summary: &ModelSummary,
        onnx: &[u8],
        config: Option<&str>,
    ) -> Result<(), StorageError> {
        let write = |detail: String| StorageError::Write {
            store: MODELS,
            detail,
        };
        let object = js_sys::Object::new();
        let set = |name: &str, value: &JsValue| {
            js_sys::Reflect::set(&object, &name.into(), value).map_err(|e| write(js_text(&e)))
        };
        set("key", &summary.key.as_str().into())?;
        set("name", &summary.name.as_str().into())?;
        set("onnx", &js_sys::Uint8Array::from(onnx).into())?;
        if let Some(config) = config {
            set("config", &config.into())?;
        }
        set("added_ms", &summary.added_ms.into())?;
        let json = serde_json::to_string(summary).map_err(|e| write(e.to_string()))?;
        set("json", &json.into())?;
        self.put_all(MODELS, vec![object.into()]).await
    }

    /// The stored models (without their bytes), oldest first.
    pub async fn models(&self) -> Result<(Vec<ModelSummary>, Vec<StorageError>), StorageError> {
        let values = self.get_range(MODELS, None).await?;
        let (mut models, problems) = decode_all::<ModelSummary>(&values);
        models.sort_by(|a, b| a.added_ms.total_cmp(&b.added_ms));
        Ok((models, problems))
    }

    /// Removes a stored model.
    pub async fn delete_model(&self, key: &str) -> Result<(), StorageError> {
        let write = |detail: String| StorageError::Write {
            store: MODELS,
            detail,
        };
        let e = |error: idb::Error| write(idb_text(&error));
        let transaction = self
            .database
            .transaction(&[MODELS], TransactionMode::ReadWrite)
            .map_err(e)?;
        transaction
            .object_store(MODELS)
            .map_err(e)?
            .delete(JsValue::from_str(key))
            .map_err(e)?;
        commit(transaction, MODELS).await
    }
}
