//! SSIM as pyiqa's `ssim` (Y channel) and `ssimc` (RGB) compute it, and the pieces
//! [`super::ms_ssim`] reuses.

use std::sync::OnceLock;

use burn::tensor::{Device, Tensor};

use super::color::{Luma, y_channel};
use super::filter::{Border, filter2, kernel};
use super::scalar;

/// pyiqa fixes `data_range = 255`, so the stabilising constants are `(0.01 * 255)^2` and
/// `(0.03 * 255)^2`.
const C1: f64 = (0.01 * 255.0) * (0.01 * 255.0);
const C2: f64 = (0.03 * 255.0) * (0.03 * 255.0);

/// Subtracted before the second moments (`E[x^2] - E[x]^2`) are filtered: pyiqa computes
/// them in f64; in f32 centring the 0..255 values keeps the cancellation error far below
/// the test tolerance. Variances do not change; means are shifted back.
const CENTRE: f32 = 128.0;

/// The Gaussian window: 11x11, sigma 1.5.
const SIZE: usize = 11;
const SIGMA: f64 = 1.5;

/// pyiqa `ssim` (`SSIM(test_y_channel=True, color_space='yiq', downsample=False)`): on
/// YIQ's Y scaled to 0..255 and rounded to integers (pyiqa's MATLAB-uint8 emulation),
/// an 11x11 Gaussian window with sigma 1.5 (`fspecial`), 'valid' filtering (no padding),
/// `C1 = (0.01 * 255)^2`, `C2 = (0.03 * 255)^2`, the contrast-structure term clipped at 0
/// (pyiqa's `relu`), and the mean of the SSIM map. No 1/256-size average pooling: pyiqa's
/// default `downsample=False` skips it.
pub fn ssim(x: Tensor<4>, y: Tensor<4>) -> f64 {
    let (ssim, _) = ssim_cs(luma255(x), luma255(y));
    scalar(ssim)
}

/// pyiqa `ssimc` (`SSIM(test_y_channel=False)`): as [`ssim`] but on each of R, G and B
/// (times 255, rounded), the maps of the three channels averaged together.
pub fn ssim_rgb(x: Tensor<4>, y: Tensor<4>) -> f64 {
    let (ssim, _) = ssim_cs(rgb255(x), rgb255(y));
    scalar(ssim)
}

/// pyiqa's `preprocess_rgb(x, test_y_channel=True, 255, 'yiq')`: the rounded Y channel.
pub(super) fn luma255(x: Tensor<4>) -> Tensor<4> {
    y_channel(x, Luma::Yiq, 255.0)
}

/// pyiqa's `preprocess_rgb(x, test_y_channel=False, 255)`: RGB times 255, rounded.
pub(super) fn rgb255(x: Tensor<4>) -> Tensor<4> {
    (x * 255.0).round()
}

/// `fspecial(11, 1.5)` on `device` as its two 1-D factors (`[1, 1, 1, 11]` and
/// `[1, 1, 11, 1]`), built once per process on the host. The Gaussian is separable, and two
/// 11-tap passes cost a fifth of one 11x11 pass; the factors' products differ from the
/// 2-D window's f32 values by rounding only (about 1e-7 relative).
fn window(device: &Device) -> [Tensor<4>; 2] {
    static VALUES: OnceLock<Vec<f32>> = OnceLock::new();
    let values = VALUES.get_or_init(|| {
        let centre = (SIZE as f64 - 1.0) / 2.0;
        let g: Vec<f64> = (0..SIZE)
            .map(|i| (-(i as f64 - centre).powi(2) / (2.0 * SIGMA * SIGMA)).exp())
            .collect();
        let sum: f64 = g.iter().sum();
        g.into_iter().map(|v| (v / sum) as f32).collect()
    });
    [
        kernel(values.clone(), 1, SIZE, device),
        kernel(values.clone(), SIZE, 1, device),
    ]
}

/// MATLAB's `filter2(window, x, 'valid')` with the separable window of [`window`].
fn filter_valid(x: Tensor<4>, [row, column]: &[Tensor<4>; 2]) -> Tensor<4> {
    filter2(filter2(x, row, Border::Valid), column, Border::Valid)
}

/// pyiqa's `ssim(X, Y, get_cs=True, data_range=255)` on images in 0..255 (any number of
/// channels): the means, over every channel and position, of the SSIM map and of the
/// clipped contrast-structure map, as one-element tensors on the images' device.
pub(super) fn ssim_cs(x: Tensor<4>, y: Tensor<4>) -> (Tensor<1>, Tensor<1>) {
    let channels = x.dims()[1];
    let (xc, yc) = (x.sub_scalar(CENTRE), y.sub_scalar(CENTRE));
    // All five filterings in one grouped convolution.
    let stack = Tensor::cat(
        vec![
            xc.clone(),
            yc.clone(),
            xc.clone() * xc.clone(),
            yc.clone() * yc.clone(),
            xc * yc,
        ],
        1,
    );
    let window = window(&stack.device());
    let filtered = filter_valid(stack, &window);
    let part = |i: usize| filtered.clone().narrow(1, i * channels, channels);
    let (mu1c, mu2c) = (part(0), part(1));
    let sigma1_sq = part(2) - mu1c.clone() * mu1c.clone();
    let sigma2_sq = part(3) - mu2c.clone() * mu2c.clone();
    let sigma12 = part(4) - mu1c.clone() * mu2c.clone();
    let (mu1, mu2) = (mu1c.add_scalar(CENTRE), mu2c.add_scalar(CENTRE));
    let (c1, c2) = (C1 as f32, C2 as f32);

    let cs_map =
        ((sigma12 * 2.0).add_scalar(c2) / (sigma1_sq + sigma2_sq).add_scalar(c2)).clamp_min(0.0);
    let mu1_mu2 = mu1.clone() * mu2.clone();
    let luminance =
        (mu1_mu2 * 2.0).add_scalar(c1) / (mu1.clone() * mu1 + mu2.clone() * mu2).add_scalar(c1);
    let ssim_map = luminance * cs_map.clone();
    (mean(ssim_map), mean(cs_map))
}

/// The mean of every element, row means first: two shorter f32 sums lose less than one
/// long one.
pub(super) fn mean(t: Tensor<4>) -> Tensor<1> {
    t.mean_dim(3).mean()
}
