//! Model execution for Sightline.
//!
//! Owns loading the ONNX files that users bring (Ultralytics YOLO exports and AnyLabeling
//! model configs), running them with burn tensor ops on any burn device, and the YOLO
//! pre/post-processing that turns pixels into detections. Backends are chosen by cargo
//! features (see [`device`]); nothing here touches the browser or the terminal.
//!
//! burn 0.22 dispatches backends at run time through [`burn::tensor::Device`] (its tensors
//! carry no backend type parameter), so the engine is written once against `Tensor<D>` and
//! runs on whichever device the caller picks. On the native CPU backend, in f32, the
//! operators run hand-written kernels on the tensors' own memory where they have one; the one
//! place that chooses is the private module `ops::kernels`.
//!
//! Detections ([`Detection`]) are `sightline_core::detection::Detection`, the type the worker
//! protocol, the page and the CLI share.

pub mod detection;
pub mod detector;
pub mod device;
pub mod error;
/// The fuzz targets' bodies (`crates/vision/fuzz`), for them and for the seed replay test.
#[cfg(not(target_arch = "wasm32"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod image_io;
mod jpeg;
pub mod model_config;
pub mod npy;
pub mod onnx;
mod ops;
pub mod quality;
pub mod runtime;
pub mod yolo;

pub use detection::Detection;
pub use detector::{Detector, DetectorOptions};
pub use device::{ComputeDevice, DeviceChoice};
pub use error::{Result, VisionError};
pub use model_config::ModelConfig;
pub use runtime::value::DeviceTensor;
pub use runtime::{ModelOutput, NodeTiming, OnnxModel, Precision};

/// The CPU convolution kernels, for the benchmark that compares them layer by layer
/// (`benches/conv.rs`); not an interface of the crate.
#[cfg(not(target_arch = "wasm32"))]
#[doc(hidden)]
pub mod kernels {
    pub use crate::ops::Activation;
    pub use crate::ops::host::{ConvGeometry, ConvPath, conv2d_by};
    pub use crate::ops::kernels::Prepared;
}
