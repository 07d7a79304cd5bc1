//! What the studio tells the user outside the canvas: the notice line, the help overlay and
//! the last import report.

use leptos::prelude::*;

#[derive(Clone, Copy)]
pub struct UiState {
    /// A message for the user about the last action (an edit refused, an export).
    pub notice: RwSignal<Option<String>>,
    pub help_open: RwSignal<bool>,
    /// Lines of the last import report.
    pub import_report: RwSignal<Option<Vec<String>>>,
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
        }
    }

    pub fn tell(&self, message: impl Into<String>) {
        self.notice.set(Some(message.into()));
    }
}
