//! SSIM as pyiqa's `ssim` (Y channel) and `ssimc` (RGB) compute it, and the pieces
//! [`super::ms_ssim`] reuses.

use std::sync::OnceLock;

use burn::tensor::{Device, Tensor};

use super::color::y_channel;
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
pub(super) const WINDOW: usize = 11;
const SIGMA: f64 = 1.5;

/// pyiqa `ssim` (`SSIM(test_y_channel=True, color_space='yiq', downsample=False)`): on
/// YIQ's Y scaled to 0..255 and rounded to integers (pyiqa's MATLAB-uint8 emulation),
/// an 11x11 Gaussian window with sigma 1.5 (`fspecial`), 'valid' filtering (no padding),
/// `C1 = (0.01 * 255)^2`, `C2 = (0.03 * 255)^2`, the contrast-structure term clipped at 0
/// (pyiqa's `relu`), and the mean of the SSIM map. No 1/256-size average pooling: pyiqa's
/// default `downsample=False` skips it. NaN for an image under 11 pixels across (pyiqa
/// raises).
pub fn ssim(x: Tensor<4>, y: Tensor<4>) -> f64 {
    if !fits(&x) {
        return f64::NAN;
    }
    scalar(ssim_mean(luma255(x), luma255(y)))
}

/// pyiqa `ssimc` (`SSIM(test_y_channel=False)`): as [`ssim`] but on each of R, G and B
/// (times 255, rounded), the maps of the three channels averaged together.
pub fn ssim_rgb(x: Tensor<4>, y: Tensor<4>) -> f64 {
    if !fits(&x) {
        return f64::NAN;
    }
    scalar(ssim_mean(rgb255(x), rgb255(y)))
}

/// Whether the window fits in `x` at least once.
fn fits(x: &Tensor<4>) -> bool {
    let [_, _, h, w] = x.dims();
    h >= WINDOW && w >= WINDOW
}

/// pyiqa's `preprocess_rgb(x, test_y_channel=True, 255, 'yiq')`: the rounded Y channel.
pub(super) fn luma255(x: Tensor<4>) -> Tensor<4> {
    y_channel(x, 255.0)
}

/// pyiqa's `preprocess_rgb(x, test_y_channel=False, 255)`: RGB times 255, rounded.
fn rgb255(x: Tensor<4>) -> Tensor<4> {
    (x * 255.0).round()
}

/// `fspecial(11, 1.5)` on `device` as its two 1-D factors (`[1, 1, 1, 11]` and
/// `[1, 1, 11, 1]`), built once per process on the host. The Gaussian is separable, and two
/// 11-tap passes cost a fifth of one 11x11 pass; the factors' products differ from the
/// 2-D window's f32 values by rounding only (about 1e-7 relative).
fn window(device: &Device) -> [Tensor<4>; 2] {
    static VALUES: OnceLock<Vec<f32>> = OnceLock::new();
    let values = VALUES.get_or_init(|| {
        let centre = (WINDOW as f64 - 1.0) / 2.0;
        let g: Vec<f64> = (0..WINDOW)
            .map(|i| (-(i as f64 - centre).powi(2) / (2.0 * SIGMA * SIGMA)).exp())
            .collect();
        let sum: f64 = g.iter().sum();
        g.into_iter().map(|v| (v / sum) as f32).collect()
    });
    [
        kernel(values.clone(), 1, WINDOW, device),
        kernel(values.clone(), WINDOW, 1, device),
    ]
}

/// MATLAB's `filter2(window, x, 'valid')` with the separable window of [`window`].
fn filter_valid(x: Tensor<4>, [row, column]: &[Tensor<4>; 2]) -> Tensor<4> {
    filter2(filter2(x, row, Border::Valid), column, Border::Valid)
}

/// pyiqa's `ssim(X, Y, data_range=255)` on images in 0..255 (any number of channels): the
/// mean of the SSIM map over every channel and position, on the images' device.
pub(super) fn ssim_mean(x: Tensor<4>, y: Tensor<4>) -> Tensor<1> {
    let Maps { mu1, mu2, cs } = maps(x, y);
    let c1 = C1 as f32;
    let luminance = ((mu1.clone() * mu2.clone()) * 2.0).add_scalar(c1)
        / (mu1.clone() * mu1 + mu2.clone() * mu2).add_scalar(c1);
    mean(luminance * cs)
}

/// The `cs` of pyiqa's `ssim(X, Y, get_cs=True, data_range=255)`: the mean of the clipped
/// contrast-structure map (MS-SSIM's finer scales need only this).
pub(super) fn cs_mean(x: Tensor<4>, y: Tensor<4>) -> Tensor<1> {
    mean(maps(x, y).cs)
}

/// The local means and the clipped contrast-structure map pyiqa's `ssim` builds.
struct Maps {
    mu1: Tensor<4>,
    mu2: Tensor<4>,
    cs: Tensor<4>,
}

fn maps(x: Tensor<4>, y: Tensor<4>) -> Maps {
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
    let c2 = C2 as f32;
    // pyiqa's `relu`: SSIM stays nonnegative.
    let cs =
        ((sigma12 * 2.0).add_scalar(c2) / (sigma1_sq + sigma2_sq).add_scalar(c2)).clamp_min(0.0);
    Maps {
        mu1: mu1c.add_scalar(CENTRE),
        mu2: mu2c.add_scalar(CENTRE),
        cs,
    }
}

/// The mean of every element, row means first: two shorter f32 sums lose less than one
/// long one.
fn mean(t: Tensor<4>) -> Tensor<1> {
    t.mean_dim(3).mean()
}
