//! The editor's keyboard shortcuts. The list shown by the help overlay is [`SHORTCUTS`]; the
//! caller has already skipped keys typed into fields.

use leptos::prelude::*;
use web_sys::KeyboardEvent;

use sightline_core::interaction::{Input, Key, TOOLS, Tool};

use crate::studio::{Studio, ViewState};

/// Every shortcut with what it does, for the help overlay (tools come from [`TOOLS`]).
pub const SHORTCUTS: [(&str, &str); 22] = [
    ("A / D, ← / →", "previous / next image"),
    ("U / Shift+U", "next / previous unlabelled image"),
    ("G", "thumbnail grid / back to the canvas"),
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
pub fn key_down(studio: Studio, view: ViewState, event: &KeyboardEvent) -> bool {
    let key = event.key();
    if event.ctrl_key() || event.meta_key() {
        return command_key_down(studio, view, &key.to_ascii_lowercase(), event.shift_key());
    }
    if event.alt_key() {
        return false;
    }
    let help_open = studio.ui.help_open;
    if key == "Escape" && help_open.get_untracked() {
        help_open.set(false);
        return true;
    }
    if let Some(key) = Key::of_dom_key(&key) {
        if !studio.interact(view, Input::Key(key)) && key == Key::Backspace {
            studio.delete_selection();
        }
        return true;
    }
    match key.as_str() {
        " " => {
            studio.space_held.set_value(true);
            true
        }
        "?" => {
            help_open.update(|open| *open = !*open);
            true
        }
        "Delete" => {
            studio.delete_selection();
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
                studio.set_tool(view, tool);
                true
            }
            None => false,
        },
    }
}

/// Ctrl (or Cmd) + `key`.
fn command_key_down(studio: Studio, view: ViewState, key: &str, shift: bool) -> bool {
    match key {
        "z" => studio.undo_or_redo(view, shift),
        "y" => studio.undo_or_redo(view, true),
        "c" => studio.copy_selection(),
        "v" => studio.paste(),
        "a" => studio.select_all(),
        _ => return false,
    }
    true
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
