//! The colour conversions pyiqa's metrics start from (`pyiqa.utils.color_util`).

use burn::tensor::Tensor;

/// Which luminance pyiqa's `to_y_channel` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Luma {
    /// YIQ's Y: `0.299 R + 0.587 G + 0.114 B` (pyiqa's default `color_space='yiq'`).
    Yiq,
    /// BT.601 YCbCr's Y: `(16 + 65.481 R + 128.553 G + 24.966 B) / 255`.
    YCbCr,
}

/// `x` (`[N, 3, H, W]`, RGB in `[0, 1]`) mixed into one channel with `weights` plus `bias`.
pub fn mix(x: Tensor<4>, weights: [f32; 3], bias: f32) -> Tensor<4> {
    let [n, _, h, w] = x.dims();
    let channel = |c: usize| x.clone().slice([0..n, c..c + 1, 0..h, 0..w]);
    (channel(0) * weights[0] + channel(1) * weights[1] + channel(2) * weights[2]).add_scalar(bias)
}

/// pyiqa's `to_y_channel(x, out_data_range)`: the luminance, times `out_data_range`, rounded
/// to integers when the range is 255 or more (as pyiqa does to match MATLAB's uint8 inputs).
pub fn y_channel(x: Tensor<4>, luma: Luma, out_data_range: f32) -> Tensor<4> {
    let y = match luma {
        Luma::Yiq => mix(x, [0.299, 0.587, 0.114], 0.0),
        Luma::YCbCr => mix(x, [65.481 / 255.0, 128.553 / 255.0, 24.966 / 255.0], 16.0 / 255.0),
    };
    let y = y * out_data_range;
    if out_data_range >= 255.0 { y.round() } else { y }
}

/// pyiqa's `rgb2yiq`: the three YIQ channels.
pub fn yiq(x: Tensor<4>) -> [Tensor<4>; 3] {
    [
        mix(x.clone(), [0.299, 0.587, 0.114], 0.0),
        mix(x.clone(), [0.5959, -0.2746, -0.3213], 0.0),
        mix(x, [0.2115, -0.5227, 0.3112], 0.0),
    ]
}
