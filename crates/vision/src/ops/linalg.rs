//! `MatMul` (numpy semantics, batched with broadcasting) and `Softmax`.

use burn::tensor::activation;

use super::{NodeContext, broadcast_shapes, kernels};
use crate::error::Result;
use crate::runtime::value::{DeviceTensor, MAX_RANK, Value, pad_shape};

/// `MatMul` for operands of rank ≥ 2 (rank-1 operands are promoted as numpy does).
pub fn matmul(ctx: &NodeContext<'_>) -> Result<Vec<Value>> {
    let mut a = ctx.tensor(0)?;
    let mut b = ctx.tensor(1)?;
    let a_vector = a.rank() == 1;
    let b_vector = b.rank() == 1;
    if a_vector {
        a.shape.insert(0, 1);
    }
    if b_vector {
        b.shape.push(1);
        b.padded = b.padded.reshape(pad_shape(&b.shape));
    }
    if a.rank() < 2 || b.rank() < 2 {
        return Err(ctx.error("MatMul needs operands of rank ≥ 1"));
    }
    let (m, k) = (a.shape[a.rank() - 2], a.shape[a.rank() - 1]);
    let (k2, n) = (b.shape[b.rank() - 2], b.shape[b.rank() - 1]);
    if k != k2 {
        return Err(ctx.error(format!(
            "inner dimensions differ: {:?} × {:?}",
            a.shape, b.shape
        )));
    }
    let batch =
        broadcast_shapes(&a.shape[..a.rank() - 2], &b.shape[..b.rank() - 2]).ok_or_else(|| {
            ctx.error(format!(
                "batch dimensions do not broadcast: {:?} × {:?}",
                a.shape, b.shape
            ))
        })?;
    let mut shape = batch;
    shape.extend([m, n]);
    if shape.len() > MAX_RANK {
        return Err(ctx.error("rank too large"));
    }
    let padded = a.padded.matmul(b.padded);
    let mut out = DeviceTensor::from_padded(padded, shape);
    if b_vector {
        out.shape.pop();
    }
    if a_vector {
        let at = out.shape.len() - if b_vector { 1 } else { 2 };
        out.shape.remove(at);
    }
    out.padded = out.padded.reshape(pad_shape(&out.shape));
    Ok(vec![Value::Device(out)])
}

/// `Softmax` (opset ≥ 13 semantics; older opsets flatten from `axis` on, handled by reshape).
pub fn softmax(mut ctx: NodeContext<'_>) -> Result<Vec<Value>> {
    let x = ctx.take_tensor(0)?;
    let rank = x.rank();
    let default_axis = if ctx.opset >= 13 { -1 } else { 1 };
    let axis = ctx.axis(ctx.attr_int("axis", default_axis), rank)?;
    // `[outer, len, inner]`: the softmax axis alone, or (legacy) all axes from it on.
    let (len, inner) = if ctx.opset >= 13 {
        (x.shape[axis], x.shape[axis + 1..].iter().product())
    } else {
        (x.shape[axis..].iter().product(), 1)
    };
    let y = kernels::softmax(&ctx, x, len, inner, |x| {
        if ctx.opset >= 13 || axis + 1 == rank {
            let dim = x.physical_axis(axis);
            let padded = activation::softmax(x.padded, dim);
            return DeviceTensor::from_padded(padded, x.shape);
        }
        // Legacy semantics: softmax over everything from `axis` on.
        let outer: usize = x.shape[..axis].iter().product();
        let flat = x.padded.reshape([outer, len]);
        let padded = activation::softmax(flat, 1).reshape(pad_shape(&x.shape));
        DeviceTensor::from_padded(padded, x.shape)
    })?;
    Ok(vec![Value::Device(y)])
}
