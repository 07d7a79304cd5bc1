//! Pure logic of Sightline, shared by the browser app, the worker and the CLI.
//!
//! Owns the annotation model ([`annotation`]), a model's detections and the rules that
//! turn them into shapes and filter images by them ([`detection`]), the dataset formats
//! ([`formats`]), geometry ([`geometry`]) and the coordinate spaces of the canvas
//! ([`view`]), the undo/redo history of edits ([`history`]), the canvas editor's pointer
//! and key state machine ([`interaction`]), the image list of a project ([`project`]) and
//! the arithmetic of showing long lists of it ([`listing`]), the merge of two tabs'
//! edits of one record ([`merge`]), a whole project as one file
//! ([`project_file`]), the policy of the two-tier decoded-image cache ([`image_cache`]), the
//! checks that give a bad image file its reason ([`image_check`]), what the user is told
//! about the browser keeping their data ([`durability`]), named timing spans and their
//! percentiles ([`timing`]), and quantities written for people ([`units`]).
//! It knows no tensors, no browser and no terminal, so everything here is tested with plain
//! `cargo test` and compiles for `wasm32-unknown-unknown` as well.

pub mod annotation;
pub mod detection;
pub mod duplicates;
pub mod durability;
pub mod editing;
pub mod formats;
/// The fuzz targets' bodies (`crates/core/fuzz`), for them and for the seed replay test.
#[cfg(not(target_arch = "wasm32"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod geometry;
pub mod history;
pub mod image_cache;
pub mod image_check;
pub mod interaction;
pub mod listing;
pub mod merge;
pub mod project;
pub mod project_file;
pub mod quality;
pub mod share;
pub mod timing;
pub mod units;
pub mod view;
