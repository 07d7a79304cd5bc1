//! Running N images per forward through graphs exported for one.
//!
//! `yolo export format=onnx` writes static shapes: the input is `[1, 3, H, W]` and the head's
//! `Reshape`s spell the batch as a literal 1 (`[1, 144, -1]`). Such a graph computes every
//! image independently as long as axis 0 stays the batch axis from the input to each output.
//! [`prepare`] proves that operator by operator (or names the node that breaks it) and
//! rewrites each `Reshape` target's leading 1 into 0, ONNX's "copy this dimension from the
//! input": the same shape at batch 1, the batch's size at N.

use std::collections::HashMap;

use crate::onnx::{Attribute, HostData, HostTensor, Node, ValueDecl};
use crate::runtime::value::Value;

/// What is known of a value before running: its rank, whether axis 0 is the batch axis, and
/// for constants their shape.
#[derive(Debug, Clone)]
struct Known {
    rank: usize,
    batched: bool,
    shape: Option<Vec<usize>>,
}

/// Checks that every node keeps axis 0 as the batch axis and rewrites the `Reshape` targets
/// (new constants named after their node, so shared ones are left alone). On `Err`, nothing
/// has been changed and the message says which node prevents batching and why.
pub(super) fn prepare(
    nodes: &mut [Node],
    constants: &mut HashMap<String, Value>,
    inputs: &[ValueDecl],
    outputs: &[ValueDecl],
    opset: i64,
) -> Result<(), String> {
    let mut known: HashMap<String, Known> = HashMap::new();
    for decl in inputs {
        if decl.shape.is_empty() || !matches!(decl.shape[0], Some(1) | None) {
            return Err(format!(
                "input `{}` has shape {:?}, without a batch axis of 1",
                decl.name, decl.shape
            ));
        }
        let rank = decl.shape.len();
        let entry = Known {
            rank,
            batched: true,
            shape: None,
        };
        known.insert(decl.name.clone(), entry);
    }
    let constant_ints = |constants: &HashMap<String, Value>, name: &str| match constants.get(name) {
        Some(Value::Host(host)) => Some(host.to_i64()),
        _ => None,
    };
    let constant_floats = |constants: &HashMap<String, Value>, name: &str| match constants.get(name)
    {
        Some(Value::Host(host)) => Some(host.to_f32()),
        _ => None,
    };
    let mut rewrites: Vec<(usize, HostTensor)> = Vec::new();
    for (index, node) in nodes.iter().enumerate() {
        let refuse = |reason: String| format!("{} node `{}` {reason}", node.op_type, node.name);
        let input = |i: usize| -> Option<Known> {
            let name = node.inputs.get(i).filter(|n| !n.is_empty())?;
            known.get(name).cloned().or_else(|| {
                constants.get(name).map(|value| Known {
                    rank: value.shape().len(),
                    batched: false,
                    shape: Some(value.shape().to_vec()),
                })
            })
        };
        let Some(first) = input(0) else {
            return Err(refuse("has no known first input".into()));
        };
        let int_attr = |name: &str, default: i64| match node.attributes.get(name) {
            Some(Attribute::Int(v)) => *v,
            _ => default,
        };
        let axis = |value: i64, rank: usize| {
            if value < 0 {
                value + rank as i64
            } else {
                value
            }
        };
        let batched = first.batched;
        let out_rank = match node.op_type.as_str() {
            "Conv" | "ConvTranspose" => {
                if (1..node.inputs.len()).any(|i| input(i).is_some_and(|k| k.batched)) {
                    return Err(refuse("computes its weights from the image".into()));
                }
                first.rank
            }
            "MaxPool" | "Sigmoid" | "Identity" => first.rank,
            "Softmax" => {
                let default = if opset >= 13 { -1 } else { 1 };
                if batched && axis(int_attr("axis", default), first.rank) == 0 {
                    return Err(refuse("normalises across the batch axis".into()));
                }
                first.rank
            }
            "Add" | "Sub" | "Mul" | "Div" | "Pow" => {
                let operands: Vec<Known> = (0..node.inputs.len()).filter_map(input).collect();
                let rank = operands.iter().map(|k| k.rank).max().unwrap_or(0);
                if operands.iter().any(|k| k.batched) {
                    if operands.iter().any(|k| k.batched && k.rank < rank) {
                        return Err(refuse("broadcasts the batch into a higher rank".into()));
                    }
                    for operand in operands.iter().filter(|k| !k.batched && k.rank == rank) {
                        // A full-rank operand without a batch axis must broadcast over it. (A
                        // batched value can be a scalar, e.g. a `Split` of a constant by sizes
                        // read from the image: a scalar operand has no axis 0 to index.)
                        if operand.shape.as_ref().is_none_or(|s| s.first() != Some(&1)) {
                            return Err(refuse(format!(
                                "combines the batch with a value of shape {:?}",
                                operand.shape
                            )));
                        }
                    }
                }
                rank
            }
            "Concat" => {
                let operands: Vec<Known> = (0..node.inputs.len()).filter_map(input).collect();
                let any = operands.iter().any(|k| k.batched);
                if any && operands.iter().any(|k| !k.batched) {
                    return Err(refuse("concatenates the batch with a constant".into()));
                }
                if any && axis(int_attr("axis", 0), first.rank) == 0 {
                    return Err(refuse("concatenates along the batch axis".into()));
                }
                first.rank
            }
            "Split" => {
                if batched && axis(int_attr("axis", 0), first.rank) == 0 {
                    return Err(refuse("splits the batch axis".into()));
                }
                first.rank
            }
            "Slice" => {
                if batched {
                    let axes = if opset >= 10 {
                        match node.inputs.get(3).filter(|n| !n.is_empty()) {
                            Some(name) => constant_ints(constants, name),
                            None => None,
                        }
                    } else {
                        match node.attributes.get("axes") {
                            Some(Attribute::Ints(axes)) => Some(axes.clone()),
                            _ => None,
                        }
                    };
                    let Some(axes) = axes else {
                        return Err(refuse("slices without explicit constant axes".into()));
                    };
                    if axes.iter().any(|&a| axis(a, first.rank) == 0) {
                        return Err(refuse("slices the batch axis".into()));
                    }
                }
                first.rank
            }
            "Transpose" => {
                let perm = match node.attributes.get("perm") {
                    Some(Attribute::Ints(perm)) => perm.clone(),
                    _ => (0..first.rank as i64).rev().collect(),
                };
                if batched && perm.first() != Some(&0) {
                    return Err(refuse(format!("moves the batch axis (perm {perm:?})")));
                }
                first.rank
            }
            "Resize" => {
                if batched {
                    let (scales, sizes) = if opset >= 11 { (2, Some(3)) } else { (1, None) };
                    let name = |i: usize| node.inputs.get(i).filter(|n| !n.is_empty());
                    if let Some(sizes) = sizes.and_then(name) {
                        let sizes = constant_ints(constants, sizes).unwrap_or_default();
                        if !sizes.is_empty() {
                            return Err(refuse("resizes to fixed sizes".into()));
                        }
                    }
                    let scales = name(scales)
                        .and_then(|n| constant_floats(constants, n))
                        .unwrap_or_default();
                    if scales.first().is_some_and(|&s| s != 1.0) {
                        return Err(refuse("scales the batch axis".into()));
                    }
                }
                first.rank
            }
            "MatMul" => {
                let Some(second) = input(1) else {
                    return Err(refuse("has no second input".into()));
                };
                let rank = first.rank.max(second.rank);
                if first.rank < 2 || second.rank < 2 {
                    return Err(refuse("multiplies vectors".into()));
                }
                for operand in [&first, &second] {
                    let broadcasts = operand.rank < rank
                        || operand
                            .shape
                            .as_ref()
                            .is_some_and(|s| s.first() == Some(&1));
                    if (first.batched || second.batched) && !operand.batched && !broadcasts {
                        return Err(refuse("multiplies the batch by a batched constant".into()));
                    }
                }
                if first.batched && second.batched && first.rank != second.rank {
                    return Err(refuse("multiplies batches of different ranks".into()));
                }
                if rank == 2 && second.batched {
                    return Err(refuse("contracts over the batch axis".into()));
                }
                rank
            }
            "Reshape" => {
                let target = node
                    .inputs
                    .get(1)
                    .and_then(|name| constant_ints(constants, name));
                let Some(mut target) = target else {
                    return Err(refuse("reshapes to a computed shape".into()));
                };
                if batched {
                    if int_attr("allowzero", 0) != 0 {
                        return Err(refuse("sets allowzero".into()));
                    }
                    match target.first() {
                        Some(0) => {}
                        Some(1) => {
                            target[0] = 0;
                            let len = target.len();
                            let tensor = HostTensor {
                                shape: vec![len],
                                data: HostData::I64(target.clone()),
                            };
                            rewrites.push((index, tensor));
                        }
                        _ => {
                            return Err(refuse(format!(
                                "reshapes to {target:?}, merging the batch axis"
                            )));
                        }
                    }
                }
                target.len()
            }
            other => return Err(refuse(format!("({other}) is not known to keep the batch"))),
        };
        let any_batched = batched
            || (1..node.inputs.len())
                .filter_map(input)
                .any(|k| k.batched && !matches!(node.op_type.as_str(), "Reshape"));
        for name in &node.outputs {
            let entry = Known {
                rank: out_rank,
                batched: any_batched,
                shape: None,
            };
            known.insert(name.clone(), entry);
        }
    }
    for decl in outputs {
        if !known.get(&decl.name).is_some_and(|k| k.batched) {
            return Err(format!(
                "output `{}` does not depend on the image",
                decl.name
            ));
        }
    }
    for (index, tensor) in rewrites {
        let node = &mut nodes[index];
        // A name no ONNX value can have (it holds a NUL), one per node.
        let name = format!("\0batch-shape-{index}");
        node.inputs[1] = name.clone();
        constants.insert(name, Value::Host(tensor));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(op_type: &str, inputs: &[&str], output: &str) -> Node {
        Node {
            name: format!("{op_type}_{output}"),
            op_type: op_type.into(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: vec![output.into()],
            attributes: HashMap::new(),
        }
    }

    fn decl(name: &str, shape: &[usize]) -> ValueDecl {
        ValueDecl {
            name: name.into(),
            shape: shape.iter().map(|&d| Some(d)).collect(),
        }
    }

    fn ints(values: &[i64]) -> Value {
        Value::Host(HostTensor {
            shape: vec![values.len()],
            data: HostData::I64(values.to_vec()),
        })
    }

    fn ints_of(value: &Value) -> Vec<i64> {
        match value {
            Value::Host(host) => host.to_i64(),
            Value::Device(_) => panic!("expected a host constant"),
        }
    }

    fn check(nodes: &mut [Node], constants: &mut HashMap<String, Value>) -> Result<(), String> {
        let inputs = [decl("x", &[1, 3, 4, 4])];
        let outputs = [decl("y", &[])];
        prepare(nodes, constants, &inputs, &outputs, 17)
    }

    #[test]
    fn reshapes_keeping_the_batch_are_rewritten_on_their_own_copy() {
        let mut constants = HashMap::from([("shape".to_string(), ints(&[1, 3, -1]))]);
        let mut nodes = vec![
            node("Sigmoid", &["x"], "s"),
            node("Reshape", &["s", "shape"], "r"),
            node("Softmax", &["r"], "y"),
        ];
        check(&mut nodes, &mut constants).unwrap();
        assert_eq!(ints_of(&constants[&nodes[1].inputs[1]]), [0, 3, -1]);
        assert_eq!(
            ints_of(&constants["shape"]),
            [1, 3, -1],
            "the shared constant is kept"
        );
    }

    #[test]
    fn nodes_mixing_images_are_named() {
        let mut perm = node("Transpose", &["x"], "y");
        perm.attributes
            .insert("perm".into(), Attribute::Ints(vec![1, 0, 2, 3]));
        let mut merge = vec![node("Reshape", &["x", "flat"], "y")];
        let mut constants = HashMap::from([("flat".to_string(), ints(&[-1, 16]))]);
        let error = check(&mut merge, &mut constants).unwrap_err();
        assert!(
            error.contains("Reshape_y") && error.contains("merging"),
            "{error}"
        );
        assert_eq!(merge[0].inputs[1], "flat", "nothing is changed on failure");
        let error = check(&mut [perm], &mut HashMap::new()).unwrap_err();
        assert!(
            error.contains("Transpose_y") && error.contains("perm"),
            "{error}"
        );
        let mut concat = node("Concat", &["x", "x"], "y");
        concat.attributes.insert("axis".into(), Attribute::Int(0));
        let error = check(&mut [concat], &mut HashMap::new()).unwrap_err();
        assert!(error.contains("batch axis"), "{error}");
        // A constant of full rank must broadcast over the batch (leading 1).
        let full = Value::Host(HostTensor {
            shape: vec![2, 3, 4, 4],
            data: HostData::F32(vec![0.0; 96]),
        });
        let mut constants = HashMap::from([("c".to_string(), full)]);
        let error = check(&mut [node("Add", &["x", "c"], "y")], &mut constants).unwrap_err();
        assert!(error.contains("[2, 3, 4, 4]"), "{error}");
    }

    /// A scalar marked batched (a constant split by sizes that come from the image) added to
    /// a scalar constant: refused, where it used to index axis 0 of a shape without axes and
    /// panic while the model loaded (fuzz/regressions/onnx/batch-scalar.onnx).
    #[test]
    fn a_batched_scalar_is_refused_without_a_panic() {
        let scalar = |v: f32| {
            Value::Host(HostTensor {
                shape: vec![],
                data: HostData::F32(vec![v]),
            })
        };
        let mut constants = HashMap::from([
            ("c0".to_string(), scalar(1.0)),
            ("c1".to_string(), scalar(2.0)),
        ]);
        let mut nodes = vec![
            node("Split", &["c0", "x"], "s"),
            node("Add", &["s", "c1"], "y"),
        ];
        let error = check(&mut nodes, &mut constants).unwrap_err();
        assert!(error.contains("Add_y") && error.contains("[]"), "{error}");
    }
}
