//! Kernels for the CPU backend that work on the tensors' own memory: convolution straight
//! into NCHW with bias and SiLU applied as the output is written, max pooling, nearest
//! upsampling, softmax, a vectorised sigmoid, and `Concat` as one parallel copy.
//!
//! Why not burn's CPU convolution: profiling `sightline bench --profile` on yolov8n (2 cores)
//! showed burn flex spending 224 ms in the 64 `Conv` nodes and 88 ms in the 58 `Sigmoid`s (a
//! scalar `exp` per element, one thread), where these graphs need ~9 GFLOP of multiply-adds and
//! a few passes over the activations. Convolutions take one of three paths ([`ConvPath`]):
//! with AVX-512, the direct kernel of [`direct`] (no im2col, no GEMM call: what MLAS under
//! onnxruntime does); without AVX-512, faer's GEMM, either one per
//! tile of im2col columns sized to stay in L2, or one per kernel tap over shifted views of
//! zero-padded planes. rayon spreads the tiles over the cores; nothing is converted to
//! channels-last. The GPU backends keep burn's kernels: these are used for the CPU device
//! only, each path is checked against the definition here, and the tiny models' tests check
//! the graphs against onnxruntime. Operators reach these kernels only through
//! [`super::kernels`], which chooses them once per model.

use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

pub use super::Activation;

#[cfg(target_arch = "x86_64")]
mod direct;

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

/// Output height and width of a window sliding over an `[_, _, h, w]` input (floor
/// rounding, as convolutions and `ceil_mode` 0 pooling have it).
fn sliding_output_size(
    [_, _, h, w]: [usize; 4],
    kernel: [usize; 2],
    strides: [usize; 2],
    pads: [usize; 4],
    dilations: [usize; 2],
) -> [usize; 2] {
    let size = |axis: usize, len: usize| {
        let extent = (kernel[axis] - 1) * dilations[axis] + 1;
        (len + pads[axis] + pads[axis + 2] - extent) / strides[axis] + 1
    };
    [size(0, h), size(1, w)]
}

impl ConvGeometry {
    /// Output height and width.
    pub fn output_size(&self) -> [usize; 2] {
        sliding_output_size(
            self.input,
            self.kernel,
            self.strides,
            self.pads,
            self.dilations,
        )
    }

    /// Output shape `[batch, c_out, height, width]`.
    pub fn output_shape(&self) -> [usize; 4] {
        let [oh, ow] = self.output_size();
        [self.input[0], self.c_out, oh, ow]
    }

    fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.strides == [1, 1] && self.pads == [0; 4]
    }

    /// Stride 1, one group, a kernel larger than 1×1 and enough input channels that one GEMM
    /// per kernel tap (`k` = the channels) runs near full speed: there the shifted-view
    /// convolution saves building the im2col block, which costs as much as the GEMM.
    /// Measured on yolov8n's layer shapes one at a time (2 cores): 5–17 % faster at 64–80
    /// channels on 80×80, 30–45 % at 128–256 channels on 20×20; 10–25 % slower at 16–32
    /// channels, which keep im2col.
    fn suits_shifted_gemm(&self) -> bool {
        self.strides == [1, 1] && self.group == 1 && self.kernel != [1, 1] && self.input[1] >= 64
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
    prepared: Option<&super::kernels::Prepared>,
) -> Vec<f32> {
    conv2d_by(
        ConvPath::best(geometry),
        x,
        weight,
        bias,
        geometry,
        activation,
        prepared,
    )
}

/// How `conv2d` computes a convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvPath {
    /// The AVX-512 direct convolution of [`direct`].
    #[cfg(target_arch = "x86_64")]
    Direct,
    /// One GEMM per kernel tap over shifted views ([`conv2d_shifted`]).
    Shifted,
    /// Tiles of im2col columns, one GEMM each (the input itself for a pointwise one).
    Im2col,
}

impl ConvPath {
    /// The fastest path for `geometry` on this CPU: the direct kernel wherever AVX-512 is
    /// there (`benches/conv.rs` on 2 cores, weights packed once as a model keeps them:
    /// 0.45–0.9× the GEMM paths' time on yolov8n / yolo11n layers, 0.65–0.97× on the
    /// pointwise ones with 48–512 channels), else the best GEMM path.
    pub fn best(geometry: &ConvGeometry) -> Self {
        #[cfg(target_arch = "x86_64")]
        if direct::available() {
            return ConvPath::Direct;
        }
        Self::gemm(geometry)
    }

    /// The fastest GEMM-based path for `geometry` (any CPU).
    pub fn gemm(geometry: &ConvGeometry) -> Self {
        if geometry.suits_shifted_gemm() {
            ConvPath::Shifted
        } else {
            ConvPath::Im2col
        }
    }
}

/// Whether [`conv2d`] has a fast path for depthwise convolutions on this CPU (else burn's
/// direct kernel beats a GEMM per channel).
pub fn fast_depthwise() -> bool {
    #[cfg(target_arch = "x86_64")]
    return direct::available();
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// [`conv2d`] by the given path (which must be available on this CPU), with the node's slot
/// for repacked weights (used by the direct path; `None` repacks them on every call).
#[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
pub fn conv2d_by(
    path: ConvPath,
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    geometry: &ConvGeometry,
    activation: Activation,
    prepared: Option<&super::kernels::Prepared>,
) -> Vec<f32> {
    match path {
        #[cfg(target_arch = "x86_64")]
        ConvPath::Direct => {
            return direct::conv2d(x, weight, bias, geometry, activation, prepared);
        }
        ConvPath::Shifted => return conv2d_shifted(x, weight, bias, geometry, activation),
        ConvPath::Im2col => {}
    }
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
            let phased;
            let rows = if geometry.strides[1] > 1 && !geometry.is_pointwise() {
                phased = Phased::split(x_g, w, geometry.strides[1]);
                InputRows::Phased(&phased)
            } else {
                InputRows::Plain(x_g)
            };
            let w_g =
                MatRef::from_row_major_slice(&weight[g * cg_out * k..][..cg_out * k], cg_out, k);
            let bias_g = bias.map(|bias| &bias[g * cg_out..][..cg_out]);
            let out_g = &mut out[(b * geometry.c_out + g * cg_out) * columns..][..cg_out * columns];
            let dst = MatMut::from_row_major_slice_mut(out_g, cg_out, columns);
            dst.par_col_chunks_mut(tile).enumerate().for_each_init(
                Vec::new,
                |columns_buffer: &mut Vec<f32>, (index, mut dst)| {
                    let n = dst.ncols();
                    let rhs = if geometry.is_pointwise() {
                        pointwise_columns(x_g, cg_in, columns, index * tile, n)
                    } else {
                        columns_buffer.resize(k * n, 0.0);
                        im2col(
                            rows,
                            cg_in,
                            [h, w],
                            geometry,
                            [oh, ow],
                            index * tile,
                            n,
                            columns_buffer,
                        );
                        MatRef::from_row_major_slice(columns_buffer.as_slice(), k, n)
                    };
                    faer::linalg::matmul::matmul(
                        dst.as_mut(),
                        Accum::Replace,
                        w_g,
                        rhs,
                        1.0,
                        Par::Seq,
                    );
                    // Bias and activation while the tile is still in cache.
                    for row in 0..cg_out {
                        let bias = bias_g.map_or(0.0, |bias| bias[row]);
                        // The destination is row-major, so each row of the tile is contiguous.
                        let values = dst.as_mut().row_mut(row).try_as_row_major_mut();
                        match values {
                            Some(values) => epilogue(values.as_slice_mut(), bias, activation),
                            None => (0..n).for_each(|j| {
                                epilogue(
                                    std::slice::from_mut(dst.as_mut().get_mut(row, j)),
                                    bias,
                                    activation,
                                )
                            }),
                        }
                    }
                },
            );
        }
    }
    out
}

/// A stride-1 convolution without im2col. The input is copied once into zero-padded planes
/// of width `pw`; then output position `(y, x)`, taken on a grid `pw` wide, reads tap
/// `(ky, kx)` at plane offset `(y + ky·dh)·pw + x + kx·dw`, so for each tap the
/// `[channels, n]` block of a run of grid positions is a strided view of the padded planes
/// (row stride: the plane) and the convolution is one GEMM per tap, accumulated. Tiles are
/// whole grid rows; the `pw - ow` extra columns of each row are computed and dropped.
fn conv2d_shifted(
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    geometry: &ConvGeometry,
    activation: Activation,
) -> Vec<f32> {
    let [batch, c_in, h, w] = geometry.input;
    let [oh, ow] = geometry.output_size();
    let [kh, kw] = geometry.kernel;
    let [dh, dw] = geometry.dilations;
    let [top, left, bottom, right] = geometry.pads;
    let c_out = geometry.c_out;
    let taps = kh * kw;
    let (ph, pw) = (h + top + bottom, w + left + right);
    // The last tap of the last grid position reads (kw - 1)·dw past the padded plane.
    let plane = ph * pw + (kw - 1) * dw;
    // Weights as one `[c_out, c_in]` matrix per tap.
    let mut per_tap = vec![0.0f32; taps * c_out * c_in];
    for (o, filters) in weight.chunks_exact(c_in * taps).enumerate() {
        for (ci, filter) in filters.chunks_exact(taps).enumerate() {
            for (t, &value) in filter.iter().enumerate() {
                per_tap[(t * c_out + o) * c_in + ci] = value;
            }
        }
    }
    let grid = oh * pw;
    let rows_per_tile = (tile_columns(c_in * taps, grid) / pw).max(1);
    let mut out = vec![0.0f32; batch * c_out * oh * ow];
    let mut padded = vec![0.0f32; c_in * plane];
    for (image, out) in x
        .chunks_exact(c_in * h * w)
        .zip(out.chunks_exact_mut(c_out * oh * ow))
    {
        padded
            .par_chunks_mut(plane)
            .zip(image.par_chunks(h * w))
            .for_each(|(padded, source)| {
                for (y, line) in source.chunks_exact(w).enumerate() {
                    padded[(y + top) * pw + left..][..w].copy_from_slice(line);
                }
            });
        let padded = padded.as_slice();
        // Each task computes a band of output rows for every channel (bias and activation
        // applied while in cache); the bands are then copied into the output planes.
        let bands: Vec<Vec<f32>> = (0..oh.div_ceil(rows_per_tile))
            .into_par_iter()
            .map(|band| {
                let first_row = band * rows_per_tile;
                let rows = rows_per_tile.min(oh - first_row);
                let (start, n) = (first_row * pw, rows * pw);
                let mut tile = vec![0.0f32; c_out * n];
                let mut dst = MatMut::from_row_major_slice_mut(tile.as_mut_slice(), c_out, n);
                for t in 0..taps {
                    let (ky, kx) = (t / kw, t % kw);
                    let offset = start + ky * dh * pw + kx * dw;
                    let rhs =
                        MatRef::from_row_major_slice_with_stride(&padded[offset..], c_in, n, plane);
                    let lhs = MatRef::from_row_major_slice(
                        &per_tap[t * c_out * c_in..][..c_out * c_in],
                        c_out,
                        c_in,
                    );
                    let accum = if t == 0 { Accum::Replace } else { Accum::Add };
                    faer::linalg::matmul::matmul(dst.as_mut(), accum, lhs, rhs, 1.0, Par::Seq);
                }
                for (o, grid_rows) in tile.chunks_exact_mut(n).enumerate() {
                    let bias = bias.map_or(0.0, |bias| bias[o]);
                    for grid_row in grid_rows.chunks_exact_mut(pw) {
                        epilogue(&mut grid_row[..ow], bias, activation);
                    }
                }
                tile
            })
            .collect();
        out.par_chunks_mut(oh * ow)
            .enumerate()
            .for_each(|(o, plane_out)| {
                for (band, tile) in bands.iter().enumerate() {
                    let rows = tile.len() / (c_out * pw);
                    let grid_rows = &tile[o * rows * pw..][..rows * pw];
                    let target = &mut plane_out[band * rows_per_tile * ow..][..rows * ow];
                    for (line, grid_row) in
                        target.chunks_exact_mut(ow).zip(grid_rows.chunks_exact(pw))
                    {
                        line.copy_from_slice(&grid_row[..ow]);
                    }
                }
            });
    }
    out
}

/// Columns `start..start + n` of a pointwise convolution's input, `[channels, columns]`.
fn pointwise_columns(
    x: &[f32],
    channels: usize,
    columns: usize,
    start: usize,
    n: usize,
) -> MatRef<'_, f32> {
    MatRef::from_row_major_slice(x, channels, columns).subcols(start, n)
}

/// Adds `bias` and applies `activation` in place.
fn epilogue(values: &mut [f32], bias: f32, activation: Activation) {
    match activation {
        Activation::None if bias != 0.0 => values.iter_mut().for_each(|v| *v += bias),
        Activation::None => {}
        Activation::Silu => silu_with_bias(values, bias),
    }
}

/// Fills `buffer` (row-major `[cg_in·kh·kw, n]`) with the input patches of output positions
/// `start..start + n` (row `ci·kh·kw + ky·kw + kx`, matching the weight layout); padding
/// reads as zero.
#[allow(clippy::too_many_arguments)]
fn im2col(
    x: InputRows<'_>,
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
                        let x0 = (ox0 * sw + kx * dw) as isize - pad_left;
                        // Output positions `first..last` read inside the row (`x0 + t·sw`
                        // in `0..w`); the others read padding.
                        let step = sw as isize;
                        let first = if x0 >= 0 {
                            0
                        } else {
                            ((-x0 + step - 1) / step) as usize
                        }
                        .min(run);
                        let last = if x0 >= w as isize {
                            0
                        } else {
                            ((w as isize - x0 + step - 1) / step) as usize
                        }
                        .clamp(first, run);
                        out[..first].fill(0.0);
                        out[last..].fill(0.0);
                        if last > first {
                            let source = match x {
                                InputRows::Plain(x) => {
                                    let line = &x[(c * h + iy as usize) * w..][..w];
                                    &line[(x0 + first as isize) as usize..]
                                }
                                // Phase `x0 mod sw` of the row holds every sw-th value from
                                // there on, so the strided read becomes a contiguous one.
                                InputRows::Phased(phased) => {
                                    let phase = x0.rem_euclid(step);
                                    let at = (x0 - phase) / step + first as isize;
                                    &phased.row(c * h + iy as usize, phase as usize)[at as usize..]
                                }
                            };
                            out[first..last].copy_from_slice(&source[..last - first]);
                        }
                    }
                    j += run;
                }
            }
        }
    }
}

/// The input planes of a convolution as im2col reads them.
#[derive(Clone, Copy)]
enum InputRows<'a> {
    /// NCHW as it is (horizontal stride 1).
    Plain(&'a [f32]),
    /// Each row split into its stride phases (horizontal stride above 1).
    Phased(&'a Phased),
}

/// Input rows split by horizontal stride `s`: phase `p` of a row holds the values at
/// `p, p + s, p + 2s, …`, so a strided convolution's im2col copies contiguous runs.
struct Phased {
    values: Vec<f32>,
    /// Values per phase (`ceil(w / s)`; shorter phases are padded with zeros).
    width: usize,
    stride: usize,
}

impl Phased {
    fn split(x: &[f32], w: usize, stride: usize) -> Self {
        let width = w.div_ceil(stride);
        let mut values = vec![0.0f32; x.len() / w * stride * width];
        values
            .par_chunks_mut(stride * width)
            .zip(x.par_chunks(w))
            .for_each(|(phases, line)| {
                for (p, phase) in phases.chunks_exact_mut(width).enumerate() {
                    for (slot, &v) in phase.iter_mut().zip(line.iter().skip(p).step_by(stride)) {
                        *slot = v;
                    }
                }
            });
        Self {
            values,
            width,
            stride,
        }
    }

    /// Phase `phase` of input row `row` (rows counted over all planes).
    fn row(&self, row: usize, phase: usize) -> &[f32] {
        &self.values[(row * self.stride + phase) * self.width..][..self.width]
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
    let shifted = x * LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // `shifted` holds n in its low mantissa bits (it lies in [2²³, 2²⁴), where the ulp is 1),
    // so 2ⁿ comes from integer arithmetic alone; a float-to-int cast (`n as i32`) saturates
    // and would not vectorise. n ∈ [-126, 127] after the clamp.
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    p * f32::from_bits(n_bits.wrapping_add(127) << 23)
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

/// The geometry of a 2-D max pooling over an NCHW input (`ceil_mode` 0; padding is never
/// part of a window, as in ONNX).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolGeometry {
    /// Input batch, channels, height, width.
    pub input: [usize; 4],
    /// Window height and width.
    pub kernel: [usize; 2],
    /// Vertical and horizontal stride.
    pub strides: [usize; 2],
    /// Padding: top, left, bottom, right (ONNX order); each smaller than the window.
    pub pads: [usize; 4],
    /// Vertical and horizontal dilation.
    pub dilations: [usize; 2],
}

impl PoolGeometry {
    /// Output height and width.
    pub fn output_size(&self) -> [usize; 2] {
        sliding_output_size(
            self.input,
            self.kernel,
            self.strides,
            self.pads,
            self.dilations,
        )
    }
}

/// The taps of a pooling window along one axis that fall inside `0..len`.
fn window(start: isize, kernel: usize, dilation: usize, len: usize) -> impl Iterator<Item = usize> {
    (0..kernel).filter_map(move |k| {
        let i = start + (k * dilation) as isize;
        (i >= 0 && (i as usize) < len).then_some(i as usize)
    })
}

/// `MaxPool` on host memory, separably (rows, then columns), one plane per task.
pub fn max_pool2d(x: &[f32], geometry: &PoolGeometry) -> Vec<f32> {
    let [batch, channels, h, w] = geometry.input;
    let [oh, ow] = geometry.output_size();
    let [kh, kw] = geometry.kernel;
    let [sh, sw] = geometry.strides;
    let [dh, dw] = geometry.dilations;
    let (top, left) = (geometry.pads[0] as isize, geometry.pads[1] as isize);
    let mut out = vec![0.0f32; batch * channels * oh * ow];
    out.par_chunks_mut(oh * ow)
        .zip(x.par_chunks(h * w))
        .for_each_init(Vec::new, |rows: &mut Vec<f32>, (out, plane)| {
            // Horizontal maxima of every input row at every output column.
            rows.clear();
            rows.resize(h * ow, f32::NEG_INFINITY);
            for (line, maxima) in plane.chunks_exact(w).zip(rows.chunks_exact_mut(ow)) {
                for (ox, slot) in maxima.iter_mut().enumerate() {
                    for ix in window(ox as isize * sw as isize - left, kw, dw, w) {
                        *slot = slot.max(line[ix]);
                    }
                }
            }
            // Vertical maxima of those.
            for (oy, out_row) in out.chunks_exact_mut(ow).enumerate() {
                out_row.fill(f32::NEG_INFINITY);
                for iy in window(oy as isize * sh as isize - top, kh, dh, h) {
                    for (slot, &v) in out_row.iter_mut().zip(&rows[iy * ow..][..ow]) {
                        *slot = slot.max(v);
                    }
                }
            }
        });
    out
}

/// Nearest upsampling of NCHW planes by whole factors: `out[y][x] = in[y / fh][x / fw]`.
pub fn upsample_nearest(
    x: &[f32],
    [batch, channels, h, w]: [usize; 4],
    [fh, fw]: [usize; 2],
) -> Vec<f32> {
    let (oh, ow) = (h * fh, w * fw);
    let mut out = vec![0.0f32; batch * channels * oh * ow];
    out.par_chunks_mut(oh * ow)
        .zip(x.par_chunks(h * w))
        .for_each(|(out, plane)| {
            for (line, block) in plane.chunks_exact(w).zip(out.chunks_exact_mut(fh * ow)) {
                let (first, rest) = block.split_at_mut(ow);
                for (pair, &v) in first.chunks_exact_mut(fw).zip(line) {
                    pair.fill(v);
                }
                for copy in rest.chunks_exact_mut(ow) {
                    copy.copy_from_slice(first);
                }
            }
        });
    out
}

/// `Concat` of `parts` along an axis with `outer` chunks before it: each part is `outer`
/// chunks of its own length, and the output takes chunk `o` of every part in turn. One copy
/// of every value, in pieces of 64 KiB spread over the cores (burn flex copies them on one
/// thread).
pub fn concat(parts: &[&[f32]], outer: usize) -> Vec<f32> {
    const PIECE: usize = 16 * 1024;
    let len: usize = parts.iter().map(|part| part.len()).sum();
    let mut out: Vec<f32> = Vec::with_capacity(len);
    let mut rest = &mut out.spare_capacity_mut()[..len];
    let mut pieces = Vec::new();
    for o in 0..outer {
        for part in parts {
            let chunk = part.len() / outer;
            for source in part[o * chunk..][..chunk].chunks(PIECE) {
                let (target, tail) = std::mem::take(&mut rest).split_at_mut(source.len());
                rest = tail;
                pieces.push((target, source));
            }
        }
    }
    pieces.into_par_iter().for_each(|(target, source)| {
        target.write_copy_of_slice(source);
    });
    // SAFETY: the pieces cover the first `len` values (every part's chunks, in order).
    #[allow(unsafe_code)]
    unsafe {
        out.set_len(len);
    }
    out
}

/// `values` folded by `op` into 16 lanes (lane `l` takes values `l`, `l + 16`, …), which
/// the compiler vectorises where a fold into one value stays scalar.
fn lanes(values: &[f32], init: f32, op: impl Fn(f32, f32) -> f32) -> [f32; 16] {
    let mut lanes = [init; 16];
    let mut chunks = values.chunks_exact(16);
    for chunk in chunks.by_ref() {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = op(*lane, v);
        }
    }
    for (lane, &v) in lanes.iter_mut().zip(chunks.remainder()) {
        *lane = op(*lane, v);
    }
    lanes
}

/// Softmax in place over the middle axis of `values` viewed as `[outer, len, inner]`
/// (the max is subtracted first, as every framework does, so no `exp` overflows).
pub fn softmax_in_place(values: &mut [f32], len: usize, inner: usize) {
    values
        .par_chunks_mut(len * inner)
        .for_each_init(Vec::new, |scratch: &mut Vec<f32>, block| {
            if inner == 1 {
                // Contiguous rows (attention scores): max and sum over 16 lanes each, so
                // that the reductions vectorise too.
                let max = lanes(block, f32::NEG_INFINITY, f32::max)
                    .into_iter()
                    .fold(f32::NEG_INFINITY, f32::max);
                pulp::Arch::new().dispatch(
                    #[inline(always)]
                    || {
                        for v in block.iter_mut() {
                            *v = exp(*v - max);
                        }
                    },
                );
                let reciprocal = 1.0 / lanes(block, 0.0, |a, b| a + b).iter().sum::<f32>();
                block.iter_mut().for_each(|v| *v *= reciprocal);
                return;
            }
            // Rows of `inner` contiguous values: the running max and sum are rows too, so
            // every loop runs along memory and vectorises.
            scratch.clear();
            scratch.resize(2 * inner, 0.0);
            let (max, sum) = scratch.split_at_mut(inner);
            max.fill(f32::NEG_INFINITY);
            for row in block.chunks_exact(inner) {
                for (m, &v) in max.iter_mut().zip(row) {
                    *m = m.max(v);
                }
            }
            pulp::Arch::new().dispatch(
                #[inline(always)]
                || {
                    for row in block.chunks_exact_mut(inner) {
                        for ((v, &m), s) in row.iter_mut().zip(max.iter()).zip(sum.iter_mut()) {
                            *v = exp(*v - m);
                            *s += *v;
                        }
                    }
                },
            );
            for s in sum.iter_mut() {
                *s = 1.0 / *s;
            }
            for row in block.chunks_exact_mut(inner) {
                for (v, &r) in row.iter_mut().zip(sum.iter()) {
                    *v *= r;
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The convolution by its definition, one output at a time, with the sum of the
    /// magnitudes of each output's terms (what bounds an f32 sum's rounding error).
    fn reference(
        x: &[f32],
        weight: &[f32],
        bias: Option<&[f32]>,
        g: &ConvGeometry,
    ) -> (Vec<f32>, Vec<f64>) {
        let [batch, c_in, h, w] = g.input;
        let [oh, ow] = g.output_size();
        let (cg_in, cg_out) = (c_in / g.group, g.c_out / g.group);
        let [kh, kw] = g.kernel;
        let mut out = vec![0.0; batch * g.c_out * oh * ow];
        let mut magnitudes = vec![0.0; out.len()];
        for b in 0..batch {
            for co in 0..g.c_out {
                let group = co / cg_out;
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut sum = bias.map_or(0.0, |bias| f64::from(bias[co]));
                        let mut magnitude = sum.abs();
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
                                    magnitude += (f64::from(input) * f64::from(weight)).abs();
                                }
                            }
                        }
                        let at = ((b * g.c_out + co) * oh + oy) * ow + ox;
                        out[at] = sum as f32;
                        magnitudes[at] = magnitude;
                    }
                }
            }
        }
        (out, magnitudes)
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

    /// Whether `path` computes `g` (the direct path: wherever the CPU has AVX-512).
    fn suits(path: ConvPath, g: &ConvGeometry) -> bool {
        path != ConvPath::Shifted || g.suits_shifted_gemm()
    }

    /// Convolutions as YOLO's layers have them, and their edge cases.
    fn conv_cases() -> Vec<ConvGeometry> {
        vec![
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
            // Pointwise with more input channels than one pass of the direct kernel takes,
            // and planes that end inside a micro-kernel call.
            ConvGeometry {
                input: [1, 200, 5, 7],
                c_out: 12,
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
            // Stride 3 with padding on both sides: the strided run starts and ends in it.
            ConvGeometry {
                input: [1, 2, 14, 16],
                c_out: 3,
                kernel: [3, 3],
                strides: [3, 3],
                pads: [2, 2, 2, 2],
                dilations: [1, 1],
                group: 1,
            },
            // 64 channels, stride 1: the shifted-view path, batch 2, several row bands.
            ConvGeometry {
                input: [2, 64, 41, 7],
                c_out: 5,
                kernel: [3, 3],
                strides: [1, 1],
                pads: [1, 1, 1, 1],
                dilations: [1, 1],
                group: 1,
            },
            // The shifted-view path with a rectangular dilated kernel and uneven padding.
            ConvGeometry {
                input: [1, 64, 6, 11],
                c_out: 3,
                kernel: [3, 2],
                strides: [1, 1],
                pads: [2, 0, 1, 3],
                dilations: [2, 1],
                group: 1,
            },
            // Padding wider than the kernel reach on the right and bottom (rows of zeros),
            // stride 1 and stride 2.
            ConvGeometry {
                input: [1, 3, 6, 5],
                c_out: 2,
                kernel: [3, 3],
                strides: [1, 1],
                pads: [0, 1, 4, 4],
                dilations: [1, 1],
                group: 1,
            },
            ConvGeometry {
                input: [1, 3, 7, 6],
                c_out: 2,
                kernel: [3, 3],
                strides: [2, 2],
                pads: [1, 0, 5, 5],
                dilations: [1, 1],
                group: 1,
            },
            // Dilated stride 1 read in place (the padding masked off), 9 output channels.
            ConvGeometry {
                input: [1, 10, 9, 13],
                c_out: 9,
                kernel: [3, 3],
                strides: [1, 1],
                pads: [2, 2, 2, 2],
                dilations: [2, 2],
                group: 1,
            },
            // Several blocks of output channels (the last one partial) and row bands, rows
            // wider than a vector and ending inside one, batch 2.
            ConvGeometry {
                input: [2, 12, 37, 45],
                c_out: 20,
                kernel: [3, 3],
                strides: [2, 2],
                pads: [1, 1, 1, 1],
                dilations: [1, 1],
                group: 1,
            },
            // Depthwise with planes of several vectors, stride 2 (as YOLO11's head has).
            ConvGeometry {
                input: [1, 16, 29, 35],
                c_out: 16,
                kernel: [3, 3],
                strides: [2, 2],
                pads: [1, 1, 1, 1],
                dilations: [1, 1],
                group: 16,
            },
            // Read in place with rows as wide as the output's that are not a multiple of a
            // vector (stores follow on into the next row), several tasks.
            ConvGeometry {
                input: [1, 16, 30, 40],
                c_out: 16,
                kernel: [3, 3],
                strides: [1, 1],
                pads: [1, 1, 1, 1],
                dilations: [1, 1],
                group: 1,
            },
            // Planes a multiple of 4 KiB: stride 1 from each task's padded rows, not in place.
            ConvGeometry {
                input: [1, 8, 32, 32],
                c_out: 8,
                kernel: [3, 3],
                strides: [1, 1],
                pads: [1, 1, 1, 1],
                dilations: [1, 1],
                group: 1,
            },
            // Read in place with output rows narrower than the grid's (no padding): the
            // grid columns past each row's end are dropped.
            ConvGeometry {
                input: [1, 8, 19, 21],
                c_out: 8,
                kernel: [3, 3],
                strides: [1, 1],
                pads: [0; 4],
                dilations: [1, 1],
                group: 1,
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
        ]
    }

    /// `path` against the definition on every case it computes, plain and with SiLU fused.
    fn check_path(path: ConvPath) {
        let mut checked = 0;
        for (index, g) in conv_cases().iter().enumerate() {
            if !suits(path, g) {
                continue;
            }
            checked += 1;
            let [_, c_in, _, _] = g.input;
            let [kh, kw] = g.kernel;
            let x = values(g.input.iter().product(), 1 + index as u32);
            let weight = values(g.c_out * c_in / g.group * kh * kw, 100 + index as u32);
            let bias = values(g.c_out, 200 + index as u32);
            let (want, magnitudes) = reference(&x, &weight, Some(&bias), g);
            // An f32 sum in any order is off by a few ulps of its terms' magnitude; a wrong
            // tap or channel is off by a whole term (~0.3 here).
            let tolerance = |i: usize| 1e-6 * magnitudes[i].max(1.0);
            let got = conv2d_by(path, &x, &weight, Some(&bias), g, Activation::None, None);
            assert_eq!(got.len(), want.len(), "case {index} {path:?}");
            for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                assert!(
                    f64::from(a - b).abs() <= tolerance(i),
                    "case {index} {path:?} at {i}: {a} vs {b}"
                );
            }
            let fused = conv2d_by(path, &x, &weight, Some(&bias), g, Activation::Silu, None);
            assert_eq!(fused.len(), want.len(), "case {index} {path:?} SiLU");
            for (i, (a, b)) in fused.iter().zip(&want).enumerate() {
                let silu = f64::from(*b) / (1.0 + (-f64::from(*b)).exp());
                assert!(
                    (f64::from(*a) - silu).abs() <= tolerance(i),
                    "case {index} {path:?} SiLU at {i}: {a} vs {silu}"
                );
            }
        }
        assert!(checked >= 2, "{path:?} checked on {checked} case(s) only");
    }

    #[test]
    fn im2col_convolutions_match_their_definition() {
        check_path(ConvPath::Im2col);
    }

    #[test]
    fn shifted_view_convolutions_match_their_definition() {
        check_path(ConvPath::Shifted);
    }

    /// The AVX-512 kernel where the CPU has it; elsewhere the test says it was skipped.
    #[test]
    fn direct_convolutions_match_their_definition() {
        #[cfg(target_arch = "x86_64")]
        if direct::available() {
            check_path(ConvPath::Direct);
            return;
        }
        sightline_test_support::skip(
            "an x86-64 CPU with AVX-512 (avx512f) for the direct convolution (ops/host/direct.rs)",
        );
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
    #[test]
    fn max_pooling_matches_its_definition() {
        let cases = [
            // SPPF: 5×5, stride 1, pad 2.
            PoolGeometry {
                input: [1, 3, 9, 11],
                kernel: [5, 5],
                strides: [1, 1],
                pads: [2, 2, 2, 2],
                dilations: [1, 1],
            },
            // 2×2 stride 2, odd size, batch 2.
            PoolGeometry {
                input: [2, 2, 7, 9],
                kernel: [2, 2],
                strides: [2, 2],
                pads: [0; 4],
                dilations: [1, 1],
            },
            // Rectangular, dilated, asymmetric padding.
            PoolGeometry {
                input: [1, 2, 10, 8],
                kernel: [3, 2],
                strides: [2, 1],
                pads: [1, 0, 2, 1],
                dilations: [2, 3],
            },
        ];
        for (index, g) in cases.iter().enumerate() {
            let [batch, channels, h, w] = g.input;
            let [oh, ow] = g.output_size();
            let x = values(batch * channels * h * w, 300 + index as u32);
            let got = max_pool2d(&x, g);
            assert_eq!(got.len(), batch * channels * oh * ow, "case {index}");
            for plane in 0..batch * channels {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut want = f32::NEG_INFINITY;
                        for ky in 0..g.kernel[0] {
                            for kx in 0..g.kernel[1] {
                                let iy = (oy * g.strides[0] + ky * g.dilations[0]) as isize
                                    - g.pads[0] as isize;
                                let ix = (ox * g.strides[1] + kx * g.dilations[1]) as isize
                                    - g.pads[1] as isize;
                                if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                                    want = want.max(x[(plane * h + iy as usize) * w + ix as usize]);
                                }
                            }
                        }
                        assert_eq!(
                            got[(plane * oh + oy) * ow + ox],
                            want,
                            "case {index} plane {plane} at ({oy}, {ox})"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn nearest_upsampling_repeats_each_pixel() {
        let shape = [2, 3, 4, 5];
        let x = values(shape.iter().product(), 7);
        for factors in [[2, 2], [3, 1], [1, 4]] {
            let got = upsample_nearest(&x, shape, factors);
            let (oh, ow) = (4 * factors[0], 5 * factors[1]);
            assert_eq!(got.len(), 6 * oh * ow);
            for plane in 0..6 {
                for y in 0..oh {
                    for x_out in 0..ow {
                        let want = x[(plane * 4 + y / factors[0]) * 5 + x_out / factors[1]];
                        assert_eq!(got[(plane * oh + y) * ow + x_out], want, "{factors:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn softmax_matches_its_definition_on_any_axis() {
        // [outer, len, inner] as the DFL head (len 16 along channels), last axes short and
        // as long as attention rows (whole chunks of 16 lanes and a remainder).
        for (outer, len, inner) in [(2, 16, 37), (5, 7, 1), (3, 403, 1), (1, 3, 1000)] {
            let mut got: Vec<f32> = values(outer * len * inner, len as u32)
                .into_iter()
                .map(|v| v * 30.0)
                .collect();
            let x = got.clone();
            softmax_in_place(&mut got, len, inner);
            for o in 0..outer {
                for j in 0..inner {
                    let at = |l: usize| (o * len + l) * inner + j;
                    let max = (0..len)
                        .map(|l| f64::from(x[at(l)]))
                        .fold(f64::MIN, f64::max);
                    let sum: f64 = (0..len).map(|l| (f64::from(x[at(l)]) - max).exp()).sum();
                    for l in 0..len {
                        let want = (f64::from(x[at(l)]) - max).exp() / sum;
                        assert!(
                            (f64::from(got[at(l)]) - want).abs() < 1e-6,
                            "[{o}, {l}, {j}]: {} vs {want}",
                            got[at(l)]
                        );
                    }
                }
            }
        }
    }
}
