//! MS-SSIM as pyiqa's `ms_ssim` computes it.

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Tensor, TensorData};

use super::scalar;
use super::ssim::{luma255, ssim_cs};

/// The scale weights of Wang et al., as pyiqa's f32 tensor holds them.
const WEIGHTS: [f32; 5] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];

/// pyiqa `ms_ssim` (`MS_SSIM(test_y_channel=True, color_space='yiq', downsample=False,
/// is_prod=True)`): on YIQ's Y times 255, rounded; at each of five scales the SSIM pieces
/// of [`super::ssim::ssim`] (11x11 Gaussian, 'valid', no 1/256-size pooling), then a 2x2
/// average pool padded by one zero on both sides of an odd dimension (PyTorch's
/// `avg_pool2d(padding=(H % 2, W % 2))`, the zeros counted in the average). The score is
/// `prod(cs_i ^ w_i, i < 4) * ssim_4 ^ w_4`.
pub fn ms_ssim(x: Tensor<4>, y: Tensor<4>) -> f64 {
    let (mut x, mut y) = (luma255(x), luma255(y));
    let mut score = 1.0;
    for (level, &weight) in WEIGHTS.iter().enumerate() {
        let (ssim, cs) = ssim_cs(x.clone(), y.clone());
        let weight = f64::from(weight);
        if level + 1 < WEIGHTS.len() {
            score *= scalar(cs).powf(weight);
            x = halve(x);
            y = halve(y);
        } else {
            score *= scalar(ssim).powf(weight);
        }
    }
    score
}

/// PyTorch's `avg_pool2d(x, 2, padding=(H % 2, W % 2))` (zeros counted) as a stride-2
/// convolution with a `1/4` kernel: burn's CPU average pool is ten times slower, and the
/// result is the same, since every value here is a multiple of `4^-level` below 256 and
/// so exact in f32.
fn halve(x: Tensor<4>) -> Tensor<4> {
    let [_, channels, h, w] = x.dims();
    let weight = Tensor::from_data(
        TensorData::new(vec![0.25f32; channels * 4], [channels, 1, 2, 2]),
        &x.device(),
    );
    conv2d(
        x,
        weight,
        None,
        ConvOptions::new([2, 2], [h % 2, w % 2], [1, 1], channels),
    )
}
