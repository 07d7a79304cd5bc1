//! Values flowing between nodes: device tensors of any rank ≤ [`MAX_RANK`], or small host
//! constants (shapes, axes, scales) that operators read as parameters.
//!
//! burn tensors carry their rank in the type. ONNX ranks are only known at run time, so every
//! device tensor is stored as a rank-[`MAX_RANK`] tensor whose leading axes are 1, next to its
//! logical shape. Left-padding with ones is exactly numpy broadcasting, so elementwise
//! operators broadcast correctly without any extra work.

use burn::tensor::{DType, Device, FloatDType, Tensor, TensorData};

use crate::onnx::{HostData, HostTensor};

/// The largest tensor rank the engine handles (classic YOLOv5 heads use rank 5).
pub const MAX_RANK: usize = 6;

/// A float tensor on the device with its logical (unpadded) shape.
#[derive(Debug, Clone)]
pub struct DeviceTensor {
    /// The data, left-padded with unit axes to rank [`MAX_RANK`].
    pub padded: Tensor<MAX_RANK>,
    /// Logical shape, outermost first; its length is the ONNX rank.
    pub shape: Vec<usize>,
}

impl DeviceTensor {
    /// Wraps a tensor whose logical shape is `shape` (the product must match).
    pub fn from_padded(padded: Tensor<MAX_RANK>, shape: Vec<usize>) -> Self {
        Self { padded, shape }
    }

    /// Uploads host floats with the given logical shape (rank ≤ [`MAX_RANK`], checked by caller).
    pub fn upload(values: Vec<f32>, shape: &[usize], device: &Device) -> Self {
        Self::upload_as(values, shape, device, FloatDType::F32)
    }

    /// [`DeviceTensor::upload`] into a tensor of element type `float` (f16 models).
    pub fn upload_as(
        values: Vec<f32>,
        shape: &[usize],
        device: &Device,
        float: FloatDType,
    ) -> Self {
        let padded_shape = pad_shape(shape);
        let data = TensorData::new(values, padded_shape.to_vec());
        Self {
            padded: Tensor::from_data(data, (device, DType::from(float))),
            shape: shape.to_vec(),
        }
    }

    /// Logical rank.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the tensor has no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The physical axis of logical axis `axis` (already normalised to `0..rank`).
    pub fn physical_axis(&self, axis: usize) -> usize {
        MAX_RANK - self.rank() + axis
    }

    /// The data viewed as a rank-4 tensor (for convolution, pooling, resize).
    pub fn as_4d(&self) -> Tensor<4> {
        let s = pad_shape(&self.shape);
        self.padded.clone().reshape([s[2], s[3], s[4], s[5]])
    }

    /// Wraps a rank-4 result.
    pub fn from_4d(tensor: Tensor<4>) -> Self {
        let shape = tensor.dims().to_vec();
        let padded = tensor.reshape(pad_shape(&shape));
        Self { padded, shape }
    }
}

/// Left-pads a logical shape with ones to [`MAX_RANK`] dims.
pub fn pad_shape(shape: &[usize]) -> [usize; MAX_RANK] {
    let mut padded = [1; MAX_RANK];
    let offset = MAX_RANK.saturating_sub(shape.len());
    for (slot, &dim) in padded[offset..].iter_mut().zip(shape) {
        *slot = dim;
    }
    padded
}

/// A value in the executor's environment.
#[derive(Debug, Clone)]
pub enum Value {
    /// A float tensor on the device.
    Device(DeviceTensor),
    /// A constant kept on the host (integers always; small float constants).
    Host(HostTensor),
}

impl Value {
    /// Logical shape.
    pub fn shape(&self) -> &[usize] {
        match self {
            Value::Device(t) => &t.shape,
            Value::Host(t) => &t.shape,
        }
    }

    /// True for host integer tensors.
    pub fn is_int(&self) -> bool {
        matches!(
            self,
            Value::Host(HostTensor {
                data: HostData::I64(_),
                ..
            })
        )
    }
}
