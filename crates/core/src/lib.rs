//! Pure logic of Sightline, shared by the browser app, the worker and the CLI.
//!
//! Owns the annotation model, the dataset formats, geometry and the coordinate spaces of the
//! canvas, the undo/redo history, and the image list of a project. It knows no tensors, no
//! browser and no terminal, so everything here is tested with plain `cargo test` and compiles
//! for `wasm32-unknown-unknown` as well.

pub mod project;
pub mod view;
