//! Windows and 2-D filtering on device tensors: MATLAB's `fspecial`, `filter2` and
//! `imfilter` as pyiqa's `matlab_utils` reproduce them.

use burn::tensor::module::conv2d;
use burn::tensor::ops::{ConvOptions, PadMode};
use burn::tensor::{Device, Tensor, TensorData};

/// How a filter treats the image border.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Border {
    /// Only where the window fits (`filter2(..., 'valid')`): the output shrinks by `k - 1`.
    Valid,
    /// Zeros outside (`'same'`, PyTorch's `padding=k//2`).
    Zero,
    /// Mirrored including the edge pixel (MATLAB's `'symmetric'`: `[b a | a b c | c b]`).
    Symmetric,
    /// The edge pixel repeated (`'replicate'`).
    Replicate,
}

/// A `[1, 1, rows, cols]` kernel from row-major values.
pub fn kernel(values: Vec<f32>, rows: usize, cols: usize, device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(values, [1, 1, rows, cols]), device)
}

/// MATLAB's `fspecial('gaussian', size, sigma)`: normalised to sum 1, host values.
pub fn gaussian_values(size: usize, sigma: f64) -> Vec<f32> {
    let centre = (size as f64 - 1.0) / 2.0;
    let mut values = Vec::with_capacity(size * size);
    for r in 0..size {
        for c in 0..size {
            let (dy, dx) = (r as f64 - centre, c as f64 - centre);
            values.push((-(dx * dx + dy * dy) / (2.0 * sigma * sigma)).exp());
        }
    }
    let sum: f64 = values.iter().sum();
    values.into_iter().map(|v| (v / sum) as f32).collect()
}

/// Pads `x`'s last two dimensions by `(top, bottom, left, right)` under `border`
/// (`Valid` pads nothing).
pub fn pad(x: Tensor<4>, [top, bottom, left, right]: [usize; 4], border: Border) -> Tensor<4> {
    match border {
        Border::Valid => x,
        Border::Zero => x.pad([(top, bottom), (left, right)], PadMode::Constant(0.0)),
        Border::Replicate => x.pad([(top, bottom), (left, right)], PadMode::Edge),
        Border::Symmetric => symmetric(symmetric(x, 2, top, bottom), 3, left, right),
    }
}

/// Mirror padding that repeats the edge pixel, along `dim`; each side at most the size.
fn symmetric(x: Tensor<4>, dim: usize, before: usize, after: usize) -> Tensor<4> {
    if before == 0 && after == 0 {
        return x;
    }
    let len = x.dims()[dim];
    let mut parts = Vec::with_capacity(3);
    if before > 0 {
        parts.push(x.clone().narrow(dim, 0, before.min(len)).flip([dim]));
    }
    parts.push(x.clone());
    if after > 0 {
        let n = after.min(len);
        parts.push(x.narrow(dim, len - n, n).flip([dim]));
    }
    Tensor::cat(parts, dim)
}

/// Correlates every channel of `x` with the `[1, 1, kh, kw]` `kernel` (MATLAB's `filter2`
/// and `imfilter` correlate; no flip). Except for `Valid`, the output has `x`'s size, with
/// the window anchored as MATLAB does (`floor((k - 1) / 2)` before, the rest after).
pub fn filter2(x: Tensor<4>, kernel: &Tensor<4>, border: Border) -> Tensor<4> {
    let [_, channels, _, _] = x.dims();
    let [_, _, kh, kw] = kernel.dims();
    let (top, left) = ((kh - 1) / 2, (kw - 1) / 2);
    let x = pad(x, [top, kh - 1 - top, left, kw - 1 - left], border);
    let weight = kernel.clone().repeat_dim(0, channels);
    conv2d(
        x,
        weight,
        None,
        ConvOptions::new([1, 1], [0, 0], [1, 1], channels),
    )
}
