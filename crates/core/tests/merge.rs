//! Two tabs' edits of one image: whatever either did survives the merge.

use proptest::prelude::*;
use serde_json::json;
use sightline_core::annotation::{ImageAnnotations, Shape};
use sightline_core::merge::{merge_classes, merge_image, merge_lists};
use sightline_core::view::Point;

fn rect(label: &str, x: f64) -> Shape {
    Shape::rectangle(label, Point::new(x, 1.0), Point::new(x + 10.0, 11.0))
}

fn image(shapes: Vec<Shape>) -> ImageAnnotations {
    ImageAnnotations {
        shapes,
        ..ImageAnnotations::new("a.jpg", None)
    }
}

#[test]
fn both_tabs_add_a_shape_to_the_same_image_and_both_stay() {
    let base = image(vec![rect("cat", 0.0), rect("dog", 20.0)]);
    let mut ours = base.clone();
    ours.shapes.push(rect("ours", 40.0));
    let mut theirs = base.clone();
    theirs.shapes.push(rect("theirs", 60.0));

    let merged = merge_image(Some(&base), &ours, &theirs);
    let labels: Vec<&str> = merged.shapes.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["cat", "dog", "theirs", "ours"]);
}

#[test]
fn our_deletion_and_move_apply_to_their_record() {
    let base = image(vec![rect("cat", 0.0), rect("dog", 20.0), rect("cow", 30.0)]);
    // We deleted the dog and moved the cow.
    let ours = image(vec![rect("cat", 0.0), rect("cow", 35.0)]);
    // They added a bird.
    let mut theirs = base.clone();
    theirs.shapes.push(rect("bird", 80.0));

    let merged = merge_image(Some(&base), &ours, &theirs);
    assert_eq!(
        merged.shapes,
        vec![rect("cat", 0.0), rect("bird", 80.0), rect("cow", 35.0)]
    );
}

#[test]
fn a_shape_both_tabs_changed_differently_is_kept_in_both_versions() {
    let base = image(vec![rect("cat", 0.0)]);
    let ours = image(vec![rect("cat", 5.0)]);
    let theirs = image(vec![rect("cat", 9.0)]);
    let merged = merge_image(Some(&base), &ours, &theirs);
    assert_eq!(merged.shapes, vec![rect("cat", 9.0), rect("cat", 5.0)]);
}

#[test]
fn a_tab_that_never_saw_a_record_adds_its_shapes_to_it() {
    let ours = image(vec![rect("ours", 0.0)]);
    let theirs = image(vec![rect("theirs", 50.0)]);
    let merged = merge_image(None, &ours, &theirs);
    assert_eq!(merged.shapes, vec![rect("theirs", 50.0), rect("ours", 0.0)]);
}

#[test]
fn flags_we_changed_win_and_theirs_stay() {
    let mut base = image(vec![]);
    base.flags.insert("blurry".into(), json!(false));
    base.flags.insert("night".into(), json!(true));
    let mut ours = base.clone();
    ours.flags.insert("blurry".into(), json!(true));
    ours.flags.remove("night");
    let mut theirs = base.clone();
    theirs.flags.insert("indoor".into(), json!(true));

    let merged = merge_image(Some(&base), &ours, &theirs);
    assert_eq!(merged.flags.get("blurry"), Some(&json!(true)));
    assert_eq!(merged.flags.get("indoor"), Some(&json!(true)));
    assert!(!merged.flags.contains_key("night"));
}

#[test]
fn equal_shapes_count_as_two() {
    // Two identical boxes, we removed one: theirs keeps the other.
    let merged = merge_lists(&[1, 1, 2], &[1, 2], &[1, 1, 2, 3]);
    assert_eq!(merged, [1, 2, 3]);
}

#[test]
fn classes_both_tabs_added_are_listed_once() {
    let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    let merged = merge_classes(
        &s(&["cat", "dog"]),
        &s(&["cat", "dog", "bird", "fish"]),
        &s(&["cat", "bird", "cow"]),
    );
    assert_eq!(merged, s(&["cat", "bird", "cow", "fish"]));
}

proptest! {
    /// Whatever each side did to a common base, the merge holds every item either side
    /// added, drops every copy either side removed, and equals the other side when one
    /// side changed nothing.
    #[test]
    fn no_edit_of_either_side_is_lost(
        base in prop::collection::vec(0u8..6, 0..8),
        our_removals in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        our_additions in prop::collection::vec(6u8..12, 0..4),
        their_removals in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        their_additions in prop::collection::vec(12u8..18, 0..4),
    ) {
        let edit = |removals: &[prop::sample::Index], additions: &[u8]| {
            let mut list = base.clone();
            for index in removals {
                if !list.is_empty() {
                    list.remove(index.index(list.len()));
                }
            }
            list.extend_from_slice(additions);
            list
        };
        let ours = edit(&our_removals, &our_additions);
        let theirs = edit(&their_removals, &their_additions);
        let merged = merge_lists(&base, &ours, &theirs);

        let count = |side: &[u8], item: &u8| side.iter().filter(|x| *x == item).count();
        for item in our_additions.iter().chain(&their_additions) {
            // Added items are not in the base: every copy either side added is there.
            prop_assert_eq!(count(&merged, item), count(&ours, item) + count(&theirs, item));
        }
        for item in &base {
            // A base item stays as often as neither side removed it.
            let expected = (count(&ours, item) + count(&theirs, item)).saturating_sub(count(&base, item));
            prop_assert_eq!(count(&merged, item), expected);
        }
        prop_assert_eq!(merge_lists(&base, &base, &theirs), theirs.clone());
        let mut ours_sorted = merge_lists(&base, &ours, &base);
        let mut expected = ours.clone();
        ours_sorted.sort_unstable();
        expected.sort_unstable();
        prop_assert_eq!(ours_sorted, expected);
    }
}
