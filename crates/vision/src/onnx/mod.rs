//! ONNX files: the protobuf schema subset, decoding, and the decoded graph.
//!
//! Decoding is done here with `prost` rather than with burn's `onnx-ir` crate: `onnx-ir`
//! rewrites the graph (constant lifting, fusion, shape-typed values) for code generation,
//! which hides the original node names and operators that our errors must report, and it
//! pulls in a second protobuf runtime and regex. The YOLO graphs need only the raw nodes,
//! initializers and metadata, which ~150 lines of message definitions give us.

mod graph;
mod parse;
pub(crate) mod proto;

pub use graph::{Attribute, Graph, HostData, HostTensor, Node, ValueDecl};
pub use parse::parse_onnx;
