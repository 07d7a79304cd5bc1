//! The canvas interaction machine, driven the way the browser drives it: every test feeds
//! inputs in view coordinates to an [`Editor`] that plays the caller (it applies edits to a
//! history, takes the new selection and zoom, and computes the transform from its state).

use std::collections::HashSet;

use proptest::prelude::*;
use sightline_core::annotation::{Shape, ShapeKind};
use sightline_core::editing::{shape_from_drag, with_vertex_dragged};
use sightline_core::history::{Command, History};
use sightline_core::interaction::{
    Button, CLICK_SLOP, Draft, Edit, HANDLE_TOLERANCE, Input, Interaction, Key, MAX_SCALE,
    MIN_SCALE, Modifiers, Outcome, Scene, TOOLS, Tool, WHEEL_ZOOM_RATE, actual_size,
};
use sightline_core::view::{Point, Size, ViewTransform};

const LABEL: &str = "thing";
/// A 200×100 image fitted into a 400×200 view: 2 view pixels per image pixel, no offset.
const IMAGE: Size = Size {
    width: 200.0,
    height: 100.0,
};
const VIEW: Size = Size {
    width: 400.0,
    height: 200.0,
};

fn p(x: f64, y: f64) -> Point {
    Point::new(x, y)
}

fn close(a: Point, b: Point) -> bool {
    (a.x - b.x).abs() < 1e-9 && (a.y - b.y).abs() < 1e-9
}

/// The caller's state and the machine, with the caller's handling of outcomes.
struct Editor {
    shapes: Vec<Shape>,
    selection: Vec<usize>,
    hidden: HashSet<usize>,
    tool: Tool,
    /// `None` fits the image.
    zoom: Option<ViewTransform>,
    /// `false` plays "no image drawn yet": the scene has no transform.
    image_shown: bool,
    history: History,
    machine: Interaction,
    /// Shapes the machine asked to create, valid or not.
    created: Vec<Shape>,
}

impl Editor {
    fn new(shapes: Vec<Shape>) -> Self {
        Self {
            shapes,
            selection: Vec::new(),
            hidden: HashSet::new(),
            tool: Tool::Select,
            zoom: None,
            image_shown: true,
            history: History::new(),
            machine: Interaction::new(),
            created: Vec::new(),
        }
    }

    fn with_tool(tool: Tool) -> Self {
        let mut editor = Self::new(Vec::new());
        editor.tool = tool;
        editor
    }

    fn transform(&self) -> ViewTransform {
        self.zoom.unwrap_or_else(|| ViewTransform::fit(IMAGE, VIEW))
    }

    /// A point of the image in view coordinates, under the current transform.
    fn view_of(&self, at_image: Point) -> Point {
        self.transform().view_from_image(at_image)
    }

    fn send(&mut self, input: Input) -> Outcome {
        let scene = Scene {
            shapes: &self.shapes,
            selection: &self.selection,
            hidden: &self.hidden,
            tool: self.tool,
            transform: self.image_shown.then(|| self.transform()),
            view_size: VIEW,
            label: LABEL,
        };
        let outcome = self.machine.handle(input, &scene);
        if let Some(selection) = &outcome.selection {
            self.selection = selection.clone();
        }
        if let Some(zoom) = outcome.view {
            self.zoom = zoom;
        }
        match &outcome.edit {
            Some(Edit::Step { command, gesture }) => self
                .history
                .apply_in_gesture(&mut self.shapes, command.clone(), *gesture)
                .expect("a drag step is made against the current shapes"),
            Some(Edit::Create(shape)) => {
                self.created.push(shape.clone());
                if shape.has_valid_point_count() {
                    let index = self.shapes.len();
                    let create = Command::create(&self.shapes, shape.clone());
                    self.history
                        .apply(&mut self.shapes, create)
                        .expect("create");
                    self.selection = vec![index];
                }
            }
            None => {}
        }
        outcome
    }

    fn down_with(&mut self, at_view: Point, button: Button, modifiers: Modifiers) -> Outcome {
        self.send(Input::PointerDown {
            at_view,
            button,
            modifiers,
        })
    }

    fn down(&mut self, at_view: Point) -> Outcome {
        self.down_with(at_view, Button::Primary, Modifiers::default())
    }

    fn moved(&mut self, at_view: Point) -> Outcome {
        self.send(Input::PointerMove { at_view })
    }

    fn up(&mut self, at_view: Point) -> Outcome {
        self.send(Input::PointerUp { at_view })
    }

    fn click(&mut self, at_view: Point) -> Outcome {
        let down = self.down(at_view);
        let up = self.up(at_view);
        merge(down, up)
    }

    fn shift_click(&mut self, at_view: Point) -> Outcome {
        let modifiers = Modifiers {
            additive: true,
            pan: false,
        };
        let down = self.down_with(at_view, Button::Primary, modifiers);
        let up = self.up(at_view);
        merge(down, up)
    }

    /// A primary drag in `steps` equal moves, released at `to`.
    fn drag(&mut self, from: Point, to: Point, steps: usize) -> Outcome {
        let mut all = self.down(from);
        for step in 1..=steps {
            let t = step as f64 / steps as f64;
            let at = p(from.x + (to.x - from.x) * t, from.y + (to.y - from.y) * t);
            all = merge(all, self.moved(at));
        }
        merge(all, self.up(to))
    }

    fn key(&mut self, key: Key) -> Outcome {
        self.send(Input::Key(key))
    }

    fn set_tool(&mut self, tool: Tool) -> Outcome {
        let outcome = self.send(Input::ToolChanged);
        self.tool = tool;
        outcome
    }
}

/// The effects of two outcomes in order (the later wins).
fn merge(a: Outcome, b: Outcome) -> Outcome {
    Outcome {
        handled: a.handled || b.handled,
        edit: b.edit.or(a.edit),
        selection: b.selection.or(a.selection),
        view: b.view.or(a.view),
        draft_changed: a.draft_changed || b.draft_changed,
    }
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Shape {
    Shape::rectangle("r", p(x0, y0), p(x1, y1))
}

fn triangle() -> Shape {
    Shape::polygon("t", vec![p(100.0, 10.0), p(150.0, 10.0), p(100.0, 60.0)])
}

fn created_shape(outcome: &Outcome) -> &Shape {
    match &outcome.edit {
        Some(Edit::Create(shape)) => shape,
        other => panic!("expected a shape to create, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Select tool

#[test]
fn click_picks_a_shape_and_a_click_on_nothing_clears() {
    let mut ed = Editor::new(vec![
        rect(10.0, 10.0, 50.0, 50.0),
        rect(60.0, 10.0, 90.0, 40.0),
    ]);
    let outcome = ed.click(ed.view_of(p(70.0, 20.0)));
    assert_eq!(outcome.selection, Some(vec![1]));
    assert!(outcome.handled);
    assert_eq!(outcome.edit, None, "a click moves nothing");
    assert_eq!(ed.selection, vec![1]);
    assert_eq!(ed.click(ed.view_of(p(20.0, 20.0))).selection, Some(vec![0]));
    let outcome = ed.click(ed.view_of(p(150.0, 80.0)));
    assert_eq!(outcome.selection, Some(vec![]));
    assert!(ed.selection.is_empty());
    assert_eq!(ed.history.undo_depth(), 0);
}

#[test]
fn a_point_within_pick_tolerance_in_view_pixels_is_picked() {
    let mut ed = Editor::new(vec![Shape::new("p", ShapeKind::Point, vec![p(50.0, 50.0)])]);
    let at = ed.view_of(p(50.0, 50.0));
    assert_eq!(ed.click(p(at.x + 4.5, at.y)).selection, Some(vec![0]));
    // Not selected (a selected point's handle reaches HANDLE_TOLERANCE), 5.5 px is a miss.
    ed.selection.clear();
    assert_eq!(ed.click(p(at.x + 5.5, at.y)).selection, Some(vec![]));
    // Selected, 5.5 px grabs its handle: the selection stays and a drag moves the point.
    ed.selection = vec![0];
    let outcome = ed.drag(p(at.x + 5.5, at.y), p(at.x + 20.0, at.y), 1);
    assert_eq!(outcome.selection, None);
    assert_eq!(ed.shapes[0].points_in_image, vec![p(60.0, 50.0)]);
}

#[test]
fn shift_or_ctrl_click_toggles_membership() {
    let mut ed = Editor::new(vec![
        rect(10.0, 10.0, 50.0, 50.0),
        rect(60.0, 10.0, 90.0, 40.0),
    ]);
    ed.click(ed.view_of(p(20.0, 20.0)));
    let outcome = ed.shift_click(ed.view_of(p(70.0, 20.0)));
    assert_eq!(outcome.selection, Some(vec![0, 1]));
    let outcome = ed.shift_click(ed.view_of(p(20.0, 20.0)));
    assert_eq!(outcome.selection, Some(vec![1]));
    // An additive click on nothing keeps the selection and is not handled.
    let outcome = ed.shift_click(ed.view_of(p(150.0, 80.0)));
    assert_eq!(outcome.selection, None);
    assert!(!outcome.handled);
    assert_eq!(ed.selection, vec![1]);
    // An additive press never starts a drag.
    ed.shift_click(ed.view_of(p(20.0, 20.0)));
    let before = ed.shapes.clone();
    let modifiers = Modifiers {
        additive: true,
        pan: false,
    };
    ed.down_with(ed.view_of(p(70.0, 20.0)), Button::Primary, modifiers);
    assert!(!ed.machine.is_dragging());
    assert_eq!(ed.moved(ed.view_of(p(80.0, 30.0))).edit, None);
    ed.up(ed.view_of(p(80.0, 30.0)));
    assert_eq!(ed.shapes, before);
    assert_eq!(ed.selection, vec![0], "shape 1 toggled out");
}

#[test]
fn hidden_shapes_are_not_picked_nor_their_handles_grabbed() {
    // A small box inside a big one: the small one wins, unless hidden.
    let mut ed = Editor::new(vec![
        rect(0.0, 0.0, 100.0, 100.0),
        rect(40.0, 40.0, 60.0, 60.0),
    ]);
    let inside_small = ed.view_of(p(50.0, 50.0));
    assert_eq!(ed.click(inside_small).selection, Some(vec![1]));
    ed.hidden.insert(1);
    assert_eq!(ed.click(inside_small).selection, Some(vec![0]));
    ed.hidden.insert(0);
    assert_eq!(ed.click(inside_small).selection, Some(vec![]));
    // A hidden selected shape's corner is not a handle: the press goes to nothing.
    ed.selection = vec![1];
    let corner = ed.view_of(p(60.0, 60.0));
    let outcome = ed.drag(corner, p(corner.x + 20.0, corner.y), 2);
    assert_eq!(outcome.selection, Some(vec![]));
    assert_eq!(ed.shapes[1], rect(40.0, 40.0, 60.0, 60.0));
}

#[test]
fn dragging_the_selection_moves_it_as_one_undo_step() {
    let original = vec![
        rect(10.0, 10.0, 30.0, 30.0),
        rect(60.0, 10.0, 90.0, 40.0),
        rect(120.0, 60.0, 140.0, 80.0),
    ];
    let mut ed = Editor::new(original.clone());
    ed.selection = vec![0, 1];
    // Press inside shape 1 (already selected): the whole selection moves.
    let from = ed.view_of(p(75.0, 25.0));
    let outcome = ed.drag(from, p(from.x + 30.0, from.y - 10.0), 5);
    assert_eq!(outcome.selection, Some(vec![0, 1]));
    assert!(!ed.machine.is_dragging());
    // 30 and -10 view pixels at scale 2.
    assert!(close(ed.shapes[0].points_in_image[0], p(25.0, 5.0)));
    assert!(close(ed.shapes[1].points_in_image[1], p(105.0, 35.0)));
    assert_eq!(ed.shapes[2], original[2]);
    assert_eq!(ed.history.undo_depth(), 1, "one drag, one undo step");
    assert!(ed.history.undo(&mut ed.shapes).expect("undo"));
    assert_eq!(ed.shapes, original);
    assert!(!ed.history.can_undo());
}

#[test]
fn pressing_an_unselected_shape_selects_it_alone_and_drags_it() {
    let original = vec![rect(10.0, 10.0, 30.0, 30.0), rect(60.0, 10.0, 90.0, 40.0)];
    let mut ed = Editor::new(original.clone());
    ed.selection = vec![0];
    let from = ed.view_of(p(75.0, 25.0));
    let down = ed.down(from);
    assert_eq!(down.selection, Some(vec![1]));
    assert!(ed.machine.is_dragging() && !ed.machine.is_panning());
    // A move that does not change the image point makes no edit.
    assert_eq!(ed.moved(from).edit, None);
    let step = ed.moved(p(from.x + 4.0, from.y));
    let Some(Edit::Step { command, .. }) = step.edit else {
        panic!("a move step, got {:?}", step.edit);
    };
    assert_eq!(
        command,
        Command::translate(&original, &[1], p(2.0, 0.0)).expect("translate")
    );
    ed.up(p(from.x + 4.0, from.y));
    assert_eq!(ed.shapes[0], original[0]);
    assert!(close(ed.shapes[1].points_in_image[0], p(62.0, 10.0)));
}

#[test]
fn two_drags_are_two_undo_steps() {
    let original = vec![rect(10.0, 10.0, 30.0, 30.0)];
    let mut ed = Editor::new(original.clone());
    let from = ed.view_of(p(20.0, 20.0));
    ed.drag(from, p(from.x + 10.0, from.y), 3);
    let from = p(from.x + 10.0, from.y);
    ed.drag(from, p(from.x + 10.0, from.y), 3);
    assert!(close(ed.shapes[0].points_in_image[0], p(20.0, 10.0)));
    assert_eq!(ed.history.undo_depth(), 2);
    ed.history.undo(&mut ed.shapes).expect("undo");
    assert!(close(ed.shapes[0].points_in_image[0], p(15.0, 10.0)));
}

#[test]
fn dragging_a_handle_moves_one_vertex_as_one_undo_step() {
    let original = vec![triangle()];
    let mut ed = Editor::new(original.clone());
    ed.selection = vec![0];
    // 5 view pixels off vertex 1: within the handle tolerance.
    let handle = ed.view_of(p(150.0, 10.0));
    let down = ed.down(p(handle.x + 5.0, handle.y));
    assert!(down.handled && ed.machine.is_dragging());
    assert_eq!(
        down.selection, None,
        "grabbing a handle keeps the selection"
    );
    for i in 1..=4 {
        ed.moved(p(
            handle.x + 5.0 + 10.0 * f64::from(i),
            handle.y + 4.0 * f64::from(i),
        ));
    }
    ed.up(p(handle.x + 45.0, handle.y + 16.0));
    // The vertex goes where the pointer is (not offset by the grab).
    assert!(close(ed.shapes[0].points_in_image[1], p(172.5, 18.0)));
    assert_eq!(
        ed.shapes[0].points_in_image[0],
        original[0].points_in_image[0]
    );
    assert_eq!(
        ed.shapes[0].points_in_image[2],
        original[0].points_in_image[2]
    );
    assert_eq!(ed.history.undo_depth(), 1);
    ed.history.undo(&mut ed.shapes).expect("undo");
    assert_eq!(ed.shapes, original);
}

#[test]
fn a_handle_is_only_grabbed_on_a_selected_shape_and_within_tolerance() {
    let original = vec![triangle()];
    let mut ed = Editor::new(original.clone());
    let handle = ed.view_of(p(150.0, 10.0));
    // Not selected: the press picks the shape and moves it whole.
    ed.drag(handle, p(handle.x, handle.y + 20.0), 2);
    assert!(close(ed.shapes[0].points_in_image[0], p(100.0, 20.0)));
    assert!(close(ed.shapes[0].points_in_image[1], p(150.0, 20.0)));
    // Selected, but 8 view pixels off (inside the triangle): a whole move again.
    let mut ed = Editor::new(original);
    ed.selection = vec![0];
    let vertex0 = ed.view_of(p(100.0, 10.0));
    let press = p(vertex0.x + HANDLE_TOLERANCE + 1.0, vertex0.y + 2.0);
    ed.drag(press, p(press.x + 10.0, press.y), 1);
    assert!(close(ed.shapes[0].points_in_image[0], p(105.0, 10.0)));
    assert!(close(ed.shapes[0].points_in_image[2], p(105.0, 60.0)));
}

#[test]
fn dragging_a_rotated_rectangle_corner_reshapes_it_as_one_undo_step() {
    let original = Shape::rotated_rectangle("r", p(100.0, 50.0), Size::new(60.0, 30.0), 0.5);
    let mut ed = Editor::new(vec![original.clone()]);
    ed.selection = vec![0];
    let corner = original.points_in_image[2];
    let from = ed.view_of(corner);
    let to = p(from.x + 14.0, from.y + 9.0);
    ed.drag(from, to, 4);
    let expected =
        with_vertex_dragged(&original, 2, ed.transform().image_from_view(to)).expect("corner");
    for (got, want) in ed.shapes[0]
        .points_in_image
        .iter()
        .zip(&expected.points_in_image)
    {
        assert!(close(*got, *want), "{got:?} != {want:?}");
    }
    assert_eq!(
        ed.shapes[0].points_in_image[0], original.points_in_image[0],
        "opposite corner stays"
    );
    assert_ne!(ed.shapes[0].points_in_image[1], original.points_in_image[1]);
    assert_eq!(ed.history.undo_depth(), 1);
    ed.history.undo(&mut ed.shapes).expect("undo");
    assert_eq!(ed.shapes[0], original);
}

// ---------------------------------------------------------------------------------------
// Two-point tools

const DRAG_KINDS: [ShapeKind; 4] = [
    ShapeKind::Rectangle,
    ShapeKind::RotatedRectangle,
    ShapeKind::Line,
    ShapeKind::Circle,
];

#[test]
fn drag_kinds_are_drawn_by_a_drag() {
    for kind in DRAG_KINDS {
        let mut ed = Editor::with_tool(Tool::Create(kind));
        let (a, b) = (p(40.0, 30.0), p(100.0, 70.0));
        let down = ed.down(ed.view_of(a));
        assert!(down.draft_changed && down.edit.is_none());
        assert_eq!(
            *ed.machine.draft(),
            Draft::Drag {
                kind,
                start_in_image: a,
                end_in_image: a,
                awaiting_click: false
            }
        );
        let moved = ed.moved(ed.view_of(p(70.0, 50.0)));
        assert!(moved.draft_changed);
        assert_eq!(
            *ed.machine.draft(),
            Draft::Drag {
                kind,
                start_in_image: a,
                end_in_image: p(70.0, 50.0),
                awaiting_click: false
            }
        );
        ed.moved(ed.view_of(b));
        let up = ed.up(ed.view_of(b));
        assert!(up.draft_changed);
        assert_eq!(*ed.machine.draft(), Draft::None);
        let shape = created_shape(&up);
        assert_eq!(
            Some(shape.clone()),
            shape_from_drag(kind, LABEL, a, b),
            "{kind:?}"
        );
        assert_eq!(shape.label, LABEL);
        assert_eq!(shape.kind, kind);
        assert_eq!(ed.shapes.len(), 1);
        assert_eq!(ed.selection, vec![0]);
    }
    // Concrete geometry, so that shape_from_drag itself is checked too.
    let mut ed = Editor::with_tool(Tool::Create(ShapeKind::Rectangle));
    let up = ed.drag(ed.view_of(p(100.0, 70.0)), ed.view_of(p(40.0, 30.0)), 2);
    assert_eq!(
        created_shape(&up).points_in_image,
        vec![p(40.0, 30.0), p(100.0, 70.0)]
    );
    let mut ed = Editor::with_tool(Tool::Create(ShapeKind::RotatedRectangle));
    let up = ed.drag(ed.view_of(p(40.0, 30.0)), ed.view_of(p(100.0, 70.0)), 2);
    assert_eq!(
        created_shape(&up).points_in_image,
        vec![p(40.0, 30.0), p(100.0, 30.0), p(100.0, 70.0), p(40.0, 70.0)]
    );
    let mut ed = Editor::with_tool(Tool::Create(ShapeKind::Circle));
    let up = ed.drag(ed.view_of(p(40.0, 30.0)), ed.view_of(p(50.0, 30.0)), 2);
    assert_eq!(
        created_shape(&up).points_in_image,
        vec![p(40.0, 30.0), p(50.0, 30.0)]
    );
}

#[test]
fn drag_kinds_are_drawn_by_two_clicks() {
    for kind in DRAG_KINDS {
        let mut ed = Editor::with_tool(Tool::Create(kind));
        let (a, b) = (p(40.0, 30.0), p(100.0, 70.0));
        let first = ed.click(ed.view_of(a));
        assert_eq!(first.edit, None);
        assert_eq!(
            *ed.machine.draft(),
            Draft::Drag {
                kind,
                start_in_image: a,
                end_in_image: a,
                awaiting_click: true
            }
        );
        // Without a button held, the draft follows the pointer.
        let hover = ed.moved(ed.view_of(p(80.0, 60.0)));
        assert!(hover.draft_changed);
        assert_eq!(
            *ed.machine.draft(),
            Draft::Drag {
                kind,
                start_in_image: a,
                end_in_image: p(80.0, 60.0),
                awaiting_click: true
            }
        );
        let second = ed.down(ed.view_of(b));
        assert_eq!(
            second.edit,
            Some(Edit::Create(
                shape_from_drag(kind, LABEL, a, b).expect("shape")
            ))
        );
        assert_eq!(*ed.machine.draft(), Draft::None);
        assert!(!ed.machine.is_dragging(), "the second press starts no drag");
        let release = ed.up(ed.view_of(b));
        assert_eq!(release, Outcome::default());
        assert_eq!(ed.shapes.len(), 1, "{kind:?}");
    }
}

#[test]
fn a_drag_within_click_slop_is_a_click() {
    let mut ed = Editor::with_tool(Tool::Create(ShapeKind::Rectangle));
    let a = ed.view_of(p(40.0, 30.0));
    // Exactly CLICK_SLOP view pixels: still a click.
    let outcome = ed.drag(a, p(a.x + CLICK_SLOP, a.y), 3);
    assert_eq!(outcome.edit, None);
    assert_eq!(
        *ed.machine.draft(),
        Draft::Drag {
            kind: ShapeKind::Rectangle,
            start_in_image: p(40.0, 30.0),
            end_in_image: p(40.0, 30.0),
            awaiting_click: true
        }
    );
    // Just over: a drag, which makes a (small) box.
    let mut ed = Editor::with_tool(Tool::Create(ShapeKind::Rectangle));
    let outcome = ed.drag(a, p(a.x + 3.0, a.y + 1.0), 3);
    assert_eq!(
        created_shape(&outcome).points_in_image,
        vec![p(40.0, 30.0), p(41.5, 30.5)]
    );
}

#[test]
fn a_degenerate_drag_creates_nothing_and_ends_the_draft() {
    let mut ed = Editor::with_tool(Tool::Create(ShapeKind::Rectangle));
    let a = ed.view_of(p(40.0, 30.0));
    let outcome = ed.drag(a, p(a.x + 20.0, a.y), 2);
    assert_eq!(outcome.edit, None, "a box without height");
    assert_eq!(*ed.machine.draft(), Draft::None);
    assert!(outcome.draft_changed);
}

#[test]
fn the_point_tool_creates_a_point_on_press() {
    let mut ed = Editor::with_tool(Tool::Create(ShapeKind::Point));
    let down = ed.down(ed.view_of(p(33.0, 44.0)));
    assert_eq!(
        down.edit,
        Some(Edit::Create(Shape::new(
            LABEL,
            ShapeKind::Point,
            vec![p(33.0, 44.0)]
        )))
    );
    assert!(!down.draft_changed);
    assert_eq!(*ed.machine.draft(), Draft::None);
    assert_eq!(ed.up(ed.view_of(p(33.0, 44.0))), Outcome::default());
    assert_eq!(ed.shapes.len(), 1);
}

// ---------------------------------------------------------------------------------------
// Polygon and linestrip

fn vertices(ed: &Editor) -> Vec<Point> {
    match ed.machine.draft() {
        Draft::Vertices {
            points_in_image, ..
        } => points_in_image.clone(),
        other => panic!("expected a vertex draft, got {other:?}"),
    }
}

#[test]
fn a_polygon_closes_on_a_click_near_its_first_vertex() {
    let mut ed = Editor::with_tool(Tool::Create(ShapeKind::Polygon));
    let corners = [p(20.0, 20.0), p(80.0, 20.0), p(50.0, 70.0)];
    for corner in corners {
        let outcome = ed.click(ed.view_of(corner));
        assert!(outcome.draft_changed && outcome.edit.is_none());
    }
    assert_eq!(vertices(&ed), corners.to_vec());
    let first = ed.view_of(corners[0]);
    let outcome = ed.click(p(first.x + 6.0, first.y + 2.0));
    assert_eq!(
        outcome.edit,
        Some(Edit::Create(Shape::polygon(LABEL, corners.to_vec())))
    );
    assert_eq!(*ed.machine.draft(), Draft::None);
    assert_eq!(ed.shapes.len(), 1);
    assert_eq!(ed.shapes[0].label, LABEL);
}

#[test]
fn a_click_on_the_first_vertex_with_two_vertices_adds_nothing_and_does_not_close() {
    let mut ed = Editor::with_tool(Tool::Create(ShapeKind::Polygon));
    ed.click(ed.view_of(p(20.0, 20.0)));
    ed.click(ed.view_of(p(80.0, 20.0)));
    let first = ed.view_of(p(20.0, 20.0));
    // 5 view pixels from the first vertex, far from the last: a third vertex.
    let outcome = ed.click(p(first.x + 5.0, first.y));
    assert_eq!(outcome.edit, None);
    assert_eq!(
        vertices(&ed),
        vec![p(20.0, 20.0), p(80.0, 20.0), p(22.5, 20.0)]
    );
}

#[test]
fn a_polygon_is_finished_by_enter() {
    let mut ed = Editor::with_tool(Tool::Create(ShapeKind::Polygon));
    let corners = [p(20.0, 20.0), p(80.0, 20.0), p(80.0, 70.0), p(20.0, 70.0)];
    for corner in corners {
        ed.click(ed.view_of(corner));
    }
    ed.moved(ed.view_of(p(10.0, 90.0)));
    let outcome = ed.key(Key::Enter);
    assert!(outcome.handled && outcome.draft_changed);
    assert_eq!(
        outcome.edit,
        Some(Edit::Create(Shape::polygon(LABEL, corners.to_vec())))
    );
    assert_eq!(*ed.machine.draft(), Draft::None);
    // Enter with nothing drawn does nothing.
    assert_eq!(ed.key(Key::Enter), Outcome::default());
}

#[test]
fn a_polygon_is_finished_by_a_double_click_without_a_doubled_vertex() {
    let mut ed = Editor::with_tool(Tool::Create(ShapeKind::Polygon));
    ed.click(ed.view_of(p(20.0, 20.0)));
    ed.click(ed.view_of(p(80.0, 20.0)));
    // The browser's double click: two clicks, then dblclick.
    let last = ed.view_of(p(50.0, 70.0));
    ed.click(last);
    ed.click(p(last.x + 1.0, last.y - 1.0));
    let outcome = ed.send(Input::DoubleClick);
    assert_eq!(
        created_shape(&outcome).points_in_image,
        vec![p(20.0, 20.0), p(80.0, 20.0), p(50.0, 70.0)]
    );
    assert_eq!(*ed.machine.draft(), Draft::None);
    // A double click with nothing drawn does nothing.
    assert_eq!(ed.send(Input::DoubleClick), Outcome::default());
}

#[test]
fn a_too_short_polygon_is_still_handed_to_the_caller() {
    let mut ed = Editor::with_tool(Tool::Create(ShapeKind::Polygon));
    ed.click(ed.view_of(p(20.0, 20.0)));
    ed.click(ed.view_of(p(80.0, 20.0)));
    let outcome = ed.key(Key::Enter);
    assert_eq!(created_shape(&outcome).points_in_image.len(), 2);
    assert!(ed.shapes.is_empty(), "the caller refuses it");
    assert_eq!(*ed.machine.draft(), Draft::None);
}

#[test]
fn a_linestrip_never_closes_and_is_finished_by_enter() {
    let mut ed = Editor::with_tool(Tool::Create(ShapeKind::Linestrip));
    let points = [p(20.0, 20.0), p(80.0, 20.0), p(80.0, 70.0)];
    for point in points {
        ed.click(ed.view_of(point));
    }
    // Back on the first vertex: a fourth vertex, not a close.
    let outcome = ed.click(ed.view_of(points[0]));
    assert_eq!(outcome.edit, None);
    assert_eq!(vertices(&ed).len(), 4);
    let outcome = ed.key(Key::Enter);
    let shape = created_shape(&outcome);
    assert_eq!(shape.kind, ShapeKind::Linestrip);
    assert_eq!(
        shape.points_in_image,
        vec![points[0], points[1], points[2], points[0]]
    );
}

#[test]
fn a_repeated_click_adds_no_vertex_but_moves_the_pointer() {
    let mut ed = Editor::with_tool(Tool::Create(ShapeKind::Polygon));
    let at = ed.view_of(p(20.0, 20.0));
    ed.click(at);
    ed.click(p(at.x + 3.0, at.y));
    assert_eq!(vertices(&ed), vec![p(20.0, 20.0)]);
    assert_eq!(
        *ed.machine.draft(),
        Draft::Vertices {
            kind: ShapeKind::Polygon,
            points_in_image: vec![p(20.0, 20.0)],
            pointer_in_image: Some(p(21.5, 20.0)),
        }
    );
    ed.click(p(at.x + 4.0, at.y));
    assert_eq!(vertices(&ed), vec![p(20.0, 20.0), p(22.0, 20.0)]);
}

#[test]
fn the_vertex_draft_follows_the_pointer() {
    let mut ed = Editor::with_tool(Tool::Create(ShapeKind::Polygon));
    // Without a draft, a move changes nothing.
    assert_eq!(ed.moved(p(5.0, 5.0)), Outcome::default());
    ed.click(ed.view_of(p(20.0, 20.0)));
    let outcome = ed.moved(ed.view_of(p(60.0, 40.0)));
    assert!(outcome.draft_changed && outcome.handled);
    assert_eq!(
        *ed.machine.draft(),
        Draft::Vertices {
            kind: ShapeKind::Polygon,
            points_in_image: vec![p(20.0, 20.0)],
            pointer_in_image: Some(p(60.0, 40.0)),
        }
    );
    // The same position again is no change.
    assert!(!ed.moved(ed.view_of(p(60.0, 40.0))).draft_changed);
}

#[test]
fn backspace_pops_draft_vertices_then_is_left_to_the_caller() {
    let mut ed = Editor::new(vec![rect(10.0, 10.0, 30.0, 30.0)]);
    ed.selection = vec![0];
    ed.tool = Tool::Create(ShapeKind::Polygon);
    ed.click(ed.view_of(p(20.0, 20.0)));
    ed.click(ed.view_of(p(80.0, 20.0)));
    ed.moved(ed.view_of(p(60.0, 60.0)));
    let outcome = ed.key(Key::Backspace);
    assert!(outcome.handled && outcome.draft_changed);
    assert_eq!(
        *ed.machine.draft(),
        Draft::Vertices {
            kind: ShapeKind::Polygon,
            points_in_image: vec![p(20.0, 20.0)],
            pointer_in_image: Some(p(60.0, 60.0)),
        }
    );
    let outcome = ed.key(Key::Backspace);
    assert!(outcome.handled && outcome.draft_changed);
    assert_eq!(*ed.machine.draft(), Draft::None);
    let outcome = ed.key(Key::Backspace);
    assert_eq!(
        outcome,
        Outcome::default(),
        "not handled: the caller deletes"
    );
    assert_eq!(ed.selection, vec![0]);
}

#[test]
fn backspace_leaves_a_two_point_draft_to_the_caller() {
    let mut ed = Editor::with_tool(Tool::Create(ShapeKind::Rectangle));
    ed.click(ed.view_of(p(20.0, 20.0)));
    let outcome = ed.key(Key::Backspace);
    assert!(!outcome.handled);
    assert!(matches!(ed.machine.draft(), Draft::Drag { .. }));
}

// ---------------------------------------------------------------------------------------
// Escape, tool change, image change, undo

#[test]
fn escape_cancels_the_draft_then_clears_the_selection() {
    let mut ed = Editor::new(vec![rect(10.0, 10.0, 30.0, 30.0)]);
    ed.selection = vec![0];
    ed.tool = Tool::Create(ShapeKind::Polygon);
    ed.click(ed.view_of(p(50.0, 50.0)));
    let outcome = ed.key(Key::Escape);
    assert!(outcome.handled && outcome.draft_changed);
    assert_eq!(
        outcome.selection, None,
        "the first Escape keeps the selection"
    );
    assert_eq!(*ed.machine.draft(), Draft::None);
    let outcome = ed.key(Key::Escape);
    assert!(outcome.handled && !outcome.draft_changed);
    assert_eq!(outcome.selection, Some(vec![]));
    assert!(ed.selection.is_empty());
}

#[test]
fn changing_tool_drops_the_draft() {
    let mut ed = Editor::with_tool(Tool::Create(ShapeKind::Polygon));
    ed.click(ed.view_of(p(20.0, 20.0)));
    ed.click(ed.view_of(p(80.0, 20.0)));
    let outcome = ed.set_tool(Tool::Create(ShapeKind::Rectangle));
    assert!(outcome.draft_changed && outcome.handled);
    assert_eq!(*ed.machine.draft(), Draft::None);
    // Without a draft, a tool change changes nothing.
    assert_eq!(ed.set_tool(Tool::Select), Outcome::default());
    // A click-click box is dropped as well, and the next press starts anew.
    ed.set_tool(Tool::Create(ShapeKind::Rectangle));
    ed.click(ed.view_of(p(20.0, 20.0)));
    ed.set_tool(Tool::Create(ShapeKind::Circle));
    let down = ed.down(ed.view_of(p(60.0, 60.0)));
    assert_eq!(down.edit, None);
    assert!(matches!(
        ed.machine.draft(),
        Draft::Drag {
            kind: ShapeKind::Circle,
            awaiting_click: false,
            ..
        }
    ));
}

#[test]
fn undo_or_redo_drops_the_draft() {
    let mut ed = Editor::with_tool(Tool::Create(ShapeKind::Linestrip));
    ed.click(ed.view_of(p(20.0, 20.0)));
    let outcome = ed.send(Input::HistoryChanged);
    assert!(outcome.draft_changed);
    assert_eq!(*ed.machine.draft(), Draft::None);
}

#[test]
fn a_new_image_drops_draft_and_drag_clears_selection_and_fits() {
    let original = vec![rect(10.0, 10.0, 30.0, 30.0)];
    let mut ed = Editor::new(original.clone());
    ed.zoom = Some(ViewTransform {
        scale: 3.0,
        offset_in_view: p(-10.0, 5.0),
    });
    let from = ed.view_of(p(20.0, 20.0));
    ed.down(from);
    assert!(ed.machine.is_dragging());
    let outcome = ed.send(Input::ImageChanged);
    assert_eq!(outcome.selection, Some(vec![]));
    assert_eq!(outcome.view, Some(None));
    assert!(outcome.handled);
    assert!(!ed.machine.is_dragging());
    // The rest of the old drag moves nothing on the new image.
    assert_eq!(ed.moved(p(from.x + 30.0, from.y)).edit, None);
    ed.up(p(from.x + 30.0, from.y));
    assert_eq!(ed.shapes, original);
}

// ---------------------------------------------------------------------------------------
// Pan and zoom

#[test]
fn middle_drag_pans_and_moves_compound() {
    let mut ed = Editor::new(vec![rect(10.0, 10.0, 30.0, 30.0)]);
    let start = ed.view_of(p(20.0, 20.0));
    let down = ed.down_with(start, Button::Middle, Modifiers::default());
    assert!(down.handled && ed.machine.is_panning());
    assert_eq!(down.selection, None, "a pan press picks nothing");
    let moved = ed.moved(p(start.x + 10.0, start.y + 5.0));
    assert_eq!(
        moved.view,
        Some(Some(ViewTransform {
            scale: 2.0,
            offset_in_view: p(10.0, 5.0)
        }))
    );
    // The second move pans from the transform in force (already panned).
    let moved = ed.moved(p(start.x + 4.0, start.y + 25.0));
    assert_eq!(
        moved.view,
        Some(Some(ViewTransform {
            scale: 2.0,
            offset_in_view: p(4.0, 25.0)
        }))
    );
    let up = ed.up(p(start.x + 4.0, start.y + 25.0));
    assert!(up.handled && !ed.machine.is_panning());
    assert_eq!(ed.moved(p(0.0, 0.0)), Outcome::default());
    assert_eq!(ed.shapes[0], rect(10.0, 10.0, 30.0, 30.0));
    assert_eq!(ed.history.undo_depth(), 0);
}

#[test]
fn space_drag_pans_with_any_tool() {
    for tool in [
        Tool::Select,
        Tool::Create(ShapeKind::Polygon),
        Tool::Create(ShapeKind::Point),
    ] {
        let mut ed = Editor::new(vec![rect(10.0, 10.0, 30.0, 30.0)]);
        ed.tool = tool;
        let start = ed.view_of(p(20.0, 20.0));
        let pan = Modifiers {
            additive: false,
            pan: true,
        };
        let down = ed.down_with(start, Button::Primary, pan);
        assert!(down.handled && ed.machine.is_panning(), "{tool:?}");
        assert_eq!(down.edit, None);
        assert_eq!(down.selection, None);
        assert!(!down.draft_changed);
        ed.moved(p(start.x - 7.0, start.y + 3.0));
        ed.up(p(start.x - 7.0, start.y + 3.0));
        assert_eq!(
            ed.zoom,
            Some(ViewTransform {
                scale: 2.0,
                offset_in_view: p(-7.0, 3.0)
            })
        );
        assert!(ed.shapes.len() == 1 && ed.shapes[0] == rect(10.0, 10.0, 30.0, 30.0));
    }
}

#[test]
fn wheel_zooms_about_the_cursor_and_events_compound() {
    let mut ed = Editor::new(Vec::new());
    let cursor = p(100.0, 60.0);
    let under = ed.transform().image_from_view(cursor);
    assert_eq!(under, p(50.0, 30.0));
    let outcome = ed.send(Input::Wheel {
        at_view: cursor,
        delta_y: -100.0,
    });
    assert!(outcome.handled);
    let zoomed = ed.zoom.expect("zoomed");
    assert!((zoomed.scale - 2.0 * (0.15_f64).exp()).abs() < 1e-12);
    assert!(close(zoomed.view_from_image(under), cursor));
    // A second event before any redraw zooms further (not from the drawn transform).
    ed.send(Input::Wheel {
        at_view: cursor,
        delta_y: -100.0,
    });
    let twice = ed.zoom.expect("zoomed");
    assert!((twice.scale - 2.0 * (0.3_f64).exp()).abs() < 1e-12);
    assert!(close(twice.view_from_image(under), cursor));
    // Scrolling down zooms out.
    ed.send(Input::Wheel {
        at_view: cursor,
        delta_y: 200.0,
    });
    assert!((ed.zoom.expect("zoomed").scale - 2.0).abs() < 1e-12);
}

#[test]
fn zoom_is_clamped_to_its_range() {
    let mut ed = Editor::new(Vec::new());
    let cursor = p(10.0, 10.0);
    ed.send(Input::Wheel {
        at_view: cursor,
        delta_y: -1e5,
    });
    assert_eq!(ed.zoom.expect("zoomed").scale, MAX_SCALE);
    ed.send(Input::Wheel {
        at_view: cursor,
        delta_y: 1e5,
    });
    assert_eq!(ed.zoom.expect("zoomed").scale, MIN_SCALE);
    // Even a non-finite delta leaves a scale in range.
    ed.send(Input::Wheel {
        at_view: cursor,
        delta_y: f64::NAN,
    });
    assert_eq!(ed.zoom.expect("zoomed").scale, MIN_SCALE);
}

#[test]
fn fit_forgets_the_zoom() {
    let mut ed = Editor::new(Vec::new());
    ed.zoom = Some(ViewTransform {
        scale: 5.0,
        offset_in_view: p(3.0, 4.0),
    });
    let outcome = ed.key(Key::Fit);
    assert!(outcome.handled);
    assert_eq!(outcome.view, Some(None));
    assert_eq!(ed.zoom, None);
    assert_eq!(ed.transform(), ViewTransform::fit(IMAGE, VIEW));
}

#[test]
fn actual_size_zooms_to_one_about_the_view_centre() {
    let mut ed = Editor::new(Vec::new());
    ed.zoom = Some(ViewTransform {
        scale: 0.3,
        offset_in_view: p(17.0, -4.0),
    });
    let centre = p(VIEW.width / 2.0, VIEW.height / 2.0);
    let under = ed.transform().image_from_view(centre);
    let outcome = ed.key(Key::ActualSize);
    assert!(outcome.handled);
    let zoom = ed.zoom.expect("zoomed");
    assert_eq!(zoom.scale, 1.0);
    assert!(close(zoom.view_from_image(under), centre));
    // The free function agrees, and leaves a broken transform alone.
    let fitted = ViewTransform::fit(IMAGE, VIEW);
    assert_eq!(
        actual_size(&fitted, VIEW),
        ViewTransform {
            scale: 1.0,
            offset_in_view: p(100.0, 50.0)
        }
    );
    let broken = ViewTransform {
        scale: 0.0,
        offset_in_view: p(1.0, 2.0),
    };
    assert_eq!(actual_size(&broken, VIEW), broken);
}

// ---------------------------------------------------------------------------------------
// Ignored inputs

#[test]
fn the_right_button_and_other_buttons_are_ignored() {
    for tool in TOOLS.map(|(tool, _, _)| tool) {
        let mut ed = Editor::new(vec![rect(10.0, 10.0, 30.0, 30.0)]);
        ed.tool = tool;
        for button in [Button::Secondary, Button::Other] {
            let at = ed.view_of(p(20.0, 20.0));
            assert_eq!(
                ed.down_with(at, button, Modifiers::default()),
                Outcome::default()
            );
            assert!(!ed.machine.is_dragging());
            assert_eq!(ed.moved(p(at.x + 20.0, at.y)), Outcome::default());
            assert_eq!(ed.up(p(at.x + 20.0, at.y)), Outcome::default());
        }
        assert_eq!(*ed.machine.draft(), Draft::None);
        assert!(ed.selection.is_empty() && ed.created.is_empty());
    }
}

#[test]
fn without_a_drawn_image_pointer_wheel_and_actual_size_are_ignored() {
    let mut ed = Editor::new(vec![rect(10.0, 10.0, 30.0, 30.0)]);
    ed.image_shown = false;
    for tool in TOOLS.map(|(tool, _, _)| tool) {
        ed.tool = tool;
        assert_eq!(ed.click(p(40.0, 40.0)), Outcome::default(), "{tool:?}");
    }
    let wheel = ed.send(Input::Wheel {
        at_view: p(1.0, 1.0),
        delta_y: -100.0,
    });
    assert_eq!(wheel, Outcome::default());
    assert_eq!(ed.key(Key::ActualSize), Outcome::default());
    // Fit needs no image.
    assert_eq!(ed.key(Key::Fit).view, Some(None));
}

// ---------------------------------------------------------------------------------------
// Names

#[test]
fn tools_keys_and_buttons_have_their_names() {
    assert_eq!(Tool::of_key("r"), Some(Tool::Create(ShapeKind::Rectangle)));
    assert_eq!(
        Tool::of_key("T"),
        Some(Tool::Create(ShapeKind::RotatedRectangle))
    );
    assert_eq!(Tool::of_key("v"), Some(Tool::Select));
    assert_eq!(Tool::of_key("x"), None);
    assert_eq!(Tool::Select.slug(), "select");
    assert_eq!(Tool::Create(ShapeKind::RotatedRectangle).slug(), "rotation");
    let slugs: HashSet<&str> = TOOLS.iter().map(|(tool, _, _)| tool.slug()).collect();
    assert_eq!(slugs.len(), TOOLS.len(), "slugs are distinct");
    for (tool, key, _) in TOOLS {
        assert_eq!(Tool::of_key(key), Some(tool));
    }
    assert_eq!(Key::of_dom_key("Escape"), Some(Key::Escape));
    assert_eq!(Key::of_dom_key("Enter"), Some(Key::Enter));
    assert_eq!(Key::of_dom_key("Backspace"), Some(Key::Backspace));
    assert_eq!(Key::of_dom_key("f"), Some(Key::Fit));
    assert_eq!(Key::of_dom_key("F"), Some(Key::Fit));
    assert_eq!(Key::of_dom_key("0"), Some(Key::ActualSize));
    assert_eq!(Key::of_dom_key("Delete"), None);
    assert_eq!(Button::from_dom(0), Button::Primary);
    assert_eq!(Button::from_dom(1), Button::Middle);
    assert_eq!(Button::from_dom(2), Button::Secondary);
    assert_eq!(Button::from_dom(3), Button::Other);
}

#[test]
fn gesture_ids_differ_between_drags() {
    let mut ed = Editor::new(vec![rect(10.0, 10.0, 30.0, 30.0)]);
    let from = ed.view_of(p(20.0, 20.0));
    let mut ids = Vec::new();
    for _ in 0..3 {
        ed.down(from);
        if let Some(Edit::Step { gesture, .. }) = ed.moved(p(from.x + 2.0, from.y)).edit {
            ids.push(gesture);
        }
        ed.moved(from);
        ed.up(from);
    }
    assert_eq!(ids.len(), 3);
    assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
}

// ---------------------------------------------------------------------------------------
// Properties

/// An action of the user (or of the caller) in a property test.
#[derive(Clone, Debug)]
enum Action {
    Input(Input),
    Tool(usize),
    Undo,
    Redo,
    /// Hides or shows shape `n % len`.
    ToggleHidden(usize),
}

/// View points on a coarse grid, so that clicks repeat and land on vertices.
fn grid_point() -> impl Strategy<Value = Point> {
    (0..=44_i32, 0..=24_i32)
        .prop_map(|(x, y)| p(f64::from(x) * 10.0 - 20.0, f64::from(y) * 10.0 - 20.0))
}

fn action() -> impl Strategy<Value = Action> {
    let button = prop_oneof![
        6 => Just(Button::Primary),
        1 => Just(Button::Middle),
        1 => Just(Button::Secondary),
    ];
    let modifiers = (any::<bool>(), prop::bool::weighted(0.1))
        .prop_map(|(additive, pan)| Modifiers { additive, pan });
    let key = prop_oneof![
        Just(Key::Escape),
        Just(Key::Enter),
        Just(Key::Backspace),
        Just(Key::Fit),
        Just(Key::ActualSize),
    ];
    prop_oneof![
        6 => (grid_point(), button, modifiers).prop_map(|(at_view, button, modifiers)| Action::Input(Input::PointerDown { at_view, button, modifiers })),
        8 => grid_point().prop_map(|at_view| Action::Input(Input::PointerMove { at_view })),
        6 => grid_point().prop_map(|at_view| Action::Input(Input::PointerUp { at_view })),
        1 => Just(Action::Input(Input::DoubleClick)),
        2 => (grid_point(), -600.0..600.0_f64).prop_map(|(at_view, delta_y)| Action::Input(Input::Wheel { at_view, delta_y })),
        3 => key.prop_map(|key| Action::Input(Input::Key(key))),
        1 => Just(Action::Input(Input::ImageChanged)),
        // Select (0) and polygon (3) more often: they have the longest interactions.
        3 => prop_oneof![2 => Just(0), 1 => Just(3), 2 => 0..TOOLS.len()].prop_map(Action::Tool),
        1 => Just(Action::Undo),
        1 => Just(Action::Redo),
        1 => any::<usize>().prop_map(Action::ToggleHidden),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn any_input_sequence_keeps_the_state_consistent(actions in prop::collection::vec(action(), 1..80)) {
        let mut ed = Editor::new(vec![
            rect(10.0, 10.0, 60.0, 40.0),
            triangle(),
            Shape::rotated_rectangle("r", p(60.0, 70.0), Size::new(40.0, 20.0), 0.3),
        ]);
        for action in actions {
            match action {
                Action::Input(input) => {
                    let backspace = input == Input::Key(Key::Backspace);
                    let outcome = ed.send(input);
                    if let Some(selection) = &outcome.selection {
                        prop_assert!(selection.iter().all(|&i| i < ed.shapes.len()), "{selection:?}");
                    }
                    if backspace && !outcome.handled && !ed.selection.is_empty() {
                        // The caller deletes the selection.
                        let command = Command::delete_many(&ed.shapes, &ed.selection).expect("valid selection");
                        ed.history.apply(&mut ed.shapes, command).expect("delete");
                        ed.selection.clear();
                        ed.hidden.clear();
                    }
                    if !outcome.handled {
                        prop_assert_eq!(outcome.edit, None);
                        prop_assert!(!outcome.draft_changed);
                    }
                }
                Action::Tool(index) => {
                    ed.set_tool(TOOLS[index].0);
                }
                Action::Undo | Action::Redo => {
                    let stepped = if matches!(action, Action::Undo) {
                        ed.history.undo(&mut ed.shapes)
                    } else {
                        ed.history.redo(&mut ed.shapes)
                    };
                    prop_assert!(stepped.is_ok());
                    ed.send(Input::HistoryChanged);
                    prop_assert_eq!(ed.machine.draft(), &Draft::None);
                    let count = ed.shapes.len();
                    ed.selection.retain(|&i| i < count);
                    ed.hidden.retain(|&i| i < count);
                }
                Action::ToggleHidden(n) => {
                    if !ed.shapes.is_empty() {
                        let i = n % ed.shapes.len();
                        if !ed.hidden.remove(&i) {
                            ed.hidden.insert(i);
                        }
                    }
                }
            }
            prop_assert!(ed.selection.iter().all(|&i| i < ed.shapes.len()), "{:?}", ed.selection);
            let scale = ed.transform().scale;
            prop_assert!((MIN_SCALE..=MAX_SCALE).contains(&scale), "scale {scale}");
            match ed.machine.draft() {
                Draft::None => {}
                Draft::Drag { kind, .. } => prop_assert!(matches!(ed.tool, Tool::Create(k) if k == *kind)),
                Draft::Vertices { kind, points_in_image, .. } => {
                    prop_assert!(!points_in_image.is_empty());
                    prop_assert!(matches!(kind, ShapeKind::Polygon | ShapeKind::Linestrip));
                    prop_assert!(matches!(ed.tool, Tool::Create(k) if k == *kind));
                }
            }
            for shape in &ed.created {
                prop_assert_eq!(shape.label.as_str(), LABEL);
            }
        }
        // Every step undoes: back to the three shapes.
        while ed.history.undo(&mut ed.shapes).expect("undo") {}
        prop_assert_eq!(ed.shapes.len(), 3);
        prop_assert_eq!(&ed.shapes[1], &triangle());
    }

    #[test]
    fn a_drag_in_view_moves_the_selection_by_the_drag_over_the_scale(
        // From 0.5 view px per image px the press, 27 image px from a corner, grabs no handle.
        scale in 0.5..20.0_f64,
        offset in (-300.0..300.0_f64, -300.0..300.0_f64),
        steps in prop::collection::vec((-80.0..80.0_f64, -80.0..80.0_f64), 1..8),
    ) {
        let original = vec![rect(10.0, 10.0, 60.0, 40.0), triangle()];
        let mut ed = Editor::new(original.clone());
        ed.zoom = Some(ViewTransform { scale, offset_in_view: p(offset.0, offset.1) });
        ed.selection = vec![0, 1];
        // Inside the box, well away from its corners.
        let from = ed.view_of(p(35.0, 25.0));
        ed.down(from);
        let mut at = from;
        for (dx, dy) in &steps {
            at = p(at.x + dx, at.y + dy);
            ed.moved(at);
        }
        ed.up(at);
        let (dx, dy) = ((at.x - from.x) / scale, (at.y - from.y) / scale);
        for (moved, before) in ed.shapes.iter().zip(&original) {
            for (a, b) in moved.points_in_image.iter().zip(&before.points_in_image) {
                prop_assert!((a.x - (b.x + dx)).abs() < 1e-6 && (a.y - (b.y + dy)).abs() < 1e-6,
                    "{a:?} vs {b:?} + ({dx}, {dy})");
            }
        }
        prop_assert!(ed.history.undo_depth() <= 1);
        ed.history.undo(&mut ed.shapes).expect("undo");
        prop_assert_eq!(&ed.shapes, &original);
    }

    #[test]
    fn the_wheel_keeps_the_image_point_under_the_cursor(
        scale in 0.02..40.0_f64,
        offset in (-500.0..500.0_f64, -500.0..500.0_f64),
        cursor in (0.0..400.0_f64, 0.0..200.0_f64),
        deltas in prop::collection::vec(-400.0..400.0_f64, 1..6),
    ) {
        let mut ed = Editor::new(Vec::new());
        ed.zoom = Some(ViewTransform { scale, offset_in_view: p(offset.0, offset.1) });
        let cursor = p(cursor.0, cursor.1);
        let under = ed.transform().image_from_view(cursor);
        let mut expected_scale = scale;
        for delta_y in deltas {
            ed.send(Input::Wheel { at_view: cursor, delta_y });
            expected_scale = (expected_scale * (-delta_y * WHEEL_ZOOM_RATE).exp()).clamp(MIN_SCALE, MAX_SCALE);
        }
        let zoom = ed.zoom.expect("zoomed");
        prop_assert!((zoom.scale - expected_scale).abs() <= 1e-9 * expected_scale);
        let still = zoom.view_from_image(under);
        prop_assert!((still.x - cursor.x).abs() < 1e-6 && (still.y - cursor.y).abs() < 1e-6,
            "{still:?} vs {cursor:?}");
    }
}
