//! The IndexedDB project store in a real browser: what is written is read back equal after
//! the database is closed and reopened, and an upgrade from an older schema keeps the data.
#![cfg(target_arch = "wasm32")]

use sightline_core::annotation::{ImageAnnotations, ImageSize, Shape, ShapeKind};
use sightline_core::view::Point;
use sightline_idb_store::{JsBytes, TransactionMode, from_js, in_transaction};
use sightline_protocol::store::{BLOBS, BlobRow, MODELS, ModelRow, StoreSpec};
use sightline_web::storage::{
    AnnotationRecord, BlobRecord, ImageRecord, ModelSummary, ProjectRecord, SCHEMA_VERSION, Store,
};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn annotations(path: &str) -> ImageAnnotations {
    let mut image = ImageAnnotations::new(path, Some(ImageSize::new(640, 480)));
    let mut rect = Shape::rectangle("car", Point::new(1.5, 2.25), Point::new(100.0, 80.125));
    rect.flags.insert("occluded".to_owned(), true.into());
    rect.extra
        .insert("custom_key".to_owned(), serde_json::json!({"kept": [1, 2]}));
    image.shapes.push(rect);
    image.shapes.push(Shape::new(
        "dot",
        ShapeKind::Point,
        vec![Point::new(3.0, 4.0)],
    ));
    image.shapes.push(Shape::polygon(
        "roof",
        vec![
            Point::new(0.0, 0.0),
            Point::new(10.0, 0.0),
            Point::new(5.0, 7.5),
        ],
    ));
    image.flags.insert("blurry".to_owned(), false.into());
    image
}

fn project(id: &str) -> ProjectRecord {
    ProjectRecord {
        id: id.to_owned(),
        name: "Test project".to_owned(),
        manifest_url: "demo/manifest.json".to_owned(),
        stored_images: false,
        classes: vec!["car".to_owned(), "dot".to_owned(), "roof".to_owned()],
        class_colours: [("car".to_owned(), "#ff0000".to_owned())]
            .into_iter()
            .collect(),
        updated_ms: 1234.5,
    }
}

#[wasm_bindgen_test]
async fn annotations_survive_closing_and_reopening() {
    let name = "sightline-test-reopen";
    Store::delete_database(name).await.expect("deleted");
    let store = Store::open(name).await.expect("opened");
    assert_eq!(store.version(), SCHEMA_VERSION);
    let records = vec![
        AnnotationRecord {
            project_id: "p1".to_owned(),
            version: 3,
            annotations: annotations("a.jpg"),
        },
        AnnotationRecord {
            project_id: "p1".to_owned(),
            version: 1,
            annotations: annotations("dir/b.png"),
        },
        AnnotationRecord {
            project_id: "p2".to_owned(),
            version: 1,
            annotations: annotations("a.jpg"),
        },
    ];
    store
        .put_project(&project("p1"))
        .await
        .expect("project saved");
    store
        .put_annotations(&records)
        .await
        .expect("annotations saved");
    store
        .put_images(&[ImageRecord {
            project_id: "p1".to_owned(),
            path: "a.jpg".to_owned(),
            name: "a.jpg".to_owned(),
            width: Some(640),
            height: Some(480),
            blob_key: None,
            problem: None,
        }])
        .await
        .expect("images saved");
    store.close();

    let store = Store::open(name).await.expect("reopened");
    let (mut read, problems) = store.annotations("p1").await.expect("read");
    assert!(problems.is_empty(), "{problems:?}");
    read.sort_by(|a, b| a.annotations.image_path.cmp(&b.annotations.image_path));
    assert_eq!(
        read,
        records[..2].to_vec(),
        "exactly what was written, only project p1's"
    );
    assert_eq!(
        store.project("p1").await.expect("read"),
        Some(project("p1"))
    );
    let (images, _) = store.images("p1").await.expect("images");
    assert_eq!(images.len(), 1);

    // A newer version replaces the record.
    let mut newer = records[0].clone();
    newer.version = 4;
    newer.annotations.shapes.pop();
    store
        .put_annotations(std::slice::from_ref(&newer))
        .await
        .expect("saved");
    let (read, _) = store.annotations("p1").await.expect("read");
    assert!(read.contains(&newer) && read.len() == 2);

    // Deleting a project removes its records and leaves the others.
    store.delete_project("p1").await.expect("deleted");
    assert!(store.annotations("p1").await.expect("read").0.is_empty());
    assert_eq!(store.project("p1").await.expect("read"), None);
    assert_eq!(store.annotations("p2").await.expect("read").0.len(), 1);
    store.close();
}

#[wasm_bindgen_test]
async fn upgrade_from_schema_1_keeps_the_data() {
    let name = "sightline-test-upgrade";
    Store::delete_database(name).await.expect("deleted");
    let old = Store::open_at_version(name, 1).await.expect("opened at v1");
    assert_eq!(old.version(), 1);
    assert!(
        !old.store_names().contains(&"images".to_owned()),
        "v1 has no images store"
    );
    let record = AnnotationRecord {
        project_id: "old".to_owned(),
        version: 7,
        annotations: annotations("x.jpg"),
    };
    old.put_project(&project("old")).await.expect("saved");
    old.put_annotations(std::slice::from_ref(&record))
        .await
        .expect("saved");
    old.close();

    let store = Store::open(name).await.expect("upgraded");
    assert_eq!(store.version(), SCHEMA_VERSION);
    for added in ["images", "blobs", "models"] {
        assert!(
            store.store_names().contains(&added.to_owned()),
            "the upgrade adds the {added} store"
        );
    }
    let (read, problems) = store.annotations("old").await.expect("read");
    assert!(problems.is_empty());
    assert_eq!(read, vec![record]);
    assert_eq!(
        store.project("old").await.expect("read"),
        Some(project("old"))
    );
    store.close();
}

async fn blob_bytes(store: &Store, key: &str) -> Option<Vec<u8>> {
    let blob = store.blob(key).await.expect("read")?;
    let buffer = wasm_bindgen_futures::JsFuture::from(blob.array_buffer())
        .await
        .expect("bytes");
    Some(js_sys::Uint8Array::new(&buffer).to_vec())
}

fn stored_image(project_id: &str, path: &str, key: &str) -> ImageRecord {
    ImageRecord {
        project_id: project_id.to_owned(),
        path: path.to_owned(),
        name: path.to_owned(),
        width: Some(2),
        height: Some(1),
        blob_key: Some(key.to_owned()),
        problem: None,
    }
}

#[wasm_bindgen_test]
async fn stored_bytes_are_shared_and_freed_with_the_last_project_holding_them() {
    let name = "sightline-test-blobs";
    Store::delete_database(name).await.expect("deleted");
    let store = Store::open(name).await.expect("opened");
    let (shared, own) = (vec![1_u8, 2, 3, 255], vec![9_u8; 1000]);
    store
        .put_blobs(&[
            BlobRecord {
                key: "k-shared",
                bytes: &shared,
                mime: "image/png",
            },
            BlobRecord {
                key: "k-own",
                bytes: &own,
                mime: "",
            },
        ])
        .await
        .expect("stored");
    let mut a = project("a");
    a.stored_images = true;
    store.put_project(&a).await.expect("saved");
    store.put_project(&project("b")).await.expect("saved");
    store
        .put_images(&[
            stored_image("a", "x.png", "k-shared"),
            stored_image("a", "y.png", "k-own"),
            stored_image("b", "x.png", "k-shared"),
        ])
        .await
        .expect("saved");
    store.close();

    let store = Store::open(name).await.expect("reopened");
    assert_eq!(store.project("a").await.expect("read"), Some(a));
    assert_eq!(blob_bytes(&store, "k-shared").await, Some(shared.clone()));
    assert_eq!(blob_bytes(&store, "k-own").await, Some(own));
    assert_eq!(
        store
            .blob("k-shared")
            .await
            .expect("read")
            .map(|b| b.type_()),
        Some("image/png".to_owned())
    );
    assert_eq!(blob_bytes(&store, "missing").await, None);

    store.delete_project("a").await.expect("deleted");
    assert!(
        !store.has_blob("k-own").await.expect("read"),
        "held by a only"
    );
    assert!(
        store.has_blob("k-shared").await.expect("read"),
        "b still holds it"
    );
    assert_eq!(store.images("a").await.expect("read").0, vec![]);
    store.delete_project("b").await.expect("deleted");
    assert!(!store.has_blob("k-shared").await.expect("read"));

    // A cancelled import forgets what it stored, unless an image refers to it.
    store
        .put_blobs(&[BlobRecord {
            key: "k-orphan",
            bytes: &shared,
            mime: "",
        }])
        .await
        .expect("stored");
    store
        .forget_blobs(&["k-orphan".to_owned()])
        .await
        .expect("forgotten");
    assert!(!store.has_blob("k-orphan").await.expect("read"));
    store.close();
}

#[wasm_bindgen_test]
async fn models_are_listed_without_bytes_and_removed() {
    let name = "sightline-test-models";
    Store::delete_database(name).await.expect("deleted");
    let store = Store::open(name).await.expect("opened");
    let summary = |key: &str, added_ms: f64| ModelSummary {
        key: key.to_owned(),
        name: format!("model {key}"),
        file_name: format!("{key}.onnx"),
        size_bytes: 3,
        added_ms,
    };
    store
        .put_model(&summary("m2", 20.0), &[1, 2, 3], Some("type: yolov8"))
        .await
        .expect("saved");
    store
        .put_model(&summary("m1", 10.0), &[4, 5, 6], None)
        .await
        .expect("saved");
    let (models, problems) = store.models().await.expect("listed");
    assert!(problems.is_empty());
    assert_eq!(models, vec![summary("m1", 10.0), summary("m2", 20.0)]);
    store.delete_model("m1").await.expect("deleted");
    let (models, _) = store.models().await.expect("listed");
    assert_eq!(models, vec![summary("m2", 20.0)]);
    store.close();
}

#[wasm_bindgen_test]
async fn the_worker_reads_the_rows_the_page_writes() {
    let name = "sightline-test-worker-rows";
    Store::delete_database(name).await.expect("deleted");
    let store = Store::open(name).await.expect("opened");
    let summary = ModelSummary {
        key: "m".to_owned(),
        name: "model m".to_owned(),
        file_name: "m.onnx".to_owned(),
        size_bytes: 3,
        added_ms: 5.0,
    };
    store
        .put_model(&summary, &[7, 8, 9], Some("type: yolov8"))
        .await
        .expect("saved");
    store
        .put_blobs(&[BlobRecord {
            key: "k",
            bytes: &[1, 2, 255],
            mime: "image/png",
        }])
        .await
        .expect("stored");
    store.close();

    // As the worker reads them (`worker/src/web.rs`): the database opened at whatever
    // version it has, one read-only get per row, the rows of `protocol::store`.
    let database = idb::Factory::new()
        .expect("IndexedDB")
        .open(name, None)
        .expect("open request")
        .await
        .expect("opened");
    let get = async |store: StoreSpec, key: &str| {
        in_transaction(&database, &[store], TransactionMode::ReadOnly, async |tx| {
            Ok(tx
                .object_store(store.name)?
                .get(JsValue::from_str(key))?
                .await?)
        })
        .await
        .expect("read")
        .expect("present")
    };
    let model: ModelRow<JsBytes> = from_js(get(MODELS, "m").await).expect("a model row");
    assert_eq!(model.name, "model m");
    assert_eq!(model.onnx.to_vec(), [7, 8, 9]);
    assert_eq!(model.config.as_deref(), Some("type: yolov8"));
    assert_eq!(model.summary().expect("its summary"), summary);
    let blob: BlobRow<JsBytes> = from_js(get(BLOBS, "k").await).expect("a blob row");
    assert_eq!(blob.bytes.to_vec(), [1, 2, 255]);
    assert_eq!(blob.mime, "image/png");
    database.close();
    Store::delete_database(name).await.expect("deleted");
}

#[wasm_bindgen_test]
async fn an_upgrade_from_another_tab_is_not_blocked_by_an_open_connection() {
    let name = "sightline-test-versionchange";
    Store::delete_database(name).await.expect("deleted");
    let this_tab = Store::open(name).await.expect("opened");
    // A newer build (schema + 1) opening the same database: the open connection closes
    // itself on `versionchange` instead of blocking the upgrade forever.
    let newer = Store::open_at_version(name, SCHEMA_VERSION + 1)
        .await
        .expect("upgraded while the old connection was open");
    assert_eq!(newer.version(), SCHEMA_VERSION + 1);
    assert!(
        this_tab.put_project(&project("late")).await.is_err(),
        "the closed connection refuses writes (the autosave then reopens)"
    );
    newer.close();
    Store::delete_database(name).await.expect("deleted");
}

/// Two tabs (two connections) save the same image from the same base: the second save
/// finds a newer version and merges, so both tabs' shapes are stored; the class list too.
#[wasm_bindgen_test]
async fn a_save_over_another_tabs_newer_record_merges_instead_of_replacing() {
    use sightline_web::storage::AnnotationEdit;
    let name = "sightline-test-two-tabs";
    Store::delete_database(name).await.expect("deleted");
    let tab_a = Store::open(name).await.expect("opened");
    let tab_b = Store::open(name).await.expect("opened");
    let base = annotations("a.jpg");
    tab_a
        .put_annotations(&[AnnotationRecord {
            project_id: "p".to_owned(),
            version: 1,
            annotations: base.clone(),
        }])
        .await
        .expect("saved");
    let edit = |extra: &str| {
        let mut ours = base.clone();
        ours.shapes.push(Shape::rectangle(
            extra,
            Point::new(1.0, 1.0),
            Point::new(9.0, 9.0),
        ));
        AnnotationEdit {
            base_version: 1,
            base: Some(base.clone()),
            ours: AnnotationRecord {
                project_id: "p".to_owned(),
                version: 0,
                annotations: ours,
            },
        }
    };

    let first = tab_a
        .save_annotations(&[edit("from A")])
        .await
        .expect("A saved");
    assert_eq!(first[0].version, 2, "no conflict: the next version");
    let second = tab_b
        .save_annotations(&[edit("from B")])
        .await
        .expect("B saved");
    assert_eq!(second[0].version, 3, "merged over A's version 2");
    let labels: Vec<&str> = second[0]
        .annotations
        .shapes
        .iter()
        .map(|s| s.label.as_str())
        .collect();
    assert_eq!(labels, ["car", "dot", "roof", "from A", "from B"]);
    let stored = tab_a.annotation("p", "a.jpg").await.expect("read");
    assert_eq!(
        stored.as_ref(),
        Some(&second[0]),
        "what B got is what is stored"
    );

    // Classes: A adds "bird", B (still on the old list) adds "cat"; both stay.
    let mut ours_a = project("p");
    ours_a.classes.push("bird".to_owned());
    let base_classes = project("p").classes;
    tab_a.put_project(&project("p")).await.expect("saved");
    tab_a
        .save_project(&ours_a, &base_classes)
        .await
        .expect("saved");
    let mut ours_b = project("p");
    ours_b.classes.push("cat".to_owned());
    let written = tab_b
        .save_project(&ours_b, &base_classes)
        .await
        .expect("saved");
    assert_eq!(written.classes, ["car", "dot", "roof", "bird", "cat"]);
    tab_a.close();
    tab_b.close();
}
