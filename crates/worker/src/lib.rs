//! The inference web worker.
