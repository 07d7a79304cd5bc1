//! Merging two tabs' edits of the same image (or class list) so that neither is lost.
//!
//! Each tab remembers what it last read or wrote (the *base*). When it saves and finds that
//! another tab saved the same record since (*theirs*), it does not replace that record: it
//! applies its own changes (*ours* against the base) on top of theirs. Shapes have no ids,
//! so a change is told by value: a shape of the base missing from ours was removed or
//! changed by us, a shape of ours missing from the base was added or changed by us. When
//! both tabs change the same shape differently, both versions are kept — the user deletes
//! the one not wanted, which is better than a silent drop.

use serde_json::{Map, Value};

use crate::annotation::{ImageAnnotations, Shape};

/// `theirs` with our changes applied: the items of `base` that `ours` no longer has are
/// removed from `theirs` (each once, where theirs still has it), and the items `ours` has
/// beyond `base` are appended in our order. Counts matter: two equal shapes are two
/// shapes.
pub fn merge_lists<T: PartialEq + Clone>(base: &[T], ours: &[T], theirs: &[T]) -> Vec<T> {
    let removed = multiset_minus(base, ours);
    let added = multiset_minus(ours, base);
    let mut merged = theirs.to_vec();
    for item in removed {
        if let Some(at) = merged.iter().position(|x| x == item) {
            merged.remove(at);
        }
    }
    merged.extend(added.into_iter().cloned());
    merged
}

/// The items of `from` left after taking away each item of `take` once.
fn multiset_minus<'a, T: PartialEq>(from: &'a [T], take: &[T]) -> Vec<&'a T> {
    let mut used = vec![false; take.len()];
    from.iter()
        .filter(|item| {
            let matched = take
                .iter()
                .enumerate()
                .find(|(i, other)| !used[*i] && *other == *item);
            match matched {
                Some((i, _)) => {
                    used[i] = true;
                    false
                }
                None => true,
            }
        })
        .collect()
}

/// One image's annotations with our edits (since `base`, `None` when we never saw a saved
/// record) applied on top of `theirs`, the record another tab saved meanwhile.
pub fn merge_image(
    base: Option<&ImageAnnotations>,
    ours: &ImageAnnotations,
    theirs: &ImageAnnotations,
) -> ImageAnnotations {
    let empty = ImageAnnotations::new(ours.image_path.clone(), None);
    let base = base.unwrap_or(&empty);
    let shapes: Vec<Shape> = merge_lists(&base.shapes, &ours.shapes, &theirs.shapes);
    ImageAnnotations {
        image_path: ours.image_path.clone(),
        image_size: ours.image_size.or(theirs.image_size),
        shapes,
        flags: merge_maps(&base.flags, &ours.flags, &theirs.flags),
        image_data: theirs
            .image_data
            .clone()
            .or_else(|| ours.image_data.clone()),
        labelme_version: theirs
            .labelme_version
            .clone()
            .or_else(|| ours.labelme_version.clone()),
        extra: merge_maps(&base.extra, &ours.extra, &theirs.extra),
        key_order: theirs.key_order.clone(),
    }
}

/// `theirs` with the keys we set or removed since `base`.
fn merge_maps(
    base: &Map<String, Value>,
    ours: &Map<String, Value>,
    theirs: &Map<String, Value>,
) -> Map<String, Value> {
    let mut merged = theirs.clone();
    for (key, value) in ours {
        if base.get(key) != Some(value) {
            merged.insert(key.clone(), value.clone());
        }
    }
    for key in base.keys() {
        if !ours.contains_key(key) {
            merged.remove(key);
        }
    }
    merged
}

/// A project's class list with our changes since `base` applied on top of `theirs`; a
/// class both tabs added is listed once.
pub fn merge_classes(base: &[String], ours: &[String], theirs: &[String]) -> Vec<String> {
    let mut merged: Vec<String> = Vec::new();
    for class in merge_lists(base, ours, theirs) {
        if !merged.contains(&class) {
            merged.push(class);
        }
    }
    merged
}
