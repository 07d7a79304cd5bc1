//! Kernels for the CPU backend that work on the tensors' own memory: convolution as tiled
//! im2col + GEMM straight into NCHW, with bias and SiLU applied while the output is written,
//! and a vectorised sigmoid / SiLU.
//!
//! Why not burn's CPU convolution: profiling `sightline bench --profile` on yolov8n (2 cores)
//! showed burn flex spending 224 ms in the 64 `Conv` nodes and 88 ms in the 58 `Sigmoid`s (a
//! scalar `exp` per element, one thread), where these graphs need ~9 GFLOP of multiply-adds and
//! a few passes over the activations. Here every convolution is one GEMM per output tile:
//! the tile's im2col columns (sized to stay in L2) are built and multiplied by the weights with
//! faer's GEMM on one core while rayon spreads the tiles over the others, so nothing is
//! converted to channels-last and nothing large is materialised. The GPU backends keep burn's
//! kernels: these are used for the CPU device only, and the tiny models' tests check both
//! against onnxruntime.

use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

pub use super::Activation;

/// The geometry of a 2-D convolution over an NCHW input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Input batch, channels, height, width.
    pub input: [usize; 4],
    /// Output channels.
    pub c_out: usize,
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Vertical and horizontal stride.
    pub strides: [usize; 2],
    /// Padding: top, left, bottom, right (ONNX order).
    pub pads: [usize; 4],
    /// Vertical and horizontal dilation.
    pub dilations: [usize; 2],
    /// Channel groups.
    pub group: usize,
}

impl ConvGeometry {
    /// Output height and width.
    pub fn output_size(&self) -> [usize; 2] {
        let [_, _, h, w] = self.input;
        let size = |axis: usize, len: usize| {
            let extent = (self.kernel[axis] - 1) * self.dilations[axis] + 1;
            (len + self.pads[axis] + self.pads[axis + 2] - extent) / self.strides[axis] + 1
        };
        [size(0, h), size(1, w)]
    }

    /// Output shape `[batch, c_out, height, width]`.
    pub fn output_shape(&self) -> [usize; 4] {
        let [oh, ow] = self.output_size();
        [self.input[0], self.c_out, oh, ow]
    }

    fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.strides == [1, 1] && self.pads == [0; 4]
    }
}

/// Columns of output per GEMM tile: the tile's im2col block (`k` rows) stays within about
/// 256 KiB, a multiple of 16 (the GEMM micro-kernel's width), and there are enough tiles to
/// keep every core busy.
fn tile_columns(k: usize, columns: usize) -> usize {
    let by_cache = (64 * 1024 / k.max(1)).clamp(64, 2048);
    let by_threads = columns.div_ceil(4 * rayon::current_num_threads().max(1));
    let tile = by_cache.min(by_threads.max(16));
    tile.div_ceil(16) * 16
}

/// `Conv` on host memory: `x` is NCHW, `weight` is `[c_out, c_in / group, kh, kw]`, `bias`
/// has `c_out` values. The caller has checked the shapes (as the burn path does).
pub fn conv2d(
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    geometry: &ConvGeometry,
    activation: Activation,
) -> Vec<f32> {
    let [batch, c_in, h, w] = geometry.input;
    let [oh, ow] = geometry.output_size();
    let columns = oh * ow;
    let group = geometry.group;
    let (cg_in, cg_out) = (c_in / group, geometry.c_out / group);
    let [kh, kw] = geometry.kernel;
    let k = cg_in * kh * kw;
    let mut out = vec![0.0f32; batch * geometry.c_out * columns];
    let tile = tile_columns(k, columns);
    for b in 0..batch {
        for g in 0..group {
            let x_g = &x[(b * c_in + g * cg_in) * h * w..][..cg_in * h * w];
            let w_g =
                MatRef::from_row_major_slice(&weight[g * cg_out * k..][..cg_out * k], cg_out, k);
            let out_g = &mut out[(b * geometry.c_out + g * cg_out) * columns..][..cg_out * columns];
            let dst = MatMut::from_row_major_slice_mut(out_g, cg_out, columns);
            if geometry.is_pointwise() {
                let rhs = MatRef::from_row_major_slice(x_g, cg_in, columns);
                dst.par_col_chunks_mut(tile)
                    .enumerate()
                    .for_each(|(index, dst)| {
                        let n = dst.ncols();
                        let rhs = rhs.subcols(index * tile, n);
                        faer::linalg::matmul::matmul(dst, Accum::Replace, w_g, rhs, 1.0, Par::Seq);
                    });
            } else {
                dst.par_col_chunks_mut(tile).enumerate().for_each_init(
                    Vec::new,
                    |columns_buffer: &mut Vec<f32>, (index, dst)| {
                        let n = dst.ncols();
                        columns_buffer.resize(k * n, 0.0);
                        im2col(
                            x_g,
                            cg_in,
                            [h, w],
                            geometry,
                            [oh, ow],
                            index * tile,
                            n,
                            columns_buffer,
                        );
                        let rhs = MatRef::from_row_major_slice(columns_buffer.as_slice(), k, n);
                        faer::linalg::matmul::matmul(dst, Accum::Replace, w_g, rhs, 1.0, Par::Seq);
                    },
                );
            }
        }
    }
    // Bias and activation, one output channel (a contiguous plane) at a time.
    out.par_chunks_mut(columns)
        .enumerate()
        .for_each(|(plane, values)| {
            let bias = bias.map_or(0.0, |bias| bias[plane % geometry.c_out]);
            match activation {
                Activation::None if bias != 0.0 => values.iter_mut().for_each(|v| *v += bias),
                Activation::None => {}
                Activation::Silu => silu_with_bias(values, bias),
            }
        });
    out
}

/// Fills `buffer` (row-major `[cg_in·kh·kw, n]`) with the input patches of output positions
/// `start..start + n` (row `ci·kh·kw + ky·kw + kx`, matching the weight layout); padding
/// reads as zero.
#[allow(clippy::too_many_arguments)]
fn im2col(
    x: &[f32],
    channels: usize,
    [h, w]: [usize; 2],
    geometry: &ConvGeometry,
    [_, ow]: [usize; 2],
    start: usize,
    n: usize,
    buffer: &mut [f32],
) {
    let [kh, kw] = geometry.kernel;
    let [sh, sw] = geometry.strides;
    let [dh, dw] = geometry.dilations;
    let (pad_top, pad_left) = (geometry.pads[0] as isize, geometry.pads[1] as isize);
    let mut rows = buffer.chunks_exact_mut(n);
    for c in 0..channels {
        let plane = &x[c * h * w..][..h * w];
        for ky in 0..kh {
            for kx in 0..kw {
                let Some(row) = rows.next() else { return };
                let mut j = 0;
                while j < n {
                    let p = start + j;
                    let (oy, ox0) = (p / ow, p % ow);
                    let run = (ow - ox0).min(n - j);
                    let out = &mut row[j..j + run];
                    let iy = (oy * sh + ky * dh) as isize - pad_top;
                    if iy < 0 || iy >= h as isize {
                        out.fill(0.0);
                    } else {
                        let line = &plane[iy as usize * w..][..w];
                        let x0 = (ox0 * sw + kx * dw) as isize - pad_left;
                        if sw == 1 {
                            // Contiguous: zeros left of the image, a copy, zeros right of it.
                            let first = (-x0).clamp(0, run as isize) as usize;
                            let last =
                                (w as isize - x0).clamp(first as isize, run as isize) as usize;
                            out[..first].fill(0.0);
                            let from = (x0 + first as isize) as usize;
                            out[first..last].copy_from_slice(&line[from..from + (last - first)]);
                            out[last..].fill(0.0);
                        } else {
                            for (t, value) in out.iter_mut().enumerate() {
                                let ix = x0 + (t * sw) as isize;
                                *value = if ix >= 0 && ix < w as isize {
                                    line[ix as usize]
                                } else {
                                    0.0
                                };
                            }
                        }
                    }
                    j += run;
                }
            }
        }
    }
}

/// `e^x` for `f32` without a branch or a library call, so that loops over it vectorise:
/// Cody–Waite reduction `x = n·ln 2 + r`, |r| ≤ ln 2 / 2, then a degree-6 Taylor polynomial
/// (relative error below 2·10⁻⁷, about one ulp), scaled by `2^n` through the exponent bits.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // 1.5 · 2²³: adding and subtracting it rounds to the nearest integer.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2_E + ROUND) - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

#[inline(always)]
fn sigmoid_one(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// SiLU of `values + bias`, in place (vectorised for the CPU's widest SIMD at run time).
fn silu_with_bias(values: &mut [f32], bias: f32) {
    pulp::Arch::new().dispatch(
        #[inline(always)]
        || {
            for v in values.iter_mut() {
                let x = *v + bias;
                *v = x * sigmoid_one(x);
            }
        },
    );
}

/// The logistic function in place, on all cores.
pub fn sigmoid_in_place(values: &mut [f32]) {
    values.par_chunks_mut(64 * 1024).for_each(|chunk| {
        pulp::Arch::new().dispatch(
            #[inline(always)]
            || {
                for v in chunk.iter_mut() {
                    *v = sigmoid_one(*v);
                }
            },
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The convolution by its definition, one output at a time.
    fn reference(x: &[f32], weight: &[f32], bias: Option<&[f32]>, g: &ConvGeometry) -> Vec<f32> {
        let [batch, c_in, h, w] = g.input;
        let [oh, ow] = g.output_size();
        let (cg_in, cg_out) = (c_in / g.group, g.c_out / g.group);
        let [kh, kw] = g.kernel;
        let mut out = vec![0.0; batch * g.c_out * oh * ow];
        for b in 0..batch {
            for co in 0..g.c_out {
                let group = co / cg_out;
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut sum = bias.map_or(0.0, |bias| f64::from(bias[co]));
                        for ci in 0..cg_in {
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let iy = (oy * g.strides[0] + ky * g.dilations[0]) as isize
                                        - g.pads[0] as isize;
                                    let ix = (ox * g.strides[1] + kx * g.dilations[1]) as isize
                                        - g.pads[1] as isize;
                                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                        continue;
                                    }
                                    let input =
                                        x[((b * c_in + group * cg_in + ci) * h + iy as usize) * w
                                            + ix as usize];
                                    let weight = weight[((co * cg_in + ci) * kh + ky) * kw + kx];
                                    sum += f64::from(input) * f64::from(weight);
                                }
                            }
                        }
                        out[((b * g.c_out + co) * oh + oy) * ow + ox] = sum as f32;
                    }
                }
            }
        }
        out
    }

    /// Deterministic values in [-1, 1).
    fn values(len: usize, seed: u32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(2_654_435_761).max(1);
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state as f32 / u32::MAX as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn convolutions_match_their_definition() {
        let cases = [
            // YOLO's stem: 3 channels, 3×3 stride 2, pad 1.
            ConvGeometry {
                input: [1, 3, 17, 23],
                c_out: 8,
                kernel: [3, 3],
                strides: [2, 2],
                pads: [1, 1, 1, 1],
                dilations: [1, 1],
                group: 1,
            },
            // Pointwise (the GEMM-only path), batch 2.
            ConvGeometry {
                input: [2, 16, 9, 11],
                c_out: 24,
                kernel: [1, 1],
                strides: [1, 1],
                pads: [0; 4],
                dilations: [1, 1],
                group: 1,
            },
            // 3×3 stride 1 (contiguous im2col runs), asymmetric padding.
            ConvGeometry {
                input: [1, 5, 12, 7],
                c_out: 6,
                kernel: [3, 3],
                strides: [1, 1],
                pads: [1, 0, 2, 1],
                dilations: [1, 1],
                group: 1,
            },
            // Dilated, grouped, rectangular kernel.
            ConvGeometry {
                input: [2, 8, 10, 13],
                c_out: 4,
                kernel: [3, 2],
                strides: [1, 2],
                pads: [2, 1, 2, 1],
                dilations: [2, 1],
                group: 2,
            },
            // Depthwise.
            ConvGeometry {
                input: [1, 6, 8, 8],
                c_out: 6,
                kernel: [3, 3],
                strides: [1, 1],
                pads: [1, 1, 1, 1],
                dilations: [1, 1],
                group: 6,
            },
            // Many columns: several tiles per plane.
            ConvGeometry {
                input: [1, 4, 64, 80],
                c_out: 5,
                kernel: [3, 3],
                strides: [1, 1],
                pads: [1, 1, 1, 1],
                dilations: [1, 1],
                group: 1,
            },
        ];
        for (index, g) in cases.iter().enumerate() {
            let [_, c_in, _, _] = g.input;
            let [kh, kw] = g.kernel;
            let x = values(g.input.iter().product(), 1 + index as u32);
            let weight = values(g.c_out * c_in / g.group * kh * kw, 100 + index as u32);
            let bias = values(g.c_out, 200 + index as u32);
            let want = reference(&x, &weight, Some(&bias), g);
            let got = conv2d(&x, &weight, Some(&bias), g, Activation::None);
            assert_eq!(got.len(), want.len(), "case {index}");
            for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                assert!((a - b).abs() <= 1e-5, "case {index} at {i}: {a} vs {b}");
            }
            let fused = conv2d(&x, &weight, Some(&bias), g, Activation::Silu);
            for (i, (a, b)) in fused.iter().zip(&want).enumerate() {
                let silu = f64::from(*b) / (1.0 + (-f64::from(*b)).exp());
                assert!(
                    (f64::from(*a) - silu).abs() <= 1e-5,
                    "case {index} SiLU at {i}"
                );
            }
        }
    }

    #[test]
    fn exp_and_sigmoid_are_accurate_over_the_whole_range() {
        let mut x = -100.0f32;
        while x <= 100.0 {
            let want = (f64::from(x)).exp();
            let got = f64::from(exp(x));
            if (-87.0..=88.0).contains(&x) {
                assert!(
                    ((got - want) / want).abs() < 3e-7,
                    "exp({x}) = {got}, want {want}"
                );
            }
            let mut one = [x];
            sigmoid_in_place(&mut one);
            let sigmoid = 1.0 / (1.0 + (-f64::from(x)).exp());
            assert!((f64::from(one[0]) - sigmoid).abs() < 1e-7, "sigmoid({x})");
            let mut one = [x];
            silu_with_bias(&mut one, 0.0);
            assert!(
                (f64::from(one[0]) - f64::from(x) * sigmoid).abs()
                    < 1e-5 * (1.0 + f64::from(x.abs())),
                "silu({x})"
            );
            x += 0.01;
        }
    }
}
