//! `Conv` and `ConvTranspose` (2-D, grouped, dilated, asymmetric padding for `Conv`).

use burn::tensor::Tensor;
use burn::tensor::activation;
use burn::tensor::module::{conv_transpose2d, conv2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};

use super::kernels::{self, Window};
use super::{Activation, NodeContext};
use crate::error::Result;
use crate::runtime::value::{DeviceTensor, Value};

/// Reads `strides`, `dilations`, `group` and the kernel from a conv-like node.
struct ConvParams {
    strides: [usize; 2],
    dilations: [usize; 2],
    group: usize,
}

fn params(ctx: &NodeContext<'_>) -> Result<ConvParams> {
    let strides = ctx.positive("strides", &ctx.attr_ints("strides").unwrap_or(vec![1, 1]))?;
    let dilations = ctx.positive(
        "dilations",
        &ctx.attr_ints("dilations").unwrap_or(vec![1, 1]),
    )?;
    let group = ctx.positive("group", &[ctx.attr_int("group", 1)])?[0];
    if strides.len() != 2 || dilations.len() != 2 {
        return Err(ctx.error("only 2-D convolutions are supported"));
    }
    Ok(ConvParams {
        strides: [strides[0], strides[1]],
        dilations: [dilations[0], dilations[1]],
        group,
    })
}

fn bias(ctx: &NodeContext<'_>, channels: usize) -> Result<Option<Tensor<1>>> {
    let Some(value) = ctx.optional(2) else {
        return Ok(None);
    };
    let bias = ctx.to_device(value)?;
    if bias.len() != channels {
        return Err(ctx.error(format!(
            "bias has {} values for {channels} output channels",
            bias.len()
        )));
    }
    Ok(Some(bias.padded.reshape([channels])))
}

/// `Conv`, with the activation the executor fused into it.
pub fn conv(mut ctx: NodeContext<'_>) -> Result<Vec<Value>> {
    let x = ctx.take_tensor(0)?;
    let w_shape = ctx.input(1)?.shape().to_vec();
    if x.rank() != 4 || w_shape.len() != 4 {
        return Err(ctx.error(format!(
            "only 2-D convolutions are supported (input {:?}, weight {:?})",
            x.shape, w_shape
        )));
    }
    let p = params(&ctx)?;
    let (c_in, h, wd) = (x.shape[1], x.shape[2], x.shape[3]);
    let (c_out, c_per_group, kh, kw) = (w_shape[0], w_shape[1], w_shape[2], w_shape[3]);
    if c_per_group * p.group != c_in || c_out % p.group != 0 {
        return Err(ctx.error(format!(
            "weight {:?} with group {} does not fit input {:?}",
            w_shape, p.group, x.shape
        )));
    }
    if let Some(kernel) = ctx.attr_ints("kernel_shape")
        && kernel != [kh as i64, kw as i64]
    {
        return Err(ctx.error(format!(
            "kernel_shape {kernel:?} disagrees with weight {:?}",
            w_shape
        )));
    }
    let pads = match ctx.attr_string("auto_pad", "NOTSET").as_str() {
        "NOTSET" => ctx.non_negative("pads", &ctx.attr_ints("pads").unwrap_or(vec![0; 4]))?,
        "VALID" => vec![0; 4],
        mode @ ("SAME_UPPER" | "SAME_LOWER") => {
            let mut pads = vec![0; 4];
            for (axis, (size, k)) in [(h, kh), (wd, kw)].into_iter().enumerate() {
                let out = size.div_ceil(p.strides[axis]);
                let extent = (k - 1) * p.dilations[axis] + 1;
                let total = ((out - 1) * p.strides[axis] + extent).saturating_sub(size);
                let small = total / 2;
                let (begin, end) = if mode == "SAME_UPPER" {
                    (small, total - small)
                } else {
                    (total - small, small)
                };
                pads[axis] = begin;
                pads[axis + 2] = end;
            }
            pads
        }
        other => return Err(ctx.error(format!("auto_pad {other} is not supported"))),
    };
    if pads.len() != 4 {
        return Err(ctx.error(format!("pads {pads:?} must have 4 values")));
    }
    for (axis, (size, k)) in [(h, kh), (wd, kw)].into_iter().enumerate() {
        let extent = (k - 1) * p.dilations[axis] + 1;
        if size + pads[axis] + pads[axis + 2] < extent {
            return Err(ctx.error(format!("input {:?} is smaller than the kernel", x.shape)));
        }
    }
    let window = Window {
        kernel: [kh, kw],
        strides: p.strides,
        pads: [pads[0], pads[1], pads[2], pads[3]],
        dilations: p.dilations,
    };
    // The host kernel where the model runs them, else burn's.
    let y = kernels::conv2d(&ctx, x, window, c_out, p.group, |x| {
        let w = ctx.tensor(1)?;
        let bias = bias(&ctx, c_out)?;
        let [top, left, bottom, right] = window.pads;
        let options = ConvOptions::new_with_padding(
            window.strides,
            [(top, bottom), (left, right)],
            window.dilations,
            p.group,
        );
        let y = conv2d(x.as_4d(), w.as_4d(), bias, options);
        let y = match ctx.activation {
            Activation::None => y,
            Activation::Silu => activation::silu(y),
        };
        Ok(DeviceTensor::from_4d(y))
    })?;
    Ok(vec![Value::Device(y)])
}

/// `ConvTranspose` (symmetric padding, no `output_shape`).
pub fn conv_transpose(ctx: &NodeContext<'_>) -> Result<Vec<Value>> {
    let x = ctx.tensor(0)?;
    let w = ctx.tensor(1)?;
    if x.rank() != 4 || w.rank() != 4 {
        return Err(ctx.error("only 2-D transposed convolutions are supported"));
    }
    let p = params(ctx)?;
    if w.shape[0] != x.shape[1] || w.shape[0] % p.group != 0 {
        return Err(ctx.error(format!(
            "weight {:?} does not fit input {:?}",
            w.shape, x.shape
        )));
    }
    if ctx.attr_ints("output_shape").is_some() {
        return Err(ctx.error("the output_shape attribute is not supported"));
    }
    match ctx.attr_string("auto_pad", "NOTSET").as_str() {
        "NOTSET" | "VALID" => {}
        other => return Err(ctx.error(format!("auto_pad {other} is not supported"))),
    }
    let pads = ctx.non_negative("pads", &ctx.attr_ints("pads").unwrap_or(vec![0; 4]))?;
    if pads.len() != 4 || pads[0] != pads[2] || pads[1] != pads[3] {
        return Err(ctx.error(format!(
            "pads {pads:?}: only symmetric padding is supported"
        )));
    }
    let output_padding = ctx.non_negative(
        "output_padding",
        &ctx.attr_ints("output_padding").unwrap_or(vec![0, 0]),
    )?;
    if output_padding.len() != 2 {
        return Err(ctx.error("output_padding must have 2 values"));
    }
    let c_out = w.shape[1] * p.group;
    for axis in 0..2 {
        let size = x.shape[2 + axis];
        let k = w.shape[2 + axis];
        let full =
            (size - 1) * p.strides[axis] + (k - 1) * p.dilations[axis] + 1 + output_padding[axis];
        if full <= 2 * pads[axis] {
            return Err(ctx.error("padding removes the whole output"));
        }
    }
    let bias = bias(ctx, c_out)?;
    let options = ConvTransposeOptions::new(
        p.strides,
        [pads[0], pads[1]],
        [output_padding[0], output_padding[1]],
        p.dilations,
        p.group,
    );
    let y = conv_transpose2d(x.as_4d(), w.as_4d(), bias, options);
    Ok(vec![Value::Device(DeviceTensor::from_4d(y))])
}
