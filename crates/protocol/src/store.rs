//! What the page and the worker both know of the IndexedDB database: its name, its schema
//! (stores, key paths, the version that adds each) and the serde type of every store's
//! rows. The page owns the schema (creates and migrates it, `sightline_web::storage`); the
//! worker only reads [`BLOBS`] and [`MODELS`], by [`ContentKey`]. Both go through
//! `sightline-idb-store`, which turns these types into JS objects and back, so no field
//! name is spelt out on either side.
//!
//! Schema history (see [`SCHEMA`]):
//! - v1: [`PROJECTS`] (key `id`), [`ANNOTATIONS`] (key `key` = project id, U+001F, image
//!   path; see [`record_key`]).
//! - v2: adds [`IMAGES`] (key `key`, same form): image metadata (name, size).
//! - v3: adds [`BLOBS`] (key `key` = content key, the SHA-256 of the bytes): original image
//!   bytes of projects opened from the user's files, shared by every project that holds the
//!   same file; and [`MODELS`] (same key, of the ONNX bytes): model files for the worker.
//!   Image records gain `blob_key`, project records `stored_images`.
//! - v4: adds the image cache's stores: [`LEVELS`] (key `key` = [`level_key`]): a
//!   display-resolution level of an image, encoded (tier 2 of the decoded-image cache);
//!   [`LEVEL_INDEX`] (same key): each level's size and last use, small rows read whole at
//!   start-up so the cache's LRU order survives a reload without reading any pixels; and
//!   [`THUMBNAILS`] (key `key` = content key): a small encoded thumbnail per image. All three
//!   are a cache: anything in them can be dropped and made again from `blobs`. Image records
//!   gain `problem`.
//! - v5: adds [`QUALITY`] (key `key` = an image's [`crate::ImageSource::cache_key`]): the
//!   quality scores and perceptual hash of an image's content, so a second quality run
//!   computes only what is new (a cache too); and [`CURATION`] (key [`record_key`]): the
//!   user's flags and export exclusions per image of a project.
//!
//! No store has an index: every read is by key or by a project's key range
//! ([`project_key_bounds`]).
//!
//! Projects, images and annotations are stored as [`JsonRow`]s: the record as JSON text
//! written by serde (the annotation model, `core::annotation`, is serde-first, and JSON keeps
//! exactly what it wrote — key order, unknown keys — without a second serialiser), with the
//! keys IndexedDB needs beside it. Blobs and models hold their bytes as they are
//! ([`BlobRow`], [`ModelRow`]).

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sightline_core::annotation::{ImageAnnotations, ImageSize};

use crate::ContentKey;

/// The database name.
pub const DATABASE_NAME: &str = "sightline";

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = 5;

/// One object store of the schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreSpec {
    pub name: &'static str,
    /// The row field IndexedDB keys the store by (its `keyPath`).
    pub key_path: &'static str,
    /// The schema version that creates the store.
    pub since: u32,
}

/// Saved projects: [`JsonRow`]s of [`ProjectRecord`], keyed by project id.
pub const PROJECTS: StoreSpec = StoreSpec {
    name: "projects",
    key_path: "id",
    since: 1,
};

/// The annotations of each image: [`JsonRow`]s of [`AnnotationRecord`], keyed by
/// [`record_key`].
pub const ANNOTATIONS: StoreSpec = StoreSpec {
    name: "annotations",
    key_path: "key",
    since: 1,
};

/// Image metadata: [`JsonRow`]s of [`ImageRecord`], keyed by [`record_key`].
pub const IMAGES: StoreSpec = StoreSpec {
    name: "images",
    key_path: "key",
    since: 2,
};

/// Original bytes of images, keyed by content key: [`BlobRow`]s.
pub const BLOBS: StoreSpec = StoreSpec {
    name: "blobs",
    key_path: "key",
    since: 3,
};

/// Model files, keyed by the content key of the ONNX bytes: [`ModelRow`]s.
pub const MODELS: StoreSpec = StoreSpec {
    name: "models",
    key_path: "key",
    since: 3,
};

/// Tier 2 of the decoded-image cache: [`LevelRow`]s keyed by [`level_key`].
pub const LEVELS: StoreSpec = StoreSpec {
    name: "levels",
    key_path: "key",
    since: 4,
};

/// The size and last use of every row of [`LEVELS`]: [`LevelIndexRow`]s, same keys.
pub const LEVEL_INDEX: StoreSpec = StoreSpec {
    name: "level_index",
    key_path: "key",
    since: 4,
};

/// Thumbnails, keyed by the content key of the original: [`ThumbnailRow`]s.
pub const THUMBNAILS: StoreSpec = StoreSpec {
    name: "thumbnails",
    key_path: "key",
    since: 4,
};

/// Quality scores per image content: [`JsonRow`]s of [`QualityRecord`].
pub const QUALITY: StoreSpec = StoreSpec {
    name: "quality",
    key_path: "key",
    since: 5,
};

/// Flags and export exclusions per image of a project: [`JsonRow`]s of [`CurationRecord`],
/// keyed by [`record_key`].
pub const CURATION: StoreSpec = StoreSpec {
    name: "curation",
    key_path: "key",
    since: 5,
};

/// Every store, in the order the migrations create them.
pub const SCHEMA: [StoreSpec; 10] = [
    PROJECTS,
    ANNOTATIONS,
    IMAGES,
    BLOBS,
    MODELS,
    LEVELS,
    LEVEL_INDEX,
    THUMBNAILS,
    QUALITY,
    CURATION,
];

/// The key of an image's level in [`LEVELS`]: the original's content key and the longest
/// side the level was made for, so a changed original or another level size never serves
/// stale pixels.
pub fn level_key(content_key: &str, max_side: u32) -> String {
    format!("{content_key}@{max_side}")
}

/// The content key of a [`level_key`] made for `max_side`; `None` for a level of another
/// side.
pub fn level_content_key(level_key: &str, max_side: u32) -> Option<&str> {
    level_key.strip_suffix(&format!("@{max_side}"))
}

/// The migration from schema `old_version` to `new_version`: the stores it creates (every
/// version so far only adds stores).
pub fn stores_added(old_version: u32, new_version: u32) -> impl Iterator<Item = StoreSpec> {
    SCHEMA
        .into_iter()
        .filter(move |store| old_version < store.since && store.since <= new_version)
}

/// Separates the project id from the image path in [`record_key`].
pub const KEY_SEPARATOR: char = '\u{1f}';

/// The key of an image's record in [`IMAGES`] and [`ANNOTATIONS`].
pub fn record_key(project_id: &str, path: &str) -> String {
    format!("{project_id}{KEY_SEPARATOR}{path}")
}

/// The lower and upper bound (both included) of the keys of every record of `project_id`
/// in a store keyed by [`record_key`].
pub fn project_key_bounds(project_id: &str) -> (String, String) {
    (
        format!("{project_id}{KEY_SEPARATOR}"),
        format!("{project_id}{KEY_SEPARATOR}\u{10ffff}"),
    )
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
    pub class_colours: BTreeMap<String, String>,
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
    pub blob_key: Option<ContentKey>,
    /// Why the image cannot be shown (empty, not an image, truncated, too large), found
    /// when it was imported; the list shows it as an error tile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl ImageRecord {
    /// The record of image `path` of `project_id`, named by its file name, with the size
    /// when known; no stored bytes, no problem.
    pub fn new(project_id: &str, path: &str, size: Option<ImageSize>) -> Self {
        Self {
            project_id: project_id.to_owned(),
            path: path.to_owned(),
            name: path.rsplit('/').next().unwrap_or(path).to_owned(),
            width: size.map(|s| s.width),
            height: size.map(|s| s.height),
            blob_key: None,
            problem: None,
        }
    }
}

/// The annotations of one image with the version of this save (1 for the first).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnnotationRecord {
    pub project_id: String,
    pub version: u64,
    pub annotations: ImageAnnotations,
}

/// What the quality job found for one image content ([`QUALITY`]): shared by every
/// project holding the same bytes, so it names no project.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QualityRecord {
    /// [`crate::ImageSource::cache_key`] of the image.
    pub key: String,
    pub scores: crate::Scores,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phash: Option<crate::PerceptualHash>,
}

/// What the user decided about one image of a project ([`CURATION`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CurationRecord {
    pub project_id: String,
    pub path: String,
    /// Marked for a second look (shown in the list and the grid).
    #[serde(default)]
    pub flagged: bool,
    /// Left out of exports, and why (a preset's label, "duplicate of …", or the user's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded: Option<String>,
}

impl CurationRecord {
    /// Whether the record says nothing (and need not be stored).
    pub fn is_empty(&self) -> bool {
        !self.flagged && self.excluded.is_none()
    }
}

/// A model file the user added, as listed by the model manager (the `json` of its
/// [`ModelRow`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    /// Content key of the ONNX bytes.
    pub key: ContentKey,
    /// The config's display name, else the file name.
    pub name: String,
    /// The ONNX file's name.
    pub file_name: String,
    pub size_bytes: u64,
    pub added_ms: f64,
}

/// A record stored as a [`JsonRow`]: which store holds it and under which key.
pub trait JsonRecord: Serialize + DeserializeOwned {
    /// The store its rows live in.
    const STORE: StoreSpec;
    /// The row's key (the value at the store's key path).
    fn key(&self) -> String;
    /// The project the record belongs to.
    fn project_id(&self) -> &str;
}

impl JsonRecord for ProjectRecord {
    const STORE: StoreSpec = PROJECTS;
    fn key(&self) -> String {
        self.id.clone()
    }
    fn project_id(&self) -> &str {
        &self.id
    }
}

impl JsonRecord for ImageRecord {
    const STORE: StoreSpec = IMAGES;
    fn key(&self) -> String {
        record_key(&self.project_id, &self.path)
    }
    fn project_id(&self) -> &str {
        &self.project_id
    }
}

impl JsonRecord for AnnotationRecord {
    const STORE: StoreSpec = ANNOTATIONS;
    fn key(&self) -> String {
        record_key(&self.project_id, &self.annotations.image_path)
    }
    fn project_id(&self) -> &str {
        &self.project_id
    }
}

impl JsonRecord for QualityRecord {
    const STORE: StoreSpec = QUALITY;
    fn key(&self) -> String {
        self.key.clone()
    }
    fn project_id(&self) -> &str {
        ""
    }
}

impl JsonRecord for CurationRecord {
    const STORE: StoreSpec = CURATION;
    fn key(&self) -> String {
        record_key(&self.project_id, &self.path)
    }
    fn project_id(&self) -> &str {
        &self.project_id
    }
}

/// The stored form of a [`JsonRecord`]: `{key, id, project_id, json}`. `key` and `id` are
/// both the record's key, so that the row carries whichever key path its store has.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JsonRow {
    pub key: String,
    /// Not needed to read the record back.
    #[serde(default)]
    pub id: String,
    /// Not needed to read the record back.
    #[serde(default)]
    pub project_id: String,
    /// The record, as serde_json wrote it.
    pub json: String,
}

impl JsonRow {
    /// The row that stores `record`.
    pub fn of<R: JsonRecord>(record: &R) -> Result<Self, serde_json::Error> {
        let key = record.key();
        Ok(Self {
            id: key.clone(),
            key,
            project_id: record.project_id().to_owned(),
            json: serde_json::to_string(record)?,
        })
    }

    /// The record this row stores.
    pub fn record<R: JsonRecord>(&self) -> Result<R, serde_json::Error> {
        serde_json::from_str(&self.json)
    }
}

/// A row of [`BLOBS`]: the original bytes of one file under their content key. `B` is how
/// the bytes are held: a JS `Uint8Array` handle in the browser (`sightline_idb_store::JsBytes`,
/// so large files are not copied into wasm memory to be written or shown), any serde bytes
/// type elsewhere.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlobRow<B> {
    pub key: ContentKey,
    pub bytes: B,
    /// The MIME type the browser gave the file (may be empty).
    #[serde(rename = "type", default)]
    pub mime: String,
}

/// A row of [`MODELS`]: the ONNX bytes (held as `B`, as in [`BlobRow`]) with what the worker
/// needs to load them and, in `json`, the [`ModelSummary`] the model manager lists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelRow<B> {
    pub key: ContentKey,
    /// The name the worker reports; the key when empty.
    #[serde(default)]
    pub name: String,
    pub onnx: B,
    /// The AnyLabeling config (YAML), if the user added one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    #[serde(default)]
    pub added_ms: f64,
    /// The [`ModelSummary`], as serde_json wrote it.
    #[serde(default)]
    pub json: String,
}

impl<B> ModelRow<B> {
    /// The row that stores model `summary` with its bytes and config.
    pub fn new(
        summary: &ModelSummary,
        onnx: B,
        config: Option<&str>,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self {
            key: summary.key.clone(),
            name: summary.name.clone(),
            onnx,
            config: config.map(str::to_owned),
            added_ms: summary.added_ms,
            json: serde_json::to_string(summary)?,
        })
    }

    /// The model manager's summary of this model.
    pub fn summary(&self) -> Result<ModelSummary, serde_json::Error> {
        serde_json::from_str(&self.json)
    }
}

/// A row of [`LEVELS`]: an image scaled to fit a square of the level's side, encoded (held
/// as `B`, as in [`BlobRow`]), with the original's size (annotations are in its pixels).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LevelRow<B> {
    pub key: String,
    pub width: u32,
    pub height: u32,
    pub natural_width: u32,
    pub natural_height: u32,
    /// The encoded level's MIME type.
    #[serde(rename = "type")]
    pub mime: String,
    pub image: B,
}

/// A row of [`LEVEL_INDEX`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LevelIndexRow {
    pub key: String,
    /// The byte size of the encoded level.
    pub bytes: u64,
    /// Milliseconds since the epoch of the last use (the LRU order after a reload).
    pub used_ms: f64,
}

/// A row of [`THUMBNAILS`]: an encoded image (WebP or PNG, held as `B`) at most
/// `width`×`height`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThumbnailRow<B> {
    pub key: ContentKey,
    pub width: u32,
    pub height: u32,
    #[serde(rename = "type")]
    pub mime: String,
    pub image: B,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields of `row` as serialised: the names IndexedDB stores.
    fn field_names(row: &impl Serialize) -> Vec<String> {
        match serde_json::to_value(row).expect("serialises") {
            serde_json::Value::Object(map) => {
                let mut names: Vec<String> = map.keys().cloned().collect();
                names.sort();
                names
            }
            other => panic!("not an object: {other}"),
        }
    }

    fn project() -> ProjectRecord {
        ProjectRecord {
            id: "p1".into(),
            name: "P".into(),
            manifest_url: String::new(),
            stored_images: true,
            classes: vec!["car".into()],
            class_colours: BTreeMap::new(),
            updated_ms: 1.5,
        }
    }

    fn summary() -> ModelSummary {
        ModelSummary {
            key: "ab".into(),
            name: "yolo".into(),
            file_name: "yolo.onnx".into(),
            size_bytes: 3,
            added_ms: 7.0,
        }
    }

    #[test]
    fn migrations_add_each_store_once_at_its_version() {
        let names = |old, new| stores_added(old, new).map(|s| s.name).collect::<Vec<_>>();
        assert_eq!(names(0, 1), ["projects", "annotations"]);
        assert_eq!(names(1, 2), ["images"]);
        assert_eq!(names(2, 3), ["blobs", "models"]);
        assert_eq!(names(3, 4), ["levels", "level_index", "thumbnails"]);
        assert_eq!(names(0, SCHEMA_VERSION).len(), SCHEMA.len());
        assert!(names(SCHEMA_VERSION, SCHEMA_VERSION + 1).is_empty());
        assert_eq!(
            SCHEMA.iter().map(|s| s.since).max(),
            Some(SCHEMA_VERSION),
            "the newest store comes with the current version"
        );
    }

    #[test]
    fn every_row_carries_its_stores_key_path() {
        let json_row = JsonRow::of(&project()).expect("row");
        for store in [PROJECTS, ANNOTATIONS, IMAGES] {
            assert!(field_names(&json_row).contains(&store.key_path.to_owned()));
        }
        let blob = BlobRow {
            key: "ab".into(),
            bytes: vec![1_u8],
            mime: String::new(),
        };
        assert!(field_names(&blob).contains(&BLOBS.key_path.to_owned()));
        let model = ModelRow::new(&summary(), vec![1_u8], None).expect("row");
        assert!(field_names(&model).contains(&MODELS.key_path.to_owned()));
        let level = LevelRow {
            key: level_key("ab", 2048),
            width: 1,
            height: 1,
            natural_width: 1,
            natural_height: 1,
            mime: "image/jpeg".into(),
            image: vec![0_u8; 4],
        };
        assert!(field_names(&level).contains(&LEVELS.key_path.to_owned()));
        let index = LevelIndexRow {
            key: level_key("ab", 2048),
            bytes: 4,
            used_ms: 1.0,
        };
        assert!(field_names(&index).contains(&LEVEL_INDEX.key_path.to_owned()));
        let thumbnail = ThumbnailRow {
            key: "ab".into(),
            width: 1,
            height: 1,
            mime: "image/webp".into(),
            image: vec![1_u8],
        };
        assert!(field_names(&thumbnail).contains(&THUMBNAILS.key_path.to_owned()));
    }

    #[test]
    fn level_keys_name_the_content_and_the_level() {
        assert_eq!(level_key("ab", 2048), "ab@2048");
        assert_ne!(level_key("ab", 2048), level_key("ab", 1024));
        assert_ne!(level_key("ab", 2048), level_key("ac", 2048));
        assert_eq!(level_content_key(&level_key("ab", 2048), 2048), Some("ab"));
        assert_eq!(level_content_key(&level_key("ab", 1024), 2048), None);
    }

    #[test]
    fn rows_keep_the_stored_field_names() {
        // Databases written by earlier builds hold these names: renaming one loses data.
        let json_row = JsonRow::of(&project()).expect("row");
        assert_eq!(field_names(&json_row), ["id", "json", "key", "project_id"]);
        let blob = BlobRow {
            key: "ab".into(),
            bytes: vec![1_u8],
            mime: "image/png".into(),
        };
        assert_eq!(field_names(&blob), ["bytes", "key", "type"]);
        let model = ModelRow::new(&summary(), vec![1_u8], Some("type: yolov8")).expect("row");
        assert_eq!(
            field_names(&model),
            ["added_ms", "config", "json", "key", "name", "onnx"]
        );
        let without_config = ModelRow::new(&summary(), vec![1_u8], None).expect("row");
        assert!(
            !field_names(&without_config).contains(&"config".to_owned()),
            "no config, no field"
        );
    }

    #[test]
    fn json_rows_give_back_their_record() {
        let project = project();
        let row = JsonRow::of(&project).expect("row");
        assert_eq!((row.key.as_str(), row.id.as_str()), ("p1", "p1"));
        assert_eq!(row.record::<ProjectRecord>().expect("read"), project);

        let image = ImageRecord {
            project_id: "p1".into(),
            path: "dir/a.jpg".into(),
            name: "a.jpg".into(),
            width: Some(2),
            height: None,
            blob_key: None,
            problem: None,
        };
        let row = JsonRow::of(&image).expect("row");
        assert_eq!(row.key, "p1\u{1f}dir/a.jpg");
        assert_eq!(row.project_id, "p1");
        assert!(!row.json.contains("blob_key"), "absent, as before v3");
        assert_eq!(row.record::<ImageRecord>().expect("read"), image);

        let annotations = AnnotationRecord {
            project_id: "p2".into(),
            version: 4,
            annotations: ImageAnnotations::new("b.png", None),
        };
        let row = JsonRow::of(&annotations).expect("row");
        assert_eq!(row.key, record_key("p2", "b.png"));
        assert_eq!(row.record::<AnnotationRecord>().expect("read"), annotations);

        let quality = QualityRecord {
            key: "sha256:ab".into(),
            scores: crate::Scores::from([(crate::Metric::Entropy, 7.25)]),
            phash: Some(crate::PerceptualHash(42)),
        };
        let row = JsonRow::of(&quality).expect("row");
        assert_eq!(row.key, "sha256:ab");
        assert!(
            row.json.contains(r#""scores":{"entropy":7.25}"#),
            "{}",
            row.json
        );
        assert_eq!(row.record::<QualityRecord>().expect("read"), quality);

        let curation = CurationRecord {
            project_id: "p3".into(),
            path: "x/c.png".into(),
            flagged: true,
            excluded: Some("blurry".into()),
        };
        let row = JsonRow::of(&curation).expect("row");
        assert_eq!(row.key, record_key("p3", "x/c.png"));
        assert_eq!(row.record::<CurationRecord>().expect("read"), curation);
        assert!(CurationRecord::default().is_empty() && !curation.is_empty());
    }

    #[test]
    fn model_rows_copy_what_the_worker_reads_from_the_summary() {
        let row = ModelRow::new(&summary(), (), Some("type: yolov8")).expect("row");
        assert_eq!(row.key, "ab");
        assert_eq!(row.name, "yolo");
        assert_eq!(row.added_ms, 7.0);
        assert_eq!(row.config.as_deref(), Some("type: yolov8"));
        assert_eq!(row.summary().expect("read"), summary());
    }

    #[test]
    fn a_projects_key_range_holds_its_records_only() {
        let (lower, upper) = project_key_bounds("p1");
        let inside = |key: &str| lower.as_str() <= key && key <= upper.as_str();
        assert!(inside(&record_key("p1", "a.jpg")));
        assert!(inside(&record_key("p1", "deep/dir/b.png")));
        assert!(!inside(&record_key("p10", "a.jpg")));
        assert!(!inside(&record_key("p", "a.jpg")));
        assert!(!inside("p1"));
    }
}
