//! The Sightline app: a Leptos client-side app in the browser.
//!
//! Owns the main window (image list, canvas, labels panel, status bar), the bridge to the
//! inference worker, and everything that touches browser APIs (fetch, image decoding,
//! canvas). Logic that needs no browser lives in `core`; burn never reaches this crate (it
//! lives in the worker), so the app shell stays small. The whole crate is browser-only and
//! compiles to nothing natively.
#![cfg(target_arch = "wasm32")]

mod ai;
mod app;
mod autosave;
mod cache_store;
mod components;
mod dataset_export;
mod download;
mod durability;
mod folder_import;
pub mod image_loader;
mod importer;
mod keyboard;
mod navigation;
mod offline;
mod pipeline;
mod project_loader;
mod project_open;
mod project_transfer;
mod quality;
mod render;
mod settings_state;
mod share_link;
pub mod storage;
pub mod studio;
mod tab_sync;
mod worker_bridge;

/// Mounts the app on `<body>`.
pub fn mount() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
