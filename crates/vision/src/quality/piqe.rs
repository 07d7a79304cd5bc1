//! PIQE as pyiqa's `piqe` computes it (`archs/piqe_arch.py`, after MATLAB's `piqe`).

use burn::tensor::Tensor;

use super::color::y_channel;
use super::filter::{Border, gaussian_values, pad};

/// Side of the scored blocks.
const BLOCK: usize = 16;
/// A block whose variance (of the normalised image) exceeds this is spatially active.
const ACTIVITY_THRESHOLD: f32 = 0.1;
/// An edge segment whose standard deviation is under this is a noticeable artifact.
const IMPAIRED_THRESHOLD: f32 = 0.1;
/// Length of the edge segments.
const SEGMENT: usize = 6;

/// pyiqa `piqe` (no reference; 0 best, 100 worst). The grey image is YIQ's Y in `[0, 1]`,
/// divided by its maximum, times 255 and rounded. pyiqa pads it symmetrically at the bottom
/// and right by `size % 16` (not up to a multiple of 16; the blocks that then overhang are
/// dropped), normalises it by a 7x7 Gaussian (σ = 7/6, replicate border) local mean and
/// standard deviation (`(I - μ) / (σ + 1)`), and scores the 16x16 blocks: active when their
/// variance exceeds 0.1, distorted by noticeable artifacts when a 6-pixel segment of an edge
/// has a standard deviation under 0.1, by noise when `σ > 2 β` (with pyiqa's centre columns
/// 7 and 8 and surround missing columns 7 and 9). The score is
/// `100 (1 + Σ_active [artifact] (1 - var) + [noise] var) / (1 + active blocks)`.
pub fn piqe(x: Tensor<4>) -> f64 {
    let grey = y_channel(x, 1.0);
    let max = grey.clone().max().reshape([1, 1, 1, 1]);
    let grey = (grey / max).mul_scalar(255.0).round();
    let [_, _, h, w] = grey.dims();
    let grey = pad(grey, [0, h % BLOCK, 0, w % BLOCK], Border::Symmetric);
    let [_, _, h, w] = grey.dims();

    let grey = grey
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 image");
    let pixels = normalise(&grey, h, w);

    let (mut distortion, mut active) = (0f64, 0usize);
    let mut block = [[0f64; BLOCK]; BLOCK];
    for by in 0..h / BLOCK {
        for bx in 0..w / BLOCK {
            for (r, row) in block.iter_mut().enumerate() {
                let start = (by * BLOCK + r) * w + bx * BLOCK;
                for (v, &p) in row.iter_mut().zip(&pixels[start..start + BLOCK]) {
                    *v = f64::from(p);
                }
            }
            let variance = unbiased_variance(block.iter().flatten().copied()) as f32;
            // Written as torch compares: a NaN variance (a black image) is not active.
            let spatially_active = variance > ACTIVITY_THRESHOLD;
            if !spatially_active {
                continue;
            }
            active += 1;
            let mut score = 0f32;
            if noticeable_artifact(&block) {
                score += 1.0 - variance;
            }
            if noisy(&block, variance) {
                score += variance;
            }
            distortion += f64::from(score);
        }
    }
    (distortion + 1.0) / (1.0 + active as f64) * 100.0
}

/// pyiqa's `normalize_img_with_gauss(img, padding='replicate')`: `(I - μ) / (σ + 1)` with
/// the local mean and deviation under a 7x7 Gaussian (σ = 7/6), `σ = sqrt(|E[I²] - μ²| + ε)`.
///
/// This runs on the host because the block thresholds depend on torch's exact f32 rounding:
/// `E[I²] - μ²` cancels (values up to 255²), and a block variance at 0.100001 in pyiqa came out
/// 0.099999 with burn's convolution, flipping a block (0.07 on coffee's score). torch's CPU
/// convolution accumulates the taps row by row with fused multiply-adds; with integer pixels
/// every product is exact in f64, so adding in f64 and rounding to f32 after every tap
/// reproduces it bit for bit.
fn normalise(grey: &[f32], h: usize, w: usize) -> Vec<f32> {
    const K: usize = 7;
    const P: usize = K / 2;
    let weights = gaussian_values(K, 7.0 / 6.0);
    let pw = w + 2 * P;
    // Replicate padding.
    let padded: Vec<f32> = (0..h + 2 * P)
        .flat_map(|r| {
            let row = r.saturating_sub(P).min(h - 1);
            (0..pw).map(move |c| grey[row * w + c.saturating_sub(P).min(w - 1)])
        })
        .collect();
    let mut mean = vec![0f32; h * w];
    let mut square = vec![0f32; h * w];
    // Row by row, so that the accumulators stay in cache while all 49 taps go through them.
    for (r, (mean, square)) in mean
        .chunks_exact_mut(w)
        .zip(square.chunks_exact_mut(w))
        .enumerate()
    {
        for (tap, &weight) in weights.iter().enumerate() {
            let (i, j) = (tap / K, tap % K);
            let weight = f64::from(weight);
            let source = &padded[(r + i) * pw + j..(r + i) * pw + j + w];
            for ((m, s), &v) in mean.iter_mut().zip(square.iter_mut()).zip(source) {
                let v = f64::from(v);
                *m = (f64::from(*m) + weight * v) as f32;
                *s = (f64::from(*s) + weight * (v * v)) as f32;
            }
        }
    }
    grey.iter()
        .zip(mean)
        .zip(square)
        .map(|((&v, m), s)| {
            let sigma = ((s - m * m).abs() + f32::EPSILON).sqrt();
            (v - m) / (sigma + 1.0)
        })
        .collect()
}

/// Sample variance (divided by `n - 1`), two-pass in f64 as torch's CPU reduction is exact
/// to about that.
fn unbiased_variance(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let (sum, n) = values
        .clone()
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    let mean = sum / n as f64;
    values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64
}

fn std_dev(values: impl Iterator<Item = f64> + Clone) -> f32 {
    unbiased_variance(values).sqrt() as f32
}

/// pyiqa's `noise_criterion`: the block's standard deviation against `β`, how far the
/// centre-to-surround deviation ratio is from it.
fn noisy(block: &[[f64; BLOCK]; BLOCK], variance: f32) -> bool {
    let sigma = variance.sqrt();
    // pyiqa's centre is columns 7 and 8; removing column 7 and then index 8 of what is left
    // drops original column 9, so column 8 is in both centre and surround.
    let centre = std_dev(block.iter().flat_map(|row| [row[7], row[8]]));
    let surround = std_dev(block.iter().flat_map(|row| {
        row.iter()
            .enumerate()
            .filter(|&(c, _)| c != 7 && c != 9)
            .map(|(_, &v)| v)
    }));
    // torch.nan_to_num: 0/0 is 0, x/0 the largest f32.
    let ratio = match centre / surround {
        r if r.is_nan() => 0.0,
        r if r.is_infinite() => f32::MAX.copysign(r),
        r => r,
    };
    let beta = (sigma - ratio).abs() / sigma.max(ratio);
    // A NaN β (both zero) compares false, as in torch.
    sigma > 2.0 * beta
}

/// pyiqa's `notice_dist_criterion`: any 6-pixel segment of the four edges nearly flat.
fn noticeable_artifact(block: &[[f64; BLOCK]; BLOCK]) -> bool {
    let last = BLOCK - 1;
    let edges: [[f64; BLOCK]; 4] = [
        block[0],
        std::array::from_fn(|r| block[r][last]),
        block[last],
        std::array::from_fn(|r| block[r][0]),
    ];
    edges.iter().any(|edge| {
        edge.windows(SEGMENT)
            .any(|segment| std_dev(segment.iter().copied()) < IMPAIRED_THRESHOLD)
    })
}
