//! Blur measures: scikit-image's `blur_effect` and the variance of the Laplacian.

use burn::tensor::Tensor;
use burn::tensor::ops::PadMode;

use super::color::mix;
use super::exposure::{cv_grey, histogram, moments};
use super::filter::{Border, pad};

/// scikit-image's `h_size`: the re-blurring box filter's length.
const H_SIZE: usize = 11;
/// How far the box filter reaches either side of its centre.
const REACH: usize = H_SIZE / 2;
/// The largest |Laplacian| of 8-bit grey levels: `4 * 255`.
const LAPLACIAN_MAX: i64 = 4 * 255;

/// scikit-image 0.26 `blur_effect(img, h_size=11, channel_axis=-1)` on the 8-bit RGB image
/// (Crete et al. 2007; 0 sharp, 1 blurred).
///
/// Grey is `rgb2gray` (`0.2125 R + 0.7154 G + 0.0721 B` in `[0, 1]`). Along each axis:
/// the image re-blurred by a box of 11 along that axis (`uniform_filter1d`, scipy's
/// `'reflect'` border, which repeats the edge pixel: `Border::Symmetric`); the absolute
/// Sobel derivative along the axis (`[1, 0, -1]`, smoothed by `[1, 2, 1] / 4` across) of
/// the image, `sharp`, and of the re-blurred image, `blurred`; `M1 = sum(sharp)` and
/// `M2 = sum(max(0, sharp - blurred))` over rows and columns `2..n-1`, and the axis scores
/// `|M1 - M2| / M1`. The result is the larger of the two axis scores.
///
/// Computed as scikit-image defines it, not as it runs: those sums never reach the border,
/// so the Sobel filter's border mode never matters; the box then the derivative is one
/// sparse filter, `(x[i+5] + x[i+6] - x[i-5] - x[i-6]) / 11`; the score is scale-free, so
/// the `/ 4` and `/ 11` become one factor of 11 on `sharp`; and the `np.spacing(1)` floor on
/// both magnitudes moves the sums by under 1e-15 relative, below f32, so it is left out.
/// scikit-image computes in f64, this in f32 (1e-7 apart on the fixtures). Images under 5
/// pixels a side score NaN (scikit-image gives NaN under 4).
pub fn blur_effect(x: Tensor<4>) -> f64 {
    let grey = mix(x, [0.2125, 0.7154, 0.0721], 0.0);
    let [_, _, h, w] = grey.dims();
    if h <= REACH || w <= REACH {
        return f64::NAN;
    }
    let padded = pad(
        grey.clone(),
        [REACH, REACH, REACH, REACH],
        Border::Symmetric,
    );
    let rows = axis_sums(padded.clone().narrow(3, REACH, w), grey.clone(), 2);
    let columns = axis_sums(padded.narrow(2, REACH, h), grey, 3);
    let sums = Tensor::cat(vec![rows, columns], 0)
        .into_data()
        .try_into_vec_as::<f32>()
        .expect("a float tensor's data");
    sums.chunks_exact(2)
        .map(|m| {
            let (m1, m2) = (f64::from(m[0]), f64::from(m[1]));
            (m1 - m2).abs() / m1
        })
        .fold(f64::NEG_INFINITY, f64::max)
}

/// `[M1, M2]` (both times 44) along `dim` (2: rows, 3: columns) of `grey`; `padded` is
/// `grey` mirrored by `REACH` along `dim` only.
fn axis_sums(padded: Tensor<4>, grey: Tensor<4>, dim: usize) -> Tensor<1> {
    let across = 5 - dim;
    // Centres 2..=n-2 along `dim`: `n - 3` of them.
    let centres = grey.dims()[dim] - 3;
    let edge = grey.clone().narrow(dim, 3, centres) - grey.narrow(dim, 1, centres);
    // Box then derivative at centre `r`: x[r+5] + x[r+6] - x[r-5] - x[r-6], from sums of
    // neighbouring pairs of the padded image (pair `i` is padded rows `i, i+1`, which are
    // image rows `i-5, i-4`).
    let len = padded.dims()[dim];
    let pairs = padded.clone().narrow(dim, 0, len - 1) + padded.narrow(dim, 1, len - 1);
    let first = 2 + REACH;
    let reblurred = pairs.clone().narrow(dim, first + REACH, centres)
        - pairs.narrow(dim, first - REACH - 1, centres);
    // [1, 2, 1] across, as two pair sums; keeps centres 2..=m-2 across.
    let smooth = |t: Tensor<4>| {
        let m = t.dims()[across];
        let pairs = t.clone().narrow(across, 0, m - 1) + t.narrow(across, 1, m - 1);
        pairs.clone().narrow(across, 1, m - 3) + pairs.narrow(across, 2, m - 3)
    };
    let sharp = smooth(edge).abs().mul_scalar(H_SIZE as f32);
    let blurred = smooth(reblurred).abs();
    let removed = (sharp.clone() - blurred).clamp_min(0.0);
    // Row sums first: shorter f32 accumulations than one flat sum.
    let total = |t: Tensor<4>| t.sum_dim(3).sum_dim(2).reshape([1]);
    Tensor::cat(vec![total(sharp), total(removed)], 0)
}

/// Variance of the Laplacian of the grey image, as
/// `cv2.Laplacian(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()` gives it.
///
/// Grey is OpenCV's 8-bit BT.601 grey (levels `0..=255`, see `exposure::cv_grey_unfloored`);
/// the Laplacian is `[[0, 1, 0], [1, -4, 1], [0, 1, 0]]` (`ksize=1`) with OpenCV's default
/// border, `BORDER_REFLECT_101` (mirrored about the edge pixel; a side of one pixel repeats
/// it); the variance is numpy's population variance. The Laplacian of integer levels is an
/// integer in `-1020..=1020`, so its variance comes exactly from a histogram counted on the
/// device.
pub fn laplacian_variance(x: Tensor<4>) -> f64 {
    let grey = cv_grey(x);
    let [_, _, h, w] = grey.dims();
    // PadMode::Reflect needs two pixels; for one, reflect-101 is the pixel itself.
    let mode = |len: usize| {
        if len > 1 {
            PadMode::Reflect
        } else {
            PadMode::Edge
        }
    };
    let padded = grey
        .pad([(1, 1), (0, 0)], mode(h))
        .pad([(0, 0), (1, 1)], mode(w));
    // Shifted views rather than a convolution: exact either way, and cheaper.
    let at = |r: usize, c: usize| padded.clone().narrow(2, r, h).narrow(3, c, w);
    let laplacian = (at(0, 1) + at(2, 1)) + (at(1, 0) + at(1, 2)) - at(1, 1).mul_scalar(4.0);
    let bins = (2 * LAPLACIAN_MAX + 1) as usize;
    let (_, variance) = moments(&histogram(laplacian, -LAPLACIAN_MAX, bins), -LAPLACIAN_MAX);
    variance
}
