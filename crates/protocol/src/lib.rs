//! The messages that cross the boundary between the page and the inference worker.
