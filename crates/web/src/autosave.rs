//! Opening a project from storage and writing every edit back within a second.
//!
//! An effect watches [`SaveStatus::edits`](crate::studio::SaveStatus); the first edit after a save arms a 300 ms timer (a
//! throttle, not a debounce, so a long drag still saves every 300 ms). The flush writes the
//! dirty images and the project record; a failure puts them back in the dirty set, shows the
//! error in the status bar and retries after 2 s. Nothing is dropped.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use sightline_core::project::Manifest;

use crate::durability::Durability;
use crate::storage::{
    AnnotationEdit, AnnotationRecord, DATABASE_NAME, ImageRecord, ProjectRecord, StorageError,
    Store,
};
use crate::studio::{DEMO_PROJECT_ID, SaveState, Studio};
use crate::tab_sync::{self, SaveNews};

const FLUSH_DELAY: Duration = Duration::from_millis(300);
const RETRY_DELAY: Duration = Duration::from_secs(2);
/// What a full disk asks the image cache to free before an annotation write is retried:
/// far more than a save needs, so that the next saves fit too.
const ROOM_FOR_ANNOTATIONS_BYTES: u64 = 4 << 20;

/// Frees `bytes` of cached data; resolves to whether anything was freed.
pub type RoomMaker = Rc<dyn Fn(u64) -> Pin<Box<dyn Future<Output = bool>>>>;

/// The open database, shared by the autosave and the project list.
#[derive(Clone, Copy)]
pub struct Storage {
    store: StoredValue<Option<Rc<Store>>, LocalStorage>,
    timer_armed: StoredValue<bool>,
    flushing: StoredValue<bool>,
    room_maker: StoredValue<Option<RoomMaker>, LocalStorage>,
    /// Whether the browser keeps the data, and how full its storage is.
    pub durability: Durability,
    /// The saved projects, for the project list.
    pub projects: RwSignal<Vec<ProjectRecord>>,
}

impl Storage {
    pub fn new() -> Self {
        Self {
            store: StoredValue::new_local(None),
            timer_armed: StoredValue::new(false),
            flushing: StoredValue::new(false),
            room_maker: StoredValue::new_local(None),
            durability: Durability::start(),
            projects: RwSignal::new(Vec::new()),
        }
    }

    /// The open store, opening it on first use.
    pub async fn store(&self) -> Result<Rc<Store>, StorageError> {
        if let Some(store) = self.store.get_value() {
            return Ok(store);
        }
        let store = Rc::new(Store::open(DATABASE_NAME).await?);
        self.store.set_value(Some(store.clone()));
        Ok(store)
    }

    /// Who frees space when the disk is full (the image cache).
    pub fn set_room_maker(&self, room_maker: RoomMaker) {
        self.room_maker.set_value(Some(room_maker));
    }

    /// Asks the image cache to free space; whether it freed any.
    async fn make_room(&self) -> bool {
        match self.room_maker.get_value() {
            Some(make_room) => make_room(ROOM_FOR_ANNOTATIONS_BYTES).await,
            None => false,
        }
    }

    /// Whether a save is being written now.
    fn is_flushing(&self) -> bool {
        self.flushing.get_value()
    }

    /// Drops the open connection so the next use reopens it (after a failed write: the
    /// connection may have been closed by another tab's upgrade or by the browser).
    pub fn forget_store(&self) {
        self.store.set_value(None);
    }

    /// Re-reads the project list.
    pub async fn refresh_projects(&self) -> Result<(), StorageError> {
        let store = self.store().await?;
        let (mut projects, _) = store.projects().await?;
        projects.sort_by(|a, b| b.updated_ms.total_cmp(&a.updated_ms));
        // The first project of the user's own is worth asking the browser to keep.
        if projects.iter().any(|p| p.id != DEMO_PROJECT_ID) {
            self.durability.ask_once();
        }
        self.durability.refresh();
        self.projects.set(projects);
        Ok(())
    }
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Restores project `id` (its classes and the annotations of its images) into the studio,
/// creating its record when it is new. Edits are refused until this ends.
pub async fn restore_project(
    storage: Storage,
    studio: Studio,
    id: &str,
    manifest_url: &str,
    manifest: &Manifest,
) {
    studio.save.state.set(SaveState::Restoring);
    studio.reset();
    studio.doc.project_id.set(id.to_owned());
    studio.doc.project_name.set(manifest.name.clone());
    studio.doc.blob_keys.set_value(
        manifest
            .images
            .iter()
            .filter_map(|e| Some((e.path.clone(), e.blob_key.clone()?)))
            .collect(),
    );
    let result: Result<Vec<StorageError>, StorageError> = async {
        let store = storage.store().await?;
        let record = store.project(id).await?;
        let (records, mut problems) = store.annotations(id).await?;
        let classes = record
            .as_ref()
            .map(|r| r.classes.clone())
            .unwrap_or_default();
        let colours = record
            .as_ref()
            .map(|r| r.class_colours.clone())
            .unwrap_or_default();
        studio.doc.class_colours.set(colours);
        studio.doc.restore(
            classes,
            records
                .into_iter()
                .map(|r| (r.version, r.annotations))
                .collect(),
        );
        if record.is_none() {
            store
                .put_project(&ProjectRecord {
                    id: id.to_owned(),
                    name: manifest.name.clone(),
                    manifest_url: manifest_url.to_owned(),
                    stored_images: false,
                    classes: Vec::new(),
                    class_colours: Default::default(),
                    updated_ms: now_ms(),
                })
                .await?;
        }
        // Records for images the store does not know yet (sizes come with the first save).
        let (known, _) = store.images(id).await?;
        let known: std::collections::HashSet<&str> =
            known.iter().map(|i| i.path.as_str()).collect();
        let images: Vec<ImageRecord> = manifest
            .images
            .iter()
            .filter(|entry| !known.contains(entry.path.as_str()))
            .map(|entry| ImageRecord {
                project_id: id.to_owned(),
                path: entry.path.clone(),
                name: entry.name.clone(),
                width: None,
                height: None,
                blob_key: entry.blob_key.clone(),
                problem: None,
            })
            .collect();
        if !images.is_empty()
            && let Err(error) = store.put_images(&images).await
        {
            problems.push(error);
        }
        Ok(problems)
    }
    .await;
    match result {
        Ok(problems) => {
            studio.save.state.set(SaveState::Saved);
            if let Some(problem) = problems.first() {
                studio.ui.notice.set(Some(problem.to_string()));
            }
        }
        Err(error) => {
            // Work can go on in this tab; saving keeps trying and says so.
            studio.save.state.set(SaveState::Failed(error.to_string()));
        }
    }
    if let Err(error) = storage.refresh_projects().await {
        studio.ui.notice.set(Some(error.to_string()));
    }
}

/// Starts writing edits through to storage, and re-reading what other tabs save.
pub fn start(storage: Storage, studio: Studio, manifest_url: Signal<String>) {
    tab_sync::listen(move |news| leptos::task::spawn_local(pull(storage, studio, news)));
    // Leaving the page with edits not yet written asks first (the write takes < 1 s).
    let leave = window_event_listener_untyped("beforeunload", move |event| {
        if studio.save.has_unwritten() {
            event.prevent_default();
        }
    });
    on_cleanup(move || leave.remove());
    Effect::new(move |_| {
        if studio.save.edits.get() == 0 {
            return;
        }
        if studio.save.state.get_untracked() != SaveState::Restoring {
            if studio.save.user_edit_waiting.get_value()
                && !matches!(studio.save.state.get_untracked(), SaveState::Failed(_))
            {
                studio.save.state.set(SaveState::Pending);
            }
            arm(storage, studio, manifest_url, FLUSH_DELAY);
        }
    });
}

fn arm(storage: Storage, studio: Studio, manifest_url: Signal<String>, delay: Duration) {
    if storage.timer_armed.get_value() {
        return;
    }
    storage.timer_armed.set_value(true);
    set_timeout(
        move || {
            storage.timer_armed.set_value(false);
            leptos::task::spawn_local(flush(storage, studio, manifest_url));
        },
        delay,
    );
}

async fn flush(storage: Storage, studio: Studio, manifest_url: Signal<String>) {
    if storage.flushing.get_value() {
        // One flush at a time; this one comes back when the running one ends.
        arm(storage, studio, manifest_url, FLUSH_DELAY);
        return;
    }
    let paths = studio.save.dirty_images.get_value();
    let project_dirty = studio.save.dirty_project.get_value();
    if paths.is_empty() && !project_dirty {
        studio.save.state.set(SaveState::Saved);
        return;
    }
    storage.flushing.set_value(true);
    let user_edit = studio.save.user_edit_waiting.get_value();
    studio.save.dirty_images.set_value(Default::default());
    studio.save.dirty_project.set_value(false);
    studio.save.user_edit_waiting.set_value(false);
    if user_edit {
        studio.save.state.set(SaveState::Saving);
    }

    let project_id = studio.doc.project_id.get_untracked();
    let edits: Vec<AnnotationEdit> = studio.doc.dataset.with_untracked(|dataset| {
        paths
            .iter()
            .filter_map(|path| dataset.image(path))
            .map(|image| {
                let base = studio
                    .save
                    .saved
                    .with_value(|saved| saved.get(&image.image_path).cloned());
                AnnotationEdit {
                    base_version: base.as_ref().map_or(0, |b| b.version),
                    base: base.map(|b| b.annotations),
                    ours: AnnotationRecord {
                        project_id: project_id.clone(),
                        version: 0,
                        annotations: image.clone(),
                    },
                }
            })
            .collect()
    });
    let url = manifest_url.get_untracked();
    let sent_classes = studio.doc.dataset.with_untracked(|d| d.classes.clone());
    let project = ProjectRecord {
        id: project_id.clone(),
        name: studio.doc.project_name.get_untracked(),
        // A project opened from the user's files has no manifest. Its blob keys arrive as its
        // originals are stored, so a save made before the first one must not call it a
        // manifest project (it would then fail to reopen).
        stored_images: url.is_empty() || !studio.doc.blob_keys.with_value(|keys| keys.is_empty()),
        manifest_url: url,
        classes: sent_classes.clone(),
        class_colours: studio.doc.class_colours.get_untracked(),
        updated_ms: now_ms(),
    };
    let base_classes = studio.save.saved_classes.get_value();
    let result = async {
        let store = storage.store().await?;
        let written = store.save_annotations(&edits).await?;
        // Image metadata follows the sizes learnt when images are decoded.
        let images: Vec<ImageRecord> = written
            .iter()
            .filter_map(|record| {
                let size = record.annotations.image_size?;
                let path = &record.annotations.image_path;
                // It decoded, so it is shown: no problem to keep.
                Some(ImageRecord {
                    blob_key: studio
                        .doc
                        .blob_keys
                        .with_value(|keys| keys.get(path).cloned()),
                    ..ImageRecord::new(&record.project_id, path, Some(size))
                })
            })
            .collect();
        store.put_images(&images).await?;
        let project = store.save_project(&project, &base_classes).await?;
        Ok::<_, StorageError>((written, project))
    }
    .await;
    storage.flushing.set_value(false);
    match result {
        Ok((written, project)) => {
            storage.durability.set_write_refused(false);
            tab_sync::announce(&SaveNews {
                project_id: project_id.clone(),
                paths: paths.iter().cloned().collect(),
            });
            if studio.doc.project_id.get_untracked() != project_id {
                // Another project was opened meanwhile; what was written is not shown.
                return;
            }
            for (edit, record) in edits.iter().zip(&written) {
                studio.doc.take_stored(record, Some(&edit.ours.annotations));
            }
            studio
                .doc
                .take_stored_classes(project.classes, project.class_colours, &sent_classes);
            let more = !studio.save.dirty_images.with_value(|d| d.is_empty())
                || studio.save.dirty_project.get_value();
            if more {
                if studio.save.user_edit_waiting.get_value() {
                    studio.save.state.set(SaveState::Pending);
                }
                arm(storage, studio, manifest_url, FLUSH_DELAY);
            } else {
                studio.save.state.set(SaveState::Saved);
            }
        }
        Err(error) => {
            storage.forget_store();
            // Put everything back: nothing the user drew is dropped.
            studio
                .save
                .dirty_images
                .update_value(|dirty| dirty.extend(paths));
            if project_dirty {
                studio.save.dirty_project.set_value(true);
            }
            if user_edit {
                studio.save.user_edit_waiting.set_value(true);
            }
            // A full disk: the image cache gives way and the save is retried at once; only
            // when it has nothing left to give is the user told.
            if error.is_quota() {
                if storage.make_room().await {
                    arm(storage, studio, manifest_url, FLUSH_DELAY);
                    return;
                }
                storage.durability.set_write_refused(true);
            }
            studio.save.state.set(SaveState::Failed(error.to_string()));
            arm(storage, studio, manifest_url, RETRY_DELAY);
        }
    }
}

/// Shows what another tab saved, for the images this tab has not changed since its last
/// save (those are merged when this tab saves them). Waits while a save of this tab is
/// being written, which merges on its own.
async fn pull(storage: Storage, studio: Studio, news: SaveNews) {
    let project_id = news.project_id.clone();
    let open =
        move || studio.doc.project_id.get_untracked() == project_id && !studio.save.restoring();
    let later = move |news: SaveNews| {
        set_timeout(
            move || leptos::task::spawn_local(pull(storage, studio, news)),
            FLUSH_DELAY,
        );
    };
    if !open() {
        return;
    }
    if storage.is_flushing() {
        return later(news);
    }
    let Ok(store) = storage.store().await else {
        return;
    };
    let mut records = Vec::new();
    for path in &news.paths {
        if let Ok(Some(record)) = store.annotation(&news.project_id, path).await {
            records.push(record);
        }
    }
    let project = store.project(&news.project_id).await.ok().flatten();
    // Nothing awaits from here on: what is checked below holds while it is applied.
    if !open() {
        return;
    }
    if storage.is_flushing() {
        return later(news);
    }
    for record in records {
        let path = &record.annotations.image_path;
        if studio.save.is_dirty(path) || record.version <= studio.save.saved_version(path) {
            continue;
        }
        let base = studio
            .save
            .saved
            .with_value(|saved| saved.get(path).map(|s| s.annotations.clone()));
        studio.doc.take_stored(&record, base.as_ref());
    }
    if let Some(project) = project
        && !studio.save.dirty_project.get_value()
    {
        let base = studio.save.saved_classes.get_value();
        studio
            .doc
            .take_stored_classes(project.classes, project.class_colours, &base);
    }
}
