//! The editing state of the open project: its annotations, one undo history per image, the
//! selection, the tool, the clipboard, the zoom, and which images wait to be saved.
//!
//! Every change of shapes goes through `core::history` ([`Studio::apply`]); every change of
//! annotations marks its image dirty and bumps [`Studio::edits`], which the autosave effect
//! (`autosave.rs`) watches.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use leptos::prelude::*;
use sightline_core::annotation::{Dataset, ImageAnnotations, Shape, ShapeKind};
use sightline_core::editing;
use sightline_core::history::{Command, GestureId, History};
use sightline_core::view::{Point, Size, ViewTransform};

/// The stable id of the demo project, so its annotations survive reloads.
pub const DEMO_PROJECT_ID: &str = "demo";
/// The label of new shapes when the project has no classes yet.
pub const DEFAULT_CLASS: &str = "object";

/// What a press on the canvas does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    Select,
    Create(ShapeKind),
}

/// Every tool with its shortcut key and name, in toolbar order.
pub const TOOLS: [(Tool, &str, &str); 8] = [
    (Tool::Select, "V", "select"),
    (Tool::Create(ShapeKind::Rectangle), "R", "rectangle"),
    (
        Tool::Create(ShapeKind::RotatedRectangle),
        "T",
        "rotated rectangle",
    ),
    (Tool::Create(ShapeKind::Polygon), "P", "polygon"),
    (Tool::Create(ShapeKind::Point), "O", "point"),
    (Tool::Create(ShapeKind::Line), "L", "line"),
    (Tool::Create(ShapeKind::Linestrip), "K", "linestrip"),
    (Tool::Create(ShapeKind::Circle), "C", "circle"),
];

impl Tool {
    /// A name without spaces, for test ids.
    pub fn slug(self) -> &'static str {
        match self {
            Tool::Select => "select",
            Tool::Create(kind) => kind.labelme_name(),
        }
    }

    /// The tool of a shortcut key (case-insensitive).
    pub fn of_key(key: &str) -> Option<Tool> {
        TOOLS
            .iter()
            .find(|(_, shortcut, _)| shortcut.eq_ignore_ascii_case(key))
            .map(|(tool, _, _)| *tool)
    }
}

/// A shape being drawn, shown dashed.
#[derive(Clone, Debug, PartialEq)]
pub enum Draft {
    None,
    /// A two-point shape: from the press to the pointer.
    Drag {
        kind: ShapeKind,
        start_in_image: Point,
        end_in_image: Point,
        awaiting_click: bool,
    },
    /// A polygon or linestrip: its vertices so far and the pointer.
    Vertices {
        kind: ShapeKind,
        points_in_image: Vec<Point>,
        pointer_in_image: Option<Point>,
    },
}

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

#[derive(Clone, Copy)]
pub struct Studio {
    pub project_id: RwSignal<String>,
    pub project_name: RwSignal<String>,
    pub dataset: RwSignal<Dataset>,
    /// The dataset path of the open image.
    pub current_path: Signal<Option<String>>,
    pub histories: StoredValue<HashMap<String, History>>,
    /// Bumped by undoable edits so that undo/redo buttons re-read the history.
    pub history_changed: RwSignal<u64>,
    pub selection: RwSignal<Vec<usize>>,
    /// Shapes of the open image hidden from the canvas (by index).
    pub hidden: RwSignal<HashSet<usize>>,
    pub tool: RwSignal<Tool>,
    pub class_index: RwSignal<usize>,
    /// Colours chosen for classes by name; the others take the palette's.
    pub class_colours: RwSignal<BTreeMap<String, String>>,
    pub clipboard: StoredValue<Option<(String, Vec<Shape>)>>,
    /// The zoom and pan; `None` fits the image to the view.
    pub view: RwSignal<Option<ViewTransform>>,
    /// The canvas size in CSS pixels and the transform last drawn with.
    pub view_size: RwSignal<Size>,
    pub drawn_transform: StoredValue<Option<ViewTransform>>,
    pub draft: RwSignal<Draft>,
    pub space_held: StoredValue<bool>,
    /// Images whose annotations changed since the last save, and whether the project
    /// record (classes) did.
    pub dirty_images: StoredValue<BTreeSet<String>>,
    pub dirty_project: StoredValue<bool>,
    pub saved_versions: StoredValue<HashMap<String, u64>>,
    /// Content keys of the stored originals of the open project's images, by path (projects
    /// opened from the user's files), written with each image record.
    pub blob_keys: StoredValue<HashMap<String, String>>,
    pub edits: RwSignal<u64>,
    pub save_state: RwSignal<SaveState>,
    /// A message for the user about the last action (an edit refused, an export).
    pub notice: RwSignal<Option<String>>,
    pub help_open: RwSignal<bool>,
    /// Lines of the last import report.
    pub import_report: RwSignal<Option<Vec<String>>>,
    next_gesture: StoredValue<u64>,
}

impl Studio {
    pub fn new(current_path: Signal<Option<String>>) -> Self {
        Self {
            project_id: RwSignal::new(DEMO_PROJECT_ID.to_owned()),
            project_name: RwSignal::new(String::new()),
            dataset: RwSignal::new(Dataset::default()),
            current_path,
            histories: StoredValue::new(HashMap::new()),
            history_changed: RwSignal::new(0),
            selection: RwSignal::new(Vec::new()),
            hidden: RwSignal::new(HashSet::new()),
            tool: RwSignal::new(Tool::Select),
            class_index: RwSignal::new(0),
            class_colours: RwSignal::new(BTreeMap::new()),
            clipboard: StoredValue::new(None),
            view: RwSignal::new(None),
            view_size: RwSignal::new(Size::new(0.0, 0.0)),
            drawn_transform: StoredValue::new(None),
            draft: RwSignal::new(Draft::None),
            space_held: StoredValue::new(false),
            dirty_images: StoredValue::new(BTreeSet::new()),
            dirty_project: StoredValue::new(false),
            saved_versions: StoredValue::new(HashMap::new()),
            blob_keys: StoredValue::new(HashMap::new()),
            edits: RwSignal::new(0),
            save_state: RwSignal::new(SaveState::Restoring),
            notice: RwSignal::new(None),
            help_open: RwSignal::new(false),
            import_report: RwSignal::new(None),
            next_gesture: StoredValue::new(1),
        }
    }

    /// A new id for a drag; its steps coalesce into one undo step.
    pub fn new_gesture(&self) -> GestureId {
        let id = self.next_gesture.get_value();
        self.next_gesture.set_value(id + 1);
        GestureId(id)
    }

    fn editable(&self) -> bool {
        if self.save_state.get_untracked() == SaveState::Restoring {
            self.notice.set(Some(
                "Still restoring your saved work — try again in a moment.".to_owned(),
            ));
            return false;
        }
        true
    }

    /// Marks `path` as changed: it is saved within a second.
    pub fn mark_dirty(&self, path: &str) {
        self.dirty_images.update_value(|dirty| {
            dirty.insert(path.to_owned());
        });
        self.edits.update(|n| *n += 1);
    }

    /// Marks the project record (classes) as changed.
    pub fn mark_project_dirty(&self) {
        self.dirty_project.set_value(true);
        self.edits.update(|n| *n += 1);
    }

    /// The shapes of the open image (a copy).
    pub fn current_shapes(&self) -> Vec<Shape> {
        let Some(path) = self.current_path.get_untracked() else {
            return Vec::new();
        };
        self.dataset
            .with_untracked(|d| d.image(&path).map(|i| i.shapes.clone()).unwrap_or_default())
    }

    /// Runs `f` on the shapes of the open image without copying or tracking them.
    pub fn with_shapes_untracked<R>(&self, f: impl FnOnce(&[Shape]) -> R) -> R {
        let path = self.current_path.get_untracked();
        self.dataset.with_untracked(|d| {
            let shapes = path
                .as_deref()
                .and_then(|p| d.image(p))
                .map_or(&[][..], |i| &i.shapes[..]);
            f(shapes)
        })
    }

    /// Runs `f` on the shapes of the open image without copying them (tracked).
    pub fn with_current_shapes<R>(&self, f: impl FnOnce(&[Shape]) -> R) -> R {
        let path = self.current_path.get();
        self.dataset.with(|d| {
            let shapes = path
                .as_deref()
                .and_then(|p| d.image(p))
                .map_or(&[][..], |i| &i.shapes[..]);
            f(shapes)
        })
    }

    /// Applies an edit to the open image's shapes as an undo step (or a step of `gesture`).
    /// Returns whether it was applied; a refused edit is explained in the notice.
    pub fn apply(&self, command: Command, gesture: Option<GestureId>) -> bool {
        let Some(path) = self.current_path.get_untracked() else {
            return false;
        };
        self.apply_to(&path, command, gesture)
    }

    /// [`Studio::apply`] on the image at `path`.
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
                self.mark_dirty(path);
                self.history_changed.update(|n| *n += 1);
                true
            }
            Err(error) => {
                self.notice
                    .set(Some(format!("That edit was not made: {error}.")));
                false
            }
        }
    }

    /// Undoes (or redoes) the last step on the open image.
    pub fn undo_or_redo(&self, redo: bool) {
        let Some(path) = self.current_path.get_untracked() else {
            return;
        };
        if !self.editable() {
            return;
        }
        self.draft.set(Draft::None);
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
                self.mark_dirty(&path);
                self.history_changed.update(|n| *n += 1);
                self.keep_valid_selection();
            }
            Ok(false) => {}
            Err(error) => self
                .notice
                .set(Some(format!("Could not undo/redo: {error}."))),
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

    /// Drops selected or hidden indices that no longer name a shape.
    pub fn keep_valid_selection(&self) {
        let count = self.current_shapes().len();
        self.selection
            .update(|selection| selection.retain(|&i| i < count));
        self.hidden.update(|hidden| hidden.retain(|&i| i < count));
    }

    /// The label new shapes get: the current class, adding the default class to an empty
    /// project.
    pub fn current_label(&self) -> String {
        let classes = self.dataset.with_untracked(|d| d.classes.clone());
        if classes.is_empty() {
            self.dataset.update(|d| {
                d.class_index_or_insert(DEFAULT_CLASS);
            });
            self.mark_project_dirty();
            return DEFAULT_CLASS.to_owned();
        }
        let index = self.class_index.get_untracked().min(classes.len() - 1);
        classes[index].clone()
    }

    /// Adds a finished shape to the open image and selects it.
    pub fn create_shape(&self, shape: Shape) {
        if !shape.has_valid_point_count() {
            self.notice.set(Some(format!(
                "A {} needs {} points.",
                shape.kind.labelme_name(),
                shape.kind.expected_point_count()
            )));
            return;
        }
        if !self
            .dataset
            .with_untracked(|d| d.classes.contains(&shape.label))
            && self.editable()
        {
            self.dataset.update(|d| {
                d.class_index_or_insert(&shape.label);
            });
            self.mark_project_dirty();
        }
        let shapes = self.current_shapes();
        let index = shapes.len();
        if self.apply(Command::create(&shapes, shape), None) {
            self.selection.set(vec![index]);
        }
    }

    /// Finishes the polygon or linestrip being drawn.
    pub fn finish_vertices_draft(&self) {
        let Draft::Vertices {
            kind,
            points_in_image,
            ..
        } = self.draft.get_untracked()
        else {
            return;
        };
        self.draft.set(Draft::None);
        let label = self.current_label();
        self.create_shape(Shape::new(label, kind, points_in_image));
    }

    /// Deletes the selected shapes as one step.
    pub fn delete_selection(&self) {
        let selection = self.selection.get_untracked();
        if selection.is_empty() {
            return;
        }
        let shapes = self.current_shapes();
        match Command::delete_many(&shapes, &selection) {
            Ok(command) => {
                if self.apply(command, None) {
                    self.selection.set(Vec::new());
                    self.hidden.set(HashSet::new());
                }
            }
            Err(error) => self.notice.set(Some(format!("Could not delete: {error}."))),
        }
    }

    /// Gives the selected shapes `label` as one step.
    pub fn relabel_selection(&self, label: &str) {
        let selection = self.selection.get_untracked();
        if selection.is_empty() {
            return;
        }
        let shapes = self.current_shapes();
        match Command::relabel(&shapes, &selection, label) {
            Ok(command) => {
                self.apply(command, None);
            }
            Err(error) => self
                .notice
                .set(Some(format!("Could not relabel: {error}."))),
        }
    }

    /// Replaces one shape of the open image (flags, rotation) as one step.
    pub fn replace_shape(&self, index: usize, after: Shape) {
        let shapes = self.current_shapes();
        let Some(before) = shapes.get(index).cloned() else {
            return;
        };
        self.apply(
            Command::Replace {
                index,
                before,
                after,
            },
            None,
        );
    }

    /// Turns the selected rotated rectangles by `angle_radians`.
    pub fn rotate_selection(&self, angle_radians: f64) {
        let shapes = self.current_shapes();
        let commands: Vec<Command> = self
            .selection
            .get_untracked()
            .into_iter()
            .filter_map(|index| {
                let before = shapes.get(index)?.clone();
                (before.kind == ShapeKind::RotatedRectangle).then(|| {
                    let after = editing::rotated(&before, angle_radians);
                    Command::Replace {
                        index,
                        before,
                        after,
                    }
                })
            })
            .collect();
        if !commands.is_empty() {
            self.apply(Command::Batch { commands }, None);
        }
    }

    pub fn copy_selection(&self) {
        let Some(path) = self.current_path.get_untracked() else {
            return;
        };
        let shapes = self.current_shapes();
        let copied: Vec<Shape> = self
            .selection
            .get_untracked()
            .iter()
            .filter_map(|&i| shapes.get(i).cloned())
            .collect();
        if copied.is_empty() {
            return;
        }
        self.notice
            .set(Some(format!("Copied {} shape(s).", copied.len())));
        self.clipboard.set_value(Some((path, copied)));
    }

    /// Pastes the clipboard into the open image (moved a little when pasted on the image it
    /// was copied from, so the copies are visible) as one step, and selects the copies.
    pub fn paste(&self) {
        let Some(path) = self.current_path.get_untracked() else {
            return;
        };
        let Some((source, copied)) = self.clipboard.get_value() else {
            return;
        };
        let offset = if source == path {
            Point::new(10.0, 10.0)
        } else {
            Point::new(0.0, 0.0)
        };
        let shapes = self.current_shapes();
        let first = shapes.len();
        let commands: Vec<Command> = copied
            .iter()
            .enumerate()
            .map(|(i, shape)| Command::Create {
                index: first + i,
                shape: editing::translated(shape, offset),
            })
            .collect();
        let count = commands.len();
        if self.apply(Command::Batch { commands }, None) {
            self.selection.set((first..first + count).collect());
        }
    }

    /// Picks class `index` for new shapes and relabels the selection with it.
    pub fn pick_class(&self, index: usize) {
        let Some(label) = self
            .dataset
            .with_untracked(|d| d.classes.get(index).cloned())
        else {
            return;
        };
        self.class_index.set(index);
        self.relabel_selection(&label);
    }

    /// Adds a class (ignored when empty or already there).
    pub fn add_class(&self, name: &str) {
        let name = name.trim();
        if name.is_empty() {
            return;
        }
        if self
            .dataset
            .with_untracked(|d| d.classes.iter().any(|c| c == name))
        {
            self.notice
                .set(Some(format!("There is already a class named {name:?}.")));
            return;
        }
        self.dataset.update(|d| d.classes.push(name.to_owned()));
        self.mark_project_dirty();
    }

    /// Renames a class and every shape that carries it, in every image.
    pub fn rename_class(&self, index: usize, new_name: &str) {
        let new_name = new_name.trim();
        let Some(old_name) = self
            .dataset
            .with_untracked(|d| d.classes.get(index).cloned())
        else {
            return;
        };
        if new_name.is_empty() || new_name == old_name {
            return;
        }
        if self
            .dataset
            .with_untracked(|d| d.classes.iter().any(|c| c == new_name))
        {
            self.notice.set(Some(format!(
                "There is already a class named {new_name:?}."
            )));
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
            self.mark_dirty(path);
        }
        self.mark_project_dirty();
    }

    /// Deletes a class that no shape uses.
    pub fn delete_class(&self, index: usize) {
        let Some(name) = self
            .dataset
            .with_untracked(|d| d.classes.get(index).cloned())
        else {
            return;
        };
        let users = self.dataset.with_untracked(|d| {
            d.images
                .iter()
                .flat_map(|i| &i.shapes)
                .filter(|s| s.label == name)
                .count()
        });
        if users > 0 {
            self.notice.set(Some(format!(
                "{users} shape(s) use {name:?}: give them another label before deleting it."
            )));
            return;
        }
        self.dataset.update(|d| {
            d.classes.remove(index);
        });
        self.class_index
            .update(|i| *i = (*i).min(index.saturating_sub(1)));
        self.mark_project_dirty();
    }

    /// Moves a class one place up (`-1`) or down (`1`).
    pub fn move_class(&self, index: usize, step: isize) {
        let count = self.dataset.with_untracked(|d| d.classes.len());
        let Some(target) = index.checked_add_signed(step).filter(|&t| t < count) else {
            return;
        };
        self.dataset.update(|d| d.classes.swap(index, target));
        self.mark_project_dirty();
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
        self.mark_dirty(&path);
    }

    /// Records the size of an image once it is decoded (YOLO and COCO need it).
    pub fn note_image_size(&self, path: &str, width: u32, height: u32) {
        let size = sightline_core::annotation::ImageSize::new(width, height);
        let known = self
            .dataset
            .with_untracked(|d| d.image(path).and_then(|i| i.image_size));
        if known == Some(size) || self.save_state.get_untracked() == SaveState::Restoring {
            return;
        }
        self.dataset
            .update(|d| d.image_mut_or_insert(path).image_size = Some(size));
        self.mark_dirty(path);
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
        self.mark_project_dirty();
    }

    /// Forgets the open project's state (before opening another or after deleting it).
    pub fn reset(&self) {
        self.dataset.set(Dataset::default());
        self.class_colours.set(BTreeMap::new());
        self.histories.set_value(HashMap::new());
        self.history_changed.update(|n| *n += 1);
        self.selection.set(Vec::new());
        self.hidden.set(HashSet::new());
        self.draft.set(Draft::None);
        self.dirty_images.set_value(BTreeSet::new());
        self.dirty_project.set_value(false);
        self.saved_versions.set_value(HashMap::new());
        self.blob_keys.set_value(HashMap::new());
        self.class_index.set(0);
    }

    /// Installs restored annotations and classes.
    pub fn restore(&self, classes: Vec<String>, images: Vec<(u64, ImageAnnotations)>) {
        let mut versions = HashMap::new();
        let mut dataset = Dataset {
            classes,
            images: Vec::new(),
        };
        for (version, image) in images {
            versions.insert(image.image_path.clone(), version);
            dataset.images.push(image);
        }
        self.saved_versions.set_value(versions);
        self.dataset.set(dataset);
    }
}
