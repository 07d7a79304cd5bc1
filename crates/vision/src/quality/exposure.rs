//! Exposure and contrast statistics of the grey image (Sightline's own; no pyiqa metric).
//!
//! Everything here starts from OpenCV's 8-bit grey image, so the numbers are what
//! `cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)` followed by numpy gives (the recipe is
//! `tests/data/iqa/recipe_extra.py`). The grey levels are integers, so the statistics come
//! from a histogram counted on the device: exact, and only the counts leave the device.

use burn::tensor::{IndexingUpdateOp, Int, Tensor};

use super::color::mix;

/// Exposure statistics of an image's grey levels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exposure {
    /// Fraction of pixels clipped dark: grey level at most 5 of 255.
    pub dark_fraction: f64,
    /// Fraction of pixels clipped bright: grey level at least 250 of 255.
    pub bright_fraction: f64,
    /// Mean grey level, in `[0, 1]`.
    pub mean_luminance: f64,
}

/// Grey level at or below which a pixel counts as clipped dark.
const DARK: usize = 5;
/// Grey level at or above which a pixel counts as clipped bright.
const BRIGHT: usize = 250;

/// Dark and bright clipping and the mean luminance of `x` (`[1, 3, H, W]`, RGB in `[0, 1]`).
///
/// Luminance is OpenCV's 8-bit grey (BT.601 `0.299 R + 0.587 G + 0.114 B` on `0..=255`,
/// rounded as `cvtColor` rounds; see [`cv_grey`]). `dark_fraction` counts grey levels
/// `<= 5`, `bright_fraction` levels `>= 250`; `mean_luminance` is the mean level / 255.
pub fn exposure(x: Tensor<4>) -> Exposure {
    let counts = histogram(cv_grey(x), 0, 256);
    let total = counts.iter().sum::<u64>() as f64;
    let (mean, _) = moments(&counts, 0);
    Exposure {
        dark_fraction: counts[..=DARK].iter().sum::<u64>() as f64 / total,
        bright_fraction: counts[BRIGHT..].iter().sum::<u64>() as f64 / total,
        mean_luminance: mean / 255.0,
    }
}

/// RMS contrast: the population standard deviation of the grey image scaled to `[0, 1]`
/// (numpy's `(gray / 255).std()` on OpenCV's 8-bit grey, see [`cv_grey`]).
pub fn rms_contrast(x: Tensor<4>) -> f64 {
    let (_, variance) = moments(&histogram(cv_grey(x), 0, 256), 0);
    variance.sqrt() / 255.0
}

/// OpenCV's `cvtColor(RGB2GRAY)` on 8-bit pixels: `(9798 R + 19235 G + 3735 B + 2^14) >> 15`,
/// BT.601's 0.299 / 0.587 / 0.114 in 15-bit fixed point, checked equal to OpenCV 5.1 on all
/// 2^24 colours. (This differs from `round(0.299 R + 0.587 G + 0.114 B)` on about one pixel
/// in a thousand.) `x` is `[N, 3, H, W]` RGB in `[0, 1]` holding 8-bit values; the result is
/// `[N, 1, H, W]` grey levels `0..=255`. Every step is exact in f32 (integers below 2^24).
pub(super) fn cv_grey(x: Tensor<4>) -> Tensor<4> {
    let bytes = (x * 255.0).round();
    mix(bytes, [9798.0, 19235.0, 3735.0], 16384.0)
        .div_scalar(32768.0)
        .floor()
}

/// Counts of the integer values of `values` in `lowest..lowest + bins` (values outside are
/// clamped into the end bins), on the device; only the `bins` counts come back.
pub(super) fn histogram(values: Tensor<4>, lowest: i64, bins: usize) -> Vec<u64> {
    let [n, c, h, w] = values.dims();
    let device = values.device();
    // One histogram per pixel column, summed after: backends that walk the scatter axis
    // serially (one unit per output column) then still run in parallel over the columns.
    let index = values
        .reshape([n * c * h, w])
        .sub_scalar(lowest as f32)
        .clamp(0.0, (bins - 1) as f32)
        .int();
    let ones = Tensor::<2, Int>::ones([n * c * h, w], &device);
    let counts = Tensor::<2, Int>::zeros([bins, w], &device)
        .scatter(0, index, ones, IndexingUpdateOp::Add)
        .sum_dim(1);
    counts
        .into_data()
        .convert::<i64>()
        .to_vec::<i64>()
        .expect("an int tensor's data")
        .into_iter()
        .map(|c| c as u64)
        .collect()
}

/// Mean and population variance of the values a histogram counted (bin `k` holds the
/// value `lowest + k`), in f64: exact up to the final rounding.
pub(super) fn moments(counts: &[u64], lowest: i64) -> (f64, f64) {
    let total = counts.iter().sum::<u64>() as f64;
    let value = |k: usize| (lowest + k as i64) as f64;
    let mean = counts
        .iter()
        .enumerate()
        .map(|(k, &c)| c as f64 * value(k))
        .sum::<f64>()
        / total;
    let variance = counts
        .iter()
        .enumerate()
        .map(|(k, &c)| c as f64 * (value(k) - mean).powi(2))
        .sum::<f64>()
        / total;
    (mean, variance)
}
