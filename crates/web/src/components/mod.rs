//! The panels of the main window, one file each.

mod canvas_view;
mod image_list;
mod labels_panel;
mod status_bar;

pub use canvas_view::CanvasView;
pub use image_list::ImageList;
pub use labels_panel::LabelsPanel;
pub use status_bar::StatusBar;
