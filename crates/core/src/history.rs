//! Undo/redo of edits to the shapes of one image.
//!
//! Every edit is a [`Command`] that holds what it needs to be undone exactly: moves keep the
//! points before and after (not a delta, so undo restores the very same floating-point
//! values), deletes keep the shape. [`History`] keeps unlimited undo and redo stacks; edits
//! made during one drag (one [`GestureId`]) coalesce into a single undo step.

use serde::{Deserialize, Serialize};

use crate::annotation::Shape;
use crate::view::Point;

/// Why a command could not be applied (the shapes are left unchanged).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum EditError {
    #[error("there is no shape {index} (the image has {count})")]
    NoSuchShape { index: usize, count: usize },
    #[error("shape {shape} has no vertex {vertex}")]
    NoSuchVertex { shape: usize, vertex: usize },
    #[error("shape {index} is not in the state this edit expects (edited elsewhere?)")]
    StateMismatch { index: usize },
    #[error("a {kind:?} cannot have {count} points")]
    InvalidPointCount {
        kind: crate::annotation::ShapeKind,
        count: usize,
    },
}

/// A reversible edit of a list of shapes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Inserts `shape` at `index`.
    Create { index: usize, shape: Shape },
    /// Removes the shape at `index` (which must equal `shape`).
    Delete { index: usize, shape: Shape },
    /// Moves whole shapes: all their points, before and after.
    Move {
        indices: Vec<usize>,
        before: Vec<Vec<Point>>,
        after: Vec<Vec<Point>>,
    },
    MoveVertex {
        shape: usize,
        vertex: usize,
        from: Point,
        to: Point,
    },
    InsertVertex {
        shape: usize,
        vertex: usize,
        point: Point,
    },
    RemoveVertex {
        shape: usize,
        vertex: usize,
        point: Point,
    },
    Relabel {
        shape: usize,
        from: String,
        to: String,
    },
    /// Any other change of one shape (its flags, group, description, predicted state...).
    Replace {
        index: usize,
        before: Shape,
        after: Shape,
    },
    /// Several commands as one undo step, applied in order.
    Batch { commands: Vec<Command> },
}

fn shape_at(shapes: &[Shape], index: usize) -> Result<&Shape, EditError> {
    shapes.get(index).ok_or(EditError::NoSuchShape {
        index,
        count: shapes.len(),
    })
}

impl Command {
    /// A new shape at the end of the list.
    pub fn create(shapes: &[Shape], shape: Shape) -> Self {
        Command::Create {
            index: shapes.len(),
            shape,
        }
    }

    pub fn delete(shapes: &[Shape], index: usize) -> Result<Self, EditError> {
        Ok(Command::Delete {
            index,
            shape: shape_at(shapes, index)?.clone(),
        })
    }

    /// Deletes several shapes as one step.
    pub fn delete_many(shapes: &[Shape], indices: &[usize]) -> Result<Self, EditError> {
        let mut sorted = indices.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let commands = sorted
            .iter()
            .rev()
            .map(|&i| Command::delete(shapes, i))
            .collect::<Result<_, _>>()?;
        Ok(Command::Batch { commands })
    }

    /// Moves shapes by `delta_in_image`.
    pub fn translate(
        shapes: &[Shape],
        indices: &[usize],
        delta_in_image: Point,
    ) -> Result<Self, EditError> {
        let mut before = Vec::with_capacity(indices.len());
        let mut after = Vec::with_capacity(indices.len());
        for &index in indices {
            let points = &shape_at(shapes, index)?.points_in_image;
            before.push(points.clone());
            after.push(
                points
                    .iter()
                    .map(|p| Point::new(p.x + delta_in_image.x, p.y + delta_in_image.y))
                    .collect(),
            );
        }
        Ok(Command::Move {
            indices: indices.to_vec(),
            before,
            after,
        })
    }

    pub fn move_vertex(
        shapes: &[Shape],
        shape: usize,
        vertex: usize,
        to: Point,
    ) -> Result<Self, EditError> {
        let from = *shape_at(shapes, shape)?
            .points_in_image
            .get(vertex)
            .ok_or(EditError::NoSuchVertex { shape, vertex })?;
        Ok(Command::MoveVertex {
            shape,
            vertex,
            from,
            to,
        })
    }

    /// A vertex drag as the editor does it: a rotated rectangle's corner reshapes the whole
    /// rectangle (see [`crate::editing::with_vertex_dragged`]); other shapes move one vertex.
    pub fn drag_vertex(
        shapes: &[Shape],
        shape: usize,
        vertex: usize,
        to: Point,
    ) -> Result<Self, EditError> {
        let target = shape_at(shapes, shape)?;
        if target.kind != crate::annotation::ShapeKind::RotatedRectangle {
            return Command::move_vertex(shapes, shape, vertex, to);
        }
        let after = crate::editing::with_vertex_dragged(target, vertex, to)
            .ok_or(EditError::NoSuchVertex { shape, vertex })?;
        Ok(Command::Replace {
            index: shape,
            before: target.clone(),
            after,
        })
    }

    pub fn relabel(shapes: &[Shape], indices: &[usize], label: &str) -> Result<Self, EditError> {
        let commands = indices
            .iter()
            .map(|&i| {
                Ok(Command::Relabel {
                    shape: i,
                    from: shape_at(shapes, i)?.label.clone(),
                    to: label.to_owned(),
                })
            })
            .collect::<Result<_, EditError>>()?;
        Ok(Command::Batch { commands })
    }

    /// Marks every predicted shape as accepted (one undo step).
    pub fn accept_all_predictions(shapes: &[Shape]) -> Self {
        let commands = shapes
            .iter()
            .enumerate()
            .filter(|(_, shape)| shape.predicted)
            .map(|(index, shape)| Command::Replace {
                index,
                before: shape.clone(),
                after: Shape {
                    predicted: false,
                    ..shape.clone()
                },
            })
            .collect();
        Command::Batch { commands }
    }

    /// Deletes every predicted shape that was not accepted (one undo step).
    pub fn reject_all_predictions(shapes: &[Shape]) -> Self {
        let indices: Vec<usize> = shapes
            .iter()
            .enumerate()
            .filter(|(_, s)| s.predicted)
            .map(|(i, _)| i)
            .collect();
        Command::delete_many(shapes, &indices).unwrap_or(Command::Batch {
            commands: Vec::new(),
        })
    }

    /// Deletes the predicted shapes not yet accepted whose score is below `threshold`
    /// (one undo step). Shapes without a score are kept.
    pub fn reject_predictions_below(shapes: &[Shape], threshold: f64) -> Self {
        let indices: Vec<usize> = shapes
            .iter()
            .enumerate()
            .filter(|(_, s)| s.predicted && s.score.is_some_and(|score| score < threshold))
            .map(|(i, _)| i)
            .collect();
        Command::delete_many(shapes, &indices).unwrap_or(Command::Batch {
            commands: Vec::new(),
        })
    }

    /// A model's new predictions for an image: the predictions not yet accepted give way to
    /// `predictions`, appended after the user's shapes (one undo step per image, so running
    /// a model twice never doubles its boxes and never touches what the user drew or
    /// accepted).
    pub fn replace_predictions(shapes: &[Shape], predictions: Vec<Shape>) -> Self {
        let Command::Batch { mut commands } = Command::reject_all_predictions(shapes) else {
            unreachable!("reject_all_predictions is a batch");
        };
        let kept = shapes.iter().filter(|s| !s.predicted).count();
        commands.extend(
            predictions
                .into_iter()
                .enumerate()
                .map(|(i, shape)| Command::Create {
                    index: kept + i,
                    shape: Shape {
                        predicted: true,
                        ..shape
                    },
                }),
        );
        Command::Batch { commands }
    }

    /// The command that undoes this one.
    pub fn inverse(&self) -> Command {
        match self.clone() {
            Command::Create { index, shape } => Command::Delete { index, shape },
            Command::Delete { index, shape } => Command::Create { index, shape },
            Command::Move {
                indices,
                before,
                after,
            } => Command::Move {
                indices,
                before: after,
                after: before,
            },
            Command::MoveVertex {
                shape,
                vertex,
                from,
                to,
            } => Command::MoveVertex {
                shape,
                vertex,
                from: to,
                to: from,
            },
            Command::InsertVertex {
                shape,
                vertex,
                point,
            } => Command::RemoveVertex {
                shape,
                vertex,
                point,
            },
            Command::RemoveVertex {
                shape,
                vertex,
                point,
            } => Command::InsertVertex {
                shape,
                vertex,
                point,
            },
            Command::Relabel { shape, from, to } => Command::Relabel {
                shape,
                from: to,
                to: from,
            },
            Command::Replace {
                index,
                before,
                after,
            } => Command::Replace {
                index,
                before: after,
                after: before,
            },
            Command::Batch { commands } => Command::Batch {
                commands: commands.iter().rev().map(Command::inverse).collect(),
            },
        }
    }

    /// Applies the command; on error the shapes are unchanged.
    pub fn apply(&self, shapes: &mut Vec<Shape>) -> Result<(), EditError> {
        match self {
            Command::Create { index, shape } => {
                if *index > shapes.len() {
                    return Err(EditError::NoSuchShape {
                        index: *index,
                        count: shapes.len(),
                    });
                }
                shapes.insert(*index, shape.clone());
            }
            Command::Delete { index, shape } => {
                if shape_at(shapes, *index)? != shape {
                    return Err(EditError::StateMismatch { index: *index });
                }
                shapes.remove(*index);
            }
            Command::Move {
                indices,
                before,
                after,
            } => {
                for (i, &index) in indices.iter().enumerate() {
                    if Some(&shape_at(shapes, index)?.points_in_image) != before.get(i) {
                        return Err(EditError::StateMismatch { index });
                    }
                }
                for (&index, points) in indices.iter().zip(after) {
                    shapes[index].points_in_image = points.clone();
                }
            }
            Command::MoveVertex {
                shape,
                vertex,
                from,
                to,
            } => {
                let current = shape_at(shapes, *shape)?
                    .points_in_image
                    .get(*vertex)
                    .ok_or(EditError::NoSuchVertex {
                        shape: *shape,
                        vertex: *vertex,
                    })?;
                if current != from {
                    return Err(EditError::StateMismatch { index: *shape });
                }
                shapes[*shape].points_in_image[*vertex] = *to;
            }
            Command::InsertVertex {
                shape,
                vertex,
                point,
            } => {
                let target = shape_at(shapes, *shape)?;
                let count = target.points_in_image.len();
                if *vertex > count {
                    return Err(EditError::NoSuchVertex {
                        shape: *shape,
                        vertex: *vertex,
                    });
                }
                if !target.kind.has_free_vertex_count()
                    || !target.kind.accepts_point_count(count + 1)
                {
                    return Err(EditError::InvalidPointCount {
                        kind: target.kind,
                        count: count + 1,
                    });
                }
                shapes[*shape].points_in_image.insert(*vertex, *point);
            }
            Command::RemoveVertex {
                shape,
                vertex,
                point,
            } => {
                let target = shape_at(shapes, *shape)?;
                let count = target.points_in_image.len();
                let current =
                    target
                        .points_in_image
                        .get(*vertex)
                        .ok_or(EditError::NoSuchVertex {
                            shape: *shape,
                            vertex: *vertex,
                        })?;
                if current != point {
                    return Err(EditError::StateMismatch { index: *shape });
                }
                if !target.kind.has_free_vertex_count()
                    || !target.kind.accepts_point_count(count - 1)
                {
                    return Err(EditError::InvalidPointCount {
                        kind: target.kind,
                        count: count - 1,
                    });
                }
                shapes[*shape].points_in_image.remove(*vertex);
            }
            Command::Relabel { shape, from, to } => {
                if shape_at(shapes, *shape)?.label != *from {
                    return Err(EditError::StateMismatch { index: *shape });
                }
                shapes[*shape].label = to.clone();
            }
            Command::Replace {
                index,
                before,
                after,
            } => {
                if shape_at(shapes, *index)? != before {
                    return Err(EditError::StateMismatch { index: *index });
                }
                shapes[*index] = after.clone();
            }
            Command::Batch { commands } => {
                for (done, command) in commands.iter().enumerate() {
                    if let Err(error) = command.apply(shapes) {
                        // Roll back what this batch did, newest first.
                        for applied in commands[..done].iter().rev() {
                            applied.inverse().apply(shapes)?;
                        }
                        return Err(error);
                    }
                }
            }
        }
        Ok(())
    }

    /// This command followed by `next` as one command, when they are steps of one drag.
    fn coalesced_with(&self, next: &Command) -> Option<Command> {
        match (self, next) {
            (
                Command::Move {
                    indices, before, ..
                },
                Command::Move {
                    indices: next_indices,
                    after,
                    ..
                },
            ) if indices == next_indices => Some(Command::Move {
                indices: indices.clone(),
                before: before.clone(),
                after: after.clone(),
            }),
            (
                Command::MoveVertex {
                    shape,
                    vertex,
                    from,
                    ..
                },
                Command::MoveVertex {
                    shape: next_shape,
                    vertex: next_vertex,
                    to,
                    ..
                },
            ) if shape == next_shape && vertex == next_vertex => Some(Command::MoveVertex {
                shape: *shape,
                vertex: *vertex,
                from: *from,
                to: *to,
            }),
            (
                Command::Replace { index, before, .. },
                Command::Replace {
                    index: next_index,
                    after,
                    ..
                },
            ) if index == next_index => Some(Command::Replace {
                index: *index,
                before: before.clone(),
                after: after.clone(),
            }),
            _ => None,
        }
    }
}

/// Names one continuous gesture (a drag from press to release); its steps coalesce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GestureId(pub u64);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Entry {
    command: Command,
    gesture: Option<GestureId>,
}

/// Unlimited undo and redo of the edits of one image's shapes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    undo: Vec<Entry>,
    redo: Vec<Entry>,
}

impl History {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `command` as a new undo step and forgets the redo stack.
    pub fn apply(&mut self, shapes: &mut Vec<Shape>, command: Command) -> Result<(), EditError> {
        command.apply(shapes)?;
        self.undo.push(Entry {
            command,
            gesture: None,
        });
        self.redo.clear();
        Ok(())
    }

    /// Applies `command` as a step of `gesture`: it joins the previous undo step when that
    /// was the same kind of edit of the same gesture (a drag's moves become one step).
    pub fn apply_in_gesture(
        &mut self,
        shapes: &mut Vec<Shape>,
        command: Command,
        gesture: GestureId,
    ) -> Result<(), EditError> {
        command.apply(shapes)?;
        self.redo.clear();
        if let Some(last) = self.undo.last_mut()
            && last.gesture == Some(gesture)
            && let Some(merged) = last.command.coalesced_with(&command)
        {
            last.command = merged;
            return Ok(());
        }
        self.undo.push(Entry {
            command,
            gesture: Some(gesture),
        });
        Ok(())
    }

    /// Undoes the last step; `Ok(false)` when there is none.
    pub fn undo(&mut self, shapes: &mut Vec<Shape>) -> Result<bool, EditError> {
        let Some(entry) = self.undo.pop() else {
            return Ok(false);
        };
        if let Err(error) = entry.command.inverse().apply(shapes) {
            self.undo.push(entry);
            return Err(error);
        }
        self.redo.push(entry);
        Ok(true)
    }

    /// Redoes the last undone step; `Ok(false)` when there is none.
    pub fn redo(&mut self, shapes: &mut Vec<Shape>) -> Result<bool, EditError> {
        let Some(entry) = self.redo.pop() else {
            return Ok(false);
        };
        if let Err(error) = entry.command.apply(shapes) {
            self.redo.push(entry);
            return Err(error);
        }
        self.undo.push(entry);
        Ok(true)
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    pub fn undo_depth(&self) -> usize {
        self.undo.len()
    }

    pub fn redo_depth(&self) -> usize {
        self.redo.len()
    }

    pub fn clear(&mut self) {
        self.undo.clear();
        self.redo.clear();
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::annotation::ShapeKind;

    fn square(label: &str, x: f64) -> Shape {
        Shape::polygon(
            label,
            vec![
                Point::new(x, 0.0),
                Point::new(x + 1.0, 0.0),
                Point::new(x + 1.0, 1.0),
                Point::new(x, 1.0),
            ],
        )
    }

    #[test]
    fn drag_coalesces_into_one_step() {
        let mut shapes = vec![square("a", 0.0)];
        let original = shapes.clone();
        let mut history = History::new();
        for _ in 0..10 {
            let step = Command::translate(&shapes, &[0], Point::new(0.1, 0.3)).expect("valid");
            history
                .apply_in_gesture(&mut shapes, step, GestureId(1))
                .expect("applies");
        }
        assert_eq!(history.undo_depth(), 1);
        // Ten steps of (0.1, 0.3): the square moved by (1, 3).
        for (moved, at) in shapes[0]
            .points_in_image
            .iter()
            .zip(&original[0].points_in_image)
        {
            assert!(
                (moved.x - at.x - 1.0).abs() < 1e-9 && (moved.y - at.y - 3.0).abs() < 1e-9,
                "{moved:?} from {at:?}"
            );
        }
        let step = Command::translate(&shapes, &[0], Point::new(1.0, 0.0)).expect("valid");
        history
            .apply_in_gesture(&mut shapes, step, GestureId(2))
            .expect("applies");
        assert_eq!(history.undo_depth(), 2);
        history.undo(&mut shapes).expect("undo");
        history.undo(&mut shapes).expect("undo");
        assert_eq!(shapes, original);
        assert!(!history.undo(&mut shapes).expect("nothing to undo"));
    }

    #[test]
    fn a_rotated_corner_drag_is_one_step_and_stays_rectangular() {
        let shape = Shape::rotated_rectangle(
            "r",
            Point::new(10.0, 10.0),
            crate::view::Size::new(8.0, 4.0),
            0.3,
        );
        let mut shapes = vec![shape.clone()];
        let mut history = History::new();
        for step in 1..=5 {
            let to = Point::new(
                shape.points_in_image[2].x + f64::from(step),
                shape.points_in_image[2].y + 0.5 * f64::from(step),
            );
            let command = Command::drag_vertex(&shapes, 0, 2, to).expect("a vertex");
            history
                .apply_in_gesture(&mut shapes, command, GestureId(4))
                .expect("applies");
        }
        assert_eq!(history.undo_depth(), 1);
        assert_eq!(shapes[0].points_in_image[0], shape.points_in_image[0]);
        // Still a rectangle: four right angles, and the dragged corner moved.
        let p = &shapes[0].points_in_image;
        assert_eq!(p.len(), 4);
        for i in 0..4 {
            let (a, b, c) = (p[(i + 3) % 4], p[i], p[(i + 1) % 4]);
            let dot = (a.x - b.x) * (c.x - b.x) + (a.y - b.y) * (c.y - b.y);
            assert!(dot.abs() < 1e-9, "corner {i} is square: {dot}");
        }
        assert_ne!(p[2], shape.points_in_image[2]);
        assert!(history.undo(&mut shapes).expect("undoes"));
        assert_eq!(shapes, vec![shape]);
    }

    #[test]
    fn replace_predictions_keeps_user_shapes_and_accepted_ones() {
        let mut shapes = vec![
            Shape::rectangle("drawn", Point::new(0.0, 0.0), Point::new(1.0, 1.0)),
            Shape::rectangle("old guess", Point::new(2.0, 2.0), Point::new(3.0, 3.0)),
            Shape::rectangle("accepted", Point::new(4.0, 4.0), Point::new(5.0, 5.0)),
        ];
        shapes[1].predicted = true;
        shapes[1].score = Some(0.4);
        shapes[2].score = Some(0.9);
        let original = shapes.clone();
        let mut fresh = Shape::rectangle("new guess", Point::new(6.0, 6.0), Point::new(7.0, 7.0));
        fresh.score = Some(0.8);
        let mut history = History::new();
        history
            .apply(
                &mut shapes,
                Command::replace_predictions(&original, vec![fresh.clone(), fresh.clone()]),
            )
            .expect("applies");
        let labels: Vec<&str> = shapes.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["drawn", "accepted", "new guess", "new guess"]);
        assert!(shapes[2].predicted && shapes[3].predicted);
        assert_eq!(shapes[2].score, Some(0.8));
        assert!(history.undo(&mut shapes).expect("undoes"), "one step");
        assert_eq!(shapes, original);
    }

    #[test]
    fn reject_below_threshold_leaves_confident_and_accepted_shapes() {
        let mut shapes: Vec<Shape> = [0.2, 0.6, 0.3, 0.1]
            .iter()
            .map(|&score| {
                let mut s = Shape::rectangle("p", Point::new(0.0, 0.0), Point::new(1.0, 1.0));
                s.predicted = true;
                s.score = Some(score);
                s
            })
            .collect();
        shapes[3].predicted = false;
        let original = shapes.clone();
        let mut history = History::new();
        history
            .apply(
                &mut shapes,
                Command::reject_predictions_below(&original, 0.5),
            )
            .expect("applies");
        let scores: Vec<Option<f64>> = shapes.iter().map(|s| s.score).collect();
        assert_eq!(scores, [Some(0.6), Some(0.1)]);
        assert!(history.undo(&mut shapes).expect("undoes"));
        assert_eq!(shapes, original);
    }

    #[test]
    fn accept_all_predictions_is_one_step() {
        let mut shapes = vec![square("a", 0.0), square("b", 2.0), square("c", 4.0)];
        shapes[0].predicted = true;
        shapes[2].predicted = true;
        shapes[2].score = Some(0.7);
        let original = shapes.clone();
        let mut history = History::new();
        history
            .apply(&mut shapes, Command::accept_all_predictions(&original))
            .expect("applies");
        assert!(shapes.iter().all(|s| !s.predicted));
        assert_eq!(shapes[2].score, Some(0.7));
        history.undo(&mut shapes).expect("undo");
        assert_eq!(shapes, original);
        history
            .apply(&mut shapes, Command::reject_all_predictions(&original))
            .expect("applies");
        assert_eq!(shapes.len(), 1);
        history.undo(&mut shapes).expect("undo");
        assert_eq!(shapes, original);
    }

    #[test]
    fn failing_batch_changes_nothing() {
        let mut shapes = vec![square("a", 0.0)];
        let original = shapes.clone();
        let batch = Command::Batch {
            commands: vec![
                Command::Relabel {
                    shape: 0,
                    from: "a".into(),
                    to: "b".into(),
                },
                Command::Relabel {
                    shape: 5,
                    from: "a".into(),
                    to: "b".into(),
                },
            ],
        };
        assert!(matches!(
            batch.apply(&mut shapes),
            Err(EditError::NoSuchShape { index: 5, .. })
        ));
        assert_eq!(shapes, original);
        let too_few = Command::RemoveVertex {
            shape: 0,
            vertex: 0,
            point: Point::new(0.0, 0.0),
        };
        let mut triangle = vec![Shape::polygon(
            "t",
            vec![
                Point::new(0.0, 0.0),
                Point::new(1.0, 0.0),
                Point::new(0.0, 1.0),
            ],
        )];
        assert!(matches!(
            too_few.apply(&mut triangle),
            Err(EditError::InvalidPointCount {
                kind: ShapeKind::Polygon,
                count: 2
            })
        ));
    }

    /// An edit chosen by proptest, made valid against the current shapes.
    #[derive(Clone, Debug)]
    enum Action {
        Create(f64, f64),
        Delete(usize),
        Move(usize, f64, f64),
        MoveVertex(usize, usize, f64, f64),
        InsertVertex(usize, usize, f64, f64),
        RemoveVertex(usize, usize),
        Relabel(usize, u8),
        DeleteMany(usize, usize),
        TogglePredicted(usize),
        AcceptAll,
    }

    fn action() -> impl Strategy<Value = Action> {
        let coordinate = -1e4..1e4f64;
        prop_oneof![
            (coordinate.clone(), coordinate.clone()).prop_map(|(x, y)| Action::Create(x, y)),
            any::<usize>().prop_map(Action::Delete),
            (any::<usize>(), coordinate.clone(), coordinate.clone())
                .prop_map(|(i, x, y)| Action::Move(i, x, y)),
            (
                any::<usize>(),
                any::<usize>(),
                coordinate.clone(),
                coordinate.clone()
            )
                .prop_map(|(i, v, x, y)| Action::MoveVertex(i, v, x, y)),
            (
                any::<usize>(),
                any::<usize>(),
                coordinate.clone(),
                coordinate
            )
                .prop_map(|(i, v, x, y)| Action::InsertVertex(i, v, x, y)),
            (any::<usize>(), any::<usize>()).prop_map(|(i, v)| Action::RemoveVertex(i, v)),
            (any::<usize>(), any::<u8>()).prop_map(|(i, l)| Action::Relabel(i, l)),
            (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Action::DeleteMany(a, b)),
            any::<usize>().prop_map(Action::TogglePredicted),
            Just(Action::AcceptAll),
        ]
    }

    fn command_for(shapes: &[Shape], action: &Action) -> Option<Command> {
        let n = shapes.len();
        let pick = |i: usize| (n > 0).then(|| i % n);
        Some(match *action {
            Action::Create(x, y) => Command::create(shapes, square("new", x).tap_y(y)),
            Action::Delete(i) => Command::delete(shapes, pick(i)?).ok()?,
            Action::Move(i, x, y) => {
                Command::translate(shapes, &[pick(i)?], Point::new(x, y)).ok()?
            }
            Action::MoveVertex(i, v, x, y) => {
                let i = pick(i)?;
                let v = v % shapes[i].points_in_image.len();
                Command::move_vertex(shapes, i, v, Point::new(x, y)).ok()?
            }
            Action::InsertVertex(i, v, x, y) => {
                let i = pick(i)?;
                let v = v % (shapes[i].points_in_image.len() + 1);
                Command::InsertVertex {
                    shape: i,
                    vertex: v,
                    point: Point::new(x, y),
                }
            }
            Action::RemoveVertex(i, v) => {
                let i = pick(i)?;
                let v = v % shapes[i].points_in_image.len();
                Command::RemoveVertex {
                    shape: i,
                    vertex: v,
                    point: shapes[i].points_in_image[v],
                }
            }
            Action::Relabel(i, l) => {
                Command::relabel(shapes, &[pick(i)?], &format!("l{l}")).ok()?
            }
            Action::DeleteMany(a, b) => Command::delete_many(shapes, &[pick(a)?, pick(b)?]).ok()?,
            Action::TogglePredicted(i) => {
                let i = pick(i)?;
                let before = shapes[i].clone();
                let after = Shape {
                    predicted: !before.predicted,
                    score: Some(0.5),
                    ..before.clone()
                };
                Command::Replace {
                    index: i,
                    before,
                    after,
                }
            }
            Action::AcceptAll => Command::accept_all_predictions(shapes),
        })
    }

    trait TapY {
        fn tap_y(self, y: f64) -> Self;
    }

    impl TapY for Shape {
        fn tap_y(mut self, y: f64) -> Self {
            for p in &mut self.points_in_image {
                p.y += y;
            }
            self
        }
    }

    proptest! {
        #[test]
        fn apply_then_undo_is_identity_and_redo_replays(actions in proptest::collection::vec(action(), 1..40)) {
            let mut shapes = vec![square("a", 0.0), square("b", 5.0)];
            let original = shapes.clone();
            let mut history = History::new();
            for action in &actions {
                let Some(command) = command_for(&shapes, action) else { continue };
                let before = shapes.clone();
                // Invalid commands (too few vertices) must fail without changing anything.
                let mut probe = shapes.clone();
                if command.apply(&mut probe).is_err() {
                    prop_assert_eq!(&probe, &before);
                    continue;
                }
                // Each command alone: apply then inverse is the identity.
                command.inverse().apply(&mut probe).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(&probe, &before);
                history.apply(&mut shapes, command).map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
            let edited = shapes.clone();
            while history.undo(&mut shapes).map_err(|e| TestCaseError::fail(e.to_string()))? {}
            prop_assert_eq!(&shapes, &original);
            while history.redo(&mut shapes).map_err(|e| TestCaseError::fail(e.to_string()))? {}
            prop_assert_eq!(&shapes, &edited);
        }

        #[test]
        fn coalesced_drag_undoes_in_one_step(steps in proptest::collection::vec((-50.0..50.0f64, -50.0..50.0f64), 1..30)) {
            let mut shapes = vec![square("a", 0.0)];
            let original = shapes.clone();
            let mut history = History::new();
            for (dx, dy) in steps {
                let step = Command::move_vertex(&shapes, 0, 1, Point::new(dx, dy)).map_err(|e| TestCaseError::fail(e.to_string()))?;
                history.apply_in_gesture(&mut shapes, step, GestureId(9)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
            prop_assert_eq!(history.undo_depth(), 1);
            let dragged = shapes.clone();
            history.undo(&mut shapes).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&shapes, &original);
            history.redo(&mut shapes).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&shapes, &dragged);
        }
    }
}
