//! Thumbnails for the image list and the grid: made in the background from the originals
//! (one at a time, behind the user's own decodes), kept in IndexedDB by content key, shown
//! through object URLs. Rows that come into view ask first; a sweep over the whole project
//! follows.

use std::cell::{Cell, RefCell};
use std::collections::{HashSet, VecDeque};

use leptos::prelude::*;
use sightline_core::project::ImageEntry;
use sightline_idb_store::JsBytes;
use sightline_protocol::store::ThumbnailRow;

use super::ImagePipeline;
use super::decode::thumbnail;
use crate::image_loader::blob_of;
use crate::project_loader::ProjectLoadError;

/// The longer side of a thumbnail, in pixels (two list rows' worth on a 2× screen).
pub const THUMBNAIL_SIDE: u32 = 160;

/// An image's thumbnail as the list and grid show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThumbState {
    Pending,
    /// An object URL of the encoded thumbnail.
    Ready(String),
    /// Why there is none (the image's problem).
    Failed(String),
}

/// The thumbnail queue of the open project.
#[derive(Default)]
pub(super) struct Thumbnails {
    queue: RefCell<VecDeque<ImageEntry>>,
    requested: RefCell<HashSet<String>>,
    running: Cell<bool>,
    done: Cell<usize>,
    total: Cell<usize>,
    /// Object URLs handed out, revoked when the project closes.
    urls: RefCell<Vec<String>>,
    project: Cell<u64>,
}

impl Thumbnails {
    pub(super) fn progress(&self) -> (usize, usize) {
        (self.done.get(), self.total.get())
    }
}

/// Why a thumbnail could not be made.
fn failed(error: impl std::fmt::Display) -> ThumbState {
    ThumbState::Failed(error.to_string())
}

impl ImagePipeline {
    /// The thumbnail of `entry` (tracked); asking puts it at the head of the queue.
    pub fn thumbnail(&self, entry: &ImageEntry) -> Signal<ThumbState> {
        let inner = self.inner();
        if inner
            .thumbnails
            .requested
            .borrow_mut()
            .insert(entry.path.clone())
        {
            inner
                .thumbnails
                .queue
                .borrow_mut()
                .push_front(entry.clone());
            self.run_thumbnails();
        }
        let thumbs = self.thumbs;
        let path = entry.path.clone();
        Signal::derive(move || {
            thumbs.with(|t| t.get(&path).cloned().unwrap_or(ThumbState::Pending))
        })
    }

    /// A new project: forget the last one's thumbnails and queue a sweep over all of these.
    pub(super) fn reset_thumbnails(&self, entries: &[ImageEntry]) {
        let inner = self.inner();
        let thumbnails = &inner.thumbnails;
        for url in thumbnails.urls.borrow_mut().drain(..) {
            let _ = web_sys::Url::revoke_object_url(&url);
        }
        thumbnails.project.set(thumbnails.project.get() + 1);
        thumbnails.requested.borrow_mut().clear();
        thumbnails.done.set(0);
        thumbnails.total.set(entries.len());
        *thumbnails.queue.borrow_mut() = entries.iter().cloned().collect();
        self.thumbs.set(Default::default());
        self.run_thumbnails();
    }

    fn run_thumbnails(&self) {
        let inner = self.inner();
        if inner.thumbnails.running.replace(true) {
            return;
        }
        let pipeline = *self;
        leptos::task::spawn_local(async move {
            let inner = pipeline.inner();
            let project = inner.thumbnails.project.get();
            loop {
                let next = inner.thumbnails.queue.borrow_mut().pop_front();
                let Some(entry) = next else { break };
                let known = pipeline
                    .thumbs
                    .with_untracked(|t| t.contains_key(&entry.path));
                if known {
                    continue;
                }
                let state = pipeline.make_thumbnail(&entry).await;
                if inner.thumbnails.project.get() != project {
                    // The project changed under this thumbnail: its queue is a new one.
                    if let ThumbState::Ready(url) = &state {
                        let _ = web_sys::Url::revoke_object_url(url);
                    }
                    inner.thumbnails.running.set(false);
                    pipeline.run_thumbnails();
                    return;
                }
                if let ThumbState::Ready(url) = &state {
                    inner.thumbnails.urls.borrow_mut().push(url.clone());
                }
                inner.thumbnails.done.set(inner.thumbnails.done.get() + 1);
                pipeline.thumbs.update(|t| {
                    t.insert(entry.path.clone(), state);
                });
                pipeline.refresh_figures();
            }
            inner.thumbnails.running.set(false);
        });
    }

    /// The stored thumbnail of `entry`, else one made from its original and stored.
    async fn make_thumbnail(&self, entry: &ImageEntry) -> ThumbState {
        let inner = self.inner();
        let store = match inner.storage.store().await {
            Ok(store) => store,
            Err(error) => return failed(error),
        };
        let known = inner.keys.borrow().get(&entry.path).cloned();
        if let Some(key) = &known
            && let Ok(Some(row)) = store.thumbnail(key).await
        {
            return object_url(&row);
        }
        let original = match self.read_original(entry).await {
            Ok(original) => original,
            Err(error) => {
                // A bad file's reason goes to the list as well.
                if let ProjectLoadError::Bad { problem, .. } = &error {
                    self.set_problem(&entry.path, Some(error.to_string()));
                    return failed(problem);
                }
                return failed(error);
            }
        };
        if known.is_none()
            && let Ok(Some(row)) = store.thumbnail(&original.key).await
        {
            return object_url(&row);
        }
        let slot = inner.slots.acquire(false).await;
        let made = thumbnail(&original.blob, original.header, THUMBNAIL_SIDE).await;
        drop(slot);
        let (image, width, height, mime) = match made {
            Ok(made) => made,
            Err(error) => return failed(error),
        };
        let key = original.key;
        let row = ThumbnailRow {
            key,
            width,
            height,
            mime,
            image: JsBytes(image),
        };
        // A thumbnail that cannot be stored (quota) is still shown; it is made again later.
        let _ = store.put_thumbnail(&row).await;
        object_url(&row)
    }
}

fn object_url(row: &ThumbnailRow<JsBytes>) -> ThumbState {
    let blob = match blob_of(&row.image.0, &row.mime) {
        Ok(blob) => blob,
        Err(error) => return failed(error),
    };
    match web_sys::Url::create_object_url_with_blob(&blob) {
        Ok(url) => ThumbState::Ready(url),
        Err(error) => failed(crate::image_loader::js_error_text(&error)),
    }
}
