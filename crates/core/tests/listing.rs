//! Virtualised list and grid windows against a row-by-row oracle, and the search, move and
//! scroll helpers of the image list.

use proptest::prelude::*;
use sightline_core::listing::{
    GridWindow, VirtualWindow, around, grid_window, list_window, name_matches, next_listed,
    scroll_into_view,
};

/// The rows a viewport at `scroll_top` shows at least a pixel of, found row by row.
fn visible_rows(count: usize, row_height: f64, scroll_top: f64, viewport: f64) -> Vec<usize> {
    (0..count)
        .filter(|&i| {
            let top = i as f64 * row_height;
            top < scroll_top + viewport && top + row_height > scroll_top
        })
        .collect()
}

proptest! {
    #[test]
    fn the_list_window_covers_the_visible_rows_and_stays_small(
        count in 0usize..5000,
        row_height in 1.0f64..80.0,
        viewport in 0.0f64..1500.0,
        at in 0.0f64..=1.0,
        overscan in 0usize..6,
    ) {
        let total = count as f64 * row_height;
        let scroll_top = at * (total - viewport).max(0.0);
        let w = list_window(count, row_height, scroll_top, viewport, overscan);
        prop_assert!(w.first <= w.end && w.end <= count, "{w:?}");
        for row in visible_rows(count, row_height, scroll_top, viewport) {
            prop_assert!(w.first <= row && row < w.end, "row {row} outside {w:?}");
        }
        let most = (viewport / row_height).ceil() as usize + 1 + 2 * overscan;
        prop_assert!(w.end - w.first <= most, "{w:?} renders more than {most}");
        prop_assert_eq!(w.offset_px, w.first as f64 * row_height);
        prop_assert_eq!(w.total_px, total);
    }

    #[test]
    fn any_scroll_position_gives_a_window_inside_the_list(
        count in 0usize..1000,
        row_height in prop_oneof![Just(0.0), Just(f64::NAN), -10.0f64..100.0],
        scroll_top in prop_oneof![Just(f64::NAN), Just(f64::INFINITY), -1e9f64..1e9],
        viewport in prop_oneof![Just(f64::NAN), -100.0f64..5000.0],
        overscan in 0usize..10,
    ) {
        let w = list_window(count, row_height, scroll_top, viewport, overscan);
        prop_assert!(w.first <= w.end && w.end <= count, "{w:?}");
        if count > 0 && row_height > 0.0 {
            prop_assert!(w.end > w.first, "a non-empty list shows a row: {w:?}");
        }
    }

    #[test]
    fn the_grid_window_covers_the_visible_cells(
        count in 0usize..5000,
        cell in 20.0f64..200.0,
        width in 0.0f64..2000.0,
        viewport in 0.0f64..1500.0,
        at in 0.0f64..=1.0,
        overscan in 0usize..3,
    ) {
        let columns = ((width / cell).floor() as usize).max(1);
        let rows = count.div_ceil(columns);
        let scroll_top = at * (rows as f64 * cell - viewport).max(0.0);
        let g = grid_window(count, cell, width, scroll_top, viewport, overscan);
        prop_assert_eq!(g.columns, columns);
        prop_assert!(g.first <= g.end && g.end <= count, "{g:?}");
        prop_assert_eq!(g.first % columns, 0, "starts a row");
        for row in visible_rows(rows, cell, scroll_top, viewport) {
            for index in row * columns..((row + 1) * columns).min(count) {
                prop_assert!(g.first <= index && index < g.end, "cell {index} outside {g:?}");
            }
        }
        prop_assert_eq!(g.offset_px, (g.first / columns) as f64 * cell);
    }

    #[test]
    fn next_listed_finds_the_nearest_listed_match_like_a_scan(
        cells in prop::collection::vec((any::<bool>(), any::<bool>()), 0..40),
        from in prop::option::of(0usize..45),
        forward in any::<bool>(),
    ) {
        let len = cells.len();
        let listed: Vec<usize> = (0..len).filter(|&i| cells[i].0).collect();
        let marked = |i: usize| cells[i].1;
        let found = next_listed(&listed, from, forward, marked);
        let wanted = |i: &usize| cells[*i].0 && marked(*i);
        let want = if forward {
            (0..len).filter(wanted).find(|&i| from.is_none_or(|f| i > f))
        } else {
            (0..len).rev().filter(wanted).find(|&i| from.is_none_or(|f| i < f))
        };
        prop_assert_eq!(found, want);
    }

    #[test]
    fn in_a_sorted_order_moves_follow_the_display_order(
        order in Just((0..30usize).collect::<Vec<_>>()).prop_shuffle(),
        keep in prop::collection::vec(any::<bool>(), 30),
        at in 0usize..30,
        forward in any::<bool>(),
    ) {
        let listed: Vec<usize> = order.into_iter().filter(|&i| keep[i]).collect();
        let even = |i: usize| i.is_multiple_of(2);
        let found = next_listed(&listed, Some(at), forward, even);
        let want = match listed.iter().position(|&i| i == at) {
            Some(p) if forward => listed[p + 1..].iter().copied().find(|&i| even(i)),
            Some(p) => listed[..p].iter().rev().copied().find(|&i| even(i)),
            // An image the filters hide has no place in a sorted list: from either end.
            None if listed.is_sorted() => found,
            None if forward => listed.iter().copied().find(|&i| even(i)),
            None => listed.iter().rev().copied().find(|&i| even(i)),
        };
        prop_assert_eq!(found, want);
    }

    #[test]
    fn around_alternates_the_nearest_listed_neighbours(
        listed_mask in prop::collection::vec(any::<bool>(), 0..40),
        from in 0usize..45,
        depth in 0usize..5,
    ) {
        let listed: Vec<usize> = (0..listed_mask.len()).filter(|&i| listed_mask[i]).collect();
        let ahead: Vec<usize> = listed.iter().copied().filter(|&i| i > from).take(depth).collect();
        let behind: Vec<usize> =
            listed.iter().rev().copied().filter(|&i| i < from).take(depth).collect();
        let mut want: Vec<usize> = Vec::new();
        for d in 0..depth {
            want.extend(ahead.get(d));
            want.extend(behind.get(d));
        }
        prop_assert_eq!(around(&listed, from, depth), want);
    }
}

#[test]
fn ten_thousand_rows_render_a_screenful() {
    let w = list_window(10_000, 24.0, 0.0, 240.0, 2);
    assert_eq!(
        w,
        VirtualWindow {
            first: 0,
            end: 12,
            offset_px: 0.0,
            total_px: 240_000.0
        }
    );
    // Scrolled half a row into row 100: rows 100..=110 show, plus two each side.
    let w = list_window(10_000, 24.0, 2412.0, 240.0, 2);
    assert_eq!((w.first, w.end, w.offset_px), (98, 113, 98.0 * 24.0));
}

#[test]
fn a_scroll_past_the_end_of_a_shrunk_list_shows_its_last_rows() {
    let w = list_window(20, 10.0, 5_000.0, 100.0, 1);
    assert_eq!((w.first, w.end), (9, 20));
    let w = list_window(0, 10.0, 5_000.0, 100.0, 1);
    assert_eq!((w.first, w.end, w.total_px), (0, 0, 0.0));
}

#[test]
fn a_grid_fills_whole_rows_of_the_viewport_width() {
    // 1000 px wide, 130 px cells: 7 columns, 143 rows.
    let g = grid_window(1000, 130.0, 1000.0, 1300.0, 520.0, 1);
    assert_eq!(
        g,
        GridWindow {
            columns: 7,
            first: 9 * 7,
            end: 15 * 7,
            offset_px: 9.0 * 130.0,
            total_px: 143.0 * 130.0
        }
    );
    // Narrower than one cell: still one column.
    assert_eq!(grid_window(3, 130.0, 50.0, 0.0, 500.0, 0).columns, 1);
}

#[test]
fn names_match_every_term_case_insensitively() {
    assert!(name_matches("Site-A/IMG_0042.JPG", "img 42"));
    assert!(name_matches("Site-A/IMG_0042.JPG", "  site-a   .jpg "));
    assert!(name_matches("anything", ""));
    assert!(!name_matches("Site-A/IMG_0042.JPG", "img 43"));
    assert!(name_matches("Ärger.png", "ä"));
}

#[test]
fn next_listed_does_not_wrap() {
    let all = [0, 1, 2, 3, 4];
    let unlabelled = [false, true, false, true, false];
    let pred = |i: usize| unlabelled[i];
    assert_eq!(next_listed(&all, Some(1), true, pred), Some(3));
    assert_eq!(next_listed(&all, Some(3), true, pred), None);
    assert_eq!(next_listed(&all, None, true, pred), Some(1));
    assert_eq!(next_listed(&all, Some(3), false, pred), Some(1));
    assert_eq!(next_listed(&all, Some(1), false, pred), None);
    assert_eq!(next_listed(&all, None, false, pred), Some(3));
    assert_eq!(next_listed(&[], None, true, pred), None);
}

#[test]
fn next_listed_steps_from_an_image_the_filter_hides() {
    // Image 2 is open but not listed: forward finds 3, back finds 1.
    let listed = [1, 3, 4];
    assert_eq!(next_listed(&listed, Some(2), true, |_| true), Some(3));
    assert_eq!(next_listed(&listed, Some(2), false, |_| true), Some(1));
    assert_eq!(around(&listed, 2, 2), vec![3, 1, 4]);
}

#[test]
fn scrolling_a_row_into_view_moves_as_little_as_possible() {
    // Rows of 20 px in a 100 px viewport scrolled to 200: rows 10..15 show.
    assert_eq!(scroll_into_view(12, 20.0, 200.0, 100.0), 200.0);
    assert_eq!(scroll_into_view(14, 20.0, 200.0, 100.0), 200.0);
    assert_eq!(scroll_into_view(15, 20.0, 200.0, 100.0), 220.0);
    assert_eq!(scroll_into_view(3, 20.0, 200.0, 100.0), 60.0);
    assert_eq!(scroll_into_view(40, 20.0, 200.0, 100.0), 720.0);
    // A row taller than the viewport: its top.
    assert_eq!(scroll_into_view(2, 300.0, 0.0, 100.0), 600.0);
}
