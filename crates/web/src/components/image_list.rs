//! The list of the project's images (left): search by file name, and per image a thumbnail,
//! its name, a mark when it has shapes and one with the reason when it cannot be shown, and
//! once scored its quality columns (sortable by their headers), flag and exclusion.
//!
//! Virtualised: only the rows in view (and a few each side) are in the DOM, inside a spacer
//! as high as the whole list, so a folder of 10,000 images costs what one of 30 does. The
//! open image is scrolled into view when the cursor moves.

use leptos::prelude::*;
use sightline_core::listing::list_window;

use super::listed::{QualityMarks, Thumbnail, Viewport, listed_count_text, listed_entries};
use crate::navigation::Navigation;
use crate::pipeline::ImagePipeline;
use crate::quality::Quality;
use crate::studio::{Centre, Document, UiState};

/// Height of a row in px; `.image-list li` in the stylesheet has the same.
const ROW_HEIGHT_PX: f64 = 36.0;
/// Rows rendered above and below those in view, so a fast scroll shows rows, not a gap.
const OVERSCAN_ROWS: usize = 8;

#[component]
pub fn ImageList() -> impl IntoView {
    let nav = expect_context::<Navigation>();
    let doc = expect_context::<Document>();
    let ui = expect_context::<UiState>();
    let pipeline = expect_context::<ImagePipeline>();
    let quality = expect_context::<Quality>();
    let listed = nav.listed;
    let scored = move || quality.scores.with(|s| !s.is_empty());
    let labelled = doc.labelled;
    let viewport = Viewport::new();

    let window = Memo::new(move |_| {
        list_window(
            listed.with(Vec::len),
            ROW_HEIGHT_PX,
            viewport.scroll_top.get(),
            viewport.height.get(),
            OVERSCAN_ROWS,
        )
    });
    let rows = move || {
        let window = window.get();
        // A sort changes only the order: the window stays, the rows must follow.
        nav.order.track();
        listed_entries(nav, window.first, window.end)
    };
    viewport.follow_cursor(nav, ROW_HEIGHT_PX, || 1);

    let grid_shown = move || ui.centre.get() == Centre::Grid;
    view! {
        <nav class="image-list" aria-label="Images">
            <header>
                <span>"Images"</span>
                <span class="count" data-testid="image-count">
                    {move || listed_count_text(nav)}
                </span>
                <button class="view-toggle" data-testid="toggle-grid"
                    class:active=grid_shown
                    aria-pressed=move || grid_shown().to_string()
                    title=move || if grid_shown() { "Back to the canvas (G)" } else { "Thumbnail grid (G)" }
                    on:click=move |_| ui.toggle_centre()>
                    "▦"
                </button>
            </header>
            <input type="search" class="image-search" data-testid="image-search"
                placeholder="Search by name" aria-label="Search images by name"
                prop:value=move || nav.query.get()
                on:input=move |event| nav.query.set(event_target_value(&event)) />
            <Show when=scored>
                <div class="metric-header" data-testid="metric-header">
                    <For each=move || quality.columns.get() key=|m| *m let:metric>
                        <button class="sort" data-testid="sort-by" data-metric=metric.name()
                            title=format!("Sort by {} (again: reverse)", metric.name())
                            class:active=move || quality.sort.get().is_some_and(|(m, _)| m == metric)
                            on:click=move |_| quality.sort.update(|sort| {
                                *sort = match *sort {
                                    Some((m, descending)) if m == metric => Some((m, !descending)),
                                    _ => Some((metric, !metric.higher_is_better())),
                                };
                            })>
                            {metric.label()}
                            {move || match quality.sort.get() {
                                Some((m, true)) if m == metric => " ▾",
                                Some((m, false)) if m == metric => " ▴",
                                _ => "",
                            }}
                        </button>
                    </For>
                </div>
            </Show>
            <Show when=move || nav.project_error.with(Option::is_some)>
                <p class="error" role="alert">{move || nav.project_error.get()}</p>
            </Show>
            <div class="rows" node_ref=viewport.node on:scroll=move |_| viewport.measure()>
                <div class="spacer" style:height=move || format!("{}px", window.get().total_px)>
                    <ol style:transform=move || format!("translateY({}px)", window.get().offset_px)>
                        <For each=rows key=|(position, index, entry)| (*position, *index, entry.path.clone()) let:((_position, index, entry))>
                            {
                                let path = entry.path.clone();
                                let labelled_path = entry.path.clone();
                                let name = entry.name.clone();
                                let problem = Memo::new(move |_| pipeline.problem(&path));
                                view! {
                                    <li data-testid="image-item" data-index=index
                                        class:current=move || nav.cursor.get().index() == Some(index)
                                        class:bad=move || problem.with(Option::is_some)
                                        aria-current=move || {
                                            (nav.cursor.get().index() == Some(index)).then_some("true")
                                        }
                                        on:click=move |_| nav.cursor.update(|c| *c = c.go_to(index))
                                        title=name.clone()
                                    >
                                        <Thumbnail entry=entry.clone() />
                                        <span class="name">{name.clone()}</span>
                                        <Show when=move || labelled.with(|l| l.contains(&labelled_path))>
                                            <span class="labelled" title="Has shapes" data-testid="labelled-mark">"●"</span>
                                        </Show>
                                        {move || problem.get().map(|reason| view! {
                                            <span class="problem" title=reason data-testid="image-problem">"⚠"</span>
                                        })}
                                        <QualityMarks path=entry.path.clone() metrics=quality.columns />
                                    </li>
                                }
                            }
                        </For>
                    </ol>
                </div>
            </div>
        </nav>
    }
}
