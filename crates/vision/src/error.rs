//! The one error type of the vision crate: every way a user's model, image or config can be
//! wrong, in words that say what to do.

/// Everything that can go wrong while loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    /// The bytes are not an ONNX protobuf (wrong file, truncated download, ...).
    #[error("not a valid ONNX model (the file may be truncated or not ONNX at all): {0}")]
    NotOnnx(String),
    /// The protobuf decoded but the model is not usable (no graph, missing initializer, ...).
    #[error("invalid ONNX model: {0}")]
    InvalidModel(String),
    /// A node uses an operator this engine does not implement.
    #[error("unsupported ONNX operator `{op_type}` in node `{node}`")]
    UnsupportedOp {
        /// The ONNX `op_type`.
        op_type: String,
        /// The node's name (or its first output when unnamed).
        node: String,
    },
    /// A supported operator used with attributes or inputs this engine does not handle.
    #[error("node `{node}` ({op_type}): {message}")]
    BadNode {
        /// The ONNX `op_type`.
        op_type: String,
        /// The node's name (or its first output when unnamed).
        node: String,
        /// What is wrong.
        message: String,
    },
    /// The input given to `forward` does not fit the model.
    #[error("bad model input: {0}")]
    BadInput(String),
    /// The image could not be decoded.
    #[error("cannot decode image: {0}")]
    Image(String),
    /// An AnyLabeling model config could not be read.
    #[error("bad model config: {0}")]
    Config(String),
    /// A `.npy` array could not be read or written.
    #[error("bad .npy data: {0}")]
    Npy(String),
    /// The model outputs do not look like a YOLO detector of a known kind.
    #[error("unexpected model outputs: {0}")]
    Outputs(String),
    /// A quality metric cannot score these images (unknown name, sizes differ, ...).
    #[error("{0}")]
    Quality(String),
    /// The backend failed (device lost, out of memory, ...).
    #[error("backend error: {0}")]
    Backend(String),
    /// A reduced precision changes the model's detections, so it is not used.
    #[error("reduced precision refused: {0}")]
    Precision(String),
    /// A file could not be read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        message: String,
    },
}

/// Short alias used throughout the crate.
pub type Result<T, E = VisionError> = std::result::Result<T, E>;

// Keep errors cheap to move around.
const _: () = assert!(std::mem::size_of::<VisionError>() <= 80);
