//! The canvas view: zoom and pan, the canvas size, and the transform they make.
//!
//! The transform in force is a pure function of this state ([`ViewState::transform`]):
//! pointer handlers and drawing both read it, so the order in which redraws land cannot
//! change what is shown or where a press lands.

use leptos::prelude::*;
use sightline_core::view::{Size, ViewTransform};

#[derive(Clone, Copy)]
pub struct ViewState {
    /// The zoom and pan; `None` fits the image to the view.
    pub zoom: RwSignal<Option<ViewTransform>>,
    /// The canvas size in CSS pixels.
    pub view_size: RwSignal<Size>,
    /// The open image's size, while one is shown.
    pub image_size: Signal<Option<Size>>,
}

impl ViewState {
    pub fn new(image_size: Signal<Option<Size>>) -> Self {
        Self {
            zoom: RwSignal::new(None),
            view_size: RwSignal::new(Size::new(0.0, 0.0)),
            image_size,
        }
    }

    /// The image-to-view transform in force (untracked), or `None` without an image.
    pub fn transform(&self) -> Option<ViewTransform> {
        let image_size = self.image_size.get_untracked()?;
        Some(
            self.zoom
                .get_untracked()
                .unwrap_or_else(|| ViewTransform::fit(image_size, self.view_size.get_untracked())),
        )
    }

    /// Fits the image to the view.
    pub fn fit(&self) {
        self.zoom.set(None);
    }
}
