//! Blur measures: scikit-image's `blur_effect` and the variance of the Laplacian.

use burn::tensor::{Tensor, TensorData};
use burn::tensor::module::conv2d;
use burn::tensor::ops::{ConvOptions, PadMode};

use super::color::mix;
use super::exposure::{cv_grey, histogram, moments};
use super::filter::{Border, filter2, kernel, pad};

/// scikit-image's `h_size`: the re-blurring box filter's length.
const H_SIZE: usize = 11;
/// scikit-image's `_EPSILON = np.spacing(1.0)`: the floor of both gradient magnitudes.
const SK_EPSILON: f32 = f64::EPSILON as f32;
/// The largest |Laplacian| of 8-bit grey levels: `4 * 255`.
const LAPLACIAN_MAX: i64 = 4 * 255;

/// scikit-image 0.26 `blur_effect(img, h_size=11, channel_axis=-1)` on the 8-bit RGB image
/// (Crete et al. 2007; 0 sharp, 1 blurred).
///
/// Grey is `rgb2gray` (`0.2125 R + 0.7154 G + 0.0721 B` in `[0, 1]`). Along each axis: a
/// box filter of 11 along that axis (`uniform_filter1d`, scipy's `'reflect'` border, which
/// repeats the edge pixel: `Border::Symmetric`), the absolute Sobel derivative along that
/// axis (`[1, 0, -1]` times the `[1, 2, 1] / 4` smoothing across) of the image and of the
/// re-blurred image, both floored at `np.spacing(1)`; `M1` sums the sharp gradient and
/// `M2` the part of it the blur removed, `max(0, sharp - blurred)`, over rows and columns
/// `2..n-1`, and the axis scores `|M1 - M2| / M1`. The result is the max over the two axes.
/// Those sums never reach the border, so the Sobel filter's own border mode does not
/// matter and it runs `'valid'`. scikit-image computes in f64, this in f32.
pub fn blur_effect(x: Tensor<4>) -> f64 {
    let grey = mix(x, [0.2125, 0.7154, 0.0721], 0.0);
    let [_, _, h, w] = grey.dims();
    if h < 4 || w < 4 {
        // No pixel inside the summed window: scikit-image divides 0 by 0.
        return f64::NAN;
    }
    if std::env::var("BLUR_IMPL").as_deref() == Ok("slice") {
        return slice_impl(grey);
    }
    let padded = pad(grey, [REACH, REACH, REACH, REACH], Border::Symmetric);
    let rows = axis_sums(padded.clone().narrow(3, REACH, w), true);
    let cols = axis_sums(padded.narrow(2, REACH, h), false);
    let sums: Vec<f32> = Tensor::cat(vec![rows, cols], 0)
        .into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("a float tensor's data");
    sums.chunks_exact(2)
        .map(|m| {
            let (m1, m2) = (f64::from(m[0]), f64::from(m[1]));
            (m1 - m2).abs() / m1
        })
        .fold(f64::NEG_INFINITY, f64::max)
}

fn slice_impl(grey: Tensor<4>) -> f64 {
    let [_, _, h, w] = grey.dims();
    let padded = pad(grey.clone(), [REACH, REACH, REACH, REACH], Border::Symmetric);
    let rows = slice_axis(padded.clone().narrow(3, REACH, w), grey.clone(), 2);
    let cols = slice_axis(padded.narrow(2, REACH, h), grey, 3);
    let sums: Vec<f32> = Tensor::cat(vec![rows, cols], 0)
        .into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("a float tensor's data");
    sums.chunks_exact(2)
        .map(|m| {
            let (m1, m2) = (f64::from(m[0]), f64::from(m[1]));
            (m1 - m2).abs() / m1
        })
        .fold(f64::NEG_INFINITY, f64::max)
}

/// q: padded by REACH along dim; g: grey unpadded.
fn slice_axis(q: Tensor<4>, g: Tensor<4>, dim: usize) -> Tensor<1> {
    let across = 5 - dim;
    let n = g.dims()[dim];
    // centres 2..n-1 along dim (count n-3), 1..n-1 across (count m-2) then smoothing -> 2..m-1
    let c = n - 3;
    // sharp edge: g[r+1]-g[r-1] for r in 2..n-1
    let e = g.clone().narrow(dim, 3, c) - g.narrow(dim, 1, c);
    // composite: q index = r + REACH. U[i] = q[i] + q[i+1]; B[r] = U[r+REACH+5] - U[r+REACH-6]
    let qn = q.dims()[dim];
    let u = q.clone().narrow(dim, 0, qn - 1) + q.narrow(dim, 1, qn - 1);
    let b = u.clone().narrow(dim, 2 + REACH + 5, c) - u.narrow(dim, 2 + REACH - 6, c);
    let smooth = |x: Tensor<4>| {
        let m = x.dims()[across];
        let v = x.clone().narrow(across, 0, m - 1) + x.narrow(across, 1, m - 1);
        v.clone().narrow(across, 1, m - 3) + v.narrow(across, 2, m - 3)
    };
    let sharp = smooth(e).abs().mul_scalar(H_SIZE as f32);
    let blurred = smooth(b).abs();
    let removed = (sharp.clone() - blurred).clamp_min(0.0);
    let total = |t: Tensor<4>| t.sum_dim(3).sum_dim(2).reshape([1]);
    Tensor::cat(vec![total(sharp), total(removed)], 0)
}

/// How far the box filter then the Sobel filter reach from a pixel: `h_size / 2 + 1`.
const REACH: usize = H_SIZE / 2;

/// `[M1, M2]` along one axis. `x` is the grey image padded by `REACH` along that axis only.
fn axis_sums(x: Tensor<4>, along_rows: bool) -> Tensor<1> {
    let device = x.device();
    let [_, _, h, w] = x.dims();
    let taps = 2 * REACH + 3;
    let mut weights = vec![0f32; 2 * taps * 3];
    let smooth = [0.25f32, 0.5, 0.25];
    let box_scale = 1.0 / H_SIZE as f32;
    for (k, s) in smooth.iter().enumerate() {
        let mut set = |out: usize, d: isize, v: f32| {
            let t = (d + REACH as isize + 1) as usize;
            let (r, c) = if along_rows { (t, k) } else { (k, t) };
            let i = if along_rows { r * 3 + c } else { r * taps + c };
            weights[out * taps * 3 + i] = v * s;
        };
        set(0, -1, -1.0);
        set(0, 1, 1.0);
        for d in [-(REACH as isize) - 1, -(REACH as isize)] {
            set(1, d, -box_scale);
        }
        for d in [REACH as isize, REACH as isize + 1] {
            set(1, d, box_scale);
        }
    }
    let shape = if along_rows { [2, 1, taps, 3] } else { [2, 1, 3, taps] };
    let g = conv2d(
        x,
        Tensor::from_data(TensorData::new(weights, shape), &device),
        None,
        ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
    );
    let [_, _, gh, gw] = g.dims();
    let _ = (h, w);
    let g = g.narrow(2, 1, gh - 1).narrow(3, 1, gw - 1).abs();
    let sharp = g.clone().narrow(1, 0, 1);
    let removed = (sharp.clone() - g.narrow(1, 1, 1)).clamp_min(0.0);
    let total = |t: Tensor<4>| t.sum_dim(3).sum_dim(2).reshape([1]);
    Tensor::cat(vec![total(sharp), total(removed)], 0)
}

/// Variance of the Laplacian of the grey image, as
/// `cv2.Laplacian(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()` gives it.
///
/// Grey is OpenCV's 8-bit BT.601 grey (levels `0..=255`, see `exposure::cv_grey`); the
/// Laplacian is `[[0, 1, 0], [1, -4, 1], [0, 1, 0]]` (`ksize=1`) with OpenCV's default
/// border, `BORDER_REFLECT_101` (mirrored about the edge pixel; a side of one pixel
/// repeats it); the variance is numpy's population variance. The Laplacian of integer
/// levels is an integer in `-1020..=1020`, so its variance comes exactly from a histogram
/// counted on the device.
pub fn laplacian_variance(x: Tensor<4>) -> f64 {
    let device = x.device();
    let grey = cv_grey(x);
    let [_, _, h, w] = grey.dims();
    // PadMode::Reflect needs two pixels; for one, reflect-101 is the pixel itself.
    let mode = |len: usize| if len > 1 { PadMode::Reflect } else { PadMode::Edge };
    let padded = grey
        .pad([(1, 1), (0, 0)], mode(h))
        .pad([(0, 0), (1, 1)], mode(w));
    let laplacian = kernel(
        vec![0.0, 1.0, 0.0, 1.0, -4.0, 1.0, 0.0, 1.0, 0.0],
        3,
        3,
        &device,
    );
    let response = filter2(padded, &laplacian, Border::Valid);
    let bins = (2 * LAPLACIAN_MAX + 1) as usize;
    let (_, variance) = moments(&histogram(response, -LAPLACIAN_MAX, bins), -LAPLACIAN_MAX);
    variance
}
