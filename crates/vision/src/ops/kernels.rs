//! The one seam between the operators and the CPU kernels.
//!
//! A node runs either with burn's tensor ops, on any device and in either precision, or —
//! in a native build, on the CPU backend (flex), in f32 — with the kernels of [`host`],
//! which work on the tensors' own memory (`host.rs` says why). [`Kernels::choose`] makes
//! that choice once per model, and hands each node its [`NodeKernels`]. An operator with a
//! host kernel checks its node, then calls the function here for it ([`conv2d`],
//! [`sigmoid`], [`softmax`], [`max_pool2d`], [`upsample_nearest`], [`concat`]) with its
//! burn code as the fallback: the function runs the host kernel where the model chose them
//! (and the kernel covers the case), else the fallback. So the host paths, what they keep
//! per node ([`Prepared`]) and the `cfg`s of the native CPU backend are all in this file;
//! the operator files and the executor (`runtime`) know nothing of them.
//!
//! Each function matches on the node's host slot with the host arm compiled natively only;
//! a wasm build (which has no host kernels) keeps just the fallback arm.

// Without host kernels (wasm) the operands only they read go unused.
#![cfg_attr(target_arch = "wasm32", allow(unused_variables))]

use std::collections::HashSet;

use burn::tensor::{Device, Tensor};

use super::NodeContext;
use crate::error::Result;
use crate::onnx::Node;
use crate::runtime::Precision;
use crate::runtime::value::{DeviceTensor, MAX_RANK};

#[cfg(not(target_arch = "wasm32"))]
use {
    super::host,
    crate::error::VisionError,
    crate::onnx::{HostData, HostTensor},
    crate::runtime::value::Value,
    std::borrow::Cow,
};

/// What a node's kernel derives once from its constant inputs and keeps with the model:
/// for a CPU convolution, its weights repacked for the direct kernel.
pub type Prepared = std::sync::OnceLock<Vec<f32>>;

/// The kernels a model's nodes run with, chosen once when the model is loaded.
#[derive(Debug, Default)]
pub struct Kernels {
    /// True where the host kernels run: the native CPU backend, computing in f32.
    host: bool,
    /// With the host kernels, one slot per node (see [`Kernels::with_nodes`]); else empty.
    prepared: Vec<Prepared>,
}

impl Kernels {
    /// The host kernels for a model on the native CPU backend computing in f32 (they are
    /// f32 kernels); burn's everywhere else.
    pub fn choose(device: &Device, precision: Precision) -> Self {
        Self {
            host: is_host_device(device) && precision == Precision::F32,
            prepared: Vec::new(),
        }
    }

    /// The constants the host kernels read from host memory, which the loader therefore
    /// keeps there instead of uploading them: the weights and biases of convolutions.
    pub fn host_constants<'n>(&self, nodes: &'n [Node]) -> HashSet<&'n str> {
        if !self.host {
            return HashSet::new();
        }
        nodes
            .iter()
            .filter(|node| node.op_type == "Conv")
            .flat_map(|node| node.inputs.iter().skip(1).map(String::as_str))
            .collect()
    }

    /// Gives each of the graph's `count` nodes its slot (the host kernels run only on nodes
    /// that have one).
    pub fn with_nodes(mut self, count: usize) -> Self {
        if self.host {
            self.prepared = (0..count).map(|_| Prepared::new()).collect();
        }
        self
    }

    /// The kernels of node `index` (in the order given to [`Kernels::with_nodes`]).
    pub fn node(&self, index: usize) -> NodeKernels<'_> {
        NodeKernels {
            host: self.prepared.get(index),
        }
    }
}

/// The kernels of one node: burn's (`host` is `None`), or the host kernels with the node's
/// [`Prepared`] slot.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeKernels<'a> {
    host: Option<&'a Prepared>,
}

/// True for the CPU backend in a native build.
fn is_host_device(device: &Device) -> bool {
    #[cfg(all(feature = "flex", not(target_arch = "wasm32")))]
    {
        *device == Device::flex()
    }
    #[cfg(not(all(feature = "flex", not(target_arch = "wasm32"))))]
    {
        let _ = device;
        false
    }
}

/// A window sliding over the two spatial axes of an NCHW tensor, as `Conv` and `MaxPool`
/// describe it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Vertical and horizontal stride.
    pub strides: [usize; 2],
    /// Padding: top, left, bottom, right (ONNX order).
    pub pads: [usize; 4],
    /// Vertical and horizontal dilation.
    pub dilations: [usize; 2],
}

/// `Conv` of the NCHW `x` with the node's weight (input 1, `[c_out, c_in / group, kh, kw]`)
/// and bias (input 2), and the node's fused activation; the shapes are checked. Host
/// kernel: all but depthwise convolutions without the direct kernel, where burn's beats a
/// GEMM per channel.
pub(super) fn conv2d(
    ctx: &NodeContext<'_>,
    x: DeviceTensor,
    window: Window,
    c_out: usize,
    group: usize,
    generic: impl FnOnce(DeviceTensor) -> Result<DeviceTensor>,
) -> Result<DeviceTensor> {
    match ctx.kernels.host {
        #[cfg(not(target_arch = "wasm32"))]
        Some(prepared) if x.shape[1] / group > 1 || host::fast_depthwise() => {
            let geometry = host::ConvGeometry {
                input: [x.shape[0], x.shape[1], x.shape[2], x.shape[3]],
                c_out,
                kernel: window.kernel,
                strides: window.strides,
                pads: window.pads,
                dilations: window.dilations,
                group,
            };
            let input = HostView::of(&x.padded)?;
            let weight = host_floats(ctx, 1)?;
            let bias = match ctx.optional(2) {
                Some(_) => Some(host_floats(ctx, 2)?),
                None => None,
            };
            if let Some(bias) = &bias
                && bias.len() != c_out
            {
                return Err(ctx.error(format!(
                    "bias has {} values for {c_out} output channels",
                    bias.len()
                )));
            }
            // Constant weights (a model's own) are repacked once and kept with the node.
            let prepared = matches!(weight, Cow::Borrowed(_)).then_some(prepared);
            let out = host::conv2d(
                input.values(),
                &weight,
                bias.as_deref(),
                &geometry,
                ctx.activation,
                prepared,
            );
            Ok(DeviceTensor::upload(
                out,
                &geometry.output_shape(),
                ctx.device,
            ))
        }
        _ => generic(x),
    }
}

/// `Sigmoid` of `x`, in place on the host.
pub(super) fn sigmoid(
    ctx: &NodeContext<'_>,
    x: DeviceTensor,
    generic: impl FnOnce(DeviceTensor) -> DeviceTensor,
) -> Result<DeviceTensor> {
    match ctx.kernels.host {
        #[cfg(not(target_arch = "wasm32"))]
        Some(_) => in_place_on_host(ctx, x, host::sigmoid_in_place),
        _ => Ok(generic(x)),
    }
}

/// `Softmax` of `x` seen as `[outer, len, inner]` (the softmax running over `len`), in place
/// on the host.
pub(super) fn softmax(
    ctx: &NodeContext<'_>,
    x: DeviceTensor,
    len: usize,
    inner: usize,
    generic: impl FnOnce(DeviceTensor) -> DeviceTensor,
) -> Result<DeviceTensor> {
    match ctx.kernels.host {
        #[cfg(not(target_arch = "wasm32"))]
        Some(_) => in_place_on_host(ctx, x, |values| {
            host::softmax_in_place(values, len, inner);
        }),
        _ => Ok(generic(x)),
    }
}

/// `MaxPool` of the NCHW `x` over `window` (checked: padding smaller than the window).
/// Host kernel: `ceil_mode` 0.
pub(super) fn max_pool2d(
    ctx: &NodeContext<'_>,
    x: DeviceTensor,
    window: Window,
    ceil_mode: bool,
    generic: impl FnOnce(DeviceTensor) -> DeviceTensor,
) -> Result<DeviceTensor> {
    match ctx.kernels.host {
        #[cfg(not(target_arch = "wasm32"))]
        Some(_) if !ceil_mode => {
            let geometry = host::PoolGeometry {
                input: [x.shape[0], x.shape[1], x.shape[2], x.shape[3]],
                kernel: window.kernel,
                strides: window.strides,
                pads: window.pads,
                dilations: window.dilations,
            };
            let [oh, ow] = geometry.output_size();
            let out = host::max_pool2d(HostView::of(&x.padded)?.values(), &geometry);
            Ok(DeviceTensor::upload(
                out,
                &[x.shape[0], x.shape[1], oh, ow],
                ctx.device,
            ))
        }
        _ => Ok(generic(x)),
    }
}

/// Nearest upsampling of the NCHW `x` by the whole `[height, width]` factors (each output
/// pixel is the input pixel `floor(dst / factor)`).
pub(super) fn upsample_nearest(
    ctx: &NodeContext<'_>,
    x: DeviceTensor,
    factors: [usize; 2],
    generic: impl FnOnce(DeviceTensor) -> DeviceTensor,
) -> Result<DeviceTensor> {
    match ctx.kernels.host {
        #[cfg(not(target_arch = "wasm32"))]
        Some(_) => {
            let [n, c, h, w] = [x.shape[0], x.shape[1], x.shape[2], x.shape[3]];
            let out =
                host::upsample_nearest(HostView::of(&x.padded)?.values(), [n, c, h, w], factors);
            Ok(DeviceTensor::upload(
                out,
                &[n, c, h * factors[0], w * factors[1]],
                ctx.device,
            ))
        }
        _ => Ok(generic(x)),
    }
}

/// `Concat` of the (padded) `parts` along logical `axis` into a tensor of logical `shape`;
/// on the host one parallel copy from the parts' own memory.
pub(super) fn concat(
    ctx: &NodeContext<'_>,
    parts: Vec<Tensor<MAX_RANK>>,
    shape: Vec<usize>,
    axis: usize,
    generic: impl FnOnce(Vec<Tensor<MAX_RANK>>, Vec<usize>) -> DeviceTensor,
) -> Result<DeviceTensor> {
    match ctx.kernels.host {
        #[cfg(not(target_arch = "wasm32"))]
        Some(_) => {
            let views = parts.iter().map(HostView::of).collect::<Result<Vec<_>>>()?;
            let parts: Vec<&[f32]> = views.iter().map(HostView::values).collect();
            let out = host::concat(&parts, shape[..axis].iter().product());
            Ok(DeviceTensor::upload(out, &shape, ctx.device))
        }
        _ => Ok(generic(parts, shape)),
    }
}

/// `x` with `kernel` run over its values in place (the tensor's own memory where nothing
/// else holds it), same shape.
#[cfg(not(target_arch = "wasm32"))]
fn in_place_on_host(
    ctx: &NodeContext<'_>,
    x: DeviceTensor,
    kernel: impl FnOnce(&mut [f32]),
) -> Result<DeviceTensor> {
    let mut values = host_values(x.padded)?;
    kernel(&mut values);
    Ok(DeviceTensor::upload(values, &x.shape, ctx.device))
}

/// A CPU tensor's values as a vector: the tensor's own memory when nothing else holds it
/// (flex hands it over without a copy), otherwise a copy.
#[cfg(not(target_arch = "wasm32"))]
fn host_values(tensor: Tensor<MAX_RANK>) -> Result<Vec<f32>> {
    tensor
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|err| VisionError::Backend(format!("cannot read a CPU tensor: {err:?}")))
}

/// A CPU tensor's values, read where they are: flex's own memory when it holds them
/// contiguously (a `Split` part, or a tensor other nodes read too, which `into_data` would
/// copy), otherwise a copy.
#[cfg(not(target_arch = "wasm32"))]
enum HostView {
    #[cfg(feature = "flex")]
    Flex(burn_flex::FlexTensor),
    Owned(Vec<f32>),
}

#[cfg(not(target_arch = "wasm32"))]
impl HostView {
    fn of(tensor: &Tensor<MAX_RANK>) -> Result<Self> {
        #[cfg(feature = "flex")]
        if let Ok(flex) = tensor.clone().try_into_primitive::<burn_flex::Flex>()
            && flex.as_slice::<f32>().is_some()
        {
            return Ok(Self::Flex(flex));
        }
        host_values(tensor.clone()).map(Self::Owned)
    }

    fn values(&self) -> &[f32] {
        match self {
            #[cfg(feature = "flex")]
            Self::Flex(tensor) => tensor.as_slice::<f32>().unwrap_or_default(),
            Self::Owned(values) => values,
        }
    }
}

/// A constant input as host floats, borrowed when it is kept on the host (weights of a CPU
/// model, see [`Kernels::host_constants`]), read back otherwise.
#[cfg(not(target_arch = "wasm32"))]
fn host_floats<'v>(ctx: &'v NodeContext<'_>, index: usize) -> Result<Cow<'v, [f32]>> {
    match ctx.input(index)? {
        Value::Host(HostTensor {
            data: HostData::F32(values),
            ..
        }) => Ok(Cow::Borrowed(values)),
        Value::Host(_) => Err(ctx.error(format!("input #{index} must hold floats"))),
        Value::Device(tensor) => Ok(Cow::Owned(host_values(tensor.padded.clone())?)),
    }
}
