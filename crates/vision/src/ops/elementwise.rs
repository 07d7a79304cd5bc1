//! Elementwise operators: `Sigmoid` and the broadcasting binaries `Add`, `Sub`, `Mul`, `Div`,
//! `Pow`.

use burn::tensor::activation;

use super::{NodeContext, broadcast_shapes, kernels};
use crate::error::Result;
use crate::runtime::value::{DeviceTensor, Value};

/// `Sigmoid`.
pub fn sigmoid(mut ctx: NodeContext<'_>) -> Result<Vec<Value>> {
    let x = ctx.take_tensor(0)?;
    let y = kernels::sigmoid(&ctx, x, |x| {
        DeviceTensor::from_padded(activation::sigmoid(x.padded), x.shape)
    })?;
    Ok(vec![Value::Device(y)])
}

/// `Add`, `Sub`, `Mul`, `Div` and `Pow` with numpy broadcasting.
pub fn binary(ctx: &NodeContext<'_>) -> Result<Vec<Value>> {
    let op = ctx.node.op_type.as_str();
    let a = ctx.input(0)?;
    let b = ctx.input(1)?;
    if a.is_int() || (b.is_int() && op != "Pow") {
        return Err(ctx.error("integer arithmetic is not supported (export with simplify=True)"));
    }
    let shape = broadcast_shapes(a.shape(), b.shape()).ok_or_else(|| {
        ctx.error(format!(
            "shapes {:?} and {:?} do not broadcast",
            a.shape(),
            b.shape()
        ))
    })?;
    let a = ctx.to_device(a)?;

    // A constant scalar on the right: use the scalar form (no upload, no broadcast).
    if let Value::Host(host) = b
        && host.len() == 1
        && host.shape.len() <= a.shape.len()
    {
        let s = host.to_f32()[0];
        let padded = match op {
            "Add" => a.padded.add_scalar(s),
            "Sub" => a.padded.sub_scalar(s),
            "Mul" => a.padded.mul_scalar(s),
            "Div" => a.padded.div_scalar(s),
            _ => a.padded.powf_scalar(s),
        };
        return Ok(vec![Value::Device(DeviceTensor::from_padded(
            padded, shape,
        ))]);
    }

    let b = ctx.to_device(b)?;
    let padded = match op {
        "Add" => a.padded.add(b.padded),
        "Sub" => a.padded.sub(b.padded),
        "Mul" => a.padded.mul(b.padded),
        "Div" => a.padded.div(b.padded),
        _ => a.padded.powf(b.padded),
    };
    Ok(vec![Value::Device(DeviceTensor::from_padded(
        padded, shape,
    ))])
}
