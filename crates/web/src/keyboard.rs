//! The editor's keyboard shortcuts. The list shown by the help overlay is [`SHORTCUTS`]; the
//! caller has already skipped keys typed into fields.

use leptos::prelude::*;
use web_sys::KeyboardEvent;

use crate::components::actual_size;
use crate::studio::{Draft, Studio, TOOLS, Tool};

/// Every shortcut with what it does, for the help overlay (tools come from [`TOOLS`]).
pub const SHORTCUTS: [(&str, &str); 20] = [
    ("A / D, ← / →", "previous / next image"),
    ("I", "auto-label this image with the active model"),
    ("Click", "select a shape (select tool)"),
    (
        "Shift+click, Ctrl+click",
        "add to or remove from the selection",
    ),
    (
        "Drag",
        "move the selection; drag a white handle to move a vertex",
    ),
    (
        "Enter, double-click",
        "finish a polygon or linestrip (or click its first vertex)",
    ),
    (
        "Backspace",
        "remove the last vertex of the shape being drawn",
    ),
    (
        "Escape",
        "cancel the shape being drawn, then clear the selection",
    ),
    ("Delete", "delete the selected shapes"),
    ("Ctrl+Z", "undo"),
    ("Ctrl+Shift+Z, Ctrl+Y", "redo"),
    (
        "Ctrl+C / Ctrl+V",
        "copy / paste shapes (also onto another image)",
    ),
    ("Ctrl+A", "select every shape of the image"),
    ("1 … 9", "pick a class (and give it to the selected shapes)"),
    ("[ / ]", "turn the selected rotated rectangles by 5°"),
    ("Wheel", "zoom about the cursor"),
    ("Middle-drag, Space+drag", "pan"),
    ("F", "fit the image to the view"),
    ("0", "actual size (1:1)"),
    ("?", "show or hide this help"),
];

/// Handles a key press; returns whether it was a shortcut (the caller then prevents the
/// browser's default action).
pub fn key_down(studio: Studio, event: &KeyboardEvent) -> bool {
    let key = event.key();
    let command = event.ctrl_key() || event.meta_key();
    if command {
        return match key.to_ascii_lowercase().as_str() {
            "z" if event.shift_key() => {
                studio.undo_or_redo(true);
                true
            }
            "z" => {
                studio.undo_or_redo(false);
                true
            }
            "y" => {
                studio.undo_or_redo(true);
                true
            }
            "c" => {
                studio.copy_selection();
                true
            }
            "v" => {
                studio.paste();
                true
            }
            "a" => {
                let count = studio.current_shapes().len();
                studio.selection.set((0..count).collect());
                true
            }
            _ => false,
        };
    }
    if event.alt_key() {
        return false;
    }
    match key.as_str() {
        " " => {
            studio.space_held.set_value(true);
            true
        }
        "?" => {
            studio.help_open.update(|open| *open = !*open);
            true
        }
        "Escape" => {
            if studio.help_open.get_untracked() {
                studio.help_open.set(false);
            } else if studio.draft.get_untracked() != Draft::None {
                studio.draft.set(Draft::None);
            } else {
                studio.selection.set(Vec::new());
            }
            true
        }
        "Enter" => {
            studio.finish_vertices_draft();
            true
        }
        "Backspace" => {
            if let Draft::Vertices {
                kind,
                mut points_in_image,
                pointer_in_image,
            } = studio.draft.get_untracked()
            {
                points_in_image.pop();
                studio.draft.set(if points_in_image.is_empty() {
                    Draft::None
                } else {
                    Draft::Vertices {
                        kind,
                        points_in_image,
                        pointer_in_image,
                    }
                });
            } else {
                studio.delete_selection();
            }
            true
        }
        "Delete" => {
            studio.delete_selection();
            true
        }
        "f" | "F" => {
            studio.view.set(None);
            true
        }
        "0" => {
            actual_size(studio);
            true
        }
        "[" | "]" => {
            let degrees: f64 = if key == "[" { -5.0 } else { 5.0 };
            studio.rotate_selection(degrees.to_radians());
            true
        }
        digit if digit.len() == 1 && ('1'..='9').contains(&digit.chars().next().unwrap_or('0')) => {
            let index = digit.parse::<usize>().unwrap_or(1) - 1;
            studio.pick_class(index);
            true
        }
        other => match Tool::of_key(other) {
            Some(tool) => {
                studio.draft.set(Draft::None);
                studio.tool.set(tool);
                true
            }
            None => false,
        },
    }
}

/// Releases Space (pan mode).
pub fn key_up(studio: Studio, event: &KeyboardEvent) {
    if event.key() == " " {
        studio.space_held.set_value(false);
    }
}

/// The tool shortcuts, for the help overlay.
pub fn tool_shortcuts() -> impl Iterator<Item = (&'static str, String)> {
    TOOLS
        .iter()
        .map(|(_, key, name)| (*key, format!("{name} tool")))
}
