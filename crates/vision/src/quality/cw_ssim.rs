//! CW-SSIM as pyiqa's `cw_ssim` computes it (`CW_SSIM` in `archs/ssim_arch.py`, on the
//! complex steerable pyramid of `matlab_utils/scfpyr_util.py`).
//!
//! pyiqa builds the whole pyramid (every level's eight bands, full-size inverse FFTs) but
//! scores only the coarsest band level. Every step before it is a mask multiplication or a
//! centred crop of the shifted spectrum, so the same bands come from the forward FFT's
//! centred `h/8 x w/8` block times one precomputed mask per orientation: the row FFTs run
//! over the whole image, the column FFTs only over the columns kept, and the inverse FFTs
//! are small. The spectrum is computed in f64 as pyiqa does (it casts the images to
//! float64); the spatial part (the 7x7 box sums and the weighted average) is f32 on the
//! image's device, which moves the score by about 1e-7.

use std::collections::HashMap;
use std::f64::consts::PI;
use std::sync::{Arc, Mutex, OnceLock};

use burn::tensor::{Tensor, TensorData};
use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};

use super::filter::{Border, filter2, kernel};
use super::scalar;

/// Pyramid levels (pyiqa's `level`): the scored bands are those of the last one.
const LEVELS: usize = 4;
/// Orientations per level (pyiqa's `ori`).
const ORIENTATIONS: usize = 8;
/// Side of the box window the correlations are averaged over.
const BOX: usize = 7;
/// The `1e-12` pyiqa's `math_util.abs` adds under the square root.
const ABS_EPS: f32 = 1e-12;

/// pyiqa `cw_ssim` (`level=4`, `ori=8`, `guardb=0`, `K=0`, `test_y_channel=True`,
/// `color_space='yiq'`): on YIQ's Y scaled to 255 and rounded (in float64, as pyiqa casts
/// the images before converting), the steerable pyramid's 4th level, each band's
/// `2 |Σ x ȳ| / Σ (|x|² + |y|²)` over 7x7 windows, weighted by a Gaussian of the map's size
/// with σ = a quarter of the band height, averaged over the 8 orientations.
///
/// pyiqa refuses images whose shorter side is under 64 pixels (too small for 4 levels);
/// they score NaN here.
pub fn cw_ssim(x: Tensor<4>, y: Tensor<4>) -> f64 {
    let [_, _, h, w] = x.dims();
    if LEVELS as f64 > (h.min(w) as f64).log2().floor() - 2.0 {
        return f64::NAN;
    }
    let device = x.device();
    let plan = plan(h, w);
    let (bh, bw) = (plan.rows.len(), plan.cols.len());

    // Bands of x then y, each split into real and imaginary planes: [xr, xi, yr, yi] x 8.
    let band = bh * bw;
    let mut host = vec![0f32; 4 * ORIENTATIONS * band];
    for (k, image) in [x, y].into_iter().enumerate() {
        let luma = luma(&image, h, w);
        let bands = plan.bands(&luma);
        let (re, im) = host[2 * k * ORIENTATIONS * band..][..2 * ORIENTATIONS * band]
            .split_at_mut(ORIENTATIONS * band);
        for (i, v) in bands.iter().enumerate() {
            re[i] = v.re as f32;
            im[i] = v.im as f32;
        }
    }
    let t: Tensor<4> = Tensor::from_data(
        TensorData::new(host, [1, 4 * ORIENTATIONS, bh, bw]),
        &device,
    );
    let part = |k: usize| t.clone().narrow(1, k * ORIENTATIONS, ORIENTATIONS);
    let (xr, xi, yr, yi) = (part(0), part(1), part(2), part(3));

    // x · conj(y), and |x|² + |y|² with pyiqa's epsilon inside each modulus.
    let corr_re = xr.clone() * yr.clone() + xi.clone() * yi.clone();
    let corr_im = xi.clone() * yr.clone() - xr.clone() * yi.clone();
    let energy = (xr.powi_scalar(2) + xi.powi_scalar(2)).add_scalar(ABS_EPS)
        + (yr.powi_scalar(2) + yi.powi_scalar(2)).add_scalar(ABS_EPS);
    let box_kernel = kernel(vec![1.0 / (BOX * BOX) as f32; BOX * BOX], BOX, BOX, &device);
    let sums = filter2(
        Tensor::cat(vec![corr_re, corr_im, energy], 1),
        &box_kernel,
        Border::Valid,
    );
    let part = |k: usize| sums.clone().narrow(1, k * ORIENTATIONS, ORIENTATIONS);
    let (corr_re, corr_im, energy) = (part(0), part(1), part(2));
    let map = (corr_re.powi_scalar(2) + corr_im.powi_scalar(2))
        .add_scalar(ABS_EPS)
        .sqrt()
        .mul_scalar(2.0)
        / energy;

    let (mh, mw) = (bh - BOX + 1, bw - BOX + 1);
    let window: Tensor<4> = Tensor::from_data(
        TensorData::new(plan.window.clone(), [1, 1, mh, mw]),
        &device,
    );
    scalar((map * window).sum()) / ORIENTATIONS as f64
}

/// pyiqa's `to_y_channel(x, 255, 'yiq')` on the float64 image: the f32 weights and pixels
/// widened to f64, scaled, rounded half to even as torch rounds.
fn luma(x: &Tensor<4>, h: usize, w: usize) -> Vec<f64> {
    let rgb = x
        .clone()
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap();
    let plane = h * w;
    let [wr, wg, wb] = [0.299f32, 0.587, 0.114].map(f64::from);
    (0..plane)
        .map(|i| {
            let (r, g, b) = (
                f64::from(rgb[i]),
                f64::from(rgb[plane + i]),
                f64::from(rgb[2 * plane + i]),
            );
            ((r * wr + g * wg + b * wb) * 255.0).round_ties_even()
        })
        .collect()
}

/// What scoring an `h x w` image needs: where the last level sits in the shifted spectrum,
/// one mask per orientation over it, the FFT plans and the weighting window.
struct Plan {
    /// Rows of the image FFT kept, as unshifted frequency indices, in shifted order.
    rows: Vec<usize>,
    /// Columns of the image FFT kept, likewise.
    cols: Vec<usize>,
    /// Per orientation, `bh * bw`: every low-pass mask down to this level, the level's
    /// high-pass and angular masks, each rounded to f32 as pyiqa stores them.
    masks: Vec<Vec<f64>>,
    /// Forward FFTs over an image row and over an image column.
    row_fft: Arc<dyn Fft<f64>>,
    col_fft: Arc<dyn Fft<f64>>,
    /// Inverse FFTs over a band row and a band column.
    band_row_ifft: Arc<dyn Fft<f64>>,
    band_col_ifft: Arc<dyn Fft<f64>>,
    /// `fspecial((bh - 6, bw - 6), bh / 4)` in f32.
    window: Vec<f32>,
}

// A process-wide table behind a lock: natively rayon threads share it; in the browser's
// single-threaded worker the lock is never contended, so it never blocks.
#[allow(clippy::disallowed_methods)]
fn plan(h: usize, w: usize) -> Arc<Plan> {
    type Plans = Mutex<HashMap<(usize, usize), Arc<Plan>>>;
    static PLANS: OnceLock<Plans> = OnceLock::new();
    let plans = PLANS.get_or_init(Default::default);
    if let Some(plan) = plans.lock().unwrap().get(&(h, w)) {
        return plan.clone();
    }
    let plan = Arc::new(Plan::new(h, w));
    plans.lock().unwrap().insert((h, w), plan.clone());
    plan
}

impl Plan {
    fn new(h: usize, w: usize) -> Self {
        // pyiqa's `prepare_grid`: normalised frequency coordinates of the shifted spectrum.
        let (ry, cx) = (linspace_axis(h), linspace_axis(w));
        let (rc, cc) = (h / 2, w / 2);

        // Centred crops of the previous levels: `start` and `len` per axis, as pyiqa
        // computes them; the last level's block is where all the crops compose.
        let (mut r0, mut c0, mut bh, mut bw) = (0, 0, h, w);
        for _ in 1..LEVELS {
            let (rs, rl) = crop(bh);
            let (cs, cl) = crop(bw);
            (r0, c0, bh, bw) = (r0 + rs, c0 + cs, rl, cl);
        }

        // Radial transitions (`rcosFn(1, -0.5)`), shifted an octave per level.
        let (xrcos, yrcos) = rcos();
        let yircos: Vec<f64> = yrcos.iter().map(|y| (1.0 - y * y).sqrt()).collect();
        let mut shifts = vec![xrcos];
        for level in 0..LEVELS {
            let next = shifts[level].iter().map(|x| x - 1.0).collect();
            shifts.push(next);
        }
        // Angular profile (`Ycosn` over `Xcosn`).
        let (xcosn, ycosn) = angular();

        let to_f32 = |v: f64| f64::from(v as f32);
        let mut low = Vec::with_capacity(bh * bw);
        let mut high = Vec::with_capacity(bh * bw);
        let mut angle = Vec::with_capacity(bh * bw);
        for (r, &fy) in ry.iter().enumerate().skip(r0).take(bh) {
            for (c, &fx) in cx.iter().enumerate().skip(c0).take(bw) {
                // The DC sample takes its left neighbour's radius (log2(0) otherwise).
                let rx = if (r, c) == (rc, cc) { cx[cc - 1] } else { fx };
                let log_rad = (rx * rx + fy * fy).sqrt().log2();
                // lo0mask on the full grid, then each level's lomask after its crop.
                let mut mask = to_f32(interp(log_rad, &shifts[0], &yircos));
                for shift in &shifts[1..LEVELS] {
                    mask *= to_f32(interp(log_rad, shift, &yircos));
                }
                low.push(mask);
                high.push(to_f32(interp(log_rad, &shifts[LEVELS], &yrcos)));
                angle.push(fy.atan2(fx));
            }
        }
        let masks = (0..ORIENTATIONS)
            .map(|b| {
                let offset = PI * b as f64 / ORIENTATIONS as f64;
                let xs: Vec<f64> = xcosn.iter().map(|x| x + offset).collect();
                (0..bh * bw)
                    .map(|i| low[i] * to_f32(interp(angle[i], &xs, &ycosn)) * high[i])
                    .collect()
            })
            .collect();

        // The shifted block's frequencies: shifted index s holds frequency (s + ceil(n/2)) % n.
        let unshift = |n: usize, start: usize, len: usize| -> Vec<usize> {
            (start..start + len)
                .map(|s| (s + n.div_ceil(2)) % n)
                .collect()
        };
        let mut planner = FftPlanner::new();
        Self {
            rows: unshift(h, r0, bh),
            cols: unshift(w, c0, bw),
            masks,
            row_fft: planner.plan_fft_forward(w),
            col_fft: planner.plan_fft_forward(h),
            band_row_ifft: planner.plan_fft_inverse(bw),
            band_col_ifft: planner.plan_fft_inverse(bh),
            window: gaussian_window(bh - BOX + 1, bw - BOX + 1, bh as f64 / 4.0),
        }
    }

    /// The last level's bands of one `h x w` luma plane: `ORIENTATIONS` planes of
    /// `bh * bw` complex samples, concatenated.
    fn bands(&self, luma: &[f64]) -> Vec<Complex64> {
        let (h, w) = (self.col_fft.len(), self.row_fft.len());
        let (bh, bw) = (self.rows.len(), self.cols.len());

        // Row FFTs of the whole image, keeping the block's columns (transposed: bw x h).
        let mut scratch = vec![Complex64::default(); self.scratch_len()];
        let mut row = vec![Complex64::default(); w];
        let mut columns = vec![Complex64::default(); bw * h];
        for r in 0..h {
            for (v, &p) in row.iter_mut().zip(&luma[r * w..(r + 1) * w]) {
                *v = Complex64::new(p, 0.0);
            }
            self.row_fft.process_with_scratch(&mut row, &mut scratch);
            for (j, &c) in self.cols.iter().enumerate() {
                columns[j * h + r] = row[c];
            }
        }
        // Column FFTs of the kept columns, keeping the block's rows: the shifted block.
        let mut block = vec![Complex64::default(); bh * bw];
        for (j, column) in columns.chunks_exact_mut(h).enumerate() {
            self.col_fft.process_with_scratch(column, &mut scratch);
            for (i, &r) in self.rows.iter().enumerate() {
                block[i * bw + j] = column[r];
            }
        }

        // Each orientation: mask, times i ((-i)^(ori-1) for 8 orientations), ifftshift,
        // inverse FFT scaled by 1 / (bh bw) as torch's ifft2.
        let scale = 1.0 / (bh * bw) as f64;
        let (dy, dx) = (bh / 2, bw / 2);
        let mut out = vec![Complex64::default(); ORIENTATIONS * bh * bw];
        let mut transposed = vec![Complex64::default(); bh * bw];
        for (mask, plane) in self.masks.iter().zip(out.chunks_exact_mut(bh * bw)) {
            for r in 0..bh {
                let sr = (r + dy) % bh;
                for c in 0..bw {
                    let s = sr * bw + (c + dx) % bw;
                    let v = block[s] * mask[s];
                    plane[r * bw + c] = Complex64::new(-v.im, v.re);
                }
            }
            for band_row in plane.chunks_exact_mut(bw) {
                self.band_row_ifft
                    .process_with_scratch(band_row, &mut scratch);
            }
            for r in 0..bh {
                for c in 0..bw {
                    transposed[c * bh + r] = plane[r * bw + c];
                }
            }
            for band_col in transposed.chunks_exact_mut(bh) {
                self.band_col_ifft
                    .process_with_scratch(band_col, &mut scratch);
            }
            for r in 0..bh {
                for c in 0..bw {
                    plane[r * bw + c] = transposed[c * bh + r] * scale;
                }
            }
        }
        out
    }

    fn scratch_len(&self) -> usize {
        [
            &self.row_fft,
            &self.col_fft,
            &self.band_row_ifft,
            &self.band_col_ifft,
        ]
        .iter()
        .map(|f| f.get_inplace_scratch_len())
        .max()
        .unwrap_or(0)
    }
}

/// One axis of pyiqa's `prepare_grid`: `np.linspace` from `-(n//2)/(n/2)` over `n`
/// samples `2/n` apart.
fn linspace_axis(n: usize) -> Vec<f64> {
    let half = (n / 2) as f64 / (n as f64 / 2.0);
    let (start, stop) = (-half, half - (1 - n % 2) as f64 * 2.0 / n as f64);
    let step = (stop - start) / (n as f64 - 1.0);
    (0..n)
        .map(|i| {
            if i + 1 == n {
                stop
            } else {
                i as f64 * step + start
            }
        })
        .collect()
}

/// The centred crop pyiqa's pyramid takes to subsample a level of size `n`: (start, len).
fn crop(n: usize) -> (usize, usize) {
    let d = n as f64;
    let len = ((d - 0.5) / 2.0).ceil();
    let start = ((d + 0.5) / 2.0).ceil() - ((len + 0.5) / 2.0).ceil();
    (start as usize, len as usize)
}

/// `rcosFn(width=1, position=-0.5)` with `Yrcos = sqrt(Y)`: a raised-cosine transition in
/// log2 radius.
fn rcos() -> (Vec<f64>, Vec<f64>) {
    const N: i32 = 256;
    let xs: Vec<f64> = (-N - 1..2)
        .map(|k| PI * f64::from(k) / 2.0 / f64::from(N))
        .collect();
    let mut ys: Vec<f64> = xs.iter().map(|x| x.cos().powi(2)).collect();
    let last = ys.len() - 1;
    (ys[0], ys[last]) = (ys[1], ys[last - 1]);
    let xs = xs
        .iter()
        .map(|x| -0.5 + 2.0 / PI * (x + PI / 4.0))
        .collect();
    (xs, ys.into_iter().map(f64::sqrt).collect())
}

/// The pyramid's angular lookup table (`Xcosn`, `Ycosn`): `cos^(ori-1)` over half a turn,
/// normalised so the orientations' squares sum to one.
fn angular() -> (Vec<f64>, Vec<f64>) {
    const LUT: i32 = 1024;
    let order = ORIENTATIONS as i32 - 1;
    let factorial = |n: i32| (1..=n).map(f64::from).product::<f64>();
    let constant = 2f64.powi(2 * order) * factorial(order).powi(2)
        / (ORIENTATIONS as f64 * factorial(2 * order));
    let xs: Vec<f64> = (-(2 * LUT + 1)..LUT + 2)
        .map(|k| PI * f64::from(k) / f64::from(LUT))
        .collect();
    let ys = xs
        .iter()
        .map(|&x| {
            let alpha = (x + PI).rem_euclid(2.0 * PI) - PI;
            if alpha.abs() < PI / 2.0 {
                2.0 * constant.sqrt() * x.cos().powi(order)
            } else {
                0.0
            }
        })
        .collect();
    (xs, ys)
}

/// `np.interp(x, xs, ys)`: piecewise linear, clamped at both ends; `xs` increasing.
fn interp(x: f64, xs: &[f64], ys: &[f64]) -> f64 {
    let last = xs.len() - 1;
    if x <= xs[0] {
        return ys[0];
    }
    if x >= xs[last] {
        return ys[last];
    }
    let j = xs.partition_point(|&v| v <= x) - 1;
    if xs[j] == x {
        return ys[j];
    }
    let slope = (ys[j + 1] - ys[j]) / (xs[j + 1] - xs[j]);
    slope * (x - xs[j]) + ys[j]
}

/// pyiqa's `fspecial((rows, cols), sigma)`: a Gaussian with values under `eps * max`
/// zeroed, normalised to sum 1 in f64, then f32. (`filter::gaussian_values` is square.)
fn gaussian_window(rows: usize, cols: usize, sigma: f64) -> Vec<f32> {
    let (m, n) = ((rows as f64 - 1.0) / 2.0, (cols as f64 - 1.0) / 2.0);
    let mut values = Vec::with_capacity(rows * cols);
    for r in 0..rows {
        for c in 0..cols {
            let (y, x) = (r as f64 - m, c as f64 - n);
            values.push((-(x * x + y * y) / (2.0 * sigma * sigma)).exp());
        }
    }
    let max = values.iter().copied().fold(0.0, f64::max);
    for v in values.iter_mut() {
        if *v < f64::EPSILON * max {
            *v = 0.0;
        }
    }
    let sum: f64 = values.iter().sum();
    values.into_iter().map(|v| (v / sum) as f32).collect()
}
