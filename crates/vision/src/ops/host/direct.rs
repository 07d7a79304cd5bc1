//! Direct convolution with AVX-512: no im2col block and no GEMM call, the way MLAS (under
//! onnxruntime) runs these layers.
//!
//! The input of one image is copied once into zero-padded planes, each split by stride
//! phase (`P[py][px][r][c] = padded[r·sh + py][c·sw + px]`). Output position `(y, x)` is
//! then taken on a grid as wide as a phase plane (`wq`): at grid position `j = y·wq + x`,
//! kernel tap `(ky, kx)` of channel `c` reads `planes[c][tap offset + j]`, so for every tap
//! a run of consecutive grid positions reads consecutive memory, for any stride and
//! dilation. The `wq - ow` grid columns past each output row are computed and dropped.
//!
//! The micro-kernel keeps a block of `OC` output channels × `V` vectors of 16 grid
//! positions in registers (8 × 3 = 24 accumulators of the 32 zmm registers) and runs over
//! every input channel and tap: per step `V` loads of input, `OC` weight broadcasts and
//! `OC·V` fused multiply-adds, so it is bound by arithmetic rather than memory. The
//! weights are repacked per block as `[channel][tap][OC]` so they stream in order. Bias
//! and SiLU are applied to each finished band of output rows while it is still in cache.
//!
//! The crate's one module with `unsafe`: the intrinsics that load and store through raw
//! pointers, and tasks writing disjoint parts of one output buffer. Every block says why
//! it holds; the tests check each path against the definition.
#![allow(unsafe_code)]

use std::arch::x86_64::{
    __m512, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
};

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::{Activation, ConvGeometry, epilogue};

/// f32 lanes of a zmm register.
const LANES: usize = 16;

/// Whether this CPU runs [`conv2d`].
pub fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

/// The output channels one micro-kernel call computes, and its width in vectors.
#[derive(Clone, Copy)]
enum Block {
    /// 8 channels × 3 vectors: every ordinary convolution (channels padded up to 8).
    Wide,
    /// 1 channel × 4 vectors: one output channel per group (depthwise).
    Single,
}

impl Block {
    fn channels(self) -> usize {
        match self {
            Block::Wide => 8,
            Block::Single => 1,
        }
    }

    /// Grid positions per micro-kernel call.
    fn positions(self) -> usize {
        LANES
            * match self {
                Block::Wide => 3,
                Block::Single => 4,
            }
    }
}

/// One image's input, zero-padded and split by stride phase, as the module docs describe.
/// Every channel is `rows` rows of `width` values: the `sh · sw` phase planes of `hq` rows
/// each, then rows of zeros that the last grid positions' taps may reach into.
struct Planes {
    values: Vec<f32>,
    /// Values from one input channel to the next (`rows · width`).
    channel_stride: usize,
    /// Grid width: the width of a phase plane.
    width: usize,
    /// Rows of one phase plane.
    hq: usize,
    /// Offset of each kernel tap from grid position 0 within a channel, row-major taps.
    taps: Vec<usize>,
}

impl Planes {
    /// The layout for geometry `g`, with enough rows after each channel that a micro-kernel
    /// reading `positions` grid positions past the last output row stays inside. Nothing is
    /// allocated before [`Planes::fill`].
    fn new(g: &ConvGeometry, positions: usize) -> Self {
        let [_, _, h, w] = g.input;
        let [oh, _] = g.output_size();
        let [top, left, bottom, right] = g.pads;
        let [sh, sw] = g.strides;
        let [dh, dw] = g.dilations;
        let [kh, kw] = g.kernel;
        let (hq, wq) = (
            (h + top + bottom).div_ceil(sh),
            (w + left + right).div_ceil(sw),
        );
        let plane = hq * wq;
        let taps: Vec<usize> = (0..kh * kw)
            .map(|t| {
                let (ry, rx) = (t / kw * dh, t % kw * dw);
                ((ry % sh) * sw + rx % sw) * plane + (ry / sh) * wq + rx / sw
            })
            .collect();
        let grid = (oh * wq).div_ceil(positions) * positions;
        let reach = taps.iter().max().copied().unwrap_or(0) + grid;
        let rows = reach.max(sh * sw * plane).div_ceil(wq);
        Self {
            values: Vec::new(),
            channel_stride: rows * wq,
            width: wq,
            hq,
            taps,
        }
    }

    /// Lays out one image (`[channels, h, w]`), writing every value once (input or zero),
    /// a row per task.
    fn fill(&mut self, image: &[f32], g: &ConvGeometry) {
        let [_, channels, h, w] = g.input;
        let [top, left, _, _] = g.pads;
        let [sh, sw] = g.strides;
        let (wq, hq) = (self.width, self.hq);
        let rows_per_channel = self.channel_stride / wq;
        let mut values: Vec<f32> = Vec::with_capacity(channels * self.channel_stride);
        values.spare_capacity_mut()[..channels * self.channel_stride]
            .par_chunks_mut(wq)
            .with_min_len(16)
            .enumerate()
            .for_each(|(index, row)| {
                let (channel, local) = (index / rows_per_channel, index % rows_per_channel);
                let (phase, r) = (local / hq, local % hq);
                let (phase_row, phase_col) = (phase / sw, phase % sw);
                // Padded row `r·sh + phase_row`; past the phase planes, the zero rows.
                let y = (r * sh + phase_row).checked_sub(top).filter(|&y| y < h);
                match y {
                    Some(y) if phase < sh * sw => {
                        let line = &image[(channel * h + y) * w..][..w];
                        phase_row_from(row, line, phase_col, sw, left);
                    }
                    _ => row.fill(MaybeUninit::new(0.0)),
                }
            });
        // SAFETY: the loop above wrote every one of these values.
        unsafe { values.set_len(channels * self.channel_stride) };
        self.values = values;
    }
}

/// Writes phase `phase` of padded row `line` (`left` zeros before it, zeros after) into
/// `row`: `row[c] = padded[c·stride + phase]`.
fn phase_row_from(
    row: &mut [MaybeUninit<f32>],
    line: &[f32],
    phase: usize,
    stride: usize,
    left: usize,
) {
    let w = line.len();
    // The first column whose padded position `c·stride + phase` is at or past `left`.
    let first = left.saturating_sub(phase).div_ceil(stride);
    let x0 = first * stride + phase - left;
    let first = first.min(row.len());
    let count = if x0 < w {
        (w - x0).div_ceil(stride).min(row.len() - first)
    } else {
        0
    };
    let (before, rest) = row.split_at_mut(first);
    let (inside, after) = rest.split_at_mut(count);
    before.fill(MaybeUninit::new(0.0));
    after.fill(MaybeUninit::new(0.0));
    let source = &line[x0.min(w)..];
    match stride {
        1 => {
            for (slot, &v) in inside.iter_mut().zip(source) {
                *slot = MaybeUninit::new(v);
            }
        }
        // Every other value: whole pairs (which vectorises), then the odd last one.
        2 => {
            let mut pairs = source.chunks_exact(2);
            let mut slots = inside.iter_mut();
            // Pairs first: `zip` takes from its first iterator first, so a slot is never
            // used up by the pair that is not there.
            for (pair, slot) in pairs.by_ref().zip(slots.by_ref()) {
                *slot = MaybeUninit::new(pair[0]);
            }
            if let (Some(slot), [v]) = (slots.next(), pairs.remainder()) {
                *slot = MaybeUninit::new(*v);
            }
        }
        _ => {
            for (slot, &v) in inside.iter_mut().zip(source.iter().step_by(stride)) {
                *slot = MaybeUninit::new(v);
            }
        }
    }
}

/// The output planes, written by many tasks at once: each writes a disjoint set of
/// (channel, row) runs.
#[derive(Clone, Copy)]
struct Output(*mut f32);

// SAFETY: tasks write disjoint elements (see `Output`), and the buffer outlives them.
unsafe impl Send for Output {}
unsafe impl Sync for Output {}

/// The weights of each group's output channels as `[block][channel][tap][block.channels()]`,
/// zero past the group's last channel.
fn pack_weights(weight: &[f32], g: &ConvGeometry, block: Block) -> Vec<f32> {
    let cg_in = g.input[1] / g.group;
    let cg_out = g.c_out / g.group;
    let taps = g.kernel[0] * g.kernel[1];
    let oc = block.channels();
    let blocks = cg_out.div_ceil(oc);
    let mut packed = vec![0.0f32; g.group * blocks * cg_in * taps * oc];
    for (o, filters) in weight.chunks_exact(cg_in * taps).enumerate() {
        let (group, local) = (o / cg_out, o % cg_out);
        let (b, lane) = (local / oc, local % oc);
        let base = (group * blocks + b) * cg_in * taps * oc;
        for (i, &value) in filters.iter().enumerate() {
            packed[base + i * oc + lane] = value;
        }
    }
    packed
}

/// `Conv` with AVX-512 (the caller has checked [`available`]); as [`super::conv2d`].
pub fn conv2d(
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    g: &ConvGeometry,
    activation: Activation,
) -> Vec<f32> {
    let [batch, c_in, h, w] = g.input;
    let [oh, ow] = g.output_size();
    let (cg_in, cg_out) = (c_in / g.group, g.c_out / g.group);
    let block = if cg_out == 1 {
        Block::Single
    } else {
        Block::Wide
    };
    let blocks = cg_out.div_ceil(block.channels());
    let packed = pack_weights(weight, g, block);
    let block_weights = cg_in * g.kernel[0] * g.kernel[1] * block.channels();
    let mut planes = Planes::new(g, block.positions());
    // Every output value is written by exactly one task (the bands cover every row, each
    // micro-kernel call every grid position of its band), so nothing is zeroed first.
    let len = batch * g.c_out * oh * ow;
    let mut out: Vec<f32> = Vec::with_capacity(len);
    // Row bands: enough tasks for every core, each band's input about the size of L2.
    let per_row = cg_in * g.strides[0] * planes.width * g.strides[1] * 4;
    let by_cache = (512 * 1024 / per_row.max(1)).max(1);
    let tasks_wanted = 8 * rayon::current_num_threads().max(1);
    let by_tasks = oh.div_ceil(tasks_wanted.div_ceil(g.group * blocks));
    let band_rows = by_cache.min(by_tasks).clamp(1, oh);
    let bands = oh.div_ceil(band_rows);
    for (index, image) in x.chunks_exact(c_in * h * w).enumerate() {
        planes.fill(image, g);
        let planes = &planes;
        // SAFETY: within the capacity: image `index` of `batch`.
        let target = Output(unsafe { out.as_mut_ptr().add(index * g.c_out * oh * ow) });
        // Band-major, so the tasks running side by side share their input rows.
        (0..bands * g.group * blocks)
            .into_par_iter()
            .for_each(|task| {
                let band = task / (g.group * blocks);
                let (group, b) = (task % (g.group * blocks) / blocks, task % blocks);
                let first_row = band * band_rows;
                let rows = band_rows.min(oh - first_row);
                let first_channel = group * cg_out + b * block.channels();
                let channels = block.channels().min(cg_out - b * block.channels());
                let band = Band {
                    planes,
                    input: group * cg_in * planes.channel_stride,
                    channels: cg_in,
                    weights: &packed[(group * blocks + b) * block_weights..][..block_weights],
                    rows: first_row..first_row + rows,
                    out_width: ow,
                    out_plane: oh * ow,
                    first_channel,
                    valid_channels: channels,
                };
                // SAFETY: AVX-512 is `available` (the caller's contract); the band writes
                // only rows `rows` of channels `first_channel..+channels`, which no other
                // task writes; every read stays in `planes` (see `Planes::new`).
                unsafe {
                    match block {
                        Block::Wide => band.run::<8, 3>(target),
                        Block::Single => band.run::<1, 4>(target),
                    }
                }
                for o in first_channel..first_channel + channels {
                    let bias = bias.map_or(0.0, |bias| bias[o]);
                    // SAFETY: as above, these rows belong to this task alone.
                    let values = unsafe {
                        std::slice::from_raw_parts_mut(
                            target.0.add(o * oh * ow + first_row * ow),
                            rows * ow,
                        )
                    };
                    epilogue(values, bias, activation);
                }
            });
    }
    // SAFETY: every value was written (see `out`).
    unsafe { out.set_len(len) };
    out
}

/// One task: output rows `rows` of a block of output channels.
struct Band<'a> {
    planes: &'a Planes,
    /// Offset of the group's first input channel in `planes.values`.
    input: usize,
    /// Input channels per group.
    channels: usize,
    /// This block's packed weights, `[channel][tap][OC]`.
    weights: &'a [f32],
    rows: std::ops::Range<usize>,
    out_width: usize,
    out_plane: usize,
    first_channel: usize,
    valid_channels: usize,
}

impl Band<'_> {
    /// Computes the band into `out` (before bias and activation).
    ///
    /// # Safety
    /// AVX-512F must be available, and `out` must hold the whole output of the image.
    #[target_feature(enable = "avx512f")]
    unsafe fn run<const OC: usize, const V: usize>(&self, out: Output) {
        let wq = self.planes.width;
        let (start, end) = (self.rows.start * wq, self.rows.end * wq);
        let values = self.planes.values.as_ptr();
        let taps = self.planes.taps.as_slice();
        let mut j = start;
        while j < end {
            // SAFETY: `Planes::new` leaves room for every tap of every grid position up to a
            // whole call past the last row, and the weights hold `channels · taps · OC`.
            let acc = unsafe {
                accumulate::<OC, V>(
                    values.add(self.input + j),
                    self.planes.channel_stride,
                    self.channels,
                    taps,
                    self.weights.as_ptr(),
                )
            };
            for (o, row) in acc.iter().enumerate().take(self.valid_channels) {
                let plane = unsafe { out.0.add((self.first_channel + o) * self.out_plane) };
                for (v, &vector) in row.iter().enumerate() {
                    let at = j + v * LANES;
                    if at >= end {
                        break;
                    }
                    let (y, x) = (at / wq, at % wq);
                    if x + LANES <= self.out_width {
                        unsafe { _mm512_storeu_ps(plane.add(y * self.out_width + x), vector) };
                    } else {
                        // Straddles the end of an output row (or of the band).
                        unsafe { store_scattered(vector, plane, at, end, wq, self.out_width) };
                    }
                }
            }
            j += V * LANES;
        }
    }
}

/// The micro-kernel: `OC` output channels × `V` vectors of grid positions from `input`
/// (channel 0, the first position), summed over `channels` input channels and their taps.
/// A function of its own so that the accumulators stay in registers: the caller's indexed
/// stores would otherwise keep them in memory, stored on every step.
///
/// # Safety
/// AVX-512F must be available; every `input + c · channel_stride + tap + V · 16` must be in
/// bounds, and `weights` must hold `channels · taps.len() · OC` values.
#[target_feature(enable = "avx512f")]
#[inline(never)]
unsafe fn accumulate<const OC: usize, const V: usize>(
    input: *const f32,
    channel_stride: usize,
    channels: usize,
    taps: &[usize],
    weights: *const f32,
) -> [[__m512; V]; OC] {
    let mut acc = [[_mm512_setzero_ps(); V]; OC];
    let mut weights = weights;
    for c in 0..channels {
        let base = unsafe { input.add(c * channel_stride) };
        for &tap in taps {
            let at = unsafe { base.add(tap) };
            let mut xs = [_mm512_setzero_ps(); V];
            for (v, x) in xs.iter_mut().enumerate() {
                *x = unsafe { _mm512_loadu_ps(at.add(v * LANES)) };
            }
            for (o, row) in acc.iter_mut().enumerate() {
                let w = _mm512_set1_ps(unsafe { *weights.add(o) });
                for (a, &x) in row.iter_mut().zip(&xs) {
                    *a = _mm512_fmadd_ps(w, x, *a);
                }
            }
            weights = unsafe { weights.add(OC) };
        }
    }
    acc
}

/// Stores the lanes of `vector` (grid positions `at..at + 16`) that are output positions
/// before grid position `end`.
///
/// # Safety
/// AVX-512F must be available and `plane` must hold every output row before `end`.
#[target_feature(enable = "avx512f")]
unsafe fn store_scattered(
    vector: __m512,
    plane: *mut f32,
    at: usize,
    end: usize,
    wq: usize,
    width: usize,
) {
    let mut lanes = [0.0f32; LANES];
    unsafe { _mm512_storeu_ps(lanes.as_mut_ptr(), vector) };
    for (l, &value) in lanes.iter().enumerate() {
        let position = at + l;
        if position >= end {
            break;
        }
        let (y, x) = (position / wq, position % wq);
        if x < width {
            unsafe { *plane.add(y * width + x) = value };
        }
    }
}
