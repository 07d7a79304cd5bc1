//! The editing state in the browser: every edit goes through the undo history, drags are
//! one step, paste, classes, and the guard while a project is being restored.
#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use sightline_core::annotation::Shape;
use sightline_core::interaction::{Button, Input, Modifiers};
use sightline_core::view::Point;
use sightline_core::view::Size;
use sightline_web::studio::{SaveState, Studio, ViewState};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn studio_on(path: RwSignal<Option<String>>) -> Studio {
    let studio = Studio::new(path.into());
    studio.save.state.set(SaveState::Saved);
    studio
}

/// A 100 × 100 image in a 100 × 100 view: view and image coordinates coincide.
fn unit_view() -> ViewState {
    let view = ViewState::new(Signal::derive(|| Some(Size::new(100.0, 100.0))));
    view.view_size.set(Size::new(100.0, 100.0));
    view
}

fn rect(x: f64) -> Shape {
    Shape::rectangle("object", Point::new(x, 10.0), Point::new(x + 20.0, 30.0))
}

#[wasm_bindgen_test]
fn create_undo_redo_and_dirty_marking() {
    let path = RwSignal::new(Some("a.jpg".to_owned()));
    let studio = studio_on(path);
    let view = unit_view();
    studio.create_shape(rect(0.0));
    assert_eq!(studio.doc.current_shapes().len(), 1);
    assert_eq!(studio.selection.get_untracked(), vec![0]);
    assert!(studio.save.dirty_images.with_value(|d| d.contains("a.jpg")));
    studio.undo_or_redo(view, false);
    assert!(studio.doc.current_shapes().is_empty());
    assert!(
        studio.selection.get_untracked().is_empty(),
        "selection follows the undo"
    );
    studio.undo_or_redo(view, true);
    assert_eq!(studio.doc.current_shapes(), vec![rect(0.0)]);
}

#[wasm_bindgen_test]
fn the_steps_of_one_drag_are_one_undo_step() {
    let path = RwSignal::new(Some("a.jpg".to_owned()));
    let studio = studio_on(path);
    studio.create_shape(rect(0.0));
    let view = unit_view();
    let press = Point::new(10.0, 20.0);
    studio.interact(
        view,
        Input::PointerDown {
            at_view: press,
            button: Button::Primary,
            modifiers: Modifiers::default(),
        },
    );
    for step in 1..=5 {
        let at_view = Point::new(press.x + 1.5 * f64::from(step), press.y - f64::from(step));
        studio.interact(view, Input::PointerMove { at_view });
    }
    studio.interact(
        view,
        Input::PointerUp {
            at_view: Point::new(17.5, 15.0),
        },
    );
    assert_eq!(
        studio.doc.current_shapes()[0].points_in_image[0],
        Point::new(7.5, 5.0)
    );
    studio.undo_or_redo(view, false);
    assert_eq!(
        studio.doc.current_shapes(),
        vec![rect(0.0)],
        "one undo takes back the drag"
    );
}

#[wasm_bindgen_test]
fn paste_offsets_on_the_same_image_and_keeps_places_on_another() {
    let path = RwSignal::new(Some("a.jpg".to_owned()));
    let studio = studio_on(path);
    let view = unit_view();
    studio.create_shape(rect(0.0));
    studio.copy_selection();
    studio.paste();
    let shapes = studio.doc.current_shapes();
    assert_eq!(shapes.len(), 2);
    assert_eq!(shapes[1].points_in_image[0], Point::new(10.0, 20.0));
    assert_eq!(studio.selection.get_untracked(), vec![1]);
    path.set(Some("b.jpg".to_owned()));
    studio.paste();
    assert_eq!(studio.doc.current_shapes(), vec![rect(0.0)]);
    studio.undo_or_redo(view, false);
    assert!(
        studio.doc.current_shapes().is_empty(),
        "each image has its own history"
    );
    path.set(Some("a.jpg".to_owned()));
    assert_eq!(studio.doc.current_shapes().len(), 2);
}

#[wasm_bindgen_test]
fn classes_rename_relabels_and_delete_refuses_while_used() {
    let path = RwSignal::new(Some("a.jpg".to_owned()));
    let studio = studio_on(path);
    studio.create_shape(rect(0.0));
    assert_eq!(
        studio.doc.dataset.with_untracked(|d| d.classes.clone()),
        vec!["object"]
    );
    studio.doc.add_class("car");
    studio.doc.set_class_colour("object", "#123456");
    studio.doc.rename_class(0, "person");
    assert_eq!(studio.doc.current_shapes()[0].label, "person");
    assert_eq!(
        studio.doc.colour_of("person"),
        "#123456",
        "the colour follows the rename"
    );
    studio.delete_class(0);
    assert_eq!(
        studio.doc.dataset.with_untracked(|d| d.classes.len()),
        2,
        "still used"
    );
    assert!(studio.ui.notice.get_untracked().is_some());
    studio.pick_class(1);
    assert_eq!(
        studio.doc.current_shapes()[0].label,
        "car",
        "a digit relabels the selection"
    );
    studio.delete_class(0);
    assert_eq!(
        studio.doc.dataset.with_untracked(|d| d.classes.clone()),
        vec!["car"]
    );
    // A move swaps two classes and marks the project for saving (a move past the end does
    // nothing).
    studio.doc.add_class("bus");
    studio.save.dirty_project.set_value(false);
    studio.doc.move_class(1, 1);
    assert!(
        !studio.save.dirty_project.get_value(),
        "nothing to move past the end"
    );
    studio.doc.move_class(0, 1);
    assert_eq!(
        studio.doc.dataset.with_untracked(|d| d.classes.clone()),
        vec!["bus", "car"]
    );
    assert!(studio.save.dirty_project.get_value());
}

#[wasm_bindgen_test]
fn edits_wait_while_the_project_is_restored() {
    let path = RwSignal::new(Some("a.jpg".to_owned()));
    let studio = Studio::new(path.into());
    assert_eq!(studio.save.state.get_untracked(), SaveState::Restoring);
    studio.create_shape(rect(0.0));
    assert!(studio.doc.current_shapes().is_empty());
    assert!(
        studio
            .ui
            .notice
            .get_untracked()
            .is_some_and(|n| n.contains("restoring"))
    );
}

#[wasm_bindgen_test]
fn a_learnt_image_size_is_written_but_is_not_an_unsaved_edit() {
    let path = RwSignal::new(Some("a.jpg".to_owned()));
    let studio = studio_on(path);
    studio.doc.note_image_size("a.jpg", 640, 480);
    assert!(
        studio.save.dirty_images.with_value(|d| d.contains("a.jpg")),
        "the size is written with the image's record"
    );
    assert!(
        !studio.save.user_edit_waiting.get_value(),
        "the status stays \"saved\" on an untouched image"
    );
    studio.create_shape(rect(0.0));
    assert!(studio.save.user_edit_waiting.get_value());
}
