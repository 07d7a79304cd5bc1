//! Bytes → [`Graph`]: protobuf decoding, tensor payload conversion and the checks that make a
//! hostile file an error instead of a panic later (unknown ops, dangling value names).

use std::collections::{HashMap, HashSet};

use prost::Message;

use super::graph::{Attribute, Graph, HostData, HostTensor, Node, ValueDecl};
use super::proto::{AttributeProto, ModelProto, TensorProto, ValueInfoProto};
use crate::error::{Result, VisionError};
use crate::ops::is_supported;

// ONNX TensorProto.DataType values.
const DT_FLOAT: i32 = 1;
const DT_UINT8: i32 = 2;
const DT_INT8: i32 = 3;
const DT_INT32: i32 = 6;
const DT_INT64: i32 = 7;
const DT_BOOL: i32 = 9;
const DT_FLOAT16: i32 = 10;
const DT_DOUBLE: i32 = 11;

// ONNX AttributeProto.AttributeType values.
const AT_FLOAT: i32 = 1;
const AT_INT: i32 = 2;
const AT_STRING: i32 = 3;
const AT_TENSOR: i32 = 4;
const AT_FLOATS: i32 = 6;
const AT_INTS: i32 = 7;

/// A tensor larger than this many elements is refused (a hostile file could claim anything).
const MAX_TENSOR_ELEMENTS: usize = 1 << 31;

/// Decodes and checks an ONNX model.
///
/// Fails with [`VisionError::NotOnnx`] for bytes that are not an ONNX protobuf (or are cut
/// short), [`VisionError::UnsupportedOp`] naming the first node whose operator this engine
/// lacks, and [`VisionError::InvalidModel`] for structural problems.
pub fn parse_onnx(bytes: &[u8]) -> Result<Graph> {
    if bytes.is_empty() {
        return Err(VisionError::NotOnnx("the file is empty".into()));
    }
    let model = ModelProto::decode(bytes).map_err(|err| VisionError::NotOnnx(err.to_string()))?;
    let Some(graph) = model.graph else {
        return Err(VisionError::NotOnnx("no graph in the file".into()));
    };
    if graph.node.is_empty() {
        return Err(VisionError::NotOnnx("the graph has no nodes".into()));
    }
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .unwrap_or(0);

    let mut initializers = Vec::with_capacity(graph.initializer.len());
    for tensor in &graph.initializer {
        initializers.push((tensor.name.clone(), convert_tensor(tensor)?));
    }
    let initializer_names: HashSet<&str> = initializers.iter().map(|(n, _)| n.as_str()).collect();

    let inputs: Vec<ValueDecl> = graph
        .input
        .iter()
        .filter(|v| !initializer_names.contains(v.name.as_str()))
        .map(convert_value_info)
        .collect();
    let outputs: Vec<ValueDecl> = graph.output.iter().map(convert_value_info).collect();

    let mut nodes = Vec::with_capacity(graph.node.len());
    let mut known: HashSet<String> = initializer_names.iter().map(|s| s.to_string()).collect();
    known.extend(inputs.iter().map(|v| v.name.clone()));
    for (index, proto) in graph.node.iter().enumerate() {
        let name = if !proto.name.is_empty() {
            proto.name.clone()
        } else if let Some(first) = proto.output.first() {
            first.clone()
        } else {
            format!("#{index}")
        };
        let domain_ok = proto.domain.is_empty() || proto.domain == "ai.onnx";
        if !domain_ok || !is_supported(&proto.op_type) {
            let op_type = if domain_ok {
                proto.op_type.clone()
            } else {
                format!("{}::{}", proto.domain, proto.op_type)
            };
            return Err(VisionError::UnsupportedOp {
                op_type,
                node: name,
            });
        }
        for input in &proto.input {
            if !input.is_empty() && !known.contains(input) {
                return Err(VisionError::InvalidModel(format!(
                    "node `{name}` reads `{input}`, which no earlier node, input or initializer \
                     provides (the graph is not in execution order or is incomplete)"
                )));
            }
        }
        known.extend(proto.output.iter().cloned());
        let mut attributes = HashMap::with_capacity(proto.attribute.len());
        for attribute in &proto.attribute {
            attributes.insert(attribute.name.clone(), convert_attribute(attribute)?);
        }
        nodes.push(Node {
            name,
            op_type: proto.op_type.clone(),
            inputs: proto.input.clone(),
            outputs: proto.output.clone(),
            attributes,
        });
    }
    for output in &outputs {
        if !known.contains(&output.name) {
            return Err(VisionError::InvalidModel(format!(
                "graph output `{}` is never computed",
                output.name
            )));
        }
    }
    if inputs.is_empty() {
        return Err(VisionError::InvalidModel("the graph has no input".into()));
    }

    Ok(Graph {
        opset,
        inputs,
        outputs,
        nodes,
        initializers,
        metadata: model
            .metadata_props
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect(),
    })
}

fn convert_value_info(info: &ValueInfoProto) -> ValueDecl {
    let shape = info
        .r#type
        .as_ref()
        .and_then(|t| t.tensor_type.as_ref())
        .and_then(|t| t.shape.as_ref())
        .map(|s| {
            s.dim
                .iter()
                .map(|d| {
                    d.dim_value
                        .and_then(|v| usize::try_from(v).ok())
                        .filter(|&v| v > 0)
                })
                .collect()
        })
        .unwrap_or_default();
    ValueDecl {
        name: info.name.clone(),
        shape,
    }
}

fn convert_attribute(attribute: &AttributeProto) -> Result<Attribute> {
    Ok(match attribute.r#type {
        AT_FLOAT => Attribute::Float(attribute.f),
        AT_INT => Attribute::Int(attribute.i),
        AT_STRING => Attribute::String(String::from_utf8_lossy(&attribute.s).into_owned()),
        AT_TENSOR => match &attribute.t {
            Some(tensor) => Attribute::Tensor(convert_tensor(tensor)?),
            None => Attribute::Other,
        },
        AT_FLOATS => Attribute::Floats(attribute.floats.clone()),
        AT_INTS => Attribute::Ints(attribute.ints.clone()),
        _ => Attribute::Other,
    })
}

/// Converts a `TensorProto` (raw or typed payload) into a [`HostTensor`].
pub(crate) fn convert_tensor(tensor: &TensorProto) -> Result<HostTensor> {
    let label = || {
        if tensor.name.is_empty() {
            "<unnamed tensor>".to_string()
        } else {
            tensor.name.clone()
        }
    };
    if tensor.data_location == 1 {
        return Err(VisionError::InvalidModel(format!(
            "tensor `{}` stores its data in an external file; re-export the model as one file",
            label()
        )));
    }
    let mut shape = Vec::with_capacity(tensor.dims.len());
    let mut count: usize = 1;
    for &dim in &tensor.dims {
        let dim = usize::try_from(dim).map_err(|_| {
            VisionError::InvalidModel(format!("tensor `{}` has a negative dimension", label()))
        })?;
        count = count
            .checked_mul(dim)
            .filter(|&c| c <= MAX_TENSOR_ELEMENTS)
            .ok_or_else(|| {
                VisionError::InvalidModel(format!("tensor `{}` is impossibly large", label()))
            })?;
        shape.push(dim);
    }
    let raw = &tensor.raw_data;
    let data = match tensor.data_type {
        DT_FLOAT => HostData::F32(if raw.is_empty() {
            tensor.float_data.clone()
        } else {
            raw.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        }),
        DT_DOUBLE => HostData::F32(if raw.is_empty() {
            tensor.double_data.iter().map(|&v| v as f32).collect()
        } else {
            raw.chunks_exact(8)
                .map(|c| {
                    f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
                })
                .collect()
        }),
        DT_FLOAT16 => HostData::F32(if raw.is_empty() {
            tensor
                .int32_data
                .iter()
                .map(|&v| f16_to_f32(v as u16))
                .collect()
        } else {
            raw.chunks_exact(2)
                .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
                .collect()
        }),
        DT_INT64 => HostData::I64(if raw.is_empty() {
            tensor.int64_data.clone()
        } else {
            raw.chunks_exact(8)
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect()
        }),
        DT_INT32 => HostData::I64(if raw.is_empty() {
            tensor.int32_data.iter().map(|&v| i64::from(v)).collect()
        } else {
            raw.chunks_exact(4)
                .map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        }),
        DT_UINT8 | DT_BOOL => HostData::I64(if raw.is_empty() {
            tensor.int32_data.iter().map(|&v| i64::from(v)).collect()
        } else {
            raw.iter().map(|&v| i64::from(v)).collect()
        }),
        DT_INT8 => HostData::I64(if raw.is_empty() {
            tensor.int32_data.iter().map(|&v| i64::from(v)).collect()
        } else {
            raw.iter().map(|&v| i64::from(v as i8)).collect()
        }),
        other => {
            return Err(VisionError::InvalidModel(format!(
                "tensor `{}` has ONNX data type {other}, which is not supported",
                label()
            )));
        }
    };
    let result = HostTensor { shape, data };
    if result.len() != count {
        return Err(VisionError::InvalidModel(format!(
            "tensor `{}` holds {} values but its shape {:?} needs {count}",
            label(),
            result.len(),
            result.shape
        )));
    }
    Ok(result)
}

/// IEEE 754 half → single precision.
fn f16_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits >> 15) << 31;
    let exponent = u32::from((bits >> 10) & 0x1f);
    let mantissa = u32::from(bits & 0x3ff);
    let value = match (exponent, mantissa) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: normalise.
            let mut e: i32 = -14;
            let mut m = m;
            while m & 0x400 == 0 {
                m <<= 1;
                e -= 1;
            }
            sign | (((e + 127) as u32) << 23) | ((m & 0x3ff) << 13)
        }
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_conversion_matches_known_values() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8);
        assert!(f16_to_f32(0x7c00).is_infinite());
    }

    #[test]
    fn empty_and_garbage_bytes_are_not_onnx() {
        assert!(matches!(parse_onnx(&[]), Err(VisionError::NotOnnx(_))));
        assert!(matches!(
            parse_onnx(b"\xff\xd8\xff\xe0 JFIF"),
            Err(VisionError::NotOnnx(_))
        ));
    }
}
