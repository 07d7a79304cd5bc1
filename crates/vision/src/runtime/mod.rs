//! The graph executor: weights uploaded once, nodes run in order, intermediate values freed
//! after their last use. Which kernels the nodes run with (burn's, or the native CPU
//! backend's own) is chosen once per model by `ops::kernels::Kernels`, which the executor
//! only carries.

mod batch;
pub mod value;

use std::collections::HashMap;

use burn::tensor::{Device, FloatDType};

use crate::error::{Result, VisionError};
use crate::onnx::{Graph, HostData, HostTensor, Node, ValueDecl, parse_onnx};
use crate::ops::{self, Activation, Execution, Kernels, SUPPORTED_OPS};
use value::{DeviceTensor, MAX_RANK, Value};

/// Float constants up to this many elements stay on the host (scalars, scales, shapes).
const HOST_CONSTANT_LIMIT: usize = 64;

/// An ONNX model ready to run on one device: the graph plus its weights on that device.
#[derive(Debug)]
pub struct OnnxModel {
    nodes: Vec<Node>,
    /// Per node: the activation fused into it (see [`fuse_silu`]).
    activations: Vec<Activation>,
    /// Per node: values whose last reader is that node (freed right after it).
    frees_after: Vec<Vec<String>>,
    /// The kernels the nodes run with, and what they keep per node.
    kernels: Kernels,
    constants: HashMap<String, Value>,
    inputs: Vec<ValueDecl>,
    outputs: Vec<ValueDecl>,
    metadata: Vec<(String, String)>,
    opset: i64,
    device: Device,
    /// `Ok` when the graph computes each image of a batch on its own (see [`batch`]), else
    /// what prevents it.
    batching: std::result::Result<(), String>,
    /// The element type the graph computes in.
    precision: Precision,
}

/// The element type a model computes in. Inputs are given and outputs read back as f32
/// either way; f16 halves the weights' memory and runs faster where the GPU has f16
/// arithmetic (WebGPU `shader-f16`, CUDA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Precision {
    /// 32-bit floats, as the exporter wrote them.
    #[default]
    F32,
    /// 16-bit floats: weights converted once at load, every operator in f16.
    F16,
}

impl Precision {
    /// burn's float element type for this precision.
    pub fn float_dtype(self) -> FloatDType {
        match self {
            Precision::F32 => FloatDType::F32,
            Precision::F16 => FloatDType::F16,
        }
    }

    /// Whether `device` can compute in this precision (f32: always).
    pub fn supported_on(self, device: &Device) -> bool {
        match self {
            Precision::F32 => true,
            Precision::F16 => device.supports_dtype(FloatDType::F16),
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
        })
    }
}

impl std::str::FromStr for Precision {
    type Err = VisionError;

    fn from_str(text: &str) -> Result<Self> {
        match text.to_ascii_lowercase().as_str() {
            "f32" | "fp32" | "float32" => Ok(Precision::F32),
            "f16" | "fp16" | "float16" | "half" => Ok(Precision::F16),
            other => Err(VisionError::Backend(format!(
                "unknown precision `{other}` (use f32 or f16)"
            ))),
        }
    }
}

/// One output of a forward pass, still on the device.
#[derive(Debug, Clone)]
pub struct ModelOutput {
    /// The graph output's name (e.g. `output0`).
    pub name: String,
    /// The tensor.
    pub tensor: DeviceTensor,
}

impl ModelOutput {
    /// Logical shape.
    pub fn shape(&self) -> &[usize] {
        &self.tensor.shape
    }

    /// Reads the values back to the host (blocking; native only for GPU backends).
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        tensor_to_vec(&self.tensor)
    }

    /// Reads the values back to the host without blocking (for WebGPU in a worker).
    pub async fn to_vec_async(&self) -> Result<Vec<f32>> {
        tensor_to_vec_async(&self.tensor).await
    }
}

/// Reads a device tensor back as row-major `f32` (blocking: native backends only; in the
/// browser use [`tensor_to_vec_async`]).
pub fn tensor_to_vec(tensor: &DeviceTensor) -> Result<Vec<f32>> {
    let data = tensor
        .padded
        .try_to_data()
        .map_err(|err| VisionError::Backend(format!("cannot read tensor back: {err:?}")))?;
    data_to_vec(data)
}

/// Reads a device tensor back as row-major `f32` without blocking (WebGPU needs this).
pub async fn tensor_to_vec_async(tensor: &DeviceTensor) -> Result<Vec<f32>> {
    let data = tensor
        .padded
        .to_data_async()
        .await
        .map_err(|err| VisionError::Backend(format!("cannot read tensor back: {err:?}")))?;
    data_to_vec(data)
}

fn data_to_vec(data: burn::tensor::TensorData) -> Result<Vec<f32>> {
    let data = data.convert::<f32>();
    data.as_slice::<f32>()
        .map(<[f32]>::to_vec)
        .map_err(|err| VisionError::Backend(format!("cannot read tensor back: {err:?}")))
}

impl OnnxModel {
    /// Decodes `bytes` and uploads the weights to `device`.
    pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<Self> {
        Self::from_graph(parse_onnx(bytes)?, device)
    }

    /// Reads and loads an ONNX file.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_file(path: impl AsRef<std::path::Path>, device: &Device) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|err| VisionError::Io {
            path: path.display().to_string(),
            message: err.to_string(),
        })?;
        Self::from_bytes(&bytes, device)
    }

    /// Uploads the weights of an already decoded graph.
    pub fn from_graph(graph: Graph, device: &Device) -> Result<Self> {
        Self::from_graph_with(graph, device, Precision::F32)
    }

    /// [`OnnxModel::from_bytes`] computing in `precision` (refused where the device lacks it).
    pub fn from_bytes_with(bytes: &[u8], device: &Device, precision: Precision) -> Result<Self> {
        Self::from_graph_with(parse_onnx(bytes)?, device, precision)
    }

    /// [`OnnxModel::from_graph`] computing in `precision` (refused where the device lacks it).
    pub fn from_graph_with(graph: Graph, device: &Device, precision: Precision) -> Result<Self> {
        if !precision.supported_on(device) {
            return Err(VisionError::Backend(format!(
                "this device cannot compute in {precision}"
            )));
        }
        let float = precision.float_dtype();
        let Graph {
            opset,
            inputs,
            outputs,
            nodes,
            initializers,
            metadata,
        } = graph;
        let kernels = Kernels::choose(device, precision);
        // Constants the kernels read from host memory stay there.
        let host_constants = kernels.host_constants(&nodes);
        let mut constants = HashMap::with_capacity(initializers.len());
        for (name, tensor) in initializers {
            let value = if host_constants.contains(name.as_str()) {
                Value::Host(tensor)
            } else {
                constant_value(tensor, device, float)?
            };
            constants.insert(name, value);
        }
        // Constant nodes are evaluated once, here, like initializers.
        let mut kept = Vec::with_capacity(nodes.len());
        for node in nodes {
            if node.op_type == "Constant" {
                let Some(tensor) = ops::constant_value(&node) else {
                    return Err(VisionError::BadNode {
                        op_type: node.op_type.clone(),
                        node: node.name.clone(),
                        message: "no supported value attribute".into(),
                    });
                };
                if let Some(output) = node.outputs.first() {
                    constants.insert(output.clone(), constant_value(tensor, device, float)?);
                }
            } else {
                kept.push(node);
            }
        }
        let (mut kept, activations) = fuse_silu(kept, &outputs);
        let batching = batch::prepare(&mut kept, &mut constants, &inputs, &outputs, opset);
        let frees_after = plan_frees(&kept, &outputs, &constants);
        debug_assert!(
            kept.iter()
                .all(|n| SUPPORTED_OPS.contains(&n.op_type.as_str()))
        );
        let kernels = kernels.with_nodes(kept.len());
        Ok(Self {
            nodes: kept,
            activations,
            frees_after,
            kernels,
            constants,
            inputs,
            outputs,
            metadata,
            opset,
            device: device.clone(),
            batching,
            precision,
        })
    }

    /// The element type the graph computes in.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Whether [`OnnxModel::forward`] takes a batch of N along axis 0 of every input
    /// although the graph declares 1: `Err` says which node computes across the batch.
    pub fn batching(&self) -> std::result::Result<(), &str> {
        self.batching.as_ref().map(|_| ()).map_err(String::as_str)
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Declared runtime inputs.
    pub fn inputs(&self) -> &[ValueDecl] {
        &self.inputs
    }

    /// Declared outputs.
    pub fn outputs(&self) -> &[ValueDecl] {
        &self.outputs
    }

    /// The exporter's metadata (`names`, `stride`, `imgsz`, ...).
    pub fn metadata(&self) -> &[(String, String)] {
        &self.metadata
    }

    /// A metadata value by key.
    pub fn metadata_value(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Runs the graph on host data given as (values, shape) per declared input, in order.
    pub fn forward_host(&self, inputs: &[(&[f32], &[usize])]) -> Result<Vec<ModelOutput>> {
        let mut tensors = Vec::with_capacity(inputs.len());
        for (values, shape) in inputs {
            if shape.len() > MAX_RANK || shape.iter().product::<usize>() != values.len() {
                return Err(VisionError::BadInput(format!(
                    "{} values do not fill shape {shape:?}",
                    values.len()
                )));
            }
            tensors.push(DeviceTensor::upload_as(
                values.to_vec(),
                shape,
                &self.device,
                self.precision.float_dtype(),
            ));
        }
        self.forward(tensors)
    }

    /// Runs the graph on device tensors, one per declared input, in order.
    pub fn forward(&self, inputs: Vec<DeviceTensor>) -> Result<Vec<ModelOutput>> {
        self.run_graph(inputs, |_, _, run| run())
    }

    /// Runs the graph like [`OnnxModel::forward`] and times every node (`sightline bench
    /// --profile`). Exact on the CPU backend, which runs each operator when it is called; a GPU
    /// backend queues work, so there the times are those of recording it, not of running it.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn forward_profiled(
        &self,
        inputs: Vec<DeviceTensor>,
    ) -> Result<(Vec<ModelOutput>, Vec<NodeTiming>)> {
        let mut timings = Vec::with_capacity(self.nodes.len());
        let outputs = self.run_graph(inputs, |node, activation, run| {
            let activation_label = match activation {
                Activation::None => "",
                Activation::Silu => "+SiLU",
            };
            let start = std::time::Instant::now();
            let result = run();
            let output_shape = match &result {
                Ok(values) => values
                    .first()
                    .map(|v| v.shape().to_vec())
                    .unwrap_or_default(),
                Err(_) => Vec::new(),
            };
            timings.push(NodeTiming {
                name: node.name.clone(),
                op_type: node.op_type.clone() + activation_label,
                output_shape,
                elapsed: start.elapsed(),
            });
            result
        })?;
        Ok((outputs, timings))
    }

    /// The executor shared by [`OnnxModel::forward`] and [`OnnxModel::forward_profiled`]:
    /// `around` runs each node (the closure it gets) and may observe it.
    fn run_graph(
        &self,
        inputs: Vec<DeviceTensor>,
        mut around: impl FnMut(
            &Node,
            Activation,
            &mut dyn FnMut() -> Result<Vec<Value>>,
        ) -> Result<Vec<Value>>,
    ) -> Result<Vec<ModelOutput>> {
        if inputs.len() != self.inputs.len() {
            return Err(VisionError::BadInput(format!(
                "the model takes {} input(s), got {}",
                self.inputs.len(),
                inputs.len()
            )));
        }
        let mut env: HashMap<&str, Value> = HashMap::with_capacity(self.nodes.len());
        for (decl, tensor) in self.inputs.iter().zip(inputs) {
            let batch_ok = self.batching.is_ok();
            let fits =
                decl.shape.len() == tensor.shape.len()
                    && decl.shape.iter().zip(&tensor.shape).enumerate().all(
                        |(axis, (want, &got))| {
                            want.is_none_or(|w| w == got) || (axis == 0 && batch_ok && got > 0)
                        },
                    );
            if !fits && !decl.shape.is_empty() {
                let why = match (&self.batching, tensor.shape.first()) {
                    (Err(reason), Some(&n)) if n > 1 => {
                        format!(" (this graph cannot run a batch: {reason})")
                    }
                    _ => String::new(),
                };
                return Err(VisionError::BadInput(format!(
                    "input `{}` must have shape {:?}, got {:?}{why}",
                    decl.name, decl.shape, tensor.shape
                )));
            }
            env.insert(decl.name.as_str(), Value::Device(tensor));
        }
        for (index, ((node, frees), &activation)) in self
            .nodes
            .iter()
            .zip(&self.frees_after)
            .zip(&self.activations)
            .enumerate()
        {
            let mut args = Vec::with_capacity(node.inputs.len());
            for name in &node.inputs {
                if name.is_empty() {
                    args.push(None);
                    continue;
                }
                // A value read for the last time moves into the node, which may then reuse
                // its memory; others are shared.
                let last_read =
                    frees.contains(name) && node.inputs.iter().filter(|n| *n == name).count() == 1;
                let value = if last_read {
                    env.remove(name.as_str())
                } else {
                    env.get(name.as_str()).cloned()
                };
                let value = value.or_else(|| self.constants.get(name).cloned());
                let Some(value) = value else {
                    return Err(VisionError::InvalidModel(format!(
                        "node `{}` reads missing value `{name}`",
                        node.name
                    )));
                };
                args.push(Some(value));
            }
            let mut args = Some(args);
            let execution = Execution {
                device: &self.device,
                opset: self.opset,
                activation,
                float: self.precision.float_dtype(),
                kernels: self.kernels.node(index),
            };
            let results = around(node, activation, &mut || {
                let args = args.take().unwrap_or_default();
                guard(node, || ops::run_node(node, args, execution))
            })?;
            for (name, value) in node.outputs.iter().zip(results) {
                if !name.is_empty() {
                    env.insert(name.as_str(), value);
                }
            }
            for name in frees {
                env.remove(name.as_str());
            }
        }
        let mut outputs = Vec::with_capacity(self.outputs.len());
        for decl in &self.outputs {
            let value = env
                .remove(decl.name.as_str())
                .or_else(|| self.constants.get(&decl.name).cloned());
            let Some(value) = value else {
                return Err(VisionError::InvalidModel(format!(
                    "output `{}` was not computed",
                    decl.name
                )));
            };
            let tensor = match value {
                // Outputs are f32 whatever the graph computed in.
                Value::Device(DeviceTensor { padded, shape }) => {
                    DeviceTensor::from_padded(padded.cast(FloatDType::F32), shape)
                }
                Value::Host(HostTensor { shape, data }) => {
                    let values = match data {
                        HostData::F32(v) => v,
                        HostData::I64(v) => v.into_iter().map(|x| x as f32).collect(),
                    };
                    DeviceTensor::upload(values, &shape, &self.device)
                }
            };
            outputs.push(ModelOutput {
                name: decl.name.clone(),
                tensor,
            });
        }
        Ok(outputs)
    }
}

/// How long one node took in [`OnnxModel::forward_profiled`].
#[derive(Debug, Clone)]
pub struct NodeTiming {
    /// The node's name in the graph.
    pub name: String,
    /// Its operator.
    pub op_type: String,
    /// The shape of its first output.
    pub output_shape: Vec<usize>,
    /// Wall time of the call.
    pub elapsed: std::time::Duration,
}

fn constant_value(tensor: HostTensor, device: &Device, float: FloatDType) -> Result<Value> {
    match &tensor.data {
        HostData::F32(values) if tensor.len() > HOST_CONSTANT_LIMIT => {
            if tensor.shape.len() > MAX_RANK {
                return Err(VisionError::InvalidModel(format!(
                    "a constant of rank {} is above the supported {MAX_RANK}",
                    tensor.shape.len()
                )));
            }
            Ok(Value::Device(DeviceTensor::upload_as(
                values.clone(),
                &tensor.shape,
                device,
                float,
            )))
        }
        _ => Ok(Value::Host(tensor)),
    }
}

/// Finds Ultralytics' SiLU, `y = Mul(c, Sigmoid(c))` with `c = Conv(..)`, where nothing else
/// reads `c` or the sigmoid, and folds it into the `Conv` (which then writes `y`). Returns the
/// remaining nodes and the activation of each.
fn fuse_silu(nodes: Vec<Node>, outputs: &[ValueDecl]) -> (Vec<Node>, Vec<Activation>) {
    let mut readers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, node) in nodes.iter().enumerate() {
        for name in &node.inputs {
            readers.entry(name.as_str()).or_default().push(index);
        }
    }
    let is_output = |name: &str| outputs.iter().any(|o| o.name == name);
    let only_reader = |name: &str| match readers.get(name).map(Vec::as_slice) {
        Some([one]) => Some(*one),
        _ => None,
    };
    // (conv, sigmoid, mul) index triples.
    let mut fused = Vec::new();
    for (index, node) in nodes.iter().enumerate() {
        let [conv_out] = node.outputs.as_slice() else {
            continue;
        };
        if node.op_type != "Conv" || is_output(conv_out) {
            continue;
        }
        let Some([a, b]) = readers.get(conv_out.as_str()).map(Vec::as_slice) else {
            continue;
        };
        let (sigmoid, mul) = match (nodes[*a].op_type.as_str(), nodes[*b].op_type.as_str()) {
            ("Sigmoid", "Mul") => (*a, *b),
            ("Mul", "Sigmoid") => (*b, *a),
            _ => continue,
        };
        let [sigmoid_out] = nodes[sigmoid].outputs.as_slice() else {
            continue;
        };
        let mul_inputs: Vec<&str> = nodes[mul].inputs.iter().map(String::as_str).collect();
        let pair = mul_inputs == [conv_out.as_str(), sigmoid_out.as_str()]
            || mul_inputs == [sigmoid_out.as_str(), conv_out.as_str()];
        if pair && !is_output(sigmoid_out) && only_reader(sigmoid_out) == Some(mul) {
            fused.push((index, sigmoid, mul));
        }
    }
    let mut nodes: Vec<Option<Node>> = nodes.into_iter().map(Some).collect();
    let mut activations = vec![Activation::None; nodes.len()];
    for (conv, sigmoid, mul) in fused {
        let (Some(mul_node), Some(_)) = (nodes[mul].take(), nodes[sigmoid].take()) else {
            continue;
        };
        if let Some(conv_node) = nodes[conv].as_mut() {
            conv_node.outputs = mul_node.outputs;
            activations[conv] = Activation::Silu;
        }
    }
    nodes
        .into_iter()
        .zip(activations)
        .filter_map(|(node, activation)| node.map(|node| (node, activation)))
        .unzip()
}

fn plan_frees(
    nodes: &[Node],
    outputs: &[ValueDecl],
    constants: &HashMap<String, Value>,
) -> Vec<Vec<String>> {
    let mut last_use: HashMap<&str, usize> = HashMap::new();
    for (index, node) in nodes.iter().enumerate() {
        for name in node.inputs.iter().chain(&node.outputs) {
            last_use.insert(name.as_str(), index);
        }
    }
    let mut frees = vec![Vec::new(); nodes.len()];
    for (name, index) in last_use {
        let kept = name.is_empty()
            || constants.contains_key(name)
            || outputs.iter().any(|o| o.name == name);
        if !kept {
            frees[index].push(name.to_string());
        }
    }
    frees
}

/// Runs one node, turning a backend panic into an error that names the node (native only:
/// wasm aborts on panic, so there the shape checks in `ops` are the only guard).
fn guard<T>(node: &Node, run: impl FnOnce() -> Result<T>) -> Result<T> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
            Ok(result) => result,
            Err(payload) => {
                let message = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown failure".into());
                Err(VisionError::Backend(format!(
                    "node `{}` ({}) failed: {message}",
                    node.name, node.op_type
                )))
            }
        }
    }
    #[cfg(target_arch = "wasm32")]
    {
        let _ = node;
        run()
    }
}
