//! What the image list and the thumbnail grid share: the count of the listed images
//! (`Navigation::listed`), their entries, an image's thumbnail, and the scrolled viewport
//! that decides which rows are in the DOM (`core::listing`).

use leptos::html::Div;
use leptos::prelude::*;
use sightline_core::listing::scroll_into_view;
use sightline_core::project::ImageEntry;
use sightline_core::quality::Metric;

use crate::navigation::Navigation;
use crate::pipeline::{ImagePipeline, ThumbState};
use crate::quality::Quality;

/// The listed images' count as the list header shows it: "12 of 10003" while a filter or a
/// search narrows the list, else the project's count.
pub fn listed_count_text(nav: Navigation) -> String {
    let total = nav.cursor.get().len();
    let narrowed = nav.filter.with(Option::is_some)
        || nav.keep.with(Option::is_some)
        || !nav.query.with(|q| q.trim().is_empty());
    if narrowed {
        format!("{} of {total}", nav.listed.with(Vec::len))
    } else {
        total.to_string()
    }
}

/// The listed images at positions `first..end` of the listing, with their positions and
/// project indices (tracked): the rows or tiles in the DOM. Rows are keyed by all three, so a
/// new order (a sort) makes new rows rather than moving old ones.
pub fn listed_entries(
    nav: Navigation,
    first: usize,
    end: usize,
) -> Vec<(usize, usize, ImageEntry)> {
    nav.listed.with(|listed| {
        nav.manifest.with(|m| {
            let Some(m) = m else { return Vec::new() };
            let first = first.min(end);
            listed[first..end.min(listed.len())]
                .iter()
                .enumerate()
                .filter_map(|(offset, &i)| Some((first + offset, i, m.images.get(i)?.clone())))
                .collect()
        })
    })
}

/// An image's thumbnail: the picture when made, a placeholder while it is being made, a
/// mark with the reason when it cannot be.
#[component]
pub fn Thumbnail(entry: ImageEntry) -> impl IntoView {
    let pipeline = expect_context::<ImagePipeline>();
    // A memo: other images' thumbnails arriving leave this one's DOM alone.
    let thumbnail = pipeline.thumbnail(&entry);
    let state = Memo::new(move |_| thumbnail.get());
    move || match state.get() {
        ThumbState::Ready(url) => view! {
            <img class="thumb" src=url alt="" decoding="async" draggable="false" />
        }
        .into_any(),
        ThumbState::Pending => {
            view! { <span class="thumb pending" aria-hidden="true"></span> }.into_any()
        }
        ThumbState::Failed(reason) => view! {
            <span class="thumb failed" title=reason aria-hidden="true">"!"</span>
        }
        .into_any(),
    }
}

/// What the quality panel knows of an image, for its row or tile: a flag, an exclusion from
/// export (with the reason as its title) and the values of `metrics`.
#[component]
pub fn QualityMarks(path: String, #[prop(into)] metrics: Signal<Vec<Metric>>) -> impl IntoView {
    let quality = expect_context::<Quality>();
    let curation_path = path.clone();
    let record = Memo::new(move |_| quality.curation.with(|c| c.get(&curation_path).cloned()));
    let values = move || {
        let scores = quality
            .scores
            .with(|s| s.get(&path).cloned())
            .unwrap_or_default();
        metrics
            .get()
            .into_iter()
            .filter_map(|m| Some((m, *scores.get(&m)?)))
            .map(|(metric, value)| {
                view! {
                    <span class="metric" data-testid="metric-value" data-metric=metric.name()
                        data-value=value.to_string() title=metric.label()>
                        {format_score(value)}
                    </span>
                }
            })
            .collect_view()
    };
    view! {
        {values}
        {move || record.get().filter(|r| r.flagged).map(|_| view! {
            <span class="flag" title="Flagged" data-testid="flag-mark">"⚑"</span>
        })}
        {move || record.get().and_then(|r| r.excluded).map(|reason| view! {
            <span class="excluded" title=format!("Left out of exports: {reason}") data-testid="excluded-mark">"⊘"</span>
        })}
    }
}

/// A score in three significant digits, as a column shows it.
pub fn format_score(value: f64) -> String {
    match value.abs() {
        v if v >= 100.0 => format!("{value:.0}"),
        v if v >= 10.0 => format!("{value:.1}"),
        _ => format!("{value:.2}"),
    }
}

/// A scrolled element's position and size, read on scroll, on window resize and when it
/// appears; the windows of `core::listing` are computed from these.
#[derive(Clone, Copy)]
pub struct Viewport {
    pub node: NodeRef<Div>,
    pub scroll_top: RwSignal<f64>,
    pub width: RwSignal<f64>,
    pub height: RwSignal<f64>,
}

impl Default for Viewport {
    fn default() -> Self {
        Self::new()
    }
}

impl Viewport {
    /// A viewport for the element `node` will name, measured once it is in the DOM and on
    /// every window resize (until the calling component is dropped).
    pub fn new() -> Self {
        let viewport = Self {
            node: NodeRef::new(),
            scroll_top: RwSignal::new(0.0),
            width: RwSignal::new(0.0),
            height: RwSignal::new(0.0),
        };
        Effect::new(move || {
            if viewport.node.get().is_some() {
                viewport.measure();
            }
        });
        let resize = window_event_listener(leptos::ev::resize, move |_| viewport.measure());
        on_cleanup(move || resize.remove());
        viewport
    }

    /// Reads the element's scroll position and size (signals change only when they do).
    pub fn measure(&self) {
        let Some(element) = self.node.get_untracked() else {
            return;
        };
        let set = |signal: RwSignal<f64>, value: i32| {
            let value = f64::from(value);
            if signal.get_untracked() != value {
                signal.set(value);
            }
        };
        set(self.scroll_top, element.scroll_top());
        set(self.width, element.client_width());
        set(self.height, element.client_height());
    }

    /// Keeps the open image in view as the cursor moves (A/D, a click in the other view):
    /// rows of `per_row()` listed images, `pitch` px apart.
    pub fn follow_cursor(self, nav: Navigation, pitch: f64, per_row: impl Fn() -> usize + 'static) {
        Effect::new(move || {
            let Some(index) = nav.cursor.get().index() else {
                return;
            };
            let Some(position) = nav
                .listed
                .with_untracked(|l| l.iter().position(|&i| i == index))
            else {
                return;
            };
            self.measure();
            let top = self.scroll_top.get_untracked();
            let row = position / per_row().max(1);
            let target = scroll_into_view(row, pitch, top, self.height.get_untracked());
            if target != top {
                self.scroll_to(target);
            }
        });
    }

    /// Scrolls the element to `top` (the scroll event then updates the signals).
    pub fn scroll_to(&self, top: f64) {
        if let Some(element) = self.node.get_untracked() {
            element.set_scroll_top(top.round() as i32);
        }
    }
}
