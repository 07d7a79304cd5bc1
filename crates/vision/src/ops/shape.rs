//! Shape operators: `Concat`, `Split`, `Slice`, `Reshape`, `Transpose`, `Constant`,
//! `Identity`.

use burn::tensor::{Slice, Tensor};

use super::{NodeContext, kernels};
use crate::error::Result;
use crate::onnx::{Attribute, HostData, HostTensor};
use crate::runtime::value::{DeviceTensor, MAX_RANK, Value, pad_shape};

/// `Concat` along `axis`.
pub fn concat(ctx: &NodeContext<'_>) -> Result<Vec<Value>> {
    let values: Vec<&Value> = ctx.inputs.iter().flatten().collect();
    let Some(first) = values.first() else {
        return Err(ctx.error("Concat needs at least one input"));
    };
    let rank = first.shape().len();
    let axis = ctx.axis(ctx.attr_int("axis", 0), rank.max(1))?;
    // Integer shape pieces stay on the host.
    if values.iter().all(|v| v.is_int()) && rank == 1 {
        let mut data = Vec::new();
        for value in &values {
            if let Value::Host(host) = value {
                data.extend(host.to_i64());
            }
        }
        let len = data.len();
        return Ok(vec![Value::Host(HostTensor {
            shape: vec![len],
            data: HostData::I64(data),
        })]);
    }
    let mut tensors = Vec::with_capacity(values.len());
    let mut shape = first.shape().to_vec();
    shape[axis] = 0;
    for value in &values {
        let s = value.shape();
        let fits = s.len() == rank
            && s.iter()
                .enumerate()
                .all(|(i, &d)| i == axis || d == shape[i]);
        if !fits {
            return Err(ctx.error(format!(
                "input shapes {:?} and {s:?} cannot be concatenated",
                first.shape()
            )));
        }
        shape[axis] += s[axis];
        let tensor = ctx.to_device(value)?;
        if s[axis] > 0 {
            tensors.push(tensor.padded);
        }
    }
    let y = kernels::concat(ctx, tensors, shape, axis, |tensors, shape| {
        DeviceTensor::from_padded(Tensor::cat(tensors, MAX_RANK - rank + axis), shape)
    })?;
    Ok(vec![Value::Device(y)])
}

/// `Split` into the sizes given by the `split` input/attribute, or into equal parts.
pub fn split(ctx: &NodeContext<'_>) -> Result<Vec<Value>> {
    let x = ctx.tensor(0)?;
    let axis = ctx.axis(ctx.attr_int("axis", 0), x.rank())?;
    let dim = x.shape[axis];
    let outputs = ctx.node.outputs.len();
    let sizes = if ctx.optional(1).is_some() {
        ctx.host_ints(1)?
    } else if let Some(split) = ctx.attr_ints("split") {
        split
    } else {
        let parts = usize::try_from(ctx.attr_int("num_outputs", outputs as i64))
            .unwrap_or(0)
            .max(1);
        let chunk = dim.div_ceil(parts);
        (0..parts)
            .map(|i| (chunk.min(dim.saturating_sub(i * chunk))) as i64)
            .collect()
    };
    let sizes = ctx.non_negative("split", &sizes)?;
    if sizes.iter().sum::<usize>() != dim || sizes.len() != outputs {
        return Err(ctx.error(format!(
            "split sizes {sizes:?} do not cover axis {axis} of {:?} with {outputs} outputs",
            x.shape
        )));
    }
    let physical = x.physical_axis(axis);
    let mut start = 0;
    let mut result = Vec::with_capacity(outputs);
    for size in sizes {
        if size == 0 {
            return Err(ctx.error("empty split outputs are not supported"));
        }
        let mut shape = x.shape.clone();
        shape[axis] = size;
        let part = x.padded.clone().narrow(physical, start, size);
        result.push(Value::Device(DeviceTensor::from_padded(part, shape)));
        start += size;
    }
    Ok(result)
}

/// `Slice` with positive steps (ONNX clamping rules).
pub fn slice(ctx: &NodeContext<'_>) -> Result<Vec<Value>> {
    let x = ctx.tensor(0)?;
    let rank = x.rank();
    let (starts, ends, axes, steps) = if ctx.opset >= 10 {
        let starts = ctx.host_ints(1)?;
        let ends = ctx.host_ints(2)?;
        let axes = if ctx.optional(3).is_some() {
            Some(ctx.host_ints(3)?)
        } else {
            None
        };
        let steps = if ctx.optional(4).is_some() {
            Some(ctx.host_ints(4)?)
        } else {
            None
        };
        (starts, ends, axes, steps)
    } else {
        let starts = ctx.attr_ints("starts").unwrap_or_default();
        let ends = ctx.attr_ints("ends").unwrap_or_default();
        (starts, ends, ctx.attr_ints("axes"), None)
    };
    let axes = axes.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = steps.unwrap_or_else(|| vec![1; starts.len()]);
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(ctx.error("starts, ends, axes and steps must have the same length"));
    }
    let mut slices = [Slice::new(0, None, 1); MAX_RANK];
    let mut shape = x.shape.clone();
    for i in 0..starts.len() {
        let axis = ctx.axis(axes[i], rank)?;
        let step = steps[i];
        if step <= 0 {
            return Err(ctx.error(format!(
                "step {step} is not supported (only positive steps)"
            )));
        }
        let dim = x.shape[axis] as i64;
        let clamp = |v: i64| {
            if v < 0 {
                (v.saturating_add(dim)).max(0)
            } else {
                v.min(dim)
            }
        };
        let (start, end) = (clamp(starts[i]), clamp(ends[i]));
        let len = if end > start {
            (end - start + step - 1) / step
        } else {
            0
        };
        if len == 0 {
            return Err(ctx.error(format!("slice of axis {axis} of {:?} is empty", x.shape)));
        }
        shape[axis] = len as usize;
        slices[x.physical_axis(axis)] =
            Slice::new(start as isize, Some(end as isize), step as isize);
    }
    let padded = x.padded.slice(slices);
    Ok(vec![Value::Device(DeviceTensor::from_padded(
        padded, shape,
    ))])
}

/// `Reshape` (`0` copies a dimension unless `allowzero`, `-1` is inferred).
pub fn reshape(ctx: &NodeContext<'_>) -> Result<Vec<Value>> {
    let input = ctx.input(0)?;
    let requested = ctx.host_ints(1)?;
    let in_shape = input.shape().to_vec();
    let total: usize = in_shape.iter().product();
    let allow_zero = ctx.attr_int("allowzero", 0) != 0;
    let mut shape = Vec::with_capacity(requested.len());
    let mut infer = None;
    for (i, &d) in requested.iter().enumerate() {
        match d {
            -1 if infer.is_none() => {
                infer = Some(i);
                shape.push(1);
            }
            0 if !allow_zero => {
                let Some(&copied) = in_shape.get(i) else {
                    return Err(
                        ctx.error(format!("shape {requested:?} copies a missing dimension"))
                    );
                };
                shape.push(copied);
            }
            d if d >= 0 => shape.push(d as usize),
            _ => return Err(ctx.error(format!("invalid target shape {requested:?}"))),
        }
    }
    if let Some(i) = infer {
        let known: usize = shape.iter().product();
        if known == 0 || !total.is_multiple_of(known) {
            return Err(ctx.error(format!("cannot reshape {in_shape:?} to {requested:?}")));
        }
        shape[i] = total / known;
    }
    if shape.iter().product::<usize>() != total || shape.len() > MAX_RANK {
        return Err(ctx.error(format!("cannot reshape {in_shape:?} to {requested:?}")));
    }
    Ok(vec![match input {
        Value::Host(host) => Value::Host(HostTensor {
            shape,
            data: host.data.clone(),
        }),
        Value::Device(tensor) => Value::Device(DeviceTensor::from_padded(
            tensor.padded.clone().reshape(pad_shape(&shape)),
            shape,
        )),
    }])
}

/// `Transpose` by `perm` (reversed axes by default).
pub fn transpose(ctx: &NodeContext<'_>) -> Result<Vec<Value>> {
    let x = ctx.tensor(0)?;
    let rank = x.rank();
    let perm = ctx
        .attr_ints("perm")
        .unwrap_or_else(|| (0..rank as i64).rev().collect());
    let perm = ctx.non_negative("perm", &perm)?;
    let mut seen = vec![false; rank];
    if perm.len() != rank
        || perm
            .iter()
            .any(|&p| p >= rank || std::mem::replace(&mut seen[p], true))
    {
        return Err(ctx.error(format!("perm {perm:?} is not a permutation of {rank} axes")));
    }
    let offset = MAX_RANK - rank;
    let mut physical: [usize; MAX_RANK] = std::array::from_fn(|i| i);
    for (i, &p) in perm.iter().enumerate() {
        physical[offset + i] = offset + p;
    }
    let shape: Vec<usize> = perm.iter().map(|&p| x.shape[p]).collect();
    Ok(vec![Value::Device(DeviceTensor::from_padded(
        x.padded.permute(physical),
        shape,
    ))])
}

/// `Constant`: the value attribute as a host tensor.
pub fn constant(ctx: &NodeContext<'_>) -> Result<Vec<Value>> {
    constant_value(ctx.node)
        .map(|t| vec![Value::Host(t)])
        .ok_or_else(|| ctx.error("no supported value attribute"))
}

/// The tensor a `Constant` node defines, if it uses a supported attribute.
pub fn constant_value(node: &crate::onnx::Node) -> Option<HostTensor> {
    let attributes = &node.attributes;
    if let Some(Attribute::Tensor(t)) = attributes.get("value") {
        return Some(t.clone());
    }
    if let Some(Attribute::Float(v)) = attributes.get("value_float") {
        return Some(HostTensor {
            shape: vec![],
            data: HostData::F32(vec![*v]),
        });
    }
    if let Some(Attribute::Floats(v)) = attributes.get("value_floats") {
        return Some(HostTensor {
            shape: vec![v.len()],
            data: HostData::F32(v.clone()),
        });
    }
    if let Some(Attribute::Int(v)) = attributes.get("value_int") {
        return Some(HostTensor {
            shape: vec![],
            data: HostData::I64(vec![*v]),
        });
    }
    if let Some(Attribute::Ints(v)) = attributes.get("value_ints") {
        return Some(HostTensor {
            shape: vec![v.len()],
            data: HostData::I64(v.clone()),
        });
    }
    None
}

/// `Identity`.
pub fn identity(ctx: &NodeContext<'_>) -> Result<Vec<Value>> {
    Ok(vec![ctx.input(0)?.clone()])
}
