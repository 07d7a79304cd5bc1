//! NLPD as pyiqa's `nlpd` computes it (`NLPD` in `archs/nlpd_arch.py`, after Laparra et
//! al.'s `NLP_dist.m`).

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};

use super::color::y_channel;
use super::filter::{Border, filter2, kernel, pad};
use super::scalar;

/// Pyramid levels (pyiqa's `k`): five band-pass levels and the low-pass residual.
const LEVELS: usize = 6;

/// The 5x5 binomial-like filter the pyramid blurs with (`LAPLACIAN_FILTER`).
const LAPLACIAN: [f32; 25] = [
    0.0025, 0.0125, 0.0200, 0.0125, 0.0025, //
    0.0125, 0.0625, 0.1000, 0.0625, 0.0125, //
    0.0200, 0.1000, 0.1600, 0.1000, 0.0200, //
    0.0125, 0.0625, 0.1000, 0.0625, 0.0125, //
    0.0025, 0.0125, 0.0200, 0.0125, 0.0025, //
];

/// Each level's divisive-normalisation neighbourhood weights (pyiqa's `DN_filters`, before
/// the 180° rotation MATLAB's `conv2` implies).
const DN_FILTERS: [[f32; 9]; LEVELS] = [
    [0.0, 0.1011, 0.0, 0.1493, 0.0, 0.1460, 0.0, 0.1015, 0.0],
    [0.0, 0.0757, 0.0, 0.1986, 0.0, 0.1846, 0.0, 0.0837, 0.0],
    [0.0, 0.0477, 0.0, 0.2138, 0.0, 0.2243, 0.0, 0.0467, 0.0],
    [0.0, 0.0, 0.0, 0.2503, 0.0, 0.2616, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.2598, 0.0, 0.2552, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.2215, 0.0, 0.0717, 0.0, 0.0, 0.0],
];

/// Each level's normalisation constant (pyiqa's `sigmas`).
const SIGMAS: [f32; LEVELS] = [0.0248, 0.0185, 0.0179, 0.0191, 0.0220, 0.2782];

/// pyiqa `nlpd` (`channels=1`, `test_y_channel=True`, `k=6`): on YIQ's Y in `[0, 1]`, not
/// rounded. A Laplacian pyramid (symmetric padding, 5x5 filter, stride-2 downsampling,
/// zero-insertion upsampling of the replicate-padded coarse level), each level divided by
/// its sigma plus a weighted sum of its neighbours' magnitudes; the score is the mean over
/// the six levels of the RMS difference between the two images' normalised levels.
pub fn nlpd(x: Tensor<4>, y: Tensor<4>) -> f64 {
    let device = x.device();
    let filters = Filters::new(&device);
    // Both images go through the pyramid together, as a batch of two.
    let mut j = Tensor::cat(vec![y_channel(x, 1.0), y_channel(y, 1.0)], 0);
    let mut squared = Vec::with_capacity(LEVELS);
    for level in 0..LEVELS - 1 {
        let [_, _, h, w] = j.dims();
        // Blur and downsample (MATLAB's code pads symmetrically).
        let coarse = conv2d(
            pad(j.clone(), [2, 2, 2, 2], Border::Symmetric),
            filters.blur.clone(),
            None,
            ConvOptions::new([2, 2], [0, 0], [1, 1], 1),
        );
        let up = upsample(coarse.clone(), &filters.phases)
            .narrow(2, 0, h)
            .narrow(3, 0, w);
        squared.push(level_distance(j - up, level, &filters));
        j = coarse;
    }
    squared.push(level_distance(j, LEVELS - 1, &filters));
    let rms = Tensor::cat(squared, 0).sqrt();
    scalar(rms.mean())
}

/// pyiqa's upsampling of the coarse level: replicate-pad by one, insert zeros (times 4,
/// `PixelShuffle`), filter with zero padding, crop to `2h x 2w` from (2, 2). Each output
/// parity only meets the non-zero samples through a 3x3 sub-grid of the filter, so one
/// 3x3 convolution with a kernel per parity (`phases`) computes all four at the coarse
/// resolution; they are then interleaved as the pixel shuffle does. The caller crops the
/// last row and column when the finer level is odd.
fn upsample(coarse: Tensor<4>, phases: &Tensor<4>) -> Tensor<4> {
    let [n, _, h, w] = coarse.dims();
    let padded = pad(coarse, [1, 1, 1, 1], Border::Replicate);
    let phases = conv2d(
        padded,
        phases.clone(),
        None,
        ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
    );
    // [n, (row parity, column parity), h, w] -> [n, h, row parity, w, column parity].
    phases
        .reshape([n, 2, 2, h, w])
        .permute([0, 3, 1, 4, 2])
        .reshape([n, 1, 2 * h, 2 * w])
}

/// The four 3x3 kernels of [`upsample`], `[4, 1, 3, 3]` in (row parity, column parity)
/// order: output row `2k + p` sums `4 * filter[a]` times padded row `k + u` where
/// `a = 2u` for `p = 0` and `a = 2u - 1` (`u >= 1`) for `p = 1`.
fn phase_kernels() -> Vec<f32> {
    let tap = |parity: usize, u: usize| match (parity, u) {
        (0, u) => Some(2 * u),
        (_, 0) => None,
        (_, u) => Some(2 * u - 1),
    };
    let mut values = Vec::with_capacity(4 * 9);
    for pr in 0..2 {
        for pc in 0..2 {
            for u in 0..3 {
                for v in 0..3 {
                    values.push(match (tap(pr, u), tap(pc, v)) {
                        (Some(a), Some(b)) => 4.0 * LAPLACIAN[a * 5 + b],
                        _ => 0.0,
                    });
                }
            }
        }
    }
    values
}

/// The mean squared difference between the two batch entries of `band` after divisive
/// normalisation with `level`'s weights.
fn level_distance(band: Tensor<4>, level: usize, filters: &Filters) -> Tensor<1> {
    let neighbours = filter2(band.clone().abs(), &filters.dn[level], Border::Zero);
    let normalised = band / neighbours.add_scalar(SIGMAS[level]);
    let [_, c, h, w] = normalised.dims();
    let diff = normalised.clone().narrow(0, 0, 1) - normalised.narrow(0, 1, 1);
    diff.powi_scalar(2).sum().div_scalar((c * h * w) as f32)
}

/// The kernels on the images' device (a few dozen values; built per call).
struct Filters {
    blur: Tensor<4>,
    phases: Tensor<4>,
    dn: Vec<Tensor<4>>,
}

impl Filters {
    fn new(device: &Device) -> Self {
        Self {
            blur: kernel(LAPLACIAN.to_vec(), 5, 5, device),
            phases: Tensor::from_data(TensorData::new(phase_kernels(), [4, 1, 3, 3]), device),
            // conv2 rotates the normalisation weights by 180°; filter2 correlates.
            dn: DN_FILTERS
                .iter()
                .map(|f| kernel(f.iter().rev().copied().collect(), 3, 3, device))
                .collect(),
        }
    }
}
