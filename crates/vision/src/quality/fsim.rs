//! FSIM as pyiqa's `fsim` computes it (`archs/fsim_arch.py`, after piq).

use std::f64::consts::PI;
use std::sync::{Arc, Mutex, OnceLock};

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Tensor, TensorData};

use super::spectral::{C32, Fft2, grid_axis};

/// How many image sizes keep their filter bank.
const BANKS_KEPT: usize = 4;

/// Pixels per block in the phase-congruency loop.
const BLOCK: usize = 64;

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
    // x 255, average pooling and YIQ commute (all linear): pooling first is cheapest.
    let channels = |t: Tensor<4>| {
        let yiq = mix(mean_pool(t, k), YIQ, 255.0, None);
        let [_, _, h, w] = yiq.dims();
        [0, 1, 2].map(|c| yiq.clone().slice([0..1, c..c + 1, 0..h, 0..w]))
    };
    let [x_lum, x_i, x_q] = channels(x);
    let [y_lum, y_i, y_q] = channels(y);

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

/// pyiqa's `rgb2yiq` matrix (rows: Y, I, Q).
const YIQ: [[f32; 3]; 3] = [
    [0.299, 0.587, 0.114],
    [0.5959, -0.2746, -0.3213],
    [0.2115, -0.5227, 0.3112],
];

/// `scale * matrix · x (+ bias)` over the channels of an `[N, 3, H, W]` tensor, as a 1×1
/// convolution (one pass instead of slices, products and sums per channel).
pub(super) fn mix(
    x: Tensor<4>,
    matrix: [[f32; 3]; 3],
    scale: f32,
    bias: Option<[f32; 3]>,
) -> Tensor<4> {
    let device = x.device();
    let weights: Vec<f32> = matrix.iter().flatten().map(|m| m * scale).collect();
    let weights = Tensor::from_data(TensorData::new(weights, [3, 3, 1, 1]), &device);
    let bias = bias.map(|b| Tensor::from_data(TensorData::new(b.to_vec(), [3]), &device));
    conv2d(
        x,
        weights,
        bias,
        ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
    )
}

/// `avg_pool2d(x, k)` (stride `k`, no padding, remainder dropped; nothing for `k = 1`) of
/// every channel, as a strided convolution with a `k * k` box of `1 / k²`: the same values,
/// and on burn's CPU backend several times faster than its `avg_pool2d`.
pub(super) fn mean_pool(x: Tensor<4>, k: usize) -> Tensor<4> {
    if k == 1 {
        return x;
    }
    let [n, c, h, w] = x.dims();
    let weight = Tensor::full([1, 1, k, k], 1.0 / (k * k) as f32, &x.device());
    let pooled = conv2d(
        x.reshape([n * c, 1, h, w]),
        weight,
        None,
        ConvOptions::new([k, k], [0, 0], [1, 1], 1),
    );
    let [_, _, ph, pw] = pooled.dims();
    pooled.reshape([n, c, ph, pw])
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
    let magnitude = grads.powi_scalar(2).sum_dim(1).add_scalar(EPS).sqrt();
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

/// The bank for `h * w`: built once per size and kept for the last [`BANKS_KEPT`] sizes
/// (a bank is `16 h w` floats; photos come in many sizes).
// A process-wide table behind a lock: natively rayon threads share it; in the browser's
// single-threaded worker the lock is never contended, so it never blocks.
#[allow(clippy::disallowed_methods)]
fn bank(h: usize, w: usize) -> Arc<Bank> {
    type Banks = Vec<((usize, usize), Arc<Bank>)>;
    static BANKS: OnceLock<Mutex<Banks>> = OnceLock::new();
    let banks = BANKS.get_or_init(Default::default);
    let find = |banks: &mut Banks| {
        let i = banks.iter().position(|(size, _)| *size == (h, w))?;
        // Most recently used last.
        let entry = banks.remove(i);
        let bank = entry.1.clone();
        banks.push(entry);
        Some(bank)
    };
    if let Some(bank) = find(&mut banks.lock().unwrap()) {
        return bank;
    }
    let bank = Arc::new(build_bank(h, w));
    let mut banks = banks.lock().unwrap();
    if let Some(built) = find(&mut banks) {
        return built;
    }
    if banks.len() == BANKS_KEPT {
        banks.remove(0);
    }
    banks.push(((h, w), bank.clone()));
    bank
}

/// pyiqa's `_construct_filters` and the filter sums of `_phase_congruency`, built directly
/// in the transposed layout (`c * h + r`) the filtering uses.
fn build_bank(h: usize, w: usize) -> Bank {
    let n = h * w;
    let (axis_h, axis_w) = (grid_axis(h), grid_axis(w));
    // pyiqa's radius and angle grids after `ifftshift` (zero frequency at [0, 0]); the
    // rows' coordinate is its `grid_x`, the columns' its `grid_y`.
    let columns = par_map(w, |c| {
        let y = axis_w[(c + w / 2) % w];
        (0..h)
            .map(|r| {
                let x = axis_h[(r + h / 2) % h];
                let radius = (x * x + y * y).sqrt();
                // Butterworth low-pass (cutoff 0.45, order 15) so that no filter reaches the
                // FFT's corners.
                let low_pass = 1.0 / (1.0 + (radius / 0.45).powi(30));
                // pyiqa sets the DC radius to 1 (no log of 0; the filters are zeroed there).
                let radius = if r == 0 && c == 0 { 1.0 } else { radius };
                [radius, (-y).atan2(x), low_pass]
            })
            .collect::<Vec<_>>()
    });
    let grid: Vec<[f32; 3]> = columns.into_iter().flatten().collect();

    // Radial components: a log-Gabor per scale.
    let log_sigma = 2.0 * (SIGMA_F.ln() as f32).powi(2);
    let radial = par_map(SCALES, |s| {
        let omega_0 = (1.0 / (MIN_LENGTH * MULT.powi(s as i32))) as f32;
        let mut g: Vec<f32> = grid
            .iter()
            .map(|&[r, _, lp]| (-(r / omega_0).ln().powi(2) / log_sigma).exp() * lp)
            .collect();
        g[0] = 0.0;
        g
    });
    // Angular components: a Gaussian in the angle from each orientation. pyiqa takes the
    // angular distance as |atan2| of the sine and cosine differences, which is the
    // difference wrapped into (-π, π].
    let theta_sigma = (PI / (ORIENTATIONS as f64 * DELTA_THETA)) as f32;
    let angular = par_map(ORIENTATIONS, |o| {
        let angle = (o as f64 * PI / ORIENTATIONS as f64) as f32;
        grid.iter()
            .map(|&[_, theta, _]| {
                let mut d = theta - angle;
                if d <= -std::f32::consts::PI {
                    d += 2.0 * std::f32::consts::PI;
                }
                (-(d * d) / (2.0 * theta_sigma * theta_sigma)).exp()
            })
            .collect::<Vec<f32>>()
    });

    // The noise model sums products of the spatial filters `a = Re(ifft2(F)) sqrt(h w)`.
    // Re(ifft2(F)) is the inverse transform of F's even part `(F(k) + F(-k)) / 2` (F is
    // real), so by Parseval `Σ_p a_s a_t = Σ_k even_s(k) even_t(k)`: no transforms needed.
    // The radial parts are even already, so only the angular part is mirrored.
    let sums = par_map(ORIENTATIONS, |o| {
        let spread = &angular[o];
        let (mut em_n, mut an2, mut ai_aj) = (0f64, 0f64, 0f64);
        for c in 0..w {
            let mirror_column = &spread[((w - c) % w) * h..][..h];
            for r in 0..h {
                let i = c * h + r;
                let g = [0, 1, 2, 3].map(|s| f64::from(radial[s][i]));
                em_n += (f64::from(spread[i]) * g[0]).powi(2);
                let mirrored = mirror_column[if r == 0 { 0 } else { h - r }];
                let even = (f64::from(spread[i]) + f64::from(mirrored)) / 2.0;
                let weight = even * even;
                for s in 0..SCALES {
                    an2 += weight * g[s] * g[s];
                    for t in s + 1..SCALES {
                        ai_aj += weight * g[s] * g[t];
                    }
                }
            }
        }
        (em_n, an2, ai_aj)
    });

    // The filters, scaled by ifft2's `1 / (h w)`.
    let scale = 1.0 / n as f32;
    let filters = par_map(ORIENTATIONS * SCALES, |i| {
        let (spread, g) = (&angular[i / SCALES], &radial[i % SCALES]);
        spread.iter().zip(g).map(|(a, b)| a * b * scale).collect()
    });
    let mut bank = Bank {
        fft: Fft2::new(h, w),
        filters,
        em_n: [0.0; ORIENTATIONS],
        sum_an2: [0.0; ORIENTATIONS],
        sum_ai_aj: [0.0; ORIENTATIONS],
    };
    for (o, (em_n, an2, ai_aj)) in sums.into_iter().enumerate() {
        bank.em_n[o] = em_n;
        bank.sum_an2[o] = an2;
        bank.sum_ai_aj[o] = ai_aj;
    }
    bank
}

/// `(0..count).map(f)`, spread over the cores natively.
pub(super) fn par_map<T: Send>(count: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        (0..count).into_par_iter().map(f).collect()
    }
    #[cfg(target_arch = "wasm32")]
    {
        (0..count).map(f).collect()
    }
}

/// Runs `f` compiled for the widest SIMD the CPU has (pulp's run-time dispatch; `f` should
/// be an `#[inline(always)]` closure), natively; as is in WebAssembly.
#[inline(always)]
fn simd<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(not(target_arch = "wasm32"))]
    {
        pulp::Arch::new().dispatch(f)
    }
    #[cfg(target_arch = "wasm32")]
    {
        f()
    }
}

/// pyiqa's `_phase_congruency` of two `[1, 1, H, W]` luminance maps, on the host.
fn phase_congruency(maps: [Tensor<4>; 2]) -> [Tensor<4>; 2] {
    let device = maps[0].device();
    let [_, _, h, w] = maps[0].dims();
    let n = h * w;
    let bank = bank(h, w);
    let spectra = maps.map(|m| {
        let plane = m
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap();
        let mut plane: Vec<C32> = plane.into_iter().map(|v| C32::new(v, 0.0)).collect();
        let mut spectrum = vec![C32::default(); n];
        bank.fft
            .forward_transposed(&mut plane, &mut spectrum, &mut Vec::new());
        spectrum
    });
    // One task per image and orientation.
    let results = par_map(2 * ORIENTATIONS, |task| {
        orientation_energy(&spectra[task / ORIENTATIONS], task % ORIENTATIONS, &bank)
    });

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

    // Per pixel, in blocks of plain arrays (which the compiler vectorises).
    let mut energy = vec![0f32; n];
    let mut amplitude = vec![0f32; n];
    // The squared amplitudes at the smallest scale, as bits: non-negative floats sort as
    // their bits do.
    let mut small_scale = vec![0u32; n];
    simd(
        #[inline(always)]
        || {
            for start in (0..n).step_by(BLOCK) {
                let len = BLOCK.min(n - start);
                let mut re = [[0f32; BLOCK]; SCALES];
                let mut im = [[0f32; BLOCK]; SCALES];
                for (s, response) in responses.iter().enumerate() {
                    for (j, z) in response[start..start + len].iter().enumerate() {
                        re[s][j] = z.re;
                        im[s][j] = z.im;
                    }
                }
                let mut sum_even = [0f32; BLOCK];
                let mut sum_odd = [0f32; BLOCK];
                let mut amp = [0f32; BLOCK];
                for s in 0..SCALES {
                    for j in 0..BLOCK {
                        sum_even[j] += re[s][j];
                        sum_odd[j] += im[s][j];
                        amp[j] += (re[s][j] * re[s][j] + im[s][j] * im[s][j]).sqrt();
                    }
                }
                // The weighted mean phase, as a unit vector.
                let mut mean_e = [0f32; BLOCK];
                let mut mean_o = [0f32; BLOCK];
                for j in 0..BLOCK {
                    let norm = (sum_even[j] * sum_even[j] + sum_odd[j] * sum_odd[j]).sqrt() + EPS;
                    mean_e[j] = sum_even[j] / norm;
                    mean_o[j] = sum_odd[j] / norm;
                }
                // Σ_s A_s (cos Δφ - |sin Δφ|) through dot and cross products with the mean phase.
                let mut en = [0f32; BLOCK];
                for s in 0..SCALES {
                    for j in 0..BLOCK {
                        let (e, o) = (re[s][j], im[s][j]);
                        en[j] +=
                            e * mean_e[j] + o * mean_o[j] - (e * mean_o[j] - o * mean_e[j]).abs();
                    }
                }
                energy[start..start + len].copy_from_slice(&en[..len]);
                amplitude[start..start + len].copy_from_slice(&amp[..len]);
                for j in 0..len {
                    small_scale[start + j] = (re[0][j] * re[0][j] + im[0][j] * im[0][j]).to_bits();
                }
            }
        },
    );

    // Noise: the median squared amplitude at the smallest scale (a Rayleigh's, so
    // mean = -median / ln 0.5), over the smallest filter's power. torch.median takes the
    // lower of the two middle values.
    let (_, median, _) = small_scale.select_nth_unstable((n - 1) / 2);
    let median = f32::from_bits(*median);
    let mean_e2n = -f64::from(median) / 0.5f64.ln();
    let noise_power = mean_e2n / bank.em_n[o];
    let noise_energy2 = 2.0 * noise_power * bank.sum_an2[o] + 4.0 * noise_power * bank.sum_ai_aj[o];
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
