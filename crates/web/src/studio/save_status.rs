//! Which of the open project's changes wait to be written, and what the status bar says.
//!
//! The autosave (`autosave.rs`) watches [`SaveStatus::edits`] and flushes what is dirty.
//! Only the user's edits make the status say "unsaved": facts the app learns by itself (an
//! image's size once it is decoded) are written too, but an untouched project stays "saved".

use std::collections::{BTreeSet, HashMap};

use leptos::prelude::*;
use sightline_core::annotation::ImageAnnotations;

/// Where saving stands, for the status bar.
#[derive(Clone, Debug, PartialEq)]
pub enum SaveState {
    /// Restoring the project from storage; edits wait.
    Restoring,
    Saved,
    Pending,
    Saving,
    /// The last save failed; it is retried.
    Failed(String),
}

/// Why an image's record must be written again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// The user changed it: the status says "unsaved" until it is written.
    Edit,
    /// The app learnt something about it (its size): written quietly.
    Learnt,
}

/// An image's record as this tab last read or wrote it.
#[derive(Clone, Debug)]
pub struct SavedImage {
    pub version: u64,
    pub annotations: ImageAnnotations,
}

#[derive(Clone, Copy)]
pub struct SaveStatus {
    /// Images whose annotations changed since the last save, and whether the project
    /// record (classes) did.
    pub dirty_images: StoredValue<BTreeSet<String>>,
    pub dirty_project: StoredValue<bool>,
    /// Whether a user edit waits among the dirty records.
    pub user_edit_waiting: StoredValue<bool>,
    /// What was last read from or written to storage for each image (its version and
    /// annotations) and for the class list: the base that another tab's saves are merged
    /// against.
    pub saved: StoredValue<HashMap<String, SavedImage>>,
    pub saved_classes: StoredValue<Vec<String>>,
    /// Bumped by every change; the autosave effect watches it.
    pub edits: RwSignal<u64>,
    pub state: RwSignal<SaveState>,
}

impl Default for SaveStatus {
    fn default() -> Self {
        Self::new()
    }
}

impl SaveStatus {
    pub fn new() -> Self {
        Self {
            dirty_images: StoredValue::new(BTreeSet::new()),
            dirty_project: StoredValue::new(false),
            user_edit_waiting: StoredValue::new(false),
            saved: StoredValue::new(HashMap::new()),
            saved_classes: StoredValue::new(Vec::new()),
            edits: RwSignal::new(0),
            state: RwSignal::new(SaveState::Restoring),
        }
    }

    /// Whether edits are refused because the project is still being restored.
    pub fn restoring(&self) -> bool {
        self.state.get_untracked() == SaveState::Restoring
    }

    /// Marks `path` as changed: it is saved within a second.
    pub fn mark_dirty(&self, path: &str, change: Change) {
        self.dirty_images.update_value(|dirty| {
            dirty.insert(path.to_owned());
        });
        self.note(change);
    }

    /// Marks the project record (classes) as changed by the user.
    pub fn mark_project_dirty(&self) {
        self.dirty_project.set_value(true);
        self.note(Change::Edit);
    }

    fn note(&self, change: Change) {
        if change == Change::Edit {
            self.user_edit_waiting.set_value(true);
        }
        self.edits.update(|n| *n += 1);
    }

    /// Whether anything is not yet written (asked before the page is left).
    pub fn has_unwritten(&self) -> bool {
        !self.dirty_images.with_value(BTreeSet::is_empty)
            || self.dirty_project.get_value()
            || matches!(
                self.state.get_untracked(),
                SaveState::Saving | SaveState::Failed(_)
            )
    }

    /// Forgets what was dirty (another project is opened).
    pub fn reset(&self) {
        self.dirty_images.set_value(BTreeSet::new());
        self.dirty_project.set_value(false);
        self.user_edit_waiting.set_value(false);
        self.saved.set_value(HashMap::new());
        self.saved_classes.set_value(Vec::new());
    }

    /// The stored version of `path` this tab last read or wrote (0: none).
    pub fn saved_version(&self, path: &str) -> u64 {
        self.saved
            .with_value(|saved| saved.get(path).map_or(0, |s| s.version))
    }

    /// Whether `path` has changes not yet handed to a save.
    pub fn is_dirty(&self, path: &str) -> bool {
        self.dirty_images.with_value(|dirty| dirty.contains(path))
    }
}
