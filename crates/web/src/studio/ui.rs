//! What the studio tells the user outside the canvas: the notice line, the help overlay,
//! the last import report, what the centre shows, and the performance and settings panels.

use leptos::prelude::*;

/// What fills the centre of the window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Centre {
    /// The open image on the canvas, to label.
    #[default]
    Canvas,
    /// Thumbnails of the listed images, to find one.
    Grid,
}

impl Centre {
    pub fn toggled(self) -> Self {
        match self {
            Centre::Canvas => Centre::Grid,
            Centre::Grid => Centre::Canvas,
        }
    }
}

#[derive(Clone, Copy)]
pub struct UiState {
    /// A message for the user about the last action (an edit refused, an export).
    pub notice: RwSignal<Option<String>>,
    pub help_open: RwSignal<bool>,
    /// Lines of the last import report.
    pub import_report: RwSignal<Option<Vec<String>>>,
    pub centre: RwSignal<Centre>,
    pub perf_open: RwSignal<bool>,
    pub settings_open: RwSignal<bool>,
}

impl Default for UiState {
    fn default() -> Self {
        Self::new()
    }
}

impl UiState {
    pub fn new() -> Self {
        Self {
            notice: RwSignal::new(None),
            help_open: RwSignal::new(false),
            import_report: RwSignal::new(None),
            centre: RwSignal::new(Centre::Canvas),
            perf_open: RwSignal::new(false),
            settings_open: RwSignal::new(false),
        }
    }

    pub fn tell(&self, message: impl Into<String>) {
        self.notice.set(Some(message.into()));
    }

    /// Switches the centre between the canvas and the thumbnail grid (key G).
    pub fn toggle_centre(&self) {
        self.centre.update(|centre| *centre = centre.toggled());
    }
}
