//! The open project's document: its annotations and classes, one undo history per image,
//! and the class colours.
//!
//! Every change of shapes goes through `core::history` ([`Document::apply_to`]); every
//! change marks what it touched in the [`SaveStatus`], and a refused change is explained
//! in the notice line.

use std::collections::{BTreeMap, HashMap, HashSet};

use leptos::prelude::*;
use sightline_core::annotation::{Dataset, ImageAnnotations, ImageSize, Shape};
use sightline_core::editing;
use sightline_core::history::{Command, GestureId, History};
use sightline_core::merge::{merge_classes, merge_image};
use sightline_protocol::store::AnnotationRecord;

use super::save_status::{Change, SaveStatus, SavedImage};
use super::ui::UiState;

/// The stable id of the demo project, so its annotations survive reloads.
pub const DEMO_PROJECT_ID: &str = "demo";

#[derive(Clone, Copy)]
pub struct Document {
    pub project_id: RwSignal<String>,
    pub project_name: RwSignal<String>,
    pub dataset: RwSignal<Dataset>,
    /// The dataset path of the open image.
    pub current_path: Signal<Option<String>>,
    histories: StoredValue<HashMap<String, History>>,
    /// Bumped by undoable edits so that undo/redo buttons re-read the history.
    history_changed: RwSignal<u64>,
    /// Colours chosen for classes by name; the others take the palette's.
    pub class_colours: RwSignal<BTreeMap<String, String>>,
    /// Content keys of the stored originals of the open project's images, by path (projects
    /// opened from the user's files), written with each image record.
    pub blob_keys: StoredValue<HashMap<String, String>>,
    /// The paths of the images with at least one shape. A memo, so an edit that does not
    /// change which images are labelled (a drag) touches no list row.
    pub labelled: Memo<HashSet<String>>,
    save: SaveStatus,
    ui: UiState,
}

impl Document {
    pub fn new(current_path: Signal<Option<String>>, save: SaveStatus, ui: UiState) -> Self {
        let dataset = RwSignal::new(Dataset::default());
        let labelled = Memo::new(move |_| {
            dataset.with(|d: &Dataset| {
                d.images
                    .iter()
                    .filter(|image| !image.shapes.is_empty())
                    .map(|image| image.image_path.clone())
                    .collect()
            })
        });
        Self {
            project_id: RwSignal::new(DEMO_PROJECT_ID.to_owned()),
            project_name: RwSignal::new(String::new()),
            dataset,
            current_path,
            histories: StoredValue::new(HashMap::new()),
            history_changed: RwSignal::new(0),
            class_colours: RwSignal::new(BTreeMap::new()),
            blob_keys: StoredValue::new(HashMap::new()),
            labelled,
            save,
            ui,
        }
    }

    /// Whether edits are accepted now; says why not in the notice.
    pub fn editable(&self) -> bool {
        if self.save.restoring() {
            self.ui
                .tell("Still restoring your saved work — try again in a moment.");
            return false;
        }
        true
    }

    /// The shapes of the open image (a copy).
    pub fn current_shapes(&self) -> Vec<Shape> {
        self.with_shapes_untracked(<[Shape]>::to_vec)
    }

    /// Runs `f` on the shapes of the open image without copying or tracking them.
    pub fn with_shapes_untracked<R>(&self, f: impl FnOnce(&[Shape]) -> R) -> R {
        let path = self.current_path.get_untracked();
        self.dataset
            .with_untracked(|d| f(shapes_of(d, path.as_deref())))
    }

    /// Runs `f` on the shapes of the open image without copying them (tracked).
    pub fn with_current_shapes<R>(&self, f: impl FnOnce(&[Shape]) -> R) -> R {
        let path = self.current_path.get();
        self.dataset.with(|d| f(shapes_of(d, path.as_deref())))
    }

    /// Applies an edit to the open image's shapes as an undo step (or a step of `gesture`).
    /// Returns whether it was applied; a refused edit is explained in the notice.
    pub fn apply(&self, command: Command, gesture: Option<GestureId>) -> bool {
        let Some(path) = self.current_path.get_untracked() else {
            return false;
        };
        self.apply_to(&path, command, gesture)
    }

    /// [`Document::apply`] on the image at `path`.
    pub fn apply_to(&self, path: &str, command: Command, gesture: Option<GestureId>) -> bool {
        if !self.editable() {
            return false;
        }
        let mut result = Ok(());
        self.dataset.update(|dataset| {
            let image = dataset.image_mut_or_insert(path);
            self.histories.update_value(|histories| {
                let history = histories.entry(path.to_owned()).or_default();
                result = match gesture {
                    Some(gesture) => history.apply_in_gesture(&mut image.shapes, command, gesture),
                    None => history.apply(&mut image.shapes, command),
                };
            });
        });
        match result {
            Ok(()) => {
                self.save.mark_dirty(path, Change::Edit);
                self.history_changed.update(|n| *n += 1);
                true
            }
            Err(error) => {
                self.ui.tell(format!("That edit was not made: {error}."));
                false
            }
        }
    }

    /// Undoes (or redoes) the last step on the open image; returns whether shapes changed.
    pub fn undo_or_redo(&self, redo: bool) -> bool {
        let Some(path) = self.current_path.get_untracked() else {
            return false;
        };
        if !self.editable() {
            return false;
        }
        let mut outcome = Ok(false);
        self.dataset.update(|dataset| {
            let image = dataset.image_mut_or_insert(&path);
            self.histories.update_value(|histories| {
                let history = histories.entry(path.clone()).or_default();
                outcome = if redo {
                    history.redo(&mut image.shapes)
                } else {
                    history.undo(&mut image.shapes)
                };
            });
        });
        match outcome {
            Ok(true) => {
                self.save.mark_dirty(&path, Change::Edit);
                self.history_changed.update(|n| *n += 1);
                true
            }
            Ok(false) => false,
            Err(error) => {
                self.ui.tell(format!("Could not undo/redo: {error}."));
                false
            }
        }
    }

    /// Whether the open image has something to undo / redo (tracked).
    pub fn can_undo_redo(&self) -> (bool, bool) {
        self.history_changed.track();
        let Some(path) = self.current_path.get() else {
            return (false, false);
        };
        self.histories.with_value(|histories| {
            histories
                .get(&path)
                .map_or((false, false), |h| (h.can_undo(), h.can_redo()))
        })
    }

    pub fn has_class(&self, name: &str) -> bool {
        self.dataset
            .with_untracked(|d| d.classes.iter().any(|c| c == name))
    }

    /// Adds class `name` if the project lacks it (a label met on a shape, a prediction or an
    /// import), without the notice [`Document::add_class`] gives for a duplicate.
    pub fn ensure_class(&self, name: &str) {
        if !self.has_class(name) {
            self.dataset.update(|d| {
                d.class_index_or_insert(name);
            });
            self.save.mark_project_dirty();
        }
    }

    /// Adds a class (ignored when empty or already there).
    pub fn add_class(&self, name: &str) {
        let name = name.trim();
        if name.is_empty() {
            return;
        }
        if self.has_class(name) {
            self.ui
                .tell(format!("There is already a class named {name:?}."));
            return;
        }
        self.dataset.update(|d| d.classes.push(name.to_owned()));
        self.save.mark_project_dirty();
    }

    /// Renames a class and every shape that carries it, in every image.
    pub fn rename_class(&self, index: usize, new_name: &str) {
        let new_name = new_name.trim();
        let Some(old_name) = self.class_name(index) else {
            return;
        };
        if new_name.is_empty() || new_name == old_name {
            return;
        }
        if self.has_class(new_name) {
            self.ui
                .tell(format!("There is already a class named {new_name:?}."));
            return;
        }
        self.class_colours.update(|colours| {
            if let Some(colour) = colours.remove(&old_name) {
                colours.insert(new_name.to_owned(), colour);
            }
        });
        let mut touched = Vec::new();
        self.dataset.update(|d| {
            d.classes[index] = new_name.to_owned();
            for image in &mut d.images {
                let mut changed = false;
                for shape in image.shapes.iter_mut().filter(|s| s.label == old_name) {
                    shape.label = new_name.to_owned();
                    changed = true;
                }
                if changed {
                    touched.push(image.image_path.clone());
                }
            }
        });
        // The histories still name the old label: a later undo would fail its state check,
        // so renaming starts them afresh for the images it touched.
        self.histories.update_value(|h| {
            for path in &touched {
                h.remove(path);
            }
        });
        self.history_changed.update(|n| *n += 1);
        for path in &touched {
            self.save.mark_dirty(path, Change::Edit);
        }
        self.save.mark_project_dirty();
    }

    /// Deletes a class that no shape uses; returns whether it did.
    pub fn delete_class(&self, index: usize) -> bool {
        let Some(name) = self.class_name(index) else {
            return false;
        };
        let users = self.dataset.with_untracked(|d| {
            d.images
                .iter()
                .flat_map(|i| &i.shapes)
                .filter(|s| s.label == name)
                .count()
        });
        if users > 0 {
            self.ui.tell(format!(
                "{users} shape(s) use {name:?}: give them another label before deleting it."
            ));
            return false;
        }
        self.dataset.update(|d| {
            d.classes.remove(index);
        });
        self.save.mark_project_dirty();
        true
    }

    /// Moves a class one place up (`-1`) or down (`1`).
    pub fn move_class(&self, index: usize, step: isize) {
        let count = self.dataset.with_untracked(|d| d.classes.len());
        let Some(target) = index.checked_add_signed(step).filter(|&t| t < count) else {
            return;
        };
        self.dataset.update(|d| d.classes.swap(index, target));
        self.save.mark_project_dirty();
    }

    pub fn class_name(&self, index: usize) -> Option<String> {
        self.dataset
            .with_untracked(|d| d.classes.get(index).cloned())
    }

    /// Sets an image-level flag of the open image.
    pub fn set_image_flag(&self, name: &str, value: bool) {
        let Some(path) = self.current_path.get_untracked() else {
            return;
        };
        if !self.editable() {
            return;
        }
        self.dataset.update(|d| {
            d.image_mut_or_insert(&path)
                .flags
                .insert(name.to_owned(), value.into());
        });
        self.save.mark_dirty(&path, Change::Edit);
    }

    /// Records the size of an image once it is decoded (YOLO and COCO need it).
    pub fn note_image_size(&self, path: &str, width: u32, height: u32) {
        let size = ImageSize::new(width, height);
        let known = self
            .dataset
            .with_untracked(|d| d.image(path).and_then(|i| i.image_size));
        if known == Some(size) || self.save.restoring() {
            return;
        }
        self.dataset
            .update(|d| d.image_mut_or_insert(path).image_size = Some(size));
        self.save.mark_dirty(path, Change::Learnt);
    }

    /// The colour shapes of `label` are drawn with: the chosen one, else the palette's.
    pub fn colour_of(&self, label: &str) -> String {
        let chosen = self
            .class_colours
            .with(|colours| colours.get(label).cloned());
        chosen.unwrap_or_else(|| {
            self.dataset
                .with(|d| editing::colour_of_label(&d.classes, label))
        })
    }

    /// Chooses the colour of class `name` (`#rrggbb`).
    pub fn set_class_colour(&self, name: &str, colour: &str) {
        self.class_colours.update(|colours| {
            colours.insert(name.to_owned(), colour.to_owned());
        });
        self.save.mark_project_dirty();
    }

    /// Forgets the open project (before opening another or after deleting it).
    pub fn reset(&self) {
        self.dataset.set(Dataset::default());
        self.class_colours.set(BTreeMap::new());
        self.histories.set_value(HashMap::new());
        self.history_changed.update(|n| *n += 1);
        self.blob_keys.set_value(HashMap::new());
        self.save.reset();
    }

    /// Installs restored annotations and classes.
    pub fn restore(&self, classes: Vec<String>, images: Vec<(u64, ImageAnnotations)>) {
        let mut saved = HashMap::new();
        let mut dataset = Dataset {
            classes: classes.clone(),
            images: Vec::new(),
        };
        for (version, image) in images {
            saved.insert(
                image.image_path.clone(),
                SavedImage {
                    version,
                    annotations: image.clone(),
                },
            );
            dataset.images.push(image);
        }
        self.save.saved.set_value(saved);
        self.save.saved_classes.set_value(classes);
        self.dataset.set(dataset);
    }

    /// Takes a record of `path` written by storage (ours merged with another tab's, or
    /// another tab's own) as the saved state, and shows it unless this tab changed the
    /// image since `sent` (the annotations it last handed to a save, `None` when it did
    /// not save): those later edits are then kept on top of the record. The image's undo
    /// history ends here, since its steps no longer fit the shapes.
    pub fn take_stored(&self, record: &AnnotationRecord, sent: Option<&ImageAnnotations>) {
        let path = record.annotations.image_path.clone();
        self.save.saved.update_value(|saved| {
            saved.insert(
                path.clone(),
                SavedImage {
                    version: record.version,
                    annotations: record.annotations.clone(),
                },
            );
        });
        // Most saves write what is shown: the dataset (and every view of it) stays as is.
        let shown = self
            .dataset
            .with_untracked(|dataset| match dataset.image(&path) {
                None => Some(record.annotations.clone()),
                Some(image) => {
                    let shown = match sent {
                        Some(sent) if image != sent => {
                            merge_image(Some(sent), image, &record.annotations)
                        }
                        _ => record.annotations.clone(),
                    };
                    (*image != shown).then_some(shown)
                }
            });
        let Some(shown) = shown else {
            return;
        };
        self.dataset
            .update(|dataset| *dataset.image_mut_or_insert(&path) = shown);
        self.histories.update_value(|histories| {
            histories.remove(&path);
        });
        self.history_changed.update(|n| *n += 1);
    }

    /// Takes the class list written by storage (another tab's classes merged in) as the
    /// saved one; shown unless this tab changed its classes since `sent`.
    pub fn take_stored_classes(
        &self,
        classes: Vec<String>,
        colours: BTreeMap<String, String>,
        sent: &[String],
    ) {
        self.save.saved_classes.set_value(classes.clone());
        let shown = self.dataset.with_untracked(|dataset| {
            let shown = if dataset.classes == sent {
                classes
            } else {
                merge_classes(sent, &dataset.classes, &classes)
            };
            (dataset.classes != shown).then_some(shown)
        });
        if let Some(shown) = shown {
            self.dataset.update(|dataset| dataset.classes = shown);
        }
        let new_colours: Vec<(String, String)> = self.class_colours.with_untracked(|mine| {
            colours
                .into_iter()
                .filter(|(name, _)| !mine.contains_key(name))
                .collect()
        });
        if !new_colours.is_empty() {
            self.class_colours.update(|mine| mine.extend(new_colours));
        }
    }
}

fn shapes_of<'a>(dataset: &'a Dataset, path: Option<&str>) -> &'a [Shape] {
    path.and_then(|p| dataset.image(p))
        .map_or(&[][..], |image| &image.shapes[..])
}
