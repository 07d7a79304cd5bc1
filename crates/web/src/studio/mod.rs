//! The studio's state, split by concern, each part provided as its own context:
//!
//! - [`Document`]: annotations, classes, undo histories (`document.rs`);
//! - [`SaveStatus`]: what waits to be written and what the status bar says (`save_status.rs`);
//! - [`ViewState`]: zoom, pan and the transform in force (`view_state.rs`);
//! - [`UiState`]: the notice line, the help overlay, the import report (`ui.rs`);
//! - [`Studio`] (here): the editing session over the document — tool, selection, the
//!   canvas interaction machine (`core::interaction`) with its draft, the clipboard — and
//!   the edits that span those parts.

mod document;
mod save_status;
mod ui;
mod view_state;

use std::collections::HashSet;

use leptos::prelude::*;
use sightline_core::annotation::{Shape, ShapeKind};
use sightline_core::editing;
use sightline_core::history::Command;
use sightline_core::interaction::{Draft, Edit, Input, Interaction, Scene, Tool};
use sightline_core::view::Point;

pub use document::{DEMO_PROJECT_ID, Document};
pub use save_status::{Change, SaveState, SaveStatus};
pub use ui::{Centre, UiState};
pub use view_state::ViewState;

/// The label of new shapes when the project has no classes yet.
pub const DEFAULT_CLASS: &str = "object";

#[derive(Clone, Copy)]
pub struct Studio {
    pub doc: Document,
    pub save: SaveStatus,
    pub ui: UiState,
    pub selection: RwSignal<Vec<usize>>,
    /// Shapes of the open image hidden from the canvas (by index).
    pub hidden: RwSignal<HashSet<usize>>,
    pub tool: RwSignal<Tool>,
    pub class_index: RwSignal<usize>,
    /// The pointer gesture under way and the shape being drawn.
    pub interaction: StoredValue<Interaction>,
    /// The shape being drawn, as last reported by the interaction (drawn on the overlay).
    pub draft: RwSignal<Draft>,
    pub space_held: StoredValue<bool>,
    clipboard: StoredValue<Option<(String, Vec<Shape>)>>,
}

impl Studio {
    /// A studio over the images `current_path` names, with a document, save status and UI
    /// state of its own (the app provides each part as a context too).
    pub fn new(current_path: Signal<Option<String>>) -> Self {
        let save = SaveStatus::new();
        let ui = UiState::new();
        let doc = Document::new(current_path, save, ui);
        Self {
            doc,
            save,
            ui,
            selection: RwSignal::new(Vec::new()),
            hidden: RwSignal::new(HashSet::new()),
            tool: RwSignal::new(Tool::Select),
            class_index: RwSignal::new(0),
            interaction: StoredValue::new(Interaction::default()),
            draft: RwSignal::new(Draft::None),
            space_held: StoredValue::new(false),
            clipboard: StoredValue::new(None),
        }
    }

    /// Feeds one input to the canvas interaction machine and carries out what it asks: an
    /// edit, a new selection, a new zoom, a redraw of the draft. Returns whether the machine
    /// handled the input.
    pub fn interact(&self, view: ViewState, input: Input) -> bool {
        let selection = self.selection.get_untracked();
        let hidden = self.hidden.get_untracked();
        let label = self.label_for_new_shapes();
        let tool = self.tool.get_untracked();
        let transform = view.transform();
        let view_size = view.view_size.get_untracked();
        let outcome = self.doc.with_shapes_untracked(|shapes| {
            let scene = Scene {
                shapes,
                selection: &selection,
                hidden: &hidden,
                tool,
                transform,
                view_size,
                label: &label,
            };
            self.interaction
                .try_update_value(|interaction| interaction.handle(input, &scene))
        });
        let Some(outcome) = outcome else {
            return false;
        };
        if let Some(selection) = outcome.selection {
            self.selection.set(selection);
        }
        if let Some(zoom) = outcome.view {
            view.zoom.set(zoom);
        }
        if outcome.draft_changed {
            let draft = self.interaction.with_value(|i| i.draft().clone());
            self.draft.set(draft);
        }
        match outcome.edit {
            Some(Edit::Step { command, gesture }) => {
                self.doc.apply(command, Some(gesture));
            }
            Some(Edit::Create(shape)) => self.create_shape(shape),
            None => {}
        }
        outcome.handled
    }

    /// A new image starts fitted, with nothing selected, hidden or being drawn.
    pub fn image_changed(&self, view: ViewState) {
        self.interact(view, Input::ImageChanged);
        self.hidden.set(HashSet::new());
    }

    pub fn set_tool(&self, view: ViewState, tool: Tool) {
        self.interact(view, Input::ToolChanged);
        self.tool.set(tool);
    }

    /// The label new shapes get: the current class, else [`DEFAULT_CLASS`] (which the
    /// shape's creation adds to the project).
    pub fn label_for_new_shapes(&self) -> String {
        self.doc.dataset.with_untracked(|d| {
            let index = self.class_index.get_untracked();
            d.classes
                .get(index.min(d.classes.len().saturating_sub(1)))
                .cloned()
                .unwrap_or_else(|| DEFAULT_CLASS.to_owned())
        })
    }

    /// Adds a finished shape to the open image (its label becoming a class if new) and
    /// selects it.
    pub fn create_shape(&self, shape: Shape) {
        if !shape.has_valid_point_count() {
            self.ui.tell(format!(
                "A {} needs {} points.",
                shape.kind.labelme_name(),
                shape.kind.expected_point_count()
            ));
            return;
        }
        if !self.doc.editable() {
            return;
        }
        self.doc.ensure_class(&shape.label);
        let shapes = self.doc.current_shapes();
        let index = shapes.len();
        if self.doc.apply(Command::create(&shapes, shape), None) {
            self.selection.set(vec![index]);
        }
    }

    /// Undoes (or redoes) the last step on the open image.
    pub fn undo_or_redo(&self, view: ViewState, redo: bool) {
        self.interact(view, Input::HistoryChanged);
        if self.doc.undo_or_redo(redo) {
            self.keep_valid_selection();
        }
    }

    /// Drops selected or hidden indices that no longer name a shape.
    pub fn keep_valid_selection(&self) {
        let count = self.doc.with_shapes_untracked(<[Shape]>::len);
        self.selection
            .update(|selection| selection.retain(|&i| i < count));
        self.hidden.update(|hidden| hidden.retain(|&i| i < count));
    }

    pub fn select_all(&self) {
        let count = self.doc.with_shapes_untracked(<[Shape]>::len);
        self.selection.set((0..count).collect());
    }

    /// Deletes the selected shapes as one step.
    pub fn delete_selection(&self) {
        let selection = self.selection.get_untracked();
        if selection.is_empty() {
            return;
        }
        let command = self
            .doc
            .with_shapes_untracked(|shapes| Command::delete_many(shapes, &selection));
        match command {
            Ok(command) => {
                if self.doc.apply(command, None) {
                    self.selection.set(Vec::new());
                    self.hidden.set(HashSet::new());
                }
            }
            Err(error) => self.ui.tell(format!("Could not delete: {error}.")),
        }
    }

    /// Gives the selected shapes `label` as one step.
    pub fn relabel_selection(&self, label: &str) {
        let selection = self.selection.get_untracked();
        if selection.is_empty() {
            return;
        }
        let command = self
            .doc
            .with_shapes_untracked(|shapes| Command::relabel(shapes, &selection, label));
        match command {
            Ok(command) => {
                self.doc.apply(command, None);
            }
            Err(error) => self.ui.tell(format!("Could not relabel: {error}.")),
        }
    }

    /// Replaces one shape of the open image (flags, rotation) as one step.
    pub fn replace_shape(&self, index: usize, after: Shape) {
        let Some(before) = self
            .doc
            .with_shapes_untracked(|shapes| shapes.get(index).cloned())
        else {
            return;
        };
        self.doc.apply(
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
        let selection = self.selection.get_untracked();
        let commands: Vec<Command> = self.doc.with_shapes_untracked(|shapes| {
            selection
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
                .collect()
        });
        if !commands.is_empty() {
            self.doc.apply(Command::Batch { commands }, None);
        }
    }

    pub fn copy_selection(&self) {
        let Some(path) = self.doc.current_path.get_untracked() else {
            return;
        };
        let selection = self.selection.get_untracked();
        let copied: Vec<Shape> = self.doc.with_shapes_untracked(|shapes| {
            selection
                .iter()
                .filter_map(|&i| shapes.get(i).cloned())
                .collect()
        });
        if copied.is_empty() {
            return;
        }
        self.ui.tell(format!("Copied {} shape(s).", copied.len()));
        self.clipboard.set_value(Some((path, copied)));
    }

    /// Pastes the clipboard into the open image (moved a little when pasted on the image it
    /// was copied from, so the copies are visible) as one step, and selects the copies.
    pub fn paste(&self) {
        let Some(path) = self.doc.current_path.get_untracked() else {
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
        let first = self.doc.with_shapes_untracked(<[Shape]>::len);
        let commands: Vec<Command> = copied
            .iter()
            .enumerate()
            .map(|(i, shape)| Command::Create {
                index: first + i,
                shape: editing::translated(shape, offset),
            })
            .collect();
        let count = commands.len();
        if self.doc.apply(Command::Batch { commands }, None) {
            self.selection.set((first..first + count).collect());
        }
    }

    /// Picks class `index` for new shapes and relabels the selection with it.
    pub fn pick_class(&self, index: usize) {
        let Some(label) = self.doc.class_name(index) else {
            return;
        };
        self.class_index.set(index);
        self.relabel_selection(&label);
    }

    /// Deletes a class that no shape uses.
    pub fn delete_class(&self, index: usize) {
        if self.doc.delete_class(index) {
            self.class_index
                .update(|i| *i = (*i).min(index.saturating_sub(1)));
        }
    }

    /// Makes `predictions` the model's shapes on the image at `path` (earlier unaccepted
    /// predictions give way) as one undo step; their labels become classes of the project,
    /// as a labeller would add them. Returns whether it was applied.
    pub fn apply_predictions(&self, path: &str, predictions: Vec<Shape>) -> bool {
        for shape in &predictions {
            self.doc.ensure_class(&shape.label);
        }
        let current = self
            .doc
            .dataset
            .with_untracked(|d| d.image(path).map(|i| i.shapes.clone()).unwrap_or_default());
        self.doc.apply_to(
            path,
            Command::replace_predictions(&current, predictions),
            None,
        )
    }

    /// Forgets the open project's state (before opening another or after deleting it).
    pub fn reset(&self) {
        self.doc.reset();
        self.selection.set(Vec::new());
        self.hidden.set(HashSet::new());
        self.interaction.set_value(Interaction::new());
        self.draft.set(Draft::None);
        self.class_index.set(0);
    }
}
