//! The panels of the main window, one file each.

mod ai_panel;
mod canvas_view;
mod export_panel;
mod help_overlay;
mod image_list;
mod labels_panel;
mod project_list;
mod status_bar;

pub use ai_panel::{AiPanel, label_images};
pub use canvas_view::CanvasView;
pub use export_panel::ExportPanel;
pub use help_overlay::HelpOverlay;
pub use image_list::ImageList;
pub use labels_panel::LabelsPanel;
pub use project_list::ProjectList;
pub use status_bar::StatusBar;
