//! The arithmetic of long image lists: which rows of a virtualised list or grid to put in
//! the DOM, search by file name, "next unlabelled"-style moves, and scrolling a row into
//! view.
//!
//! A project may hold tens of thousands of images; rendering a row for each makes every
//! update cost seconds. The list and the grid render only the rows these functions name,
//! positioned by `offset_px` inside a spacer `total_px` high. Pure so that the edge cases
//! (empty lists, scroll past the end after the list shrank, partial rows) are tested here.

/// The rows of a virtualised list to render.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VirtualWindow {
    /// First row to render.
    pub first: usize,
    /// One past the last row to render (`first <= end <= count`).
    pub end: usize,
    /// Where row `first` starts, from the top of the list.
    pub offset_px: f64,
    /// The height of the whole list.
    pub total_px: f64,
}

/// Rows [first, end) to put in the DOM for a list of `count` rows of `row_height` px scrolled
/// to `scroll_top` in a viewport `viewport_height` high, plus `overscan` rows each side (so
/// that a fast scroll shows rows, not blank space, before the next render). A scroll past
/// the end (the list just shrank) is read as scrolled to the end, as the browser will clamp
/// it.
pub fn list_window(
    count: usize,
    row_height: f64,
    scroll_top: f64,
    viewport_height: f64,
    overscan: usize,
) -> VirtualWindow {
    let total_px = count as f64 * row_height.max(0.0);
    // A zero, negative or NaN height (a list not laid out yet) shows nothing.
    let laid_out = row_height.is_finite() && row_height > 0.0;
    if count == 0 || !laid_out {
        return VirtualWindow {
            first: 0,
            end: 0,
            offset_px: 0.0,
            total_px,
        };
    }
    let viewport_height = finite_or_zero(viewport_height).max(0.0);
    let scroll_top = finite_or_zero(scroll_top).clamp(0.0, (total_px - viewport_height).max(0.0));
    let first_visible = ((scroll_top / row_height).floor() as usize).min(count - 1);
    let end_visible = (((scroll_top + viewport_height) / row_height).ceil() as usize)
        .clamp(first_visible + 1, count);
    let first = first_visible.saturating_sub(overscan);
    let end = end_visible.saturating_add(overscan).min(count);
    VirtualWindow {
        first,
        end,
        offset_px: first as f64 * row_height,
        total_px,
    }
}

fn finite_or_zero(value: f64) -> f64 {
    if value.is_finite() { value } else { 0.0 }
}

/// The cells of a virtualised grid to render.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GridWindow {
    /// Cells per row (at least 1).
    pub columns: usize,
    /// First cell to render: the first of its row.
    pub first: usize,
    /// One past the last cell to render (`first <= end <= count`).
    pub end: usize,
    /// Where the row of cell `first` starts, from the top of the grid.
    pub offset_px: f64,
    /// The height of the whole grid.
    pub total_px: f64,
}

/// Like [`list_window`] for a grid of square cells `cell` px (tile and gap) filling rows of a
/// viewport `viewport_width` wide, with `overscan_rows` whole rows each side.
pub fn grid_window(
    count: usize,
    cell: f64,
    viewport_width: f64,
    scroll_top: f64,
    viewport_height: f64,
    overscan_rows: usize,
) -> GridWindow {
    let columns = if cell > 0.0 && viewport_width.is_finite() {
        ((viewport_width / cell).floor() as usize).max(1)
    } else {
        1
    };
    let rows = count.div_ceil(columns);
    let window = list_window(rows, cell, scroll_top, viewport_height, overscan_rows);
    GridWindow {
        columns,
        first: (window.first * columns).min(count),
        end: (window.end * columns).min(count),
        offset_px: window.offset_px,
        total_px: window.total_px,
    }
}

/// Whether `name` matches a search: case-insensitive, every whitespace-separated term of
/// `query` must occur in `name` (in any order). An empty query matches every name.
pub fn name_matches(name: &str, query: &str) -> bool {
    let name = name.to_lowercase();
    query
        .split_whitespace()
        .all(|term| name.contains(&term.to_lowercase()))
}

/// Where `from` falls in `listed` (the listed indices in display order): the positions of
/// the first listed index after it and one past the last listed index before it. In project
/// order (ascending) `from` need not be listed (the open image may be filtered out) and
/// falls between its neighbours; in another order (sorted by a score) an unlisted `from`
/// has no place, and lies before the first and after the last, as `None` does.
fn split_at(listed: &[usize], from: Option<usize>) -> (usize, usize) {
    let Some(from) = from else {
        return (0, listed.len());
    };
    if listed.is_sorted() {
        return (
            listed.partition_point(|&i| i <= from),
            listed.partition_point(|&i| i < from),
        );
    }
    match listed.iter().position(|&i| i == from) {
        Some(at) => (at + 1, at),
        None => (0, listed.len()),
    }
}

/// The nearest listed index after (`forward`) or before `from` satisfying `pred`, without
/// wrapping around. `listed` holds the listed indices in display order (what the filters and
/// the search keep, in project order or sorted by a score), `from` is the open image's.
pub fn next_listed(
    listed: &[usize],
    from: Option<usize>,
    forward: bool,
    pred: impl Fn(usize) -> bool,
) -> Option<usize> {
    let (after, before) = split_at(listed, from);
    if forward {
        listed[after..].iter().copied().find(|&i| pred(i))
    } else {
        listed[..before].iter().rev().copied().find(|&i| pred(i))
    }
}

/// Up to `depth` listed indices on each side of `from`, nearest first, alternating forward
/// and back: what to prefetch.
pub fn around(listed: &[usize], from: usize, depth: usize) -> Vec<usize> {
    let (after, before) = split_at(listed, Some(from));
    let mut ahead = listed[after..].iter().take(depth);
    let mut behind = listed[..before].iter().rev().take(depth);
    let mut order = Vec::with_capacity(depth * 2);
    for _ in 0..depth {
        order.extend(ahead.next());
        order.extend(behind.next());
    }
    order
}

/// The `scroll_top` that brings row `index` fully into view, moving as little as possible:
/// unchanged when it is visible already, else aligning its top or bottom edge with the
/// viewport's. A row taller than the viewport is aligned by its top.
pub fn scroll_into_view(
    index: usize,
    row_height: f64,
    scroll_top: f64,
    viewport_height: f64,
) -> f64 {
    let top = index as f64 * row_height;
    let bottom = top + row_height;
    if top < scroll_top {
        top
    } else if bottom > scroll_top + viewport_height {
        (bottom - viewport_height).min(top)
    } else {
        scroll_top
    }
}
