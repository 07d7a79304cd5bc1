//! `MaxPool` (2-D).

use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;

use super::NodeContext;
use super::kernels::{self, Window};
use crate::error::Result;
use crate::runtime::value::{DeviceTensor, Value};

/// `MaxPool` with explicit padding, strides, dilations and `ceil_mode`.
pub fn max_pool(mut ctx: NodeContext<'_>) -> Result<Vec<Value>> {
    if ctx.node.outputs.len() > 1 && !ctx.node.outputs[1].is_empty() {
        return Err(ctx.error("the Indices output is not supported"));
    }
    let x = ctx.take_tensor(0)?;
    if x.rank() != 4 {
        return Err(ctx.error(format!(
            "only 2-D pooling is supported (input {:?})",
            x.shape
        )));
    }
    let kernel = ctx.positive(
        "kernel_shape",
        &ctx.attr_ints("kernel_shape").unwrap_or_default(),
    )?;
    let strides = ctx.positive("strides", &ctx.attr_ints("strides").unwrap_or(vec![1, 1]))?;
    let dilations = ctx.positive(
        "dilations",
        &ctx.attr_ints("dilations").unwrap_or(vec![1, 1]),
    )?;
    let pads = match ctx.attr_string("auto_pad", "NOTSET").as_str() {
        "NOTSET" => ctx.non_negative("pads", &ctx.attr_ints("pads").unwrap_or(vec![0; 4]))?,
        "VALID" => vec![0; 4],
        other => return Err(ctx.error(format!("auto_pad {other} is not supported"))),
    };
    if kernel.len() != 2 || strides.len() != 2 || dilations.len() != 2 || pads.len() != 4 {
        return Err(
            ctx.error("kernel_shape, strides, dilations and pads must describe 2-D pooling")
        );
    }
    for axis in 0..2 {
        let extent = (kernel[axis] - 1) * dilations[axis] + 1;
        if x.shape[2 + axis] + pads[axis] + pads[axis + 2] < extent {
            return Err(ctx.error(format!(
                "input {:?} is smaller than the pooling window",
                x.shape
            )));
        }
        if pads[axis] >= extent || pads[axis + 2] >= extent {
            return Err(ctx.error("padding must be smaller than the pooling window"));
        }
    }
    let ceil_mode = ctx.attr_int("ceil_mode", 0) != 0;
    let window = Window {
        kernel: [kernel[0], kernel[1]],
        strides: [strides[0], strides[1]],
        pads: [pads[0], pads[1], pads[2], pads[3]],
        dilations: [dilations[0], dilations[1]],
    };
    let y = kernels::max_pool2d(&ctx, x, window, ceil_mode, |x| {
        let [top, left, bottom, right] = window.pads;
        let mut options = MaxPoolOptions::new(window.kernel).with_stride(window.strides);
        options.padding = [(top, bottom), (left, right)];
        options.dilation = window.dilations;
        options.ceil_mode = ceil_mode;
        DeviceTensor::from_4d(max_pool2d(x.as_4d(), options))
    })?;
    Ok(vec![Value::Device(y)])
}
