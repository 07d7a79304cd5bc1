//! What the image list and the thumbnail grid share: which images are listed (the image
//! filter and the search by name), which have shapes, an image's thumbnail, and the
//! scrolled viewport that decides which rows are in the DOM (`core::listing`).

use std::collections::HashSet;

use leptos::html::Div;
use leptos::prelude::*;
use sightline_core::listing::name_matches;
use sightline_core::project::ImageEntry;

use crate::navigation::Navigation;
use crate::pipeline::{ImagePipeline, ThumbState};
use crate::studio::Document;

/// The project indices of the images listed: those the image filter keeps whose names match
/// the search, in project order (so a position is found by binary search).
pub fn listed_images(nav: Navigation) -> Memo<Vec<usize>> {
    Memo::new(move |_| {
        let query = nav.query.get();
        let filter = nav.filter.get();
        nav.manifest.with(|m| {
            m.iter()
                .flat_map(|m| m.images.iter().enumerate())
                .filter(|(_, e)| filter.as_ref().is_none_or(|f| f.matching.contains(&e.path)))
                .filter(|(_, e)| name_matches(&e.name, &query))
                .map(|(index, _)| index)
                .collect()
        })
    })
}

/// The listed images' count as the list header shows it: "12 of 10003" while a filter or a
/// search narrows the list, else the project's count.
pub fn listed_count_text(nav: Navigation, listed: Memo<Vec<usize>>) -> String {
    let total = nav.cursor.get().len();
    let narrowed = nav.filter.with(Option::is_some) || !nav.query.with(|q| q.trim().is_empty());
    if narrowed {
        format!("{} of {total}", listed.with(Vec::len))
    } else {
        total.to_string()
    }
}

/// The project's entries at `indices` (tracked), for the rows in the DOM.
pub fn entries_at(nav: Navigation, indices: &[usize]) -> Vec<(usize, ImageEntry)> {
    nav.manifest.with(|m| {
        let Some(m) = m else { return Vec::new() };
        indices
            .iter()
            .filter_map(|&i| Some((i, m.images.get(i)?.clone())))
            .collect()
    })
}

/// The paths of the images that have at least one shape. A memo, so that an edit that does
/// not change which images are labelled (a drag) does not touch the rows.
pub fn labelled_paths(doc: Document) -> Memo<HashSet<String>> {
    Memo::new(move |_| {
        doc.dataset.with(|d| {
            d.images
                .iter()
                .filter(|image| !image.shapes.is_empty())
                .map(|image| image.image_path.clone())
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

    /// Scrolls the element to `top` (the scroll event then updates the signals).
    pub fn scroll_to(&self, top: f64) {
        if let Some(element) = self.node.get_untracked() {
            element.set_scroll_top(top.round() as i32);
        }
    }
}
