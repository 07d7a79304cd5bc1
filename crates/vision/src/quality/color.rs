//! The colour conversions pyiqa's metrics start from (`pyiqa.utils.color_util`).

use burn::tensor::Tensor;

/// `x` (`[N, 3, H, W]`, RGB in `[0, 1]`) mixed into one channel with `weights` plus `bias`.
pub fn mix(x: Tensor<4>, weights: [f32; 3], bias: f32) -> Tensor<4> {
    let [n, _, h, w] = x.dims();
    let channel = |c: usize| x.clone().slice([0..n, c..c + 1, 0..h, 0..w]);
    (channel(0) * weights[0] + channel(1) * weights[1] + channel(2) * weights[2]).add_scalar(bias)
}

/// pyiqa's `to_y_channel(x, out_data_range)` with its default `color_space='yiq'`: YIQ's Y
/// (`0.299 R + 0.587 G + 0.114 B`) times `out_data_range`, rounded to integers when the range
/// is 255 or more (as pyiqa does to match MATLAB's uint8 inputs).
pub fn y_channel(x: Tensor<4>, out_data_range: f32) -> Tensor<4> {
    let y = mix(x, [0.299, 0.587, 0.114], 0.0) * out_data_range;
    if out_data_range >= 255.0 {
        y.round()
    } else {
        y
    }
}
