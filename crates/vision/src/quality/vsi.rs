//! VSI as pyiqa's `vsi` computes it (`archs/vsi_arch.py`, after piq).

use std::sync::OnceLock;

use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Tensor, TensorData};

use super::fsim::{gradient_magnitude, mean_pool, mix, par_map, pool_size, similarity};
use super::spectral::{C32, Fft2, ifftshift, meshgrid};

/// `torch.finfo(dtype).eps` of the computation (f32 here).
const EPS: f32 = f32::EPSILON;

/// Similarity constants of the saliency, gradient and chroma (M, N) terms.
const C1: f32 = 1.27;
const C2: f32 = 386.0;
const C3: f32 = 130.0;
/// Exponents of the gradient and chroma similarities.
const ALPHA: f32 = 0.4;
const BETA: f32 = 0.02;
/// SDSP: log-Gabor centre frequency and bandwidth, centre-bias and warm-colour widths.
const OMEGA_0: f32 = 0.021;
const SIGMA_F: f32 = 1.34;
const SIGMA_D: f32 = 145.0;
const SIGMA_C: f32 = 0.001;
/// pyiqa's `rgb2lmn` matrix (rows: L, M, N).
const LMN: [[f32; 3]; 3] = [[0.06, 0.63, 0.27], [0.30, 0.04, -0.35], [0.34, -0.6, 0.17]];
/// SDSP works on this square size.
const SALIENCY_SIZE: usize = 256;

/// pyiqa `vsi` with its defaults (`data_range=1`).
///
/// Conventions: the RGB images are scaled to `[0, 255]` (not rounded). The SDSP saliency
/// map is computed at 256×256 (bilinear, half-pixel) in CIELAB (D50), log-Gabor filtered in
/// the frequency domain, then resized back (bilinear, `align_corners=True`) and min-max
/// normalised. Saliency and the LMN image are then averaged over `k = round(min(H, W) /
/// 256)` pixels (Python's round, `k // 2` replicated rows and columns before on top and
/// left, `(k - 1) // 2` after, stride `k`). Gradients are Scharr on L with zero padding;
/// the chroma term is the real part of `(S_M S_N)^0.02`.
///
/// pyiqa runs VSI in float64; float32 here stays within about 1e-7 of it (checked against
/// pyiqa with the `.double()` removed). The FFT runs on the host with `rustfft`, everything
/// else on the images' device.
pub fn vsi(x: Tensor<4>, y: Tensor<4>) -> f64 {
    let [_, _, h, w] = x.dims();
    let k = pool_size(h, w);
    let (before, after) = (k / 2, (k - 1) / 2);
    let shrink = |t: Tensor<4>| mean_pool(replicate_pad(t, before, after), k);

    let saliency = shrink(sdsp([x.clone(), y.clone()]));
    // x 255 and LMN commute with the padding and the pooling (all linear): last is cheapest.
    let lmn = |t: Tensor<4>| mix(shrink(t), LMN, 255.0, None);
    let (lmn_x, lmn_y) = (lmn(x), lmn(y));
    let [_, _, h, w] = lmn_x.dims();
    let channel = |t: &Tensor<4>, image: usize, c: usize| {
        t.clone().slice([image..image + 1, c..c + 1, 0..h, 0..w])
    };

    let [grad_x, grad_y] = gradient_magnitude([channel(&lmn_x, 0, 0), channel(&lmn_y, 0, 0)]);
    let (vs_x, vs_y) = (channel(&saliency, 0, 0), channel(&saliency, 1, 0));
    let s_vs = similarity(vs_x.clone(), vs_y.clone(), C1);
    let s_gm = similarity(grad_x, grad_y, C2);
    let s_c = similarity(channel(&lmn_x, 0, 1), channel(&lmn_y, 0, 1), C3)
        * similarity(channel(&lmn_x, 0, 2), channel(&lmn_y, 0, 2), C3);
    // Re((S_M S_N)^β): |s|^β, times cos(βπ) where the product is negative.
    let negative = s_c.clone().lower_elem(0.0);
    let magnitude = s_c.abs().powf_scalar(BETA);
    let s_c = magnitude
        .clone()
        .mask_where(negative, magnitude * (BETA * std::f32::consts::PI).cos());

    let s = s_vs * s_gm.powf_scalar(ALPHA) * s_c;
    let vs_max = vs_x.max_pair(vs_y);
    let weighted = (s * vs_max.clone()).sum().add_scalar(EPS);
    super::scalar(weighted / vs_max.sum().add_scalar(EPS))
}

/// `before` copies of the first row and column and `after` of the last around `x` (torch's
/// `'replicate'` padding), by concatenation: on burn's CPU backend far quicker than
/// `pad(.., PadMode::Edge)`.
fn replicate_pad(x: Tensor<4>, before: usize, after: usize) -> Tensor<4> {
    if before == 0 && after == 0 {
        return x;
    }
    let edges = |x: Tensor<4>, dim: usize| {
        let len = x.dims()[dim];
        let mut parts = Vec::with_capacity(before + after + 1);
        parts.extend((0..before).map(|_| x.clone().narrow(dim, 0, 1)));
        parts.push(x.clone());
        parts.extend((0..after).map(|_| x.clone().narrow(dim, len - 1, 1)));
        Tensor::cat(parts, dim)
    };
    edges(edges(x, 2), 3)
}

/// Host tables for SDSP at 256×256: the FFT plan, the log-Gabor transfer function and the
/// centre bias `s_d`.
struct Tables {
    fft: Fft2,
    log_gabor: Vec<f32>,
    centre_bias: Vec<f32>,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let n = SALIENCY_SIZE;
        let (xx, yy) = meshgrid(n, n);
        // pyiqa's `_log_gabor`: radius zeroed beyond 0.5 (the filter is then exp(-inf) = 0
        // there), the DC term zeroed.
        let radius: Vec<f32> = xx
            .iter()
            .zip(&yy)
            .map(|(x, y)| {
                let r = (x * x + y * y).sqrt();
                if r <= 0.5 { r } else { 0.0 }
            })
            .collect();
        let mut radius = ifftshift(&radius, n, n);
        radius[0] = 1.0;
        let mut log_gabor: Vec<f32> = radius
            .iter()
            .map(|r| (-(r / OMEGA_0).ln().powi(2) / (2.0 * SIGMA_F * SIGMA_F)).exp())
            .collect();
        log_gabor[0] = 0.0;
        // Centre bias on the (meshgrid * 256 + 1) coordinates.
        let centre_bias = xx
            .iter()
            .zip(&yy)
            .map(|(x, y)| {
                let (cx, cy) = (x * n as f32 + 1.0, y * n as f32 + 1.0);
                (-(cx * cx + cy * cy) / (SIGMA_D * SIGMA_D)).exp()
            })
            .collect();
        Tables {
            fft: Fft2::new(n, n),
            log_gabor,
            centre_bias,
        }
    })
}

/// pyiqa's `sdsp` of two `[1, 3, H, W]` RGB images (in `[0, 1]`: pyiqa's scaling to 255
/// and back is left out): `[2, 1, H, W]` saliency in `[0, 1]`.
fn sdsp(images: [Tensor<4>; 2]) -> Tensor<4> {
    let device = images[0].device();
    let [_, _, h, w] = images[0].dims();
    let batch = images.len();
    let n = SALIENCY_SIZE;
    let resize = |t: Tensor<4>| {
        interpolate(
            t,
            InterpolateOptions::new(InterpolateMode::Bilinear)
                .with_align_corners(false)
                .with_output_size([n, n]),
        )
    };
    let lab = rgb_to_lab(Tensor::cat(images.map(resize).to_vec(), 0));

    // Frequency part: |ifft2(fft2(lab) * log_gabor).real| over the channels. The filter is
    // real and even, so it maps real planes to real planes: two planes go through one
    // complex FFT as real and imaginary parts.
    let tables = tables();
    let planes = lab
        .clone()
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap();
    let plane_count = batch * 3;
    let filtered = par_map(plane_count.div_ceil(2), |p| {
        let re = &planes[2 * p * n * n..][..n * n];
        let im = (2 * p + 1 < plane_count).then(|| &planes[(2 * p + 1) * n * n..][..n * n]);
        let mut plane: Vec<C32> = (0..n * n)
            .map(|i| C32::new(re[i], im.map_or(0.0, |im| im[i])))
            .collect();
        let mut work = Vec::new();
        tables.fft.forward(&mut plane, &mut work);
        for (z, g) in plane.iter_mut().zip(&tables.log_gabor) {
            *z *= g;
        }
        tables.fft.inverse(&mut plane, &mut work);
        plane
    });
    // Plane `p` (image `p / 3`, channel `p % 3`) is pair `p / 2`'s real or imaginary part.
    let component = |p: usize, i: usize| {
        let z = filtered[p / 2][i];
        if p.is_multiple_of(2) { z.re } else { z.im }
    };
    let frequency: Vec<f32> = (0..batch)
        .flat_map(|image| {
            (0..n * n).map(move |i| {
                let sum: f32 = (0..3).map(|c| component(3 * image + c, i).powi(2)).sum();
                (sum + EPS).sqrt()
            })
        })
        .collect();
    let s_f = Tensor::<4>::from_data(TensorData::new(frequency, [batch, 1, n, n]), &device);
    let s_d = Tensor::<4>::from_data(
        TensorData::new(tables.centre_bias.clone(), [1, 1, n, n]),
        &device,
    );

    // Colour part: warm colours attract, from the min-max normalised a and b.
    let normalized = min_max(lab);
    let ab = normalized.slice([0..batch, 1..3, 0..n, 0..n]);
    let norm = ab.powi_scalar(2).sum_dim(1);
    let s_c = (norm.neg() / (SIGMA_C * SIGMA_C))
        .exp()
        .neg()
        .add_scalar(1.0);

    let saliency = s_f * s_d * s_c;
    let saliency = interpolate(
        saliency,
        InterpolateOptions::new(InterpolateMode::Bilinear)
            .with_align_corners(true)
            .with_output_size([h, w]),
    );
    min_max(saliency)
}

/// `(x - min) / (max - min + EPS)` per image and channel.
fn min_max(x: Tensor<4>) -> Tensor<4> {
    let min = x.clone().min_dims(&[2, 3]);
    let max = x.clone().max_dims(&[2, 3]);
    (x - min.clone()) / (max - min).add_scalar(EPS)
}

/// pyiqa's `rgb2lab` (sRGB to XYZ to CIELAB, D50 white, 2° observer) of RGB in `[0, 1]`.
fn rgb_to_lab(x: Tensor<4>) -> Tensor<4> {
    let linear = x.clone().div_scalar(12.92).mask_where(
        x.clone().greater_elem(0.04045),
        x.add_scalar(0.055).div_scalar(1.055).powf_scalar(2.4),
    );
    // XYZ over the white point, in one product.
    let white = [0.964_211_994_421_199_4, 1.0, 0.825_188_284_518_828_8];
    let xyz: [[f64; 3]; 3] = [
        [0.412_456_4, 0.357_576_1, 0.180_437_5],
        [0.212_672_9, 0.715_152_2, 0.072_175_0],
        [0.019_333_9, 0.119_192_0, 0.950_304_1],
    ];
    let to_xyz = [0, 1, 2].map(|r| xyz[r].map(|v| (v / white[r]) as f32));
    let t = mix(linear, to_xyz, 1.0, None);
    let cube_root = t.clone().add_scalar(EPS).powf_scalar(1.0 / 3.0);
    let f = t
        .clone()
        .mul_scalar(903.3)
        .add_scalar(16.0)
        .div_scalar(116.0)
        .mask_where(t.greater_elem(0.008856), cube_root);
    let to_lab = [
        [0.0, 116.0, 0.0],
        [500.0, -500.0, 0.0],
        [0.0, 200.0, -200.0],
    ];
    mix(f, to_lab, 1.0, Some([-16.0, 0.0, 0.0]))
}
