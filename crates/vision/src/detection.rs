//! The result type of a detector: one object found in an image, in original-image pixels.

use serde::{Deserialize, Serialize};

/// One detected object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Index into the model's class list.
    pub class_id: usize,
    /// The class's name (from the model config or the ONNX metadata).
    pub class_name: String,
    /// Confidence in `[0, 1]`.
    pub score: f32,
    /// `[x1, y1, x2, y2]` in original-image pixels, clipped to the image.
    pub bbox_in_image: [f32; 4],
    /// Outline of the instance mask in original-image pixels (segmentation models only).
    pub polygon_in_image: Option<Vec<[f32; 2]>>,
}
