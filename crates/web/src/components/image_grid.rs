//! The thumbnail grid (centre, instead of the canvas, key G): the listed images — the same
//! filter and search as the image list — as tiles with the thumbnail, the name and a mark
//! when labelled, and the value of the quality metric the list is sorted by with the image's
//! flag and exclusion; an image that cannot be shown is a tile with the reason. Clicking a
//! tile opens the image on the canvas.
//!
//! Virtualised like the list: only the rows of tiles in view (and one each side) are in the
//! DOM (`core::listing::grid_window`).

use leptos::prelude::*;
use sightline_core::listing::grid_window;

use super::listed::{QualityMarks, Thumbnail, Viewport, listed_entries};
use crate::navigation::Navigation;
use crate::pipeline::ImagePipeline;
use crate::quality::Quality;
use crate::studio::{Centre, Document, UiState};

/// Side of a tile in px; `.image-grid li` in the stylesheet has the same.
const TILE_PX: f64 = 152.0;
const GAP_PX: f64 = 8.0;
/// A tile and the gap after it: the grid's pitch both ways.
const CELL_PX: f64 = TILE_PX + GAP_PX;
/// The grid's padding, on every side.
const PADDING_PX: f64 = 8.0;
const OVERSCAN_ROWS: usize = 2;

#[component]
pub fn ImageGrid() -> impl IntoView {
    let ui = expect_context::<UiState>();
    view! {
        <Show when=move || ui.centre.get() == Centre::Grid>
            <Tiles />
        </Show>
    }
}

#[component]
fn Tiles() -> impl IntoView {
    let nav = expect_context::<Navigation>();
    let doc = expect_context::<Document>();
    let ui = expect_context::<UiState>();
    let pipeline = expect_context::<ImagePipeline>();
    let quality = expect_context::<Quality>();
    let listed = nav.listed;
    let labelled = doc.labelled;
    let viewport = Viewport::new();
    let sorted_metric =
        Signal::derive(move || quality.sort.get().map(|(m, _)| m).into_iter().collect());

    let window = Memo::new(move |_| {
        grid_window(
            listed.with(Vec::len),
            CELL_PX,
            // The last tile needs no gap after it.
            viewport.width.get() - 2.0 * PADDING_PX + GAP_PX,
            viewport.scroll_top.get(),
            viewport.height.get(),
            OVERSCAN_ROWS,
        )
    });
    let tiles = move || {
        let window = window.get();
        // A sort changes only the order: the window stays, the rows must follow.
        nav.order.track();
        listed_entries(nav, window.first, window.end)
    };
    // The grid opens on the open image's row.
    viewport.follow_cursor(nav, CELL_PX, move || window.get_untracked().columns);

    let open = move |index: usize| {
        nav.cursor.update(|c| *c = c.go_to(index));
        ui.centre.set(Centre::Canvas);
    };
    view! {
        <div class="image-grid" data-testid="image-grid" role="region" aria-label="Thumbnails"
            node_ref=viewport.node on:scroll=move |_| viewport.measure()>
            <Show when=move || listed.with(Vec::is_empty)>
                <p class="empty">"No images match."</p>
            </Show>
            <div class="spacer" style:height=move || format!("{}px", window.get().total_px)>
                <ol style:transform=move || format!("translateY({}px)", window.get().offset_px)
                    style:grid-template-columns=move || format!("repeat({}, {TILE_PX}px)", window.get().columns)>
                    <For each=tiles key=|(position, index, entry)| (*position, *index, entry.path.clone()) let:((_position, index, entry))>
                        {
                            let path = entry.path.clone();
                            let labelled_path = entry.path.clone();
                            let name = entry.name.clone();
                            let problem = Memo::new(move |_| pipeline.problem(&path));
                            view! {
                                <li data-testid="grid-tile" data-index=index
                                    class:current=move || nav.cursor.get().index() == Some(index)
                                    class:bad=move || problem.with(Option::is_some)
                                    title=name.clone()
                                    on:click=move |_| open(index)>
                                    {
                                        let entry = entry.clone();
                                        move || match problem.get() {
                                            Some(reason) => view! {
                                                <p class="reason" data-testid="tile-problem">{reason}</p>
                                            }
                                            .into_any(),
                                            None => view! { <Thumbnail entry=entry.clone() /> }.into_any(),
                                        }
                                    }
                                    <span class="caption">
                                        <span class="name">{name.clone()}</span>
                                        <Show when=move || labelled.with(|l| l.contains(&labelled_path))>
                                            <span class="labelled" title="Has shapes">"●"</span>
                                        </Show>
                                        <QualityMarks path=entry.path.clone() metrics=sorted_metric />
                                    </span>
                                </li>
                            }
                        }
                    </For>
                </ol>
            </div>
        </div>
    }
}
