//! ONNX operators on burn tensors: one module per family, a dispatcher, and the shared
//! helpers that read attributes and inputs and turn every misuse into a [`VisionError`]
//! naming the node. Shapes are checked here before burn sees them, because burn treats a
//! shape mismatch as a programming error and panics.
//!
//! Where the native CPU backend runs its own kernels ([`host`]), an operator calls the
//! function of [`kernels`] for it, passing its burn code as the fallback: that module alone
//! decides which runs, owns what the host kernels keep per node, and holds their `cfg`s.

mod conv;
mod elementwise;
#[cfg(not(target_arch = "wasm32"))]
pub mod host;
pub mod kernels;
mod linalg;
mod pool;
mod resize;
mod shape;

pub(crate) use kernels::{Kernels, NodeKernels};
pub(crate) use shape::constant_value;

use burn::tensor::{Device, FloatDType};

use crate::error::{Result, VisionError};
use crate::onnx::{Attribute, HostData, HostTensor, Node};
use crate::runtime::value::{DeviceTensor, MAX_RANK, Value};

/// Operators the executor implements.
pub const SUPPORTED_OPS: &[&str] = &[
    "Conv",
    "ConvTranspose",
    "Sigmoid",
    "Mul",
    "Add",
    "Sub",
    "Div",
    "Pow",
    "Concat",
    "Split",
    "Slice",
    "Reshape",
    "Transpose",
    "MaxPool",
    "Resize",
    "Softmax",
    "MatMul",
    "Constant",
    "Identity",
];

/// True when `op_type` (default domain) is implemented.
pub fn is_supported(op_type: &str) -> bool {
    SUPPORTED_OPS.contains(&op_type)
}

/// An activation fused into the node before it (the graph's `Conv → Sigmoid → Mul` is
/// Ultralytics' SiLU; the executor runs it as one `Conv` with [`Activation::Silu`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Activation {
    /// The node's output as it is.
    #[default]
    None,
    /// `x * sigmoid(x)`.
    Silu,
}

/// How a node runs: where, and with what fused into it.
#[derive(Debug, Clone, Copy)]
pub struct Execution<'a> {
    /// The device of the tensors.
    pub device: &'a Device,
    /// The model's opset.
    pub opset: i64,
    /// The activation fused into this node.
    pub activation: Activation,
    /// The element type of the model's float tensors (f32, or f16 where enabled).
    pub float: FloatDType,
    /// The kernels this node runs with (see [`kernels`]).
    pub kernels: NodeKernels<'a>,
}

/// Runs one node on its (already resolved) inputs; `None` marks an omitted optional input.
pub fn run_node(
    node: &Node,
    inputs: Vec<Option<Value>>,
    execution: Execution<'_>,
) -> Result<Vec<Value>> {
    let ctx = NodeContext {
        node,
        inputs,
        device: execution.device,
        opset: execution.opset,
        activation: execution.activation,
        float: execution.float,
        kernels: execution.kernels,
    };
    // Empty tensors only occur in broken graphs; refusing them keeps size arithmetic sound.
    let empty = ctx
        .inputs
        .iter()
        .flatten()
        .any(|v| matches!(v, Value::Device(t) if t.shape.contains(&0)));
    if empty {
        return Err(ctx.error("an input tensor is empty"));
    }
    match node.op_type.as_str() {
        "Conv" => conv::conv(ctx),
        "ConvTranspose" => conv::conv_transpose(&ctx),
        "Sigmoid" => elementwise::sigmoid(ctx),
        "Add" | "Sub" | "Mul" | "Div" | "Pow" => elementwise::binary(&ctx),
        "Concat" => shape::concat(&ctx),
        "Split" => shape::split(&ctx),
        "Slice" => shape::slice(&ctx),
        "Reshape" => shape::reshape(&ctx),
        "Transpose" => shape::transpose(&ctx),
        "Constant" => shape::constant(&ctx),
        "Identity" => shape::identity(&ctx),
        "MaxPool" => pool::max_pool(ctx),
        "Resize" => resize::resize(ctx),
        "Softmax" => linalg::softmax(ctx),
        "MatMul" => linalg::matmul(&ctx),
        other => Err(VisionError::UnsupportedOp {
            op_type: other.to_string(),
            node: node.name.clone(),
        }),
    }
}

/// A node with its inputs, and helpers that report errors against it.
pub(crate) struct NodeContext<'a> {
    pub node: &'a Node,
    pub inputs: Vec<Option<Value>>,
    pub device: &'a Device,
    pub opset: i64,
    pub activation: Activation,
    pub float: FloatDType,
    pub kernels: NodeKernels<'a>,
}

impl NodeContext<'_> {
    /// An error about this node.
    pub fn error(&self, message: impl Into<String>) -> VisionError {
        VisionError::BadNode {
            op_type: self.node.op_type.clone(),
            node: self.node.name.clone(),
            message: message.into(),
        }
    }

    /// Input `index` if present.
    pub fn optional(&self, index: usize) -> Option<&Value> {
        self.inputs.get(index).and_then(Option::as_ref)
    }

    /// Input `index`, required.
    pub fn input(&self, index: usize) -> Result<&Value> {
        self.optional(index)
            .ok_or_else(|| self.error(format!("missing input #{index}")))
    }

    /// Takes input `index` out of the node's inputs: when the executor passed the last
    /// reference to it, the tensor's memory is then owned here and can be reused in place.
    pub fn take_tensor(&mut self, index: usize) -> Result<DeviceTensor> {
        match self.inputs.get_mut(index).and_then(Option::take) {
            Some(Value::Device(tensor)) => Ok(tensor),
            Some(other) => self.to_device(&other),
            None => Err(self.error(format!("missing input #{index}"))),
        }
    }

    /// Input `index` as a device float tensor (small host constants are uploaded).
    pub fn tensor(&self, index: usize) -> Result<DeviceTensor> {
        self.to_device(self.input(index)?)
    }

    /// A value as a device float tensor.
    pub fn to_device(&self, value: &Value) -> Result<DeviceTensor> {
        match value {
            Value::Device(tensor) => Ok(tensor.clone()),
            Value::Host(HostTensor {
                shape,
                data: HostData::F32(values),
            }) => {
                if shape.len() > MAX_RANK {
                    return Err(self.error(format!(
                        "rank {} is above the supported {MAX_RANK}",
                        shape.len()
                    )));
                }
                Ok(DeviceTensor::upload_as(
                    values.clone(),
                    shape,
                    self.device,
                    self.float,
                ))
            }
            Value::Host(HostTensor {
                data: HostData::I64(_),
                ..
            }) => Err(self.error("integer tensors are only supported as shapes, axes and sizes")),
        }
    }

    /// Input `index` as host integers (shapes, axes, sizes); it must be a constant.
    pub fn host_ints(&self, index: usize) -> Result<Vec<i64>> {
        match self.input(index)? {
            Value::Host(tensor) => Ok(tensor.to_i64()),
            Value::Device(_) => Err(self.error(format!(
                "input #{index} must be a constant (computed shapes are not supported; export with simplify=True)"
            ))),
        }
    }

    /// Input `index` as host floats (scales, exponents); it must be a constant.
    pub fn host_floats(&self, index: usize) -> Result<Vec<f32>> {
        match self.input(index)? {
            Value::Host(tensor) => Ok(tensor.to_f32()),
            Value::Device(_) => Err(self.error(format!("input #{index} must be a constant"))),
        }
    }

    /// Integer attribute with a default.
    pub fn attr_int(&self, name: &str, default: i64) -> i64 {
        match self.node.attributes.get(name) {
            Some(Attribute::Int(v)) => *v,
            _ => default,
        }
    }

    /// Integer-list attribute, if present.
    pub fn attr_ints(&self, name: &str) -> Option<Vec<i64>> {
        match self.node.attributes.get(name) {
            Some(Attribute::Ints(v)) => Some(v.clone()),
            Some(Attribute::Int(v)) => Some(vec![*v]),
            _ => None,
        }
    }

    /// String attribute with a default.
    pub fn attr_string(&self, name: &str, default: &str) -> String {
        match self.node.attributes.get(name) {
            Some(Attribute::String(v)) => v.clone(),
            _ => default.to_string(),
        }
    }

    /// Normalises a possibly negative axis against `rank`.
    pub fn axis(&self, axis: i64, rank: usize) -> Result<usize> {
        let rank_i = rank as i64;
        let normalised = if axis < 0 { axis + rank_i } else { axis };
        if (0..rank_i).contains(&normalised) {
            Ok(normalised as usize)
        } else {
            Err(self.error(format!("axis {axis} is out of range for rank {rank}")))
        }
    }

    /// Converts attribute integers to positive `usize` values.
    pub fn positive(&self, what: &str, values: &[i64]) -> Result<Vec<usize>> {
        values
            .iter()
            .map(|&v| usize::try_from(v).ok().filter(|&v| v > 0))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| self.error(format!("{what} must be positive, got {values:?}")))
    }

    /// Converts attribute integers to non-negative `usize` values.
    pub fn non_negative(&self, what: &str, values: &[i64]) -> Result<Vec<usize>> {
        values
            .iter()
            .map(|&v| usize::try_from(v).ok())
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| self.error(format!("{what} must not be negative, got {values:?}")))
    }
}

/// Numpy broadcasting of two logical shapes; `None` when incompatible.
pub(crate) fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for (i, slot) in out.iter_mut().enumerate() {
        let da = if i + a.len() >= rank {
            a[i + a.len() - rank]
        } else {
            1
        };
        let db = if i + b.len() >= rank {
            b[i + b.len() - rank]
        } else {
            1
        };
        *slot = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(
            broadcast_shapes(&[1, 4, 2100], &[2100]),
            Some(vec![1, 4, 2100])
        );
        assert_eq!(broadcast_shapes(&[2, 1], &[1, 3]), Some(vec![2, 3]));
        assert_eq!(broadcast_shapes(&[2, 3], &[4]), None);
        assert_eq!(broadcast_shapes(&[], &[5]), Some(vec![5]));
    }
}
