//! FSIM as pyiqa's `fsim` computes it (`archs/fsim_arch.py`, after piq).

use std::collections::HashMap;
use std::f64::consts::PI;
use std::sync::{Arc, Mutex, OnceLock};

use burn::tensor::module::{avg_pool2d, conv2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions};
use burn::tensor::{Tensor, TensorData};

use super::color::yiq;
use super::spectral::{C32, Fft2, ifftshift, meshgrid};

/// `torch.finfo(torch.float32).eps`, pyiqa's `EPS` in `similarity_map`, `gradient_map` and
/// the phase congruency.
const EPS: f32 = f32::EPSILON;

/// Log-Gabor bank: wavelet scales and orientations.
const SCALES: usize = 4;
const ORIENTATIONS: usize = 4;
/// Wavelength of the smallest scale, and the factor between scales.
const MIN_LENGTH: f64 = 6.0;
const MULT: f64 = 2.0;
/// Bandwidth of the radial (log-Gabor) and angular Gaussians.
const SIGMA_F: f64 = 0.55;
const DELTA_THETA: f64 = 1.2;
/// Noise threshold: standard deviations above the mean noise energy.
const K: f64 = 2.0;

/// The paper's constants: `T1` (phase congruency), `T2` (gradient), `T3`/`T4` (I and Q),
/// and the chroma exponent `λ`.
const T1: f32 = 0.85;
const T2: f32 = 160.0;
const T3: f32 = 200.0;
const T4: f32 = 200.0;
const LAMBDA: f32 = 0.03;

/// pyiqa `fsim` with its defaults (`chromatic=True`, 4 scales, 4 orientations).
///
/// Conventions: the RGB images are scaled to `[0, 255]` (not rounded), then average-pooled
/// by `k = round(min(H, W) / 256)` (Python's round, ties to even; stride `k`, remainder
/// dropped) when `k > 1`; YIQ's Y carries phase congruency and the Scharr gradient (zero
/// padding), I and Q the chroma term `|S_I S_Q|^0.03`. The score is
/// `Σ S_PC S_G chroma PC_max / Σ PC_max`.
///
/// The phase congruency (log-Gabor filtering in the frequency domain, a median for the
/// noise estimate) runs on the host with `rustfft`; the rest on the images' device.
pub fn fsim(x: Tensor<4>, y: Tensor<4>) -> f64 {
    let [_, _, h, w] = x.dims();
    let k = pool_size(h, w);
    let prepare = |t: Tensor<4>| {
        let t = t * 255.0;
        if k > 1 {
            avg_pool2d(t, AvgPoolOptions::new([k, k]))
        } else {
            t
        }
    };
    let [x_lum, x_i, x_q] = yiq(prepare(x));
    let [y_lum, y_i, y_q] = yiq(prepare(y));

    let [pc_x, pc_y] = phase_congruency([x_lum.clone(), y_lum.clone()]);
    let [grad_x, grad_y] = gradient_magnitude([x_lum, y_lum]);

    let s_pc = similarity(pc_x.clone(), pc_y.clone(), T1);
    let s_g = similarity(grad_x, grad_y, T2);
    let pc_max = pc_x.max_pair(pc_y);
    let score = s_g * s_pc * pc_max.clone();
    let chroma = (similarity(x_i, y_i, T3) * similarity(x_q, y_q, T4))
        .abs()
        .powf_scalar(LAMBDA);
    let score = score * chroma;
    super::scalar(score.sum() / pc_max.sum())
}

/// pyiqa's downsampling factor `max(1, round(min(H, W) / 256))`, Python's round.
pub(super) fn pool_size(h: usize, w: usize) -> usize {
    ((h.min(w) as f64 / 256.0).round_ties_even() as usize).max(1)
}

/// pyiqa's `similarity_map(x, y, c)`: `(2 x y + c) / (x² + y² + c + EPS)`.
pub(super) fn similarity(x: Tensor<4>, y: Tensor<4>, c: f32) -> Tensor<4> {
    let numerator = (x.clone() * 2.0 * y.clone()).add_scalar(c);
    let denominator = (x.powi_scalar(2) + y.powi_scalar(2))
        .add_scalar(c)
        .add_scalar(EPS);
    numerator / denominator
}

/// pyiqa's `gradient_map` with the Scharr pair (`[[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]] / 16`
/// and its transpose, zero padding): `sqrt(gx² + gy² + EPS)`, for two `[1, 1, H, W]` maps
/// at once.
pub(super) fn gradient_magnitude([a, b]: [Tensor<4>; 2]) -> [Tensor<4>; 2] {
    let device = a.device();
    let scharr = [-3.0, 0.0, 3.0, -10.0, 0.0, 10.0, -3.0, 0.0, 3.0].map(|v: f32| v / 16.0);
    let mut weights = scharr.to_vec();
    weights.extend((0..9).map(|i| scharr[(i % 3) * 3 + i / 3]));
    let weights = Tensor::from_data(TensorData::new(weights, [2, 1, 3, 3]), &device);
    let grads = conv2d(
        Tensor::cat(vec![a, b], 0),
        weights,
        None,
        ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
    );
    let magnitude = grads
        .powi_scalar(2)
        .sum_dim(1)
        .add_scalar(EPS)
        .sqrt();
    let [n, _, h, w] = magnitude.dims();
    let half = n / 2;
    [
        magnitude.clone().slice([0..half, 0..1, 0..h, 0..w]),
        magnitude.slice([half..n, 0..1, 0..h, 0..w]),
    ]
}

/// The log-Gabor bank for one image size, with the sums pyiqa derives from it.
struct Bank {
    fft: Fft2,
    /// `ORIENTATIONS * SCALES` real transfer functions, orientation-major, each transposed
    /// (`w * h`, to meet [`Fft2::forward_transposed`]'s spectrum) and scaled by `1 / (h w)`
    /// (`ifft2`'s normalisation).
    filters: Vec<Vec<f32>>,
    /// Per orientation: `Σ filter²` at the smallest scale (`em_n`), and over the spatial
    /// filters (`ifft2(filter).real * sqrt(h w)`) `Σ_s Σ a_s²` (`sum_an2`) and
    /// `Σ_{s<t} Σ a_s a_t` (`sum_ai_aj`), for the noise model.
    em_n: [f64; ORIENTATIONS],
    sum_an2: [f64; ORIENTATIONS],
    sum_ai_aj: [f64; ORIENTATIONS],
}

/// The bank for `h * w`, built once per size.
fn bank(h: usize, w: usize) -> Arc<Bank> {
    static BANKS: OnceLock<Mutex<HashMap<(usize, usize), Arc<Bank>>>> = OnceLock::new();
    let banks = BANKS.get_or_init(Default::default);
    if let Some(bank) = banks.lock().unwrap().get(&(h, w)) {
        return bank.clone();
    }
    let bank = Arc::new(build_bank(h, w));
    banks.lock().unwrap().insert((h, w), bank.clone());
    bank
}

/// pyiqa's `_construct_filters` (f32, as torch builds it) and the filter sums of
/// `_phase_congruency`.
fn build_bank(h: usize, w: usize) -> Bank {
    let n = h * w;
    let (grid_x, grid_y) = meshgrid(h, w);
    let radius_centred: Vec<f32> = grid_x
        .iter()
        .zip(&grid_y)
        .map(|(x, y)| (x * x + y * y).sqrt())
        .collect();
    let theta: Vec<f32> = grid_x.iter().zip(&grid_y).map(|(x, y)| (-y).atan2(*x)).collect();
    let mut radius = ifftshift(&radius_centred, h, w);
    let theta = ifftshift(&theta, h, w);
    // No log of 0 at the DC term (zeroed in every filter below).
    radius[0] = 1.0;

    // Butterworth low-pass (cutoff 0.45, order 15) so no filter reaches the FFT's corners.
    let low_pass: Vec<f32> = radius_centred
        .iter()
        .map(|r| 1.0 / (1.0 + (r / 0.45).powi(30)))
        .collect();
    let low_pass = ifftshift(&low_pass, h, w);

    let log_sigma = 2.0 * (SIGMA_F.ln() as f32).powi(2);
    let radial: Vec<Vec<f32>> = (0..SCALES)
        .map(|s| {
            let omega_0 = (1.0 / (MIN_LENGTH * MULT.powi(s as i32))) as f32;
            let mut g: Vec<f32> = radius
                .iter()
                .zip(&low_pass)
                .map(|(r, lp)| (-(r / omega_0).ln().powi(2) / log_sigma).exp() * lp)
                .collect();
            g[0] = 0.0;
            g
        })
        .collect();

    let theta_sigma = (PI / (ORIENTATIONS as f64 * DELTA_THETA)) as f32;
    let angular: Vec<Vec<f32>> = (0..ORIENTATIONS)
        .map(|o| {
            let angle = o as f64 * PI / ORIENTATIONS as f64;
            let (sin_a, cos_a) = (angle.sin() as f32, angle.cos() as f32);
            theta
                .iter()
                .map(|t| {
                    let (sin_t, cos_t) = (t.sin(), t.cos());
                    // Angular distance through atan2 of the sine and cosine differences,
                    // free of wrap-around.
                    let ds = sin_t * cos_a - cos_t * sin_a;
                    let dc = cos_t * cos_a + sin_t * sin_a;
                    let d_theta = ds.atan2(dc).abs();
                    (-(d_theta * d_theta) / (2.0 * theta_sigma * theta_sigma)).exp()
                })
                .collect()
        })
        .collect();

    let filters: Vec<Vec<f32>> = (0..ORIENTATIONS)
        .flat_map(|o| {
            let spread = &angular[o];
            radial
                .iter()
                .map(move |g| spread.iter().zip(g).map(|(a, b)| a * b).collect())
        })
        .collect();

    let fft = Fft2::new(h, w);
    let mut work = Vec::new();
    let root_n = (n as f64).sqrt();
    let spatial: Vec<Vec<f64>> = filters
        .iter()
        .map(|f| {
            let mut plane: Vec<C32> = f.iter().map(|&v| C32::new(v, 0.0)).collect();
            fft.inverse(&mut plane, &mut work);
            plane.iter().map(|c| f64::from(c.re) * root_n).collect()
        })
        .collect();

    let mut em_n = [0.0; ORIENTATIONS];
    let mut sum_an2 = [0.0; ORIENTATIONS];
    let mut sum_ai_aj = [0.0; ORIENTATIONS];
    for o in 0..ORIENTATIONS {
        let at = |s: usize| o * SCALES + s;
        em_n[o] = filters[at(0)].iter().map(|&v| f64::from(v).powi(2)).sum();
        for s in 0..SCALES {
            sum_an2[o] += spatial[at(s)].iter().map(|v| v * v).sum::<f64>();
            for t in s + 1..SCALES {
                sum_ai_aj[o] += spatial[at(s)]
                    .iter()
                    .zip(&spatial[at(t)])
                    .map(|(a, b)| a * b)
                    .sum::<f64>();
            }
        }
    }
    let scale = 1.0 / n as f32;
    let filters = filters
        .iter()
        .map(|f| {
            let mut t = vec![0f32; n];
            for (r, row) in f.chunks_exact(w).enumerate() {
                for (c, &v) in row.iter().enumerate() {
                    t[c * h + r] = v * scale;
                }
            }
            t
        })
        .collect();
    Bank {
        fft,
        filters,
        em_n,
        sum_an2,
        sum_ai_aj,
    }
}

/// pyiqa's `_phase_congruency` of two `[1, 1, H, W]` luminance maps, on the host.
fn phase_congruency(maps: [Tensor<4>; 2]) -> [Tensor<4>; 2] {
    let device = maps[0].device();
    let [_, _, h, w] = maps[0].dims();
    let n = h * w;
    let bank = bank(h, w);
    let spectra = maps.map(|m| {
        let plane = m.into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
        let mut plane: Vec<C32> = plane.into_iter().map(|v| C32::new(v, 0.0)).collect();
        let mut spectrum = vec![C32::default(); n];
        bank.fft
            .forward_transposed(&mut plane, &mut spectrum, &mut Vec::new());
        spectrum
    });
    // One task per image and orientation.
    let tasks: Vec<(usize, usize)> = (0..2)
        .flat_map(|i| (0..ORIENTATIONS).map(move |o| (i, o)))
        .collect();
    let run = |&(i, o): &(usize, usize)| orientation_energy(&spectra[i], o, &bank);
    #[cfg(not(target_arch = "wasm32"))]
    let results: Vec<(Vec<f32>, Vec<f32>)> = {
        use rayon::prelude::*;
        tasks.par_iter().map(run).collect()
    };
    #[cfg(target_arch = "wasm32")]
    let results: Vec<(Vec<f32>, Vec<f32>)> = tasks.iter().map(run).collect();

    let mut results = results.into_iter();
    [(); 2].map(|()| {
        let mut energy_all = vec![0f32; n];
        let mut amplitude_all = vec![0f32; n];
        for (energy, amplitude) in results.by_ref().take(ORIENTATIONS) {
            for (all, e) in energy_all.iter_mut().zip(&energy) {
                *all += e;
            }
            for (all, a) in amplitude_all.iter_mut().zip(&amplitude) {
                *all += a;
            }
        }
        let pc = energy_all
            .iter()
            .zip(&amplitude_all)
            .map(|(e, a)| (e + EPS) / (a + EPS))
            .collect();
        Tensor::from_data(TensorData::new(pc, [1, 1, h, w]), &device)
    })
}

/// One orientation of the phase congruency of an image given its (transposed) spectrum:
/// the energy of the log-Gabor responses along their mean phase less a noise threshold,
/// estimated from the median response at the smallest scale, and the responses' summed
/// amplitude.
fn orientation_energy(spectrum: &[C32], o: usize, bank: &Bank) -> (Vec<f32>, Vec<f32>) {
    let n = spectrum.len();
    let mut work = Vec::new();
    let mut filtered = vec![C32::default(); n];
    let responses: Vec<Vec<C32>> = (0..SCALES)
        .map(|s| {
            let filter = &bank.filters[o * SCALES + s];
            for ((out, z), f) in filtered.iter_mut().zip(spectrum).zip(filter) {
                *out = z * f;
            }
            let mut response = vec![C32::default(); n];
            bank.fft
                .inverse_from_transposed(&mut filtered, &mut response, &mut work);
            response
        })
        .collect();

    let mut energy = vec![0f32; n];
    let mut amplitude = vec![0f32; n];
    let mut small_scale = vec![0f32; n];
    let [r0, r1, r2, r3] = [0, 1, 2, 3].map(|s| &responses[s][..]);
    for i in 0..n {
        let r = [r0[i], r1[i], r2[i], r3[i]];
        let sum_even: f32 = r.iter().map(|z| z.re).sum();
        let sum_odd: f32 = r.iter().map(|z| z.im).sum();
        let norm = (sum_even * sum_even + sum_odd * sum_odd).sqrt() + EPS;
        let (mean_e, mean_o) = (sum_even / norm, sum_odd / norm);
        // Σ_s A_s (cos Δφ - |sin Δφ|) through dot and cross products with the mean phase.
        energy[i] = r
            .iter()
            .map(|z| z.re * mean_e + z.im * mean_o - (z.re * mean_o - z.im * mean_e).abs())
            .sum();
        amplitude[i] = r.iter().map(|z| (z.re * z.re + z.im * z.im).sqrt()).sum();
        small_scale[i] = (r[0].re * r[0].re + r[0].im * r[0].im).sqrt().powi(2);
    }

    // Noise: the median squared amplitude at the smallest scale (a Rayleigh's, so
    // mean = -median / ln 0.5), over the smallest filter's power. torch.median takes the
    // lower of the two middle values.
    let (_, median, _) = small_scale.select_nth_unstable_by((n - 1) / 2, f32::total_cmp);
    let mean_e2n = -f64::from(*median) / 0.5f64.ln();
    let noise_power = mean_e2n / bank.em_n[o];
    let noise_energy2 =
        2.0 * noise_power * bank.sum_an2[o] + 4.0 * noise_power * bank.sum_ai_aj[o];
    let tau = (noise_energy2 / 2.0).sqrt();
    let noise_energy = tau * (PI / 2.0).sqrt();
    let noise_sigma = ((2.0 - PI / 2.0) * tau * tau).sqrt();
    // Rescaled for the PC_2 measure (Kovesi's empirical 1.7).
    let threshold = ((noise_energy + K * noise_sigma) / 1.7) as f32;
    for e in &mut energy {
        *e = (*e - threshold).max(0.0);
    }
    (energy, amplitude)
}

#[cfg(test)]
mod fft_timing_tmp {
    #[test]
    #[ignore]
    fn time_fft_sizes() {
        use crate::quality::spectral::{C32, Fft2};
        for (h, w) in [(256, 256), (200, 300), (300, 451), (300, 450), (300, 452)] {
            let fft = Fft2::new(h, w);
            let mut work = Vec::new();
            let mut plane: Vec<C32> = (0..h * w).map(|i| C32::new(i as f32, 0.0)).collect();
            let mut best = f64::MAX;
            for _ in 0..10 {
                let t = std::time::Instant::now();
                fft.inverse(&mut plane, &mut work);
                best = best.min(t.elapsed().as_secs_f64() * 1000.0);
            }
            println!("{h}x{w}: {best:.2} ms");
        }
    }
}

#[cfg(test)]
mod op_timing_tmp {
    use burn::tensor::module::{avg_pool2d, interpolate};
    use burn::tensor::ops::{AvgPoolOptions, InterpolateMode, InterpolateOptions};
    use burn::tensor::{Distribution, Tensor};

    fn time<F: FnMut() -> Tensor<4>>(name: &str, mut f: F) {
        let mut best = f64::MAX;
        for _ in 0..5 {
            let t = std::time::Instant::now();
            let r = f();
            let _ = r.slice([0..1, 0..1, 0..1, 0..1]).into_data();
            best = best.min(t.elapsed().as_secs_f64() * 1000.0);
        }
        println!("{name}: {best:.2} ms");
    }

    #[test]
    #[ignore]
    fn time_ops() {
        let device = crate::ComputeDevice::cpu().unwrap().device;
        let x = Tensor::<4>::random([2, 3, 400, 600], Distribution::Default, &device);
        time("mul_scalar", || x.clone() * 255.0);
        time("add", || x.clone() + x.clone());
        time("powf 2.4", || x.clone().powf_scalar(2.4));
        time("powi 2", || x.clone().powi_scalar(2));
        time("exp", || x.clone().exp());
        time("greater+mask_where", || x.clone().mask_where(x.clone().greater_elem(0.5), x.clone()));
        time("pad replicate", || super::super::filter::pad(x.clone(), [1, 0, 1, 0], super::super::filter::Border::Replicate));
        time("avg_pool2d", || avg_pool2d(x.clone(), AvgPoolOptions::new([2, 2])));
        time("slice", || x.clone().slice([0..1, 0..1, 0..400, 0..600]));
        time("cat", || Tensor::cat(vec![x.clone(), x.clone()], 0));
        time("interp down", || interpolate(x.clone(), InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(false).with_output_size([256, 256])));
        let s = Tensor::<4>::random([2, 1, 256, 256], Distribution::Default, &device);
        time("interp up", || interpolate(s.clone(), InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(true).with_output_size([400, 600])));
        time("min_dims", || x.clone().min_dims(&[2, 3]));
        time("pad via cat", || {
            let [n, c, h, w] = x.dims();
            let t = Tensor::cat(vec![x.clone().slice([0..n, 0..c, 0..1, 0..w]), x.clone()], 2);
            Tensor::cat(vec![t.clone().slice([0..n, 0..c, 0..h + 1, 0..1]), t], 3)
        });
        time("pool via reshape", || {
            let [n, c, h, w] = x.dims();
            x.clone().reshape([n * c * h / 2, 2, w / 2, 2]).sum_dim(3).sum_dim(1).reshape([n, c, h / 2, w / 2]) * 0.25
        });
        time("pool via conv", || {
            let [n, c, h, w] = x.dims();
            let k = Tensor::<4>::ones([1, 1, 2, 2], &device) * 0.25;
            burn::tensor::module::conv2d(x.clone().reshape([n * c, 1, h, w]), k, None, burn::tensor::ops::ConvOptions::new([2, 2], [0, 0], [1, 1], 1)).reshape([n, c, h / 2, w / 2])
        });
        time("from_data", || Tensor::<4>::from_data(x.clone().into_data(), &device));
    }
}

#[cfg(test)]
mod timing_tmp {
    #[test]
    #[ignore]
    fn time_fsim_vsi() {
        use crate::quality::{Metric, QualityImage, score};
        let device = crate::ComputeDevice::cpu().unwrap().device;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/iqa");
        let load = |n: &str| {
            let img = image::open(dir.join(format!("{n}.png"))).unwrap().to_rgb8();
            QualityImage::from_image(&img, &device).unwrap()
        };
        for metric in [Metric::Fsim, Metric::Vsi] {
            for photo in ["astronaut", "coffee", "chelsea"] {
                let r = load(&format!("{photo}_ref"));
                let x = load(&format!("{photo}_q30_decoded"));
                score(metric, &x, Some(&r)).unwrap();
                let mut best = f64::MAX;
                for _ in 0..7 {
                    let t = std::time::Instant::now();
                    score(metric, &x, Some(&r)).unwrap();
                    best = best.min(t.elapsed().as_secs_f64() * 1000.0);
                }
                println!("{} {photo}: {best:.1} ms", metric.name());
            }
        }
    }
}
