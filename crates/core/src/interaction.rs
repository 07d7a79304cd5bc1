//! The canvas editor as a pure state machine: pointer, wheel and key inputs in view
//! coordinates go in, outcomes come out (an edit for the history, a new selection, a new
//! zoom, a changed draft). The machine keeps only what lives between inputs: the gesture
//! between a press and its release, the shape being drawn ([`Draft`]) and the next
//! [`GestureId`]. Everything else (shapes, selection, tool, zoom) is the caller's state,
//! passed in each call as a [`Scene`]; the caller applies the [`Outcome`].
//!
//! The caller passes the view transform in force at each call (its zoom, or the fit), not
//! the one last drawn, so that several wheel events or moves between two frames compound.

use std::collections::HashSet;

use crate::annotation::{Shape, ShapeKind};
use crate::editing::{is_drag_kind, shape_at, shape_from_drag, vertex_at};
use crate::history::{Command, GestureId};
use crate::view::{Point, Size, ViewTransform};

/// How near (view pixels) the pointer must be to pick a shape.
pub const PICK_TOLERANCE: f64 = 5.0;
/// How near (view pixels) the pointer must be to grab a vertex handle of a selected shape or
/// to close a polygon on its first vertex.
pub const HANDLE_TOLERANCE: f64 = 7.0;
/// A press and release this close (view pixels) are a click, not a drag; a polygon click
/// this close to the last vertex adds none.
pub const CLICK_SLOP: f64 = 3.0;
/// The least zoom (view pixels per image pixel).
pub const MIN_SCALE: f64 = 0.01;
/// The greatest zoom (view pixels per image pixel).
pub const MAX_SCALE: f64 = 64.0;
/// Zoom per wheel unit: a wheel step of `delta_y` zooms by `exp(-delta_y * WHEEL_ZOOM_RATE)`.
pub const WHEEL_ZOOM_RATE: f64 = 0.0015;

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
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Draft {
    #[default]
    None,
    /// A two-point shape: from the press to the pointer.
    Drag {
        kind: ShapeKind,
        start_in_image: Point,
        end_in_image: Point,
        /// The press was a click: the shape ends at the next click.
        awaiting_click: bool,
    },
    /// A polygon or linestrip: its vertices so far and the pointer.
    Vertices {
        kind: ShapeKind,
        points_in_image: Vec<Point>,
        pointer_in_image: Option<Point>,
    },
}

/// The mouse button of a press.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Button {
    Primary,
    Middle,
    Secondary,
    Other,
}

impl Button {
    /// The button of a DOM `MouseEvent.button` (0 primary, 1 middle, 2 secondary).
    pub fn from_dom(button: i16) -> Button {
        match button {
            0 => Button::Primary,
            1 => Button::Middle,
            2 => Button::Secondary,
            _ => Button::Other,
        }
    }
}

/// Modifier state of a press.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Modifiers {
    /// Shift, Ctrl or Meta: a click adds a shape to the selection or removes it.
    pub additive: bool,
    /// Space is held: a primary press pans.
    pub pan: bool,
}

/// The keys the machine knows; the caller maps the others (and skips keys typed in fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// Cancels the draft, else clears the selection.
    Escape,
    /// Finishes a polygon or linestrip.
    Enter,
    /// Removes the draft's last vertex; unhandled otherwise (the caller deletes the selection).
    Backspace,
    /// Fits the image to the view (`F`).
    Fit,
    /// One view pixel per image pixel, about the view centre (`0`).
    ActualSize,
}

impl Key {
    /// The key of a DOM `KeyboardEvent.key`, when it is one of these.
    pub fn of_dom_key(key: &str) -> Option<Key> {
        Some(match key {
            "Escape" => Key::Escape,
            "Enter" => Key::Enter,
            "Backspace" => Key::Backspace,
            "f" | "F" => Key::Fit,
            "0" => Key::ActualSize,
            _ => return None,
        })
    }
}

/// An input to the machine. Points are in view coordinates (CSS pixels of the canvas).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Input {
    PointerDown {
        at_view: Point,
        button: Button,
        modifiers: Modifiers,
    },
    PointerMove {
        at_view: Point,
    },
    PointerUp {
        at_view: Point,
    },
    DoubleClick,
    /// A wheel event; positive `delta_y` (scrolling down) zooms out.
    Wheel {
        at_view: Point,
        delta_y: f64,
    },
    Key(Key),
    /// The caller switched tool (toolbar or shortcut): the draft is dropped.
    ToolChanged,
    /// Another image is open: the draft and any gesture are dropped, the selection is
    /// cleared and the view fits (the caller also clears its hidden set).
    ImageChanged,
    /// An undo or redo changed the shapes under the draft: the draft is dropped.
    HistoryChanged,
}

/// What the machine reads of the caller's state at each input.
#[derive(Clone, Copy, Debug)]
pub struct Scene<'a> {
    /// The shapes of the open image.
    pub shapes: &'a [Shape],
    pub selection: &'a [usize],
    /// Shapes not drawn, which cannot be picked.
    pub hidden: &'a HashSet<usize>,
    pub tool: Tool,
    /// The view transform in force (the zoom, or the fit); `None` while no image is drawn,
    /// when pointer input, the wheel and actual size are ignored.
    pub transform: Option<ViewTransform>,
    /// The size of the canvas (CSS pixels).
    pub view_size: Size,
    /// The label new shapes get.
    pub label: &'a str,
}

/// An edit for the caller to make.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    /// One step of a drag (a move of shapes or of a vertex), made against the scene's shapes:
    /// apply with [`crate::history::History::apply_in_gesture`] and `gesture`, so that a
    /// whole drag is one undo step.
    Step {
        command: Command,
        gesture: GestureId,
    },
    /// A finished shape to add (and select). Whether it has enough points, and adding its
    /// label to the classes, is the caller's business.
    Create(Shape),
}

/// What an input changed. Fields left `None`/`false` are unchanged.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// Whether the input meant anything to the machine (changed it or produced an effect);
    /// `false` means it was ignored and the caller may give it its own meaning (Backspace
    /// without a draft vertex deletes the selection).
    pub handled: bool,
    pub edit: Option<Edit>,
    /// The new selection.
    pub selection: Option<Vec<usize>>,
    /// The new zoom: `Some(None)` fits the image to the view.
    pub view: Option<Option<ViewTransform>>,
    /// The draft ([`Interaction::draft`]) changed: redraw it.
    pub draft_changed: bool,
}

/// What the pointer is doing between press and release.
#[derive(Clone, Debug, PartialEq)]
enum Gesture {
    Idle,
    Pan {
        last_in_view: Point,
    },
    MoveShapes {
        gesture: GestureId,
        indices: Vec<usize>,
        last_in_image: Point,
    },
    MoveVertex {
        gesture: GestureId,
        shape: usize,
        vertex: usize,
    },
    DragCreate {
        start_in_view: Point,
    },
}

/// The canvas interaction state. Keep one for the life of the editor: its gesture ids must
/// not repeat, or a new drag could join an older drag's undo step.
#[derive(Clone, Debug)]
pub struct Interaction {
    gesture: Gesture,
    draft: Draft,
    next_gesture: u64,
}

impl Default for Interaction {
    fn default() -> Self {
        Self::new()
    }
}

fn distance(a: Point, b: Point) -> f64 {
    (a.x - b.x).hypot(a.y - b.y)
}

/// `transform` zoomed about the centre of a view of `view_size` to one view pixel per image
/// pixel. A transform with a scale that is not a positive finite number is returned as is.
pub fn actual_size(transform: &ViewTransform, view_size: Size) -> ViewTransform {
    if !(transform.scale.is_finite() && transform.scale > 0.0) {
        return *transform;
    }
    let centre = Point::new(view_size.width / 2.0, view_size.height / 2.0);
    let under = transform.image_from_view(centre);
    // Exactly 1, which `zoomed_about(centre, 1 / scale, ..)` can miss by a rounding.
    ViewTransform {
        scale: 1.0,
        offset_in_view: Point::new(centre.x - under.x, centre.y - under.y),
    }
}

impl Interaction {
    pub fn new() -> Self {
        Self {
            gesture: Gesture::Idle,
            draft: Draft::None,
            next_gesture: 1,
        }
    }

    /// The shape being drawn.
    pub fn draft(&self) -> &Draft {
        &self.draft
    }

    /// Whether a press is being dragged (a pan, a move, a vertex or a shape being drawn).
    pub fn is_dragging(&self) -> bool {
        self.gesture != Gesture::Idle
    }

    /// Whether the current drag pans the view.
    pub fn is_panning(&self) -> bool {
        matches!(self.gesture, Gesture::Pan { .. })
    }

    /// Handles one input against the caller's `scene`.
    pub fn handle(&mut self, input: Input, scene: &Scene) -> Outcome {
        let mut out = Outcome::default();
        match input {
            Input::PointerDown {
                at_view,
                button,
                modifiers,
            } => self.pointer_down(at_view, button, modifiers, scene, &mut out),
            Input::PointerMove { at_view } => self.pointer_move(at_view, scene, &mut out),
            Input::PointerUp { at_view } => self.pointer_up(at_view, scene, &mut out),
            Input::DoubleClick => self.finish_vertices(scene, &mut out),
            Input::Wheel { at_view, delta_y } => {
                if let Some(transform) = scene.transform {
                    let factor = (-delta_y * WHEEL_ZOOM_RATE).exp();
                    out.view = Some(Some(
                        transform.zoomed_about(at_view, factor, MIN_SCALE, MAX_SCALE),
                    ));
                }
            }
            Input::Key(key) => self.key(key, scene, &mut out),
            Input::ToolChanged | Input::HistoryChanged => self.set_draft(Draft::None, &mut out),
            Input::ImageChanged => {
                self.set_gesture(Gesture::Idle, &mut out);
                self.set_draft(Draft::None, &mut out);
                out.selection = Some(Vec::new());
                out.view = Some(None);
            }
        }
        out.handled |= out.edit.is_some()
            || out.selection.is_some()
            || out.view.is_some()
            || out.draft_changed;
        out
    }

    fn new_gesture(&mut self) -> GestureId {
        let id = GestureId(self.next_gesture);
        self.next_gesture += 1;
        id
    }

    fn set_draft(&mut self, draft: Draft, out: &mut Outcome) {
        if self.draft != draft {
            self.draft = draft;
            out.draft_changed = true;
        }
    }

    fn set_gesture(&mut self, gesture: Gesture, out: &mut Outcome) {
        if self.gesture != gesture {
            self.gesture = gesture;
            out.handled = true;
        }
    }

    fn pointer_down(
        &mut self,
        at_view: Point,
        button: Button,
        modifiers: Modifiers,
        scene: &Scene,
        out: &mut Outcome,
    ) {
        let Some(transform) = scene.transform else {
            return;
        };
        let at_image = transform.image_from_view(at_view);
        if button == Button::Middle || (button == Button::Primary && modifiers.pan) {
            self.set_gesture(
                Gesture::Pan {
                    last_in_view: at_view,
                },
                out,
            );
            return;
        }
        if button != Button::Primary {
            return;
        }
        match scene.tool {
            Tool::Select => self.select_press(at_view, at_image, modifiers, &transform, scene, out),
            Tool::Create(ShapeKind::Point) => {
                out.edit = shape_from_drag(ShapeKind::Point, scene.label, at_image, at_image)
                    .map(Edit::Create);
            }
            Tool::Create(kind) if is_drag_kind(kind) => {
                if let Draft::Drag {
                    kind,
                    start_in_image,
                    awaiting_click: true,
                    ..
                } = self.draft
                {
                    // The second click of a click-click shape.
                    self.set_draft(Draft::None, out);
                    out.edit = shape_from_drag(kind, scene.label, start_in_image, at_image)
                        .map(Edit::Create);
                    return;
                }
                self.set_draft(
                    Draft::Drag {
                        kind,
                        start_in_image: at_image,
                        end_in_image: at_image,
                        awaiting_click: false,
                    },
                    out,
                );
                self.set_gesture(
                    Gesture::DragCreate {
                        start_in_view: at_view,
                    },
                    out,
                );
            }
            Tool::Create(kind) => {
                self.vertex_click(kind, at_view, at_image, &transform, scene, out)
            }
        }
    }

    fn select_press(
        &mut self,
        at_view: Point,
        at_image: Point,
        modifiers: Modifiers,
        transform: &ViewTransform,
        scene: &Scene,
        out: &mut Outcome,
    ) {
        let count = scene.shapes.len();
        // Indices that name no shape (a stale selection) are dropped from what is returned.
        let selection: Vec<usize> = scene
            .selection
            .iter()
            .copied()
            .filter(|&i| i < count)
            .collect();
        if !modifiers.additive {
            let visible_selection: Vec<usize> = selection
                .iter()
                .copied()
                .filter(|i| !scene.hidden.contains(i))
                .collect();
            if let Some((shape, vertex)) = vertex_at(
                scene.shapes,
                &visible_selection,
                at_view,
                transform,
                HANDLE_TOLERANCE,
            ) {
                let gesture = self.new_gesture();
                self.set_gesture(
                    Gesture::MoveVertex {
                        gesture,
                        shape,
                        vertex,
                    },
                    out,
                );
                return;
            }
        }
        let hit = shape_at(
            scene.shapes,
            |i| !scene.hidden.contains(&i),
            at_view,
            transform,
            PICK_TOLERANCE,
        );
        match hit {
            Some(index) if modifiers.additive => {
                let mut selection = selection;
                if let Some(at) = selection.iter().position(|&i| i == index) {
                    selection.remove(at);
                } else {
                    selection.push(index);
                }
                out.selection = Some(selection);
            }
            Some(index) => {
                let indices = if selection.contains(&index) {
                    selection
                } else {
                    vec![index]
                };
                out.selection = Some(indices.clone());
                let gesture = self.new_gesture();
                self.set_gesture(
                    Gesture::MoveShapes {
                        gesture,
                        indices,
                        last_in_image: at_image,
                    },
                    out,
                );
            }
            None if !modifiers.additive => out.selection = Some(Vec::new()),
            None => {}
        }
    }

    /// A click of the polygon or linestrip tool: adds a vertex, or closes a polygon on its
    /// first vertex.
    fn vertex_click(
        &mut self,
        tool_kind: ShapeKind,
        at_view: Point,
        at_image: Point,
        transform: &ViewTransform,
        scene: &Scene,
        out: &mut Outcome,
    ) {
        let Draft::Vertices {
            kind,
            points_in_image,
            ..
        } = &self.draft
        else {
            self.set_draft(
                Draft::Vertices {
                    kind: tool_kind,
                    points_in_image: vec![at_image],
                    pointer_in_image: Some(at_image),
                },
                out,
            );
            return;
        };
        let near = |point: &Point, tolerance: f64| {
            distance(transform.view_from_image(*point), at_view) <= tolerance
        };
        let closes = *kind == ShapeKind::Polygon
            && points_in_image.len() >= 3
            && points_in_image
                .first()
                .is_some_and(|first| near(first, HANDLE_TOLERANCE));
        if closes {
            self.finish_vertices(scene, out);
            return;
        }
        let repeats = points_in_image
            .last()
            .is_some_and(|last| near(last, CLICK_SLOP));
        let (kind, mut points_in_image) = (*kind, points_in_image.clone());
        if !repeats {
            points_in_image.push(at_image);
        }
        self.set_draft(
            Draft::Vertices {
                kind,
                points_in_image,
                pointer_in_image: Some(at_image),
            },
            out,
        );
    }

    /// Ends a polygon or linestrip draft as a shape to create.
    fn finish_vertices(&mut self, scene: &Scene, out: &mut Outcome) {
        match std::mem::take(&mut self.draft) {
            Draft::Vertices {
                kind,
                points_in_image,
                ..
            } => {
                out.draft_changed = true;
                out.edit = Some(Edit::Create(Shape::new(scene.label, kind, points_in_image)));
            }
            other => self.draft = other,
        }
    }

    fn pointer_move(&mut self, at_view: Point, scene: &Scene, out: &mut Outcome) {
        let Some(transform) = scene.transform else {
            return;
        };
        let at_image = transform.image_from_view(at_view);
        match &mut self.gesture {
            Gesture::Idle => match &self.draft {
                Draft::Vertices {
                    kind,
                    points_in_image,
                    ..
                } => {
                    let draft = Draft::Vertices {
                        kind: *kind,
                        points_in_image: points_in_image.clone(),
                        pointer_in_image: Some(at_image),
                    };
                    self.set_draft(draft, out);
                }
                Draft::Drag {
                    kind,
                    start_in_image,
                    awaiting_click: true,
                    ..
                } => {
                    let draft = Draft::Drag {
                        kind: *kind,
                        start_in_image: *start_in_image,
                        end_in_image: at_image,
                        awaiting_click: true,
                    };
                    self.set_draft(draft, out);
                }
                _ => {}
            },
            Gesture::Pan { last_in_view } => {
                let delta = Point::new(at_view.x - last_in_view.x, at_view.y - last_in_view.y);
                out.view = Some(Some(transform.panned_by(delta)));
                *last_in_view = at_view;
            }
            Gesture::MoveShapes {
                gesture,
                indices,
                last_in_image,
            } => {
                let delta = Point::new(at_image.x - last_in_image.x, at_image.y - last_in_image.y);
                if delta.x == 0.0 && delta.y == 0.0 {
                    return;
                }
                if let Ok(command) = Command::translate(scene.shapes, indices, delta) {
                    out.edit = Some(Edit::Step {
                        command,
                        gesture: *gesture,
                    });
                }
                *last_in_image = at_image;
                out.handled = true;
            }
            Gesture::MoveVertex {
                gesture,
                shape,
                vertex,
            } => {
                if let Ok(command) = Command::drag_vertex(scene.shapes, *shape, *vertex, at_image) {
                    out.edit = Some(Edit::Step {
                        command,
                        gesture: *gesture,
                    });
                }
            }
            Gesture::DragCreate { .. } => {
                if let Draft::Drag {
                    kind,
                    start_in_image,
                    ..
                } = self.draft
                {
                    let draft = Draft::Drag {
                        kind,
                        start_in_image,
                        end_in_image: at_image,
                        awaiting_click: false,
                    };
                    self.set_draft(draft, out);
                }
            }
        }
    }

    fn pointer_up(&mut self, at_view: Point, scene: &Scene, out: &mut Outcome) {
        let finished = std::mem::replace(&mut self.gesture, Gesture::Idle);
        if finished != Gesture::Idle {
            out.handled = true;
        }
        let Gesture::DragCreate { start_in_view } = finished else {
            return;
        };
        let Some(transform) = scene.transform else {
            return;
        };
        let Draft::Drag {
            kind,
            start_in_image,
            ..
        } = self.draft
        else {
            return;
        };
        if distance(start_in_view, at_view) <= CLICK_SLOP {
            // A click: the shape ends at the next click.
            self.set_draft(
                Draft::Drag {
                    kind,
                    start_in_image,
                    end_in_image: start_in_image,
                    awaiting_click: true,
                },
                out,
            );
            return;
        }
        self.set_draft(Draft::None, out);
        let at_image = transform.image_from_view(at_view);
        out.edit = shape_from_drag(kind, scene.label, start_in_image, at_image).map(Edit::Create);
    }

    fn key(&mut self, key: Key, scene: &Scene, out: &mut Outcome) {
        match key {
            Key::Escape => {
                if self.draft == Draft::None {
                    out.selection = Some(Vec::new());
                } else {
                    self.set_draft(Draft::None, out);
                }
            }
            Key::Enter => self.finish_vertices(scene, out),
            Key::Backspace => {
                if let Draft::Vertices {
                    kind,
                    points_in_image,
                    pointer_in_image,
                } = &self.draft
                {
                    let mut points_in_image = points_in_image.clone();
                    points_in_image.pop();
                    let draft = if points_in_image.is_empty() {
                        Draft::None
                    } else {
                        Draft::Vertices {
                            kind: *kind,
                            points_in_image,
                            pointer_in_image: *pointer_in_image,
                        }
                    };
                    self.set_draft(draft, out);
                }
            }
            Key::Fit => out.view = Some(None),
            Key::ActualSize => {
                if let Some(transform) = scene.transform {
                    out.view = Some(Some(actual_size(&transform, scene.view_size)));
                }
            }
        }
    }
}
