//! VIF as pyiqa's `vif` computes it (`archs/vif_arch.py`): Sheikh and Bovik's wavelet-domain
//! VIF (`vifvec`) on a steerable pyramid, not the pixel-domain `vifp`.

use burn::tensor::module::conv2d;
use burn::tensor::ops::{ConvOptions, PadMode};
use burn::tensor::{Device, Tensor, TensorData};

use super::color::y_channel;
use super::filter::kernel;

/// The side of the blocks the GSM vectors are built from (`self.M`).
const M: usize = 3;
/// The HVS noise variance (`sigma_nsq`).
const SIGMA_NSQ: f32 = 0.4;
/// pyiqa's `tol`: variances under it count as zero.
const TOL: f32 = 1e-12;
/// Pyramid levels (`level=4`): all are used, finest first here.
const LEVELS: usize = 4;

/// pyiqa's `sp5_filters()['lo0filt']`: the initial low-pass.
#[rustfmt::skip]
const LO0: [f32; 25] = [
    0.00341614, -0.01551246, -0.03848215, -0.01551246, 0.00341614,
    -0.01551246, 0.05586982, 0.1592557, 0.05586982, -0.01551246,
    -0.03848215, 0.1592557, 0.40304148, 0.1592557, -0.03848215,
    -0.01551246, 0.05586982, 0.1592557, 0.05586982, -0.01551246,
    0.00341614, -0.01551246, -0.03848215, -0.01551246, 0.00341614,
];

/// `lofilt` (already doubled as pyiqa has it): the low-pass before each 2x decimation.
#[rustfmt::skip]
const LO: [f32; 81] = [
    0.00170808, -0.00489834, -0.00775624, -0.01888864, -0.01924108, -0.01888864, -0.00775624, -0.00489834, 0.00170808,
    -0.00489834, -0.01046562, -0.01322234, 0.008212, 0.02005976, 0.008212, -0.01322234, -0.01046562, -0.00489834,
    -0.00775624, -0.01322234, 0.02793492, 0.06554076, 0.07962786, 0.06554076, 0.02793492, -0.01322234, -0.00775624,
    -0.01888864, 0.008212, 0.06554076, 0.12852666, 0.16339236, 0.12852666, 0.06554076, 0.008212, -0.01888864,
    -0.01924108, 0.02005976, 0.07962786, 0.16339236, 0.2019308, 0.16339236, 0.07962786, 0.02005976, -0.01924108,
    -0.01888864, 0.008212, 0.06554076, 0.12852666, 0.16339236, 0.12852666, 0.06554076, 0.008212, -0.01888864,
    -0.00775624, -0.01322234, 0.02793492, 0.06554076, 0.07962786, 0.06554076, 0.02793492, -0.01322234, -0.00775624,
    -0.00489834, -0.01046562, -0.01322234, 0.008212, 0.02005976, 0.008212, -0.01322234, -0.01046562, -0.00489834,
    0.00170808, -0.00489834, -0.00775624, -0.01888864, -0.01924108, -0.01888864, -0.00775624, -0.00489834, 0.00170808,
];

/// Orientation 0 of the six band filters (`bfilts[:, 0].reshape(7, 7).T`). pyiqa's subbands
/// `[4, 7, ..., 25]` of the reversed pyramid are orientations 3 and 0 of each level, so only
/// those two bands are built; orientation 3 is this one transposed and negated.
#[rustfmt::skip]
const BAND0: [f32; 49] = [
    0.00277643, -0.00986904, -0.01021852, 0.0, 0.01021852, 0.00986904, -0.00277643,
    0.00496194, -0.00893064, -0.03075356, 0.0, 0.03075356, 0.00893064, -0.00496194,
    0.01026699, 0.01189859, -0.08226445, 0.0, 0.08226445, -0.01189859, -0.01026699,
    0.01455399, 0.02755155, -0.11732297, 0.0, 0.11732297, -0.02755155, -0.01455399,
    0.01026699, 0.01189859, -0.08226445, 0.0, 0.08226445, -0.01189859, -0.01026699,
    0.00496194, -0.00893064, -0.03075356, 0.0, 0.03075356, 0.00893064, -0.00496194,
    0.00277643, -0.00986904, -0.01021852, 0.0, 0.01021852, 0.00986904, -0.00277643,
];

/// pyiqa `vif` (`VIF(channels=1, level=4, ori=6)`, `sigma_nsq=0.4`). Both images go to YIQ's
/// Y scaled to 255 and rounded (`to_y_channel(x, 255)`), then through a 4-level, 6-orientation
/// steerable pyramid (`sp5_filters`, every correlation with reflect padding). Of its 24 bands
/// pyiqa scores 8, orientations 3 and 0 of each level. Per band, on the size cropped to a
/// multiple of 3: the gain `g` and noise `vv` from box-window statistics (window `2^lev + 1`,
/// 17 on the finest level to 3 on the coarsest) sampled at the centre of every 3x3 block;
/// the reference's 3x3-neighbourhood covariance `C_U`, its eigenvalues and the GSM multiplier
/// `s = x^T C_U^+ x / 9` per block; a border of `ceil(((win - 1) / 2) / 3)` blocks dropped.
/// The score is `sum log2(1 + g^2 s λ / (vv + σ²)) / sum log2(1 + s λ / σ²)` over bands,
/// blocks and eigenvalues. `x` is the distorted image, `y` the reference.
///
/// NaN for images too small for the pyramid's reflect padding (under 33 pixels a side), where
/// pyiqa raises.
pub fn vif(x: Tensor<4>, y: Tensor<4>) -> f64 {
    let [_, _, h, w] = x.dims();
    if !fits_pyramid(h) || !fits_pyramid(w) {
        return f64::NAN;
    }
    let device = x.device();
    let filters = Filters::new(&device);
    // The reference in batch 0, the distorted image in batch 1: one pyramid for both.
    let images = Tensor::cat(vec![y_channel(y, 255.0), y_channel(x, 255.0)], 0);
    let mut lo = correlate(images, &filters.lo0, 1);
    let (mut num, mut den) = (0.0, 0.0);
    for level in 0..LEVELS {
        // Orientations 0 and 3 as two output channels.
        let bands = correlate(lo.clone(), &filters.bands, 1);
        // pyiqa's window grows towards the finest level: 3, 5, 9, 17.
        let win = (1 << (LEVELS - level)) + 1;
        for orientation in 0..2 {
            let [_, _, h, w] = bands.dims();
            let (h, w) = (h / M * M, w / M * M);
            let band = |b: usize| {
                bands
                    .clone()
                    .slice([b..b + 1, orientation..orientation + 1, 0..h, 0..w])
            };
            let (n, d) = subband(band(0), band(1), win);
            num += n;
            den += d;
        }
        if level + 1 < LEVELS {
            lo = correlate(lo, &filters.lo, 2);
        }
    }
    num / (den + 1e-12)
}

/// Whether every reflect padding of the pyramid and of the box windows is narrower than what
/// it pads (torch's condition) along a side of `size` pixels.
fn fits_pyramid(mut size: usize) -> bool {
    if size <= 2 {
        return false;
    }
    for level in 0..LEVELS {
        let win = (1 << (LEVELS - level)) + 1;
        let cropped = size / M * M;
        let band_fits = size > 3 && cropped >= M && cropped > (win - 1) / 2;
        // pyiqa low-passes after the last level too (the pyramid's residual).
        let lo_fits = size > 4;
        if !band_fits || !lo_fits {
            return false;
        }
        size = size.div_ceil(2);
    }
    true
}

/// The pyramid's kernels on the device.
struct Filters {
    lo0: Tensor<4>,
    lo: Tensor<4>,
    /// `[2, 1, 7, 7]`: orientations 0 and 3.
    bands: Tensor<4>,
}

impl Filters {
    fn new(device: &Device) -> Self {
        let mut bands = BAND0.to_vec();
        // bfilts[:, 3] is -bfilts[:, 0]^T.
        bands.extend((0..49).map(|i| -BAND0[(i % 7) * 7 + i / 7]));
        Self {
            lo0: kernel(LO0.to_vec(), 5, 5, device),
            lo: kernel(LO.to_vec(), 9, 9, device),
            bands: Tensor::from_data(TensorData::new(bands, [2, 1, 7, 7]), device),
        }
    }
}

/// pyiqa's `corrDn`: reflect padding by `(k - 1) / 2`, correlation with every `weight`
/// (`[out, 1, k, k]`), then every `step`th sample from the first.
fn correlate(x: Tensor<4>, weight: &Tensor<4>, step: usize) -> Tensor<4> {
    let p = (weight.dims()[2] - 1) / 2;
    let x = x.pad([(p, p), (p, p)], PadMode::Reflect);
    conv2d(
        x,
        weight.clone(),
        None,
        ConvOptions::new([step, step], [0, 0], [1, 1], 1),
    )
}

/// One subband's `(numerator, denominator)` (in bits): `r` the reference's coefficients,
/// `d` the distorted image's, both `[1, 1, h, w]` with `h` and `w` multiples of 3.
fn subband(r: Tensor<4>, d: Tensor<4>, win: usize) -> (f64, f64) {
    let (g, vv) = distortion_channel(r.clone(), d, win);
    let (s, eigenvalues) = gsm(r);
    let [_, _, bh, bw] = g.dims();
    let o = (win - 1) / 2;
    let o = o.div_ceil(M);
    if bh <= 2 * o || bw <= 2 * o {
        // Nothing left after the border: pyiqa's sums are empty.
        return (0.0, 0.0);
    }
    let n = (bh - 2 * o) * (bw - 2 * o);
    let crop = |t: Tensor<4>| t.slice([0..1, 0..1, o..bh - o, o..bw - o]).reshape([1, n]);
    let (g, vv, s) = (crop(g), crop(vv), crop(s));
    let device = s.device();
    let lambda = Tensor::<2>::from_data(TensorData::new(eigenvalues.to_vec(), [9, 1]), &device);
    // [9, n]: every eigenvalue against every block.
    let sl = s.clone() * lambda;
    let num = (g.clone() * g * sl.clone() / vv.add_scalar(SIGMA_NSQ))
        .add_scalar(1.0)
        .log()
        .sum();
    let den = sl.div_scalar(SIGMA_NSQ).add_scalar(1.0).log().sum();
    let bits = |t: Tensor<1>| f64::from(t.into_scalar::<f32>()) / std::f64::consts::LN_2;
    (bits(num), bits(den))
}

/// pyiqa's `vifsub_est_M`: the gain `g` and additive noise variance `vv` of the distortion
/// channel, per 3x3 block (`[1, 1, h / 3, w / 3]` each).
fn distortion_channel(r: Tensor<4>, d: Tensor<4>, win: usize) -> (Tensor<4>, Tensor<4>) {
    let device = r.device();
    let area = (win * win) as f32;
    // Means of r and d, sums of r d, r^2 and d^2 over the window, as five grouped channels.
    let stack = Tensor::cat(
        vec![
            r.clone(),
            d.clone(),
            r.clone() * d.clone(),
            r.clone() * r,
            d.clone() * d,
        ],
        1,
    );
    // The box window is separable: a row pass (carrying the means' 1 / win^2) then a column
    // pass, each only at the sampled positions.
    let mut row_weights = vec![1.0 / area; 2 * win];
    row_weights.resize(5 * win, 1.0);
    let row_weights = Tensor::from_data(TensorData::new(row_weights, [5, 1, 1, win]), &device);
    let column_weights = Tensor::<4>::ones([5, 1, win, 1], &device);
    let p = (win - 1) / 2;
    let padded = stack.pad([(p, p), (p, p)], PadMode::Reflect);
    let [_, _, ph, pw] = padded.dims();
    // Window centres at rows and columns 1, 4, 7, ... (`winstart = M // 2`, step M).
    let start = M / 2;
    let padded = padded.slice([0..1, 0..5, start..ph, start..pw]);
    let rows = conv2d(
        padded,
        row_weights,
        None,
        ConvOptions::new([1, M], [0, 0], [1, 1], 5),
    );
    let stats = conv2d(
        rows,
        column_weights,
        None,
        ConvOptions::new([M, 1], [0, 0], [1, 1], 5),
    );
    let channel = |c: usize| stats.clone().narrow(1, c, 1);
    let (mean_r, mean_d) = (channel(0), channel(1));
    let cov = channel(2) - mean_r.clone().mul_scalar(area) * mean_d.clone();
    let ss_r = (channel(3) - mean_r.powi_scalar(2).mul_scalar(area)).clamp_min(0.0);
    let ss_d = (channel(4) - mean_d.powi_scalar(2).mul_scalar(area)).clamp_min(0.0);

    let g = cov.clone() / ss_r.clone().add_scalar(TOL);
    let vv = (ss_d.clone() - g.clone() * cov).div_scalar(area);
    // The same masks, in the same order, as pyiqa.
    let flat_r = ss_r.lower_elem(TOL);
    let g = g.mask_fill(flat_r.clone(), 0.0);
    let vv = vv.mask_where(flat_r, ss_d.clone());
    let flat_d = ss_d.clone().lower_elem(TOL);
    let g = g.mask_fill(flat_d.clone(), 0.0);
    let vv = vv.mask_fill(flat_d, 0.0);
    let negative = g.clone().lower_elem(0.0);
    let vv = vv.mask_where(negative, ss_d);
    let g = g.clamp_min(0.0);
    let vv = vv.clone().mask_fill(vv.lower_elem(TOL), TOL);
    (g, vv)
}

/// pyiqa's `refparams_vecgsm`: the GSM multiplier `s` per 3x3 block of the reference
/// (`[1, 1, h / 3, w / 3]`) and the eigenvalues of the covariance `C_U` of its 3x3
/// neighbourhoods. The covariance and the 9x9 algebra (pseudo-inverse, eigenvalues) run on
/// the host.
fn gsm(r: Tensor<4>) -> (Tensor<4>, [f64; 9]) {
    let device = r.device();
    let [_, _, h, w] = r.dims();
    let r = r.reshape([h, w]);
    let pixels = r
        .clone()
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 subband");
    let a = covariance(&pixels, h, w);
    let (eigenvalues, vectors) = jacobi_eigen(a);
    let inverse = pseudo_inverse(&eigenvalues, &vectors);

    // The non-overlapping 3x3 blocks as columns, in the same (row, column) order.
    let (bh, bw) = (h / M, w / M);
    let blocks = r
        .reshape([bh, M, bw, M])
        .permute([1, 3, 0, 2])
        .reshape([M * M, bh * bw]);
    let inverse = Tensor::<2>::from_data(TensorData::new(inverse, [9, 9]), &device);
    let s = (inverse.matmul(blocks.clone()) * blocks)
        .sum_dim(0)
        .div_scalar((M * M) as f32);
    (s.reshape([1, 1, bh, bw]), eigenvalues)
}

/// pyiqa's `C_U`: the covariance of the 3x3 neighbourhoods at every position of the `h` by
/// `w` band (features in row-major order within the neighbourhood).
///
/// On the host, because pyiqa's value depends on how torch rounds it: `torch.matmul` of the
/// `[9, N]` centred samples with their transpose (N ≈ 260 000 on the finest level) adds the
/// products one by one into an f32 accumulator, and the small terms it drops shift the
/// smallest eigenvalues by several percent. An exact covariance gives VIF up to 7e-4
/// (relative) away from pyiqa's; the same sequential f32 sum lands within 2e-5. The means
/// (`torch.mean`) are accurate, so they are summed in f64.
fn covariance(band: &[f32], h: usize, w: usize) -> [[f64; 9]; 9] {
    let (rows, cols) = (h - M + 1, w - M + 1);
    let n = rows * cols;
    let neighbourhood = |r: usize, c: usize| -> [f32; 9] {
        std::array::from_fn(|f| band[(r + f / M) * w + c + f % M])
    };
    let mut sums = [0f64; 9];
    for r in 0..rows {
        for c in 0..cols {
            for (s, v) in sums.iter_mut().zip(neighbourhood(r, c)) {
                *s += f64::from(v);
            }
        }
    }
    let means = sums.map(|s| (s / n as f64) as f32);
    // Each entry its own sequential f32 sum; the full square so that the inner loop runs
    // over contiguous rows.
    let mut sums = [[0f32; 9]; 9];
    for r in 0..rows {
        for c in 0..cols {
            let v = neighbourhood(r, c);
            let centred: [f32; 9] = std::array::from_fn(|f| v[f] - means[f]);
            for (row, &a) in sums.iter_mut().zip(&centred) {
                for (s, &b) in row.iter_mut().zip(&centred) {
                    *s += a * b;
                }
            }
        }
    }
    let mut cu = [[0f64; 9]; 9];
    for (out, row) in cu.iter_mut().zip(sums) {
        for (o, s) in out.iter_mut().zip(row) {
            *o = f64::from(s / n as f32);
        }
    }
    cu
}

/// `torch.pinverse` (cut-off `1e-15` times the largest singular value) of a symmetric matrix
/// from its eigen-decomposition, row-major f32.
fn pseudo_inverse(values: &[f64; 9], vectors: &[[f64; 9]; 9]) -> Vec<f32> {
    let largest = values.iter().fold(0f64, |m, v| m.max(v.abs()));
    let mut inverse = vec![0f32; 81];
    for (i, cell) in inverse.iter_mut().enumerate() {
        let (row, col) = (i / 9, i % 9);
        let sum: f64 = (0..9)
            .filter(|&k| values[k].abs() > 1e-15 * largest)
            .map(|k| vectors[row][k] * vectors[col][k] / values[k])
            .sum();
        *cell = sum as f32;
    }
    inverse
}

/// Eigenvalues (ascending) and eigenvectors (columns) of a symmetric 9x9 matrix by cyclic
/// Jacobi rotations.
fn jacobi_eigen(mut a: [[f64; 9]; 9]) -> ([f64; 9], [[f64; 9]; 9]) {
    let mut v = [[0f64; 9]; 9];
    for (i, row) in v.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for _ in 0..100 {
        let off: f64 = (0..9)
            .flat_map(|p| (0..9).filter(move |&q| q != p).map(move |q| (p, q)))
            .map(|(p, q)| a[p][q] * a[p][q])
            .sum();
        let diagonal: f64 = (0..9).map(|p| a[p][p] * a[p][p]).sum();
        if off <= 1e-30 * diagonal {
            break;
        }
        for p in 0..8 {
            for q in p + 1..9 {
                if a[p][q] == 0.0 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in a.iter_mut() {
                    let (kp, kq) = (row[p], row[q]);
                    row[p] = c * kp - s * kq;
                    row[q] = s * kp + c * kq;
                }
                let (before, from_q) = a.split_at_mut(q);
                for (pk, qk) in before[p].iter_mut().zip(from_q[0].iter_mut()) {
                    (*pk, *qk) = (c * *pk - s * *qk, s * *pk + c * *qk);
                }
                for row in v.iter_mut() {
                    let (kp, kq) = (row[p], row[q]);
                    row[p] = c * kp - s * kq;
                    row[q] = s * kp + c * kq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..9).collect();
    order.sort_by(|&i, &j| a[i][i].total_cmp(&a[j][j]));
    let mut values = [0f64; 9];
    let mut vectors = [[0f64; 9]; 9];
    for (new, &old) in order.iter().enumerate() {
        values[new] = a[old][old];
        for k in 0..9 {
            vectors[k][new] = v[k][old];
        }
    }
    (values, vectors)
}
