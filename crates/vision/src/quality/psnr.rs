//! PSNR as pyiqa's `psnr` and `psnry` compute it.

use burn::tensor::Tensor;

use super::color::y_channel;
use super::scalar;

/// pyiqa's `eps`: a perfect copy scores `10 log10(1 / 1e-8) = 80` dB, not infinity.
const EPS: f32 = 1e-8;

/// pyiqa `psnr` (`test_y_channel=False`): over all three channels, data range 1.
pub fn psnr(x: Tensor<4>, y: Tensor<4>) -> f64 {
    from_mse(x, y)
}

/// pyiqa `psnry` (`test_y_channel=True`, `color_space='yiq'`): on YIQ's Y in `[0, 1]`,
/// not rounded.
pub fn psnr_y(x: Tensor<4>, y: Tensor<4>) -> f64 {
    from_mse(y_channel(x, 1.0), y_channel(y, 1.0))
}

fn from_mse(x: Tensor<4>, y: Tensor<4>) -> f64 {
    let mse = scalar((x - y).powi_scalar(2).mean());
    10.0 * (1.0 / (mse + f64::from(EPS))).log10()
}
