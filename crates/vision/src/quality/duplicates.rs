//! Near-duplicate images: a DCT perceptual hash to find candidates cheaply, SSIM on small
//! grey copies to confirm them, and `sightline_core::duplicates` for the pairs and groups.
//!
//! The hash alone is coarse (64 bits of low-frequency layout: two different photos with the
//! same composition can hash close), and SSIM alone is quadratic in the number of images;
//! together, SSIM only runs on the few pairs the hash lets through.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::OnceLock;

use burn::tensor::Tensor;
use burn::tensor::module::adaptive_avg_pool2d;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use sightline_core::duplicates::{DisjointSets, PerceptualHash, candidate_pairs};

use super::QualityImage;
use super::color::mix;
use super::filter::{Border, filter2, gaussian_values, kernel};
use super::scalar;

pub use sightline_core::duplicates::{DEFAULT_MAX_DISTANCE, DEFAULT_MIN_SSIM};

/// The side of the grey image the hash is computed from (`hash_size * highfreq_factor`
/// in `imagehash.phash`).
const HASH_SIDE: usize = 32;
/// The side of the block of low frequencies that makes the 64 bits.
const HASH_BITS_SIDE: usize = 8;
/// The side of the grey copies SSIM compares: a common size, so that rescaled copies line
/// up pixel for pixel, and small enough that a confirmation costs little.
const SSIM_SIDE: usize = 256;

/// The DCT pHash as `imagehash.phash` defines it: grey (`0.299 R + 0.587 G + 0.114 B`, as
/// PIL's `convert('L')`), resized to 32x32, the 2-D DCT-II, its top-left 8x8 block (the
/// lowest frequencies, DC included), and one bit per coefficient: greater than the median
/// of the 64. Bits are read row by row, the first in the most significant place, so the
/// hex form equals `str(imagehash.phash(...))`.
///
/// The resize is area averaging (`adaptive_avg_pool2d` on the image's device) where PIL
/// resamples with Lanczos, and the grey image is not rounded to 8 bits, so on some images a
/// few bits can differ from `imagehash`'s (on the nine fixtures none do). The DCT runs on the
/// host from a cosine table built once; its scale factors are left out, as the bits only
/// compare coefficients with their median.
pub fn perceptual_hash(image: &QualityImage) -> PerceptualHash {
    let grey = mix(image.tensor().clone(), [0.299, 0.587, 0.114], 0.0);
    let small = adaptive_avg_pool2d(grey, [HASH_SIDE, HASH_SIDE]);
    let pixels = small
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 after convert");
    hash_of_pixels(&pixels)
}

/// The hash of a row-major 32x32 grey image.
fn hash_of_pixels(pixels: &[f32]) -> PerceptualHash {
    let cos = cosines();
    // Rows first: t = C · P (8x32), then the low block of t · Cᵀ (8x8).
    let mut rows = [[0f64; HASH_SIDE]; HASH_BITS_SIDE];
    for (k, row) in rows.iter_mut().enumerate() {
        for (n, &c) in cos[k].iter().enumerate() {
            let line = &pixels[n * HASH_SIDE..(n + 1) * HASH_SIDE];
            for (out, &p) in row.iter_mut().zip(line) {
                *out += c * f64::from(p);
            }
        }
    }
    let mut low = [0f64; HASH_BITS_SIDE * HASH_BITS_SIDE];
    for (k, row) in rows.iter().enumerate() {
        for l in 0..HASH_BITS_SIDE {
            low[k * HASH_BITS_SIDE + l] = row.iter().zip(&cos[l]).map(|(a, b)| a * b).sum();
        }
    }
    // numpy's median of an even count: the mean of the two middle values.
    let mut sorted = low;
    sorted.sort_unstable_by(f64::total_cmp);
    let half = sorted.len() / 2;
    let median = (sorted[half - 1] + sorted[half]) / 2.0;
    let bits = low
        .iter()
        .fold(0u64, |acc, &v| (acc << 1) | u64::from(v > median));
    PerceptualHash(bits)
}

/// `cos(π k (2n + 1) / 64)` for the 8 frequencies `k` the hash keeps and the 32 samples
/// `n`: DCT-II's basis without its factor 2 (scipy's `dct` unnormalised).
fn cosines() -> &'static [[f64; HASH_SIDE]; HASH_BITS_SIDE] {
    static TABLE: OnceLock<[[f64; HASH_SIDE]; HASH_BITS_SIDE]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = [[0f64; HASH_SIDE]; HASH_BITS_SIDE];
        for (k, row) in table.iter_mut().enumerate() {
            for (n, c) in row.iter_mut().enumerate() {
                let angle = std::f64::consts::PI * (k * (2 * n + 1)) as f64;
                *c = (angle / (2 * HASH_SIDE) as f64).cos();
            }
        }
        table
    })
}

/// The SSIM of `a` and `b` as duplicates are confirmed by: both grey, resized to 256x256
/// (so different sizes and aspect ratios compare), an 11x11 Gaussian window of σ = 1.5
/// over the valid region, data range 1 (`C1 = 0.01²`, `C2 = 0.03²`), the mean of the map.
/// 1 for identical images.
pub fn similarity(a: &QualityImage, b: &QualityImage) -> f64 {
    ssim(&thumbnail(a), &thumbnail(b))
}

/// Whether `a` and `b` are the same picture: their [`similarity`] is at least `min_ssim`.
pub fn confirm(a: &QualityImage, b: &QualityImage, min_ssim: f64) -> bool {
    similarity(a, b) >= min_ssim
}

/// The duplicate groups among `images` (indices, groups of two or more, each sorted,
/// ordered by first member): pairs whose [`perceptual_hash`]es are within `max_distance`
/// bits and whose [`similarity`] is at least `min_ssim`, closed transitively. Keeps every
/// image in memory; for a whole project use [`find_duplicates_with`].
pub fn find_duplicates(
    images: &[QualityImage],
    max_distance: u32,
    min_ssim: f64,
) -> Vec<Vec<usize>> {
    let hashes: Vec<PerceptualHash> = images.iter().map(perceptual_hash).collect();
    let loaded: Result<_, std::convert::Infallible> =
        find_duplicates_with(&hashes, |i| Ok(images[i].clone()), max_distance, min_ssim);
    match loaded {
        Ok(groups) => groups,
        Err(never) => match never {},
    }
}

/// [`find_duplicates`] from stored hashes, loading an image only when one of its candidate
/// pairs needs confirming (`load(i)` gives image `i`; its error ends the search).
///
/// Each image is loaded once and kept only as its 256x256 grey copy (256 KiB), from its
/// first candidate pair to its last. A pair whose images are already joined through other
/// confirmed pairs is not compared: confirming it could not change the groups.
pub fn find_duplicates_with<E>(
    hashes: &[PerceptualHash],
    mut load: impl FnMut(usize) -> Result<QualityImage, E>,
    max_distance: u32,
    min_ssim: f64,
) -> Result<Vec<Vec<usize>>, E> {
    let pairs = candidate_pairs(hashes, max_distance);
    let mut last_use = HashMap::new();
    for (at, &(i, j)) in pairs.iter().enumerate() {
        last_use.insert(i, at);
        last_use.insert(j, at);
    }
    let mut sets = DisjointSets::new(hashes.len());
    let mut thumbnails: HashMap<usize, Tensor<4>> = HashMap::new();
    for (at, &(i, j)) in pairs.iter().enumerate() {
        if !sets.same(i, j) {
            for k in [i, j] {
                if let Entry::Vacant(slot) = thumbnails.entry(k) {
                    slot.insert(thumbnail(&load(k)?));
                }
            }
            if ssim(&thumbnails[&i], &thumbnails[&j]) >= min_ssim {
                sets.union(i, j);
            }
        }
        for k in [i, j] {
            if last_use[&k] == at {
                thumbnails.remove(&k);
            }
        }
    }
    Ok(sets.groups())
}

/// The grey image at 256x256: area-averaged down along each side longer than 256 (no
/// aliasing), then bilinear up along any side shorter (half-pixel centres, as PyTorch's
/// `align_corners=False`).
fn thumbnail(image: &QualityImage) -> Tensor<4> {
    let grey = mix(image.tensor().clone(), [0.299, 0.587, 0.114], 0.0);
    let [_, _, h, w] = grey.dims();
    let (ph, pw) = (h.min(SSIM_SIDE), w.min(SSIM_SIDE));
    let grey = if (ph, pw) == (h, w) {
        grey
    } else {
        adaptive_avg_pool2d(grey, [ph, pw])
    };
    if (ph, pw) == (SSIM_SIDE, SSIM_SIDE) {
        grey
    } else {
        let options = InterpolateOptions::new(InterpolateMode::Bilinear)
            .with_align_corners(false)
            .with_output_size([SSIM_SIDE, SSIM_SIDE]);
        burn::tensor::module::interpolate(grey, options)
    }
}

/// Mean SSIM of two `[1, 1, H, W]` grey images in `[0, 1]` (Wang et al. 2004 with the
/// Gaussian window, valid region only). A private copy: the metric module's SSIM follows
/// pyiqa's conventions (Y channel, 255 range, downsampling), which do not suit
/// small grey thumbnails.
fn ssim(a: &Tensor<4>, b: &Tensor<4>) -> f64 {
    const C1: f32 = 0.01 * 0.01;
    const C2: f32 = 0.03 * 0.03;
    static WINDOW: OnceLock<Vec<f32>> = OnceLock::new();
    let values = WINDOW.get_or_init(|| gaussian_values(11, 1.5)).clone();
    let window = kernel(values, 11, 11, &a.device());
    // The five local means in one grouped convolution.
    let stack = Tensor::cat(
        vec![
            a.clone(),
            b.clone(),
            a.clone() * a.clone(),
            b.clone() * b.clone(),
            a.clone() * b.clone(),
        ],
        1,
    );
    let means = filter2(stack, &window, Border::Valid);
    let [mu_a, mu_b, aa, bb, ab] = means.chunk(5, 1).try_into().expect("five channels");
    let (mu_aa, mu_bb, mu_ab) = (
        mu_a.clone() * mu_a.clone(),
        mu_b.clone() * mu_b.clone(),
        mu_a * mu_b,
    );
    let (var_a, var_b, cov) = (aa - mu_aa.clone(), bb - mu_bb.clone(), ab - mu_ab.clone());
    let numerator = (mu_ab * 2.0).add_scalar(C1) * (cov * 2.0).add_scalar(C2);
    let denominator = (mu_aa + mu_bb).add_scalar(C1) * (var_a + var_b).add_scalar(C2);
    scalar((numerator / denominator).mean())
}
