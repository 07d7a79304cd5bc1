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
/// rounded as `cvtColor` rounds; see [`cv_grey_unfloored`]). `dark_fraction` counts grey levels
/// `<= 5`, `bright_fraction` levels `>= 250`; `mean_luminance` is the mean level / 255.
pub fn exposure(x: Tensor<4>) -> Exposure {
    let counts = histogram(cv_grey_unfloored(x), 0, 256);
    let total = counts.iter().sum::<u64>() as f64;
    let (mean, _) = moments(&counts, 0);
    Exposure {
        dark_fraction: counts[..=DARK].iter().sum::<u64>() as f64 / total,
        bright_fraction: counts[BRIGHT..].iter().sum::<u64>() as f64 / total,
        mean_luminance: mean / 255.0,
    }
}

/// RMS contrast: the population standard deviation of the grey image scaled to `[0, 1]`
/// (numpy's `(gray / 255).std()` on OpenCV's 8-bit grey, see [`cv_grey_unfloored`]).
pub fn rms_contrast(x: Tensor<4>) -> f64 {
    let (_, variance) = moments(&histogram(cv_grey_unfloored(x), 0, 256), 0);
    variance.sqrt() / 255.0
}

/// OpenCV's `cvtColor(RGB2GRAY)` on 8-bit pixels, `(9798 R + 19235 G + 3735 B + 2^14) >> 15`
/// (BT.601's 0.299 / 0.587 / 0.114 in 15-bit fixed point; checked equal to OpenCV 5.1 on all
/// 2^24 colours, and differing from `round(0.299 R + 0.587 G + 0.114 B)` on about one pixel
/// in a thousand), before the shift drops the fraction: `[N, 1, H, W]`, whose integer part
/// is the grey level `0..=255`. `x` is `[N, 3, H, W]`, RGB in `[0, 1]` holding 8-bit values.
///
/// Exact in f32: `fl(fl(v / 255) * 255) == v` for every byte `v`, and every partial sum is a
/// multiple of 2^-15 below 256. The floor is left to the caller (a histogram's cast to
/// integers truncates; [`cv_grey`] casts): flex rounds and floors far slower than it casts.
pub(super) fn cv_grey_unfloored(x: Tensor<4>) -> Tensor<4> {
    const ONE: f32 = 32768.0;
    mix(x * 255.0, [9798.0 / ONE, 19235.0 / ONE, 3735.0 / ONE], 0.5)
}

/// OpenCV's 8-bit grey levels `0..=255` as floats (see [`cv_grey_unfloored`]).
pub(super) fn cv_grey(x: Tensor<4>) -> Tensor<4> {
    // Truncation is the floor: the values are positive.
    cv_grey_unfloored(x).int().float()
}

/// How many pixels of `values` fall in each of `bins` unit bins starting at `lowest`: bin
/// `k` counts `floor(v - lowest) == k` (values outside are clamped into the end bins).
/// Counted on the device with a scatter-add; only the `bins` counts come back.
pub(super) fn histogram(values: Tensor<4>, lowest: i64, bins: usize) -> Vec<u64> {
    let len = values.shape().num_elements();
    let device = values.device();
    // A few partial histograms side by side, summed after: backends that walk the scatter
    // axis serially (one unit per output column) still run that many in parallel, and on
    // the CPU a narrow table stays in cache (512 columns of 2041 bins took 3x longer).
    let columns = [64, 32, 16, 8, 4, 2, 1]
        .into_iter()
        .find(|&c| len.is_multiple_of(c))
        .unwrap_or(1);
    let index = values
        .reshape([len / columns, columns])
        .sub_scalar(lowest as f32)
        .clamp(0.0, (bins - 1) as f32)
        .int();
    let ones = Tensor::<2, Int>::ones([len / columns, columns], &device);
    let counts = Tensor::<2, Int>::zeros([bins, columns], &device)
        .scatter(0, index, ones, IndexingUpdateOp::Add)
        .sum_dim(1);
    counts
        .into_data()
        .try_into_vec_as::<i64>()
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
