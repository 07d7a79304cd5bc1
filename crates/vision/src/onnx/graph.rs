//! The decoded graph: nodes in execution order, constant tensors and metadata, with
//! protobuf details (wire types, data locations) already resolved.

use std::collections::HashMap;

/// A constant tensor kept on the host: weights before upload, shapes, axes, scales.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: HostData,
}

/// Element storage of a [`HostTensor`]: floats (f16/f64 widened or narrowed to f32) or
/// integers (i32/bool widened to i64).
#[derive(Debug, Clone, PartialEq)]
pub enum HostData {
    /// Floating point values.
    F32(Vec<f32>),
    /// Integer values.
    I64(Vec<i64>),
}

impl HostTensor {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.data {
            HostData::F32(values) => values.len(),
            HostData::I64(values) => values.len(),
        }
    }

    /// True when the tensor holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as integers (floats are truncated, as ONNX casts do).
    pub fn to_i64(&self) -> Vec<i64> {
        match &self.data {
            HostData::F32(values) => values.iter().map(|&v| v as i64).collect(),
            HostData::I64(values) => values.clone(),
        }
    }

    /// The values as floats.
    pub fn to_f32(&self) -> Vec<f32> {
        match &self.data {
            HostData::F32(values) => values.clone(),
            HostData::I64(values) => values.iter().map(|&v| v as f32).collect(),
        }
    }
}

/// A node attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum Attribute {
    /// `INT`.
    Int(i64),
    /// `FLOAT`.
    Float(f32),
    /// `INTS`.
    Ints(Vec<i64>),
    /// `FLOATS`.
    Floats(Vec<f32>),
    /// `STRING` (lossy UTF-8).
    String(String),
    /// `TENSOR`.
    Tensor(HostTensor),
    /// Any other attribute type (graphs, sparse tensors, ...), kept only by name.
    Other,
}

/// One operator call.
#[derive(Debug, Clone)]
pub struct Node {
    /// The node's name, or its first output when the file leaves it empty.
    pub name: String,
    /// ONNX operator type, e.g. `Conv`.
    pub op_type: String,
    /// Input value names; an empty string is an omitted optional input.
    pub inputs: Vec<String>,
    /// Output value names.
    pub outputs: Vec<String>,
    /// Attributes by name.
    pub attributes: HashMap<String, Attribute>,
}

/// A declared graph input or output.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueDecl {
    /// Value name.
    pub name: String,
    /// Declared dimensions; `None` for symbolic or missing ones.
    pub shape: Vec<Option<usize>>,
}

/// A whole decoded model.
#[derive(Debug, Clone)]
pub struct Graph {
    /// Version of the default (`ai.onnx`) operator set.
    pub opset: i64,
    /// Runtime inputs (initializers excluded).
    pub inputs: Vec<ValueDecl>,
    /// Graph outputs in declaration order.
    pub outputs: Vec<ValueDecl>,
    /// Nodes in execution (topological) order.
    pub nodes: Vec<Node>,
    /// Named constants: weights and other initializers.
    pub initializers: Vec<(String, HostTensor)>,
    /// `metadata_props` as written by the exporter.
    pub metadata: Vec<(String, String)>,
}

impl Graph {
    /// The metadata value for `key`, if any.
    pub fn metadata_value(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}
