//! YOLO pre- and post-processing shared by every model kind: letterbox, head decoding, NMS,
//! masks and polygons.

pub mod contour;
pub mod decode;
pub mod letterbox;
pub mod mask;
pub mod names;
pub mod nms;
