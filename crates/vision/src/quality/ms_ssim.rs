//! MS-SSIM as pyiqa's `ms_ssim` computes it.

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Tensor, TensorData};

use super::ssim::{WINDOW, cs_mean, luma255, ssim_mean};

/// The scale weights of Wang et al., as pyiqa's f32 tensor holds them.
const WEIGHTS: [f32; 5] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];

/// pyiqa `ms_ssim` (`MS_SSIM(test_y_channel=True, color_space='yiq', downsample=False,
/// is_prod=True)`): on YIQ's Y times 255, rounded; at each of five scales the SSIM pieces
/// of [`super::ssim::ssim`] (11x11 Gaussian, 'valid', no 1/256-size pooling), then a 2x2
/// average pool padded by one zero on both sides of an odd dimension (PyTorch's
/// `avg_pool2d(padding=(H % 2, W % 2))`, the zeros counted in the average). The score is
/// `prod(cs_i ^ w_i, i < 4) * ssim_4 ^ w_4`. NaN for an image under 161 pixels across,
/// whose coarsest scale is smaller than the window (pyiqa raises).
pub fn ms_ssim(x: Tensor<4>, y: Tensor<4>) -> f64 {
    let [_, _, h, w] = x.dims();
    // Each scale halves, rounding up; the coarsest must still hold the 11x11 window.
    if h.div_ceil(16) < WINDOW || w.div_ceil(16) < WINDOW {
        return f64::NAN;
    }
    let (mut x, mut y) = (luma255(x), luma255(y));
    let mut means = Vec::with_capacity(WEIGHTS.len());
    for _ in 1..WEIGHTS.len() {
        means.push(cs_mean(x.clone(), y.clone()));
        x = halve(x);
        y = halve(y);
    }
    means.push(ssim_mean(x, y));
    // One read-back for the five means; the weighted product in f64, as pyiqa has it.
    let means = Tensor::cat(means, 0)
        .into_data()
        .try_into_vec_as::<f32>()
        .expect("f32 means");
    means
        .iter()
        .zip(WEIGHTS)
        .map(|(&m, w)| f64::from(m).powf(f64::from(w)))
        .product()
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
