//! MAD (most apparent distortion, Larson & Chandler 2010) as pyiqa's `mad` computes it
//! (`archs/mad_arch.py`).
//!
//! Everything runs on the host: the metric is a chain of FFT filters (a CSF for the
//! detection part, twenty log-Gabor filters for the appearance part) whose outputs only feed
//! per-patch statistics (up to the fourth moment, which pyiqa takes in float64: its numpy
//! filter bank promotes torch's complex64 spectra to complex128), and devices without f64
//! cannot follow that. So the planes come off the device once, and the transforms, the
//! patch moments and the combination are loops here, spread over the cores with rayon.

use std::f64::consts::PI;
use std::sync::{Arc, Mutex, OnceLock};

use burn::tensor::Tensor;
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftNum, FftPlanner};

type C64 = Complex<f64>;
type C32 = Complex<f32>;

/// pyiqa's patch statistics (`ical_std`, `ical_stat`, the local MSE): 16x16 windows every
/// 4 pixels, so each window is 4x4 blocks of 4x4 pixels.
const PATCH: usize = 16;
const STEP: usize = 4;
const BLOCKS: usize = PATCH / STEP;

/// Log-Gabor bank of `gaborconvolve`: wavelengths 3, 9, 27, 81 and 243 pixels, four
/// orientations.
const SCALES: usize = 5;
const ORIENTATIONS: usize = 4;

/// pyiqa `mad` (`MAD(channels=3, test_y_channel=False)`), lower is better, 0 for a perfect
/// copy.
///
/// pyiqa's conventions, followed here: the three RGB channels are scored separately
/// (no grey conversion) on `x * 255` as f32, not rounded, and the per-channel MAD values are
/// averaged. The detection index (`hi_index`) maps each channel through
/// `0.02874 (v + 1e-12)^(2.2/3)`, filters it with the CSF (`make_csf(H, W, 32)`, whose
/// transposed `W x H` array pyiqa reshapes to `H x W`, scrambling it for non-square images:
/// reproduced), and compares local contrasts of 16x16 patches every 4 pixels, the reference
/// one being the minimum over a 2x2 neighbourhood halved. The appearance index (`lo_index`)
/// compares the standard deviation, skewness and kurtosis of the magnitudes of the 20
/// log-Gabor responses over the same patches, weighted per orientation by the first four of
/// pyiqa's five weights. pyiqa's statistics of its patches (`ical_std`, `ical_stat`) come
/// out ordered (patch, channel) and are reshaped to (channel, row, column) as they are,
/// which interleaves the channels' maps: reproduced ([`scramble`]).
///
/// Precision: pyiqa computes the detection part in f32, here it is f64; pyiqa's appearance
/// part filters complex64 spectra in complex128 and takes the moments in f64, here the
/// spectra are f32 too but the inverse transforms are f32 (about twice as fast; the scores
/// move by about 2e-6) and the moments f64. The nine fixture pairs agree to 4e-5.
///
/// Images under 16 pixels on a side have no patch (pyiqa fails on them): NaN.
pub fn mad(x: Tensor<4>, y: Tensor<4>) -> f64 {
    let [_, channels, h, w] = y.dims();
    if h < PATCH || w < PATCH {
        return f64::NAN;
    }
    let reference = plane255(y);
    let distorted = plane255(x);
    let tables = tables(h, w);
    let (hi, lo) = join(
        || hi_index(&reference, &distorted, channels, &tables),
        || lo_index(&reference, &distorted, channels, &tables),
    );
    let (thresh1, thresh2) = (2.55f64, 3.35f64);
    let b1 = (-thresh1 / thresh2).exp();
    let b2 = 1.0 / (10f64.ln() * thresh2);
    let scores = hi.iter().zip(&lo).map(|(&hi, &lo)| {
        let sig = 1.0 / (1.0 + b1 * hi.powf(b2));
        lo.powf(1.0 - sig) * hi.powf(sig)
    });
    scores.sum::<f64>() / channels as f64
}

/// The image times 255 in f32 (as pyiqa scales it), channel planes one after another.
fn plane255(x: Tensor<4>) -> Vec<f32> {
    let mut values = x
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap();
    for v in &mut values {
        *v *= 255.0;
    }
    values
}

/// pyiqa's `ical_std`/`ical_stat` reshape patch statistics laid out (patch, channel)
/// straight to (channel, row, column), so each "channel" map interleaves the channels'
/// statistics. `per_channel` holds `channels` maps one after another; returns the maps as
/// pyiqa reads them.
fn scramble<T: Copy>(per_channel: &[T], channels: usize) -> Vec<T> {
    let n = per_channel.len() / channels;
    (0..per_channel.len())
        .map(|q| per_channel[(q % channels) * n + q / channels])
        .collect()
}

/// The detection ("high quality") index of each channel: CSF-filtered local contrast
/// masking of the local MSE.
fn hi_index(reference: &[f32], distorted: &[f32], channels: usize, t: &Tables) -> Vec<f64> {
    const K: f64 = 0.02874;
    const G: f64 = 0.5;
    const C_SLOPE: f64 = 1.0;
    const CI_THRESH: f64 = -5.0;
    const CD_THRESH: f64 = -5.0;
    const EPS: f64 = 1e-12;
    let plane = t.h * t.w;
    let (h1, w1) = (t.h1, t.w1);
    let gamma = |v: f32| K * (f64::from(v).abs() + 1e-12).powf(2.2 / 3.0);
    let filtered = |plane: &[f32]| {
        let values: Vec<f64> = plane.iter().map(|&v| gamma(v)).collect();
        let mut spectrum = t.fft.forward_real(&values);
        for (s, &c) in spectrum.iter_mut().zip(&t.csf) {
            *s *= f64::from(c);
        }
        t.fft
            .inverse(spectrum)
            .into_iter()
            .map(|v| v.re)
            .collect::<Vec<f64>>()
    };
    let std = |m2: f64| (m2 + 1e-12).sqrt();
    let per_channel = par_map(channels, |c| {
        let range = c * plane..(c + 1) * plane;
        let (r, d) = join(
            || filtered(&reference[range.clone()]),
            || filtered(&distorted[range.clone()]),
        );
        let difference: Vec<f64> = d.iter().zip(&r).map(|(d, r)| d - r).collect();
        let r = patch_moments(&r, t.h, t.w);
        let d = patch_moments(&difference, t.h, t.w);
        let squared: Vec<f64> = reference[range.clone()]
            .iter()
            .zip(&distorted[range])
            .map(|(&r, &d)| {
                let e = f64::from(r - d);
                e * e
            })
            .collect();
        HiMaps {
            mean: r.iter().map(|m| m.mean).collect(),
            std_reference: r.iter().map(|m| std(m.m2)).collect(),
            std_difference: d.iter().map(|m| std(m.m2)).collect(),
            lmse: window_means(&squared, t.h, t.w),
        }
    });
    let scrambled = |pick: fn(&HiMaps) -> &[f64]| {
        let maps: Vec<f64> = per_channel
            .iter()
            .flat_map(|m| pick(m).iter().copied())
            .collect();
        scramble(&maps, channels)
    };
    let mean_1 = scrambled(|m| &m.mean);
    let std_1 = scrambled(|m| &m.std_reference);
    let std_2 = scrambled(|m| &m.std_difference);
    let map = h1 * w1;
    (0..channels)
        .map(|c| {
            let lmse = &per_channel[c].lmse;
            let mut sum = 0.0;
            for i in 0..h1 {
                for j in 0..w1 {
                    let at = c * map + i * w1 + j;
                    // `-maxpool2x2(-std, padding 1)` cropped to the input: the minimum over
                    // the window ending at (i, j), halved.
                    let mut low = std_1[at];
                    if i > 0 {
                        low = low.min(std_1[at - w1]);
                    }
                    if j > 0 {
                        low = low.min(std_1[at - 1]);
                    }
                    if i > 0 && j > 0 {
                        low = low.min(std_1[at - w1 - 1]);
                    }
                    let low = low / 2.0;
                    let m1 = mean_1[at];
                    let ci_ref = ((low + EPS) / (m1 + EPS)).abs().ln();
                    let ci_dst = if m1 < G {
                        -1000.0
                    } else {
                        ((std_2[at] + EPS) / (m1 + EPS)).abs().ln()
                    };
                    let bound = C_SLOPE * (ci_ref - CI_THRESH) + CD_THRESH;
                    let mask = if ci_ref > CI_THRESH && ci_dst > bound {
                        ci_dst - bound
                    } else if ci_ref <= CI_THRESH && ci_dst > CD_THRESH {
                        ci_dst - CD_THRESH
                    } else {
                        0.0
                    };
                    // The local MSE comes from a convolution: not scrambled.
                    let mp = mask * lmse[i * w1 + j];
                    sum += mp * mp;
                }
            }
            sum.sqrt() / (map as f64).sqrt() * 200.0
        })
        .collect()
}

/// One channel's patch maps for [`hi_index`], before the scramble.
struct HiMaps {
    /// Means of the CSF-filtered reference.
    mean: Vec<f64>,
    /// Deviations of the CSF-filtered reference.
    std_reference: Vec<f64>,
    /// Deviations of the CSF-filtered difference.
    std_difference: Vec<f64>,
    /// The local MSE of the untransformed planes (a convolution: never scrambled).
    lmse: Vec<f64>,
}

/// The appearance ("low quality") index of each channel: differences of the log-Gabor
/// magnitudes' local statistics.
fn lo_index(reference: &[f32], distorted: &[f32], channels: usize, t: &Tables) -> Vec<f64> {
    // pyiqa indexes its five weights by orientation, so only the first four are used.
    const WEIGHTS: [f64; ORIENTATIONS] = [0.5 / 13.25, 0.75 / 13.25, 1.0 / 13.25, 5.0 / 13.25];
    let plane = t.h * t.w;
    let spectra = par_map(2 * channels, |k| {
        let source = if k < channels { reference } else { distorted };
        let c = k % channels;
        let values: Vec<f64> = source[c * plane..(c + 1) * plane]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let spectrum = t.fft.forward_real(&values);
        // torch's spectra are complex64.
        spectrum
            .into_iter()
            .map(|v| C32::new(v.re as f32, v.im as f32))
            .collect::<Vec<C32>>()
    });
    let filters = ORIENTATIONS * SCALES;
    let scale = 1.0 / (t.h * t.w) as f64;
    let per_filter = par_map_init(channels * filters, Work::default, |work, k| {
        let (c, o, s) = (k / filters, k % filters / SCALES, k % SCALES);
        let mut stats = |spectrum: &[C32]| {
            // ifft2's 1 / (h w) goes with the filter.
            work.input.clear();
            work.input.extend(
                spectrum
                    .iter()
                    .zip(t.radial[s].iter().zip(&t.angular[o]))
                    .map(|(&v, (&radial, &angular))| {
                        v * (f64::from(radial) * f64::from(angular) * scale) as f32
                    }),
            );
            t.fft.inverse_into(
                &t.fft.f32,
                &mut work.input,
                &mut work.output,
                &mut work.scratch,
            );
            work.magnitude.clear();
            work.magnitude.extend(work.output.iter().map(|v| {
                let (re, im) = (f64::from(v.re), f64::from(v.im));
                (re * re + im * im + 1e-12).sqrt()
            }));
            patch_moments(&work.magnitude, t.h, t.w)
        };
        let a = stats(&spectra[c]);
        let b = stats(&spectra[channels + c]);
        // The scramble moves reference and distorted statistics alike, so the differences
        // can be taken before it.
        a.iter()
            .zip(&b)
            .map(|(a, b)| {
                let (a, b) = (a.shape(), b.shape());
                WEIGHTS[o] * ((a[0] - b[0]).abs() + 2.0 * (a[1] - b[1]).abs() + (a[2] - b[2]).abs())
            })
            .collect::<Vec<f64>>()
    });
    let map = t.h1 * t.w1;
    let mut mp = vec![0.0; channels * map];
    for (k, contribution) in per_filter.iter().enumerate() {
        let c = k / filters;
        for (m, v) in mp[c * map..(c + 1) * map].iter_mut().zip(contribution) {
            *m += v;
        }
    }
    scramble(&mp, channels)
        .chunks_exact(map)
        .map(|m| m.iter().map(|v| v * v).sum::<f64>().sqrt() / (map as f64).sqrt())
        .collect()
}

/// A patch's mean and central moments (`E[(x - mean)^k]`, population).
#[derive(Debug, Clone, Copy)]
struct Moments {
    mean: f64,
    m2: f64,
    m3: f64,
    m4: f64,
}

impl Moments {
    /// pyiqa's `get_moments(sk=True)`: standard deviation (of the variance plus `1e-12`),
    /// skewness and excess kurtosis.
    fn shape(&self) -> [f64; 3] {
        let std = (self.m2 + 1e-12).sqrt();
        let (s2, s3) = (std * std, std * std * std);
        [std, self.m3 / s3, self.m4 / (s2 * s2) - 3.0]
    }
}

/// Number of 16x16 windows every 4 pixels along a side of `n` (pyiqa's
/// `(n - (p - s)) // s`).
fn windows(n: usize) -> usize {
    (n - (PATCH - STEP)) / STEP
}

/// The moments of every 16x16 window every 4 pixels of the `h x w` plane, row-major.
///
/// Central moments of 4x4 blocks are merged four at a time (rows of blocks, then columns
/// of those), each merge re-centring the parts on the merged mean: a few dozen operations a
/// window instead of a thousand, and as accurate as direct sums, where raw power sums would
/// cancel catastrophically for windows far from zero mean.
fn patch_moments(plane: &[f64], h: usize, w: usize) -> Vec<Moments> {
    let (h1, w1) = (windows(h), windows(w));
    let (bh, bw) = (h1 + BLOCKS - 1, w1 + BLOCKS - 1);
    // [mean, sum (x - mean)^2, ^3, ^4] of each 4x4 block.
    let mut blocks = Vec::with_capacity(bh * bw);
    for bi in 0..bh {
        let rows: [&[f64]; STEP] =
            std::array::from_fn(|r| &plane[(bi * STEP + r) * w..][..bw * STEP]);
        for bj in 0..bw {
            let values: [f64; STEP * STEP] =
                std::array::from_fn(|k| rows[k / STEP][bj * STEP + k % STEP]);
            let mean = values.iter().sum::<f64>() / (STEP * STEP) as f64;
            let (mut s2, mut s3, mut s4) = (0.0, 0.0, 0.0);
            for v in values {
                let d = v - mean;
                let d2 = d * d;
                s2 += d2;
                s3 += d2 * d;
                s4 += d2 * d2;
            }
            blocks.push([mean, s2, s3, s4]);
        }
    }
    // Four blocks side by side, then four of those stacked.
    let mut strips = Vec::with_capacity(bh * w1);
    for row in blocks.chunks_exact(bw) {
        for j in 0..w1 {
            strips.push(merge(&row[j..j + BLOCKS], (STEP * STEP) as f64));
        }
    }
    let count = (PATCH * PATCH) as f64;
    let mut out = Vec::with_capacity(h1 * w1);
    for i in 0..h1 {
        for j in 0..w1 {
            let parts: [[f64; 4]; BLOCKS] = std::array::from_fn(|k| strips[(i + k) * w1 + j]);
            let [mean, m2, m3, m4] = merge(&parts, (PATCH * STEP) as f64);
            out.push(Moments {
                mean,
                m2: m2 / count,
                m3: m3 / count,
                m4: m4 / count,
            });
        }
    }
    out
}

/// Merges equal-sized parts of `n` values each, given as `[mean, central sums of powers 2,
/// 3 and 4]`, into the same for their union.
fn merge(parts: &[[f64; 4]], n: f64) -> [f64; 4] {
    let mean = parts.iter().map(|p| p[0]).sum::<f64>() / parts.len() as f64;
    let (mut s2, mut s3, mut s4) = (0.0, 0.0, 0.0);
    for &[m, p2, p3, p4] in parts {
        let d = m - mean;
        let d2 = d * d;
        s2 += p2 + n * d2;
        s3 += p3 + 3.0 * d * p2 + n * d2 * d;
        s4 += p4 + 4.0 * d * p3 + 6.0 * d2 * p2 + n * d2 * d2;
    }
    [mean, s2, s3, s4]
}

/// The mean of every 16x16 window every 4 pixels (pyiqa's strided box `conv2d`).
fn window_means(plane: &[f64], h: usize, w: usize) -> Vec<f64> {
    let (h1, w1) = (windows(h), windows(w));
    let (bh, bw) = (h1 + BLOCKS - 1, w1 + BLOCKS - 1);
    let mut blocks = vec![0.0f64; bh * bw];
    for (bi, row) in blocks.chunks_exact_mut(bw).enumerate() {
        for (bj, block) in row.iter_mut().enumerate() {
            for r in 0..STEP {
                let start = (bi * STEP + r) * w + bj * STEP;
                *block += plane[start..start + STEP].iter().sum::<f64>();
            }
        }
    }
    let mut out = Vec::with_capacity(h1 * w1);
    for i in 0..h1 {
        for j in 0..w1 {
            let mut total = 0.0;
            for bi in i..i + BLOCKS {
                total += blocks[bi * bw + j..bi * bw + j + BLOCKS]
                    .iter()
                    .sum::<f64>();
            }
            out.push(total / (PATCH * PATCH) as f64);
        }
    }
    out
}

/// What MAD needs per image size: the FFT plans, the CSF and the log-Gabor bank, all in
/// the transposed frequency layout of [`Fft2`] with the zero frequency first.
struct Tables {
    h: usize,
    w: usize,
    h1: usize,
    w1: usize,
    fft: Fft2,
    csf: Vec<f32>,
    /// The radial factor of each scale; a filter is `radial[s] * angular[o]` (f32: the
    /// products go to f32 transforms).
    radial: Vec<Vec<f32>>,
    angular: Vec<Vec<f32>>,
}

/// The tables for `h x w` images, built on first use (about a tenth of a metric
/// evaluation) and kept for the two most recent sizes (a camera's two orientations): at
/// 40 bytes a pixel they are too big to keep for every size seen.
// A process-wide table behind a lock: natively rayon threads share it; in the browser's
// single-threaded worker the lock is never contended, so it never blocks.
#[allow(clippy::disallowed_methods)]
fn tables(h: usize, w: usize) -> Arc<Tables> {
    const KEEP: usize = 2;
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(tables) = cache.lock().unwrap().get(h, w) {
        return tables;
    }
    let tables = Arc::new(build_tables(h, w));
    let mut cache = cache.lock().unwrap();
    // Another thread may have built them meanwhile.
    if let Some(tables) = cache.get(h, w) {
        return tables;
    }
    if cache.entries.len() >= KEEP
        && let Some(oldest) = (0..cache.entries.len()).min_by_key(|&i| cache.entries[i].0)
    {
        cache.entries.swap_remove(oldest);
    }
    let now = cache.clock;
    cache.entries.push((now, tables.clone()));
    tables
}

/// Tables by size, each with when it was last asked for.
#[derive(Default)]
struct Cache {
    clock: u64,
    entries: Vec<(u64, Arc<Tables>)>,
}

impl Cache {
    fn get(&mut self, h: usize, w: usize) -> Option<Arc<Tables>> {
        self.clock += 1;
        let now = self.clock;
        let (used, tables) = self
            .entries
            .iter_mut()
            .find(|(_, t)| (t.h, t.w) == (h, w))?;
        *used = now;
        Some(tables.clone())
    }
}

fn build_tables(h: usize, w: usize) -> Tables {
    assert!(
        h >= PATCH && w >= PATCH,
        "MAD needs images of at least {PATCH}x{PATCH}, got {w}x{h}"
    );
    // Transposed layout: frequency (u, v) (row u < h, column v < w) at `v * h + u`.
    fn transposed<T>(h: usize, w: usize, value: impl Fn(usize, usize) -> T) -> Vec<T> {
        let mut out = Vec::with_capacity(h * w);
        for v in 0..w {
            for u in 0..h {
                out.push(value(u, v));
            }
        }
        out
    }

    // make_csf(H, W, 32), as f32, read through pyiqa's reshape of its transpose, then
    // ifftshifted (pyiqa's fftshift of the spectrum, product, ifftshift).
    let csf = csf_values(h, w);
    let scrambled = |r: usize, c: usize| {
        let k = r * w + c;
        csf[(k % h) * w + k / h]
    };
    let csf = transposed(h, w, |u, v| scrambled((u + h / 2) % h, (v + w / 2) % w));

    // gaborconvolve's grids (numpy, f64), centred; numpy's fftshift puts their centre
    // (h/2, w/2) on the zero frequency.
    let (hh, hw) = (h as f64 / 2.0, w as f64 / 2.0);
    let x = |c: usize| (-hw + c as f64) / hw;
    let y = |r: usize| (-hh + r as f64) * (1.0 / hh);
    // pyiqa's stand-ins for the zero radius sit at numpy-rounded indices (off by one from
    // MATLAB's): radius 1 at (h/2 + 1, w/2 + 1), a zero filter at (h/2, w/2).
    let unit_radius = (
        (hh + 1.0).round_ties_even() as usize,
        (hw + 1.0).round_ties_even() as usize,
    );
    let zeroed = (hh.round_ties_even() as usize, hw.round_ties_even() as usize);
    // Per frequency: the log radius (None where pyiqa zeroes the filters), sin and cos of
    // the polar angle.
    let grid = transposed(h, w, |u, v| {
        let (r, c) = ((u + h - h / 2) % h, (v + w - w / 2) % w);
        let radius = if (r, c) == unit_radius {
            1.0
        } else {
            x(c).hypot(y(r))
        };
        let log_radius = ((r, c) != zeroed).then(|| (radius + 1e-12).ln());
        let (sin_t, cos_t) = (-y(r)).atan2(x(c)).sin_cos();
        (log_radius, sin_t, cos_t)
    });
    let sigma_on_f: f64 = 0.55;
    let spread = -(2.0 * sigma_on_f.ln().powi(2));
    let theta_sigma = PI / ORIENTATIONS as f64 / 1.5;
    let mut bank = par_map(SCALES + ORIENTATIONS, |k| {
        if k < SCALES {
            let wavelength = 3.0 * 3f64.powi(k as i32);
            let log_rfo = ((1.0 / wavelength) / 0.5).ln();
            grid.iter()
                .map(|&(log_radius, _, _)| {
                    log_radius.map_or(0.0, |l| ((l - log_rfo).powi(2) / spread).exp()) as f32
                })
                .collect::<Vec<f32>>()
        } else {
            let angle = (k - SCALES) as f64 * PI / ORIENTATIONS as f64;
            let (sin_a, cos_a) = angle.sin_cos();
            grid.iter()
                .map(|&(_, sin_t, cos_t)| {
                    let ds = sin_t * cos_a - cos_t * sin_a;
                    let dc = cos_t * cos_a + sin_t * sin_a;
                    let dtheta = ds.atan2(dc).abs();
                    (-(dtheta * dtheta) / (2.0 * theta_sigma * theta_sigma)).exp() as f32
                })
                .collect()
        }
    });
    let angular = bank.split_off(SCALES);
    let radial = bank;
    Tables {
        h,
        w,
        h1: windows(h),
        w1: windows(w),
        fft: Fft2::new(h, w),
        csf,
        radial,
        angular,
    }
}

/// pyiqa's `make_csf(rows, cols, 32)` before its transpose, rounded to f32 as pyiqa's
/// `.float()` does: `rows x cols`, row-major.
fn csf_values(rows: usize, cols: usize) -> Vec<f32> {
    let nfreq = 32.0;
    let w = 0.7;
    let mut out = Vec::with_capacity(rows * cols);
    for i in 0..rows {
        let yv = -(rows as f64 - 1.0) / 2.0 + i as f64;
        for j in 0..cols {
            let xv = -(cols as f64 - 1.0) / 2.0 + j as f64;
            let (px, py) = (
                xv / cols as f64 * 2.0 * nfreq,
                yv / cols as f64 * 2.0 * nfreq,
            );
            let s = (1.0 - w) / 2.0 * (4.0 * py.atan2(px)).cos() + (1.0 + w) / 2.0;
            let radfreq = px.hypot(py) / s;
            let csf = if radfreq < 7.8909 {
                0.9809
            } else {
                2.6 * (0.0192 + 0.114 * radfreq) * (-(0.114 * radfreq).powf(1.1)).exp()
            };
            out.push(csf as f32);
        }
    }
    out
}

/// One thread's buffers for the log-Gabor responses (the planes are megabytes: reused).
#[derive(Default)]
struct Work {
    input: Vec<C32>,
    output: Vec<C32>,
    scratch: Vec<C32>,
    magnitude: Vec<f64>,
}

/// Forward and inverse plans for rows (`w` long) and columns (`h` long).
struct Plans<T: FftNum> {
    rows: [Arc<dyn Fft<T>>; 2],
    cols: [Arc<dyn Fft<T>>; 2],
}

impl<T: FftNum> Plans<T> {
    fn new(h: usize, w: usize) -> Self {
        let mut planner = FftPlanner::new();
        Self {
            rows: [planner.plan_fft_forward(w), planner.plan_fft_inverse(w)],
            cols: [planner.plan_fft_forward(h), planner.plan_fft_inverse(h)],
        }
    }
}

/// A 2-D FFT that leaves spectra transposed (`w x h`), which saves the transpose back and
/// forth around each filtering.
struct Fft2 {
    h: usize,
    w: usize,
    f64: Plans<f64>,
    f32: Plans<f32>,
}

impl Fft2 {
    fn new(h: usize, w: usize) -> Self {
        Self {
            h,
            w,
            f64: Plans::new(h, w),
            f32: Plans::new(h, w),
        }
    }

    /// `torch.fft.fft2` of a real `h x w` plane, as a transposed spectrum.
    fn forward_real(&self, plane: &[f64]) -> Vec<C64> {
        let mut rows: Vec<C64> = plane.iter().map(|&v| C64::new(v, 0.0)).collect();
        let mut scratch = Vec::new();
        run(&*self.f64.rows[0], &mut rows, &mut scratch);
        let mut cols = vec![C64::default(); self.h * self.w];
        transpose(&rows, &mut cols, self.h, self.w);
        run(&*self.f64.cols[0], &mut cols, &mut scratch);
        cols
    }

    /// `torch.fft.ifft2` of a transposed spectrum, as an `h x w` plane.
    fn inverse(&self, mut cols: Vec<C64>) -> Vec<C64> {
        let (mut rows, mut scratch) = (Vec::new(), Vec::new());
        self.inverse_into(&self.f64, &mut cols, &mut rows, &mut scratch);
        let scale = 1.0 / (self.h * self.w) as f64;
        for v in &mut rows {
            *v *= scale;
        }
        rows
    }

    /// The unscaled inverse of the transposed spectrum `cols` (overwritten) into `rows`
    /// (`h x w`).
    fn inverse_into<T: FftNum>(
        &self,
        plans: &Plans<T>,
        cols: &mut [Complex<T>],
        rows: &mut Vec<Complex<T>>,
        scratch: &mut Vec<Complex<T>>,
    ) {
        run(&*plans.cols[1], cols, scratch);
        rows.resize(self.h * self.w, Complex::new(T::zero(), T::zero()));
        transpose(cols, rows, self.w, self.h);
        run(&*plans.rows[1], rows, scratch);
    }
}

/// Transforms every `fft.len()` run of `data` in place.
fn run<T: FftNum>(fft: &dyn Fft<T>, data: &mut [Complex<T>], scratch: &mut Vec<Complex<T>>) {
    scratch.resize(
        fft.get_inplace_scratch_len(),
        Complex::new(T::zero(), T::zero()),
    );
    fft.process_with_scratch(data, scratch);
}

/// `dst` (`cols x rows`) = the transpose of `src` (`rows x cols`), in cache-sized tiles.
fn transpose<T: Copy>(src: &[T], dst: &mut [T], rows: usize, cols: usize) {
    const TILE: usize = 32;
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            for r in r0..(r0 + TILE).min(rows) {
                for c in c0..(c0 + TILE).min(cols) {
                    dst[c * rows + r] = src[r * cols + c];
                }
            }
        }
    }
}

/// `f(state, 0), ..., f(state, n - 1)` over the cores where there are threads, each with a
/// `state` of its own from `init`.
#[cfg(not(target_arch = "wasm32"))]
fn par_map_init<S, R: Send>(
    n: usize,
    init: impl Fn() -> S + Sync + Send,
    f: impl Fn(&mut S, usize) -> R + Sync + Send,
) -> Vec<R> {
    use rayon::prelude::*;
    (0..n).into_par_iter().map_init(init, f).collect()
}

#[cfg(target_arch = "wasm32")]
fn par_map_init<S, R>(n: usize, init: impl Fn() -> S, f: impl Fn(&mut S, usize) -> R) -> Vec<R> {
    let mut state = init();
    (0..n).map(|k| f(&mut state, k)).collect()
}

/// `f(0), ..., f(n - 1)`, over the cores where there are threads.
#[cfg(not(target_arch = "wasm32"))]
fn par_map<R: Send>(n: usize, f: impl Fn(usize) -> R + Sync + Send) -> Vec<R> {
    use rayon::prelude::*;
    (0..n).into_par_iter().map(f).collect()
}

#[cfg(target_arch = "wasm32")]
fn par_map<R>(n: usize, f: impl Fn(usize) -> R) -> Vec<R> {
    (0..n).map(f).collect()
}

/// Both closures' results, in parallel where there are threads.
#[cfg(not(target_arch = "wasm32"))]
fn join<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    rayon::join(a, b)
}

#[cfg(target_arch = "wasm32")]
fn join<A, B>(a: impl FnOnce() -> A, b: impl FnOnce() -> B) -> (A, B) {
    (a(), b())
}
