//! The panels of the main window, one file each; `listed` holds what the image list and the
//! thumbnail grid share.

mod ai_panel;
mod canvas_view;
mod export_panel;
mod help_overlay;
mod image_grid;
mod image_list;
mod job_status;
mod labels_panel;
mod listed;
mod offline_bits;
mod perf_panel;
mod project_file_buttons;
mod project_list;
mod quality_panel;
mod settings_dialog;
mod share_dialog;
mod status_bar;
mod storage_bits;

pub use ai_panel::{AiPanel, label_images};
pub use canvas_view::CanvasView;
pub use export_panel::ExportPanel;
pub use help_overlay::HelpOverlay;
pub use image_grid::ImageGrid;
pub use image_list::ImageList;
pub use labels_panel::LabelsPanel;
pub use offline_bits::{OfflineSettings, OfflineStatus, UpdateBanner};
pub use perf_panel::PerfPanel;
pub use project_file_buttons::ProjectFileButtons;
pub use project_list::ProjectList;
pub use quality_panel::QualityPanel;
pub use settings_dialog::SettingsDialog;
pub use share_dialog::{LinkPreview, ShareButton};
pub use status_bar::StatusBar;
pub use storage_bits::{StorageSettings, StorageStatus};
