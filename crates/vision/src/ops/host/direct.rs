//! Direct convolution with AVX-512: no im2col block and no GEMM call, the way MLAS (under
//! onnxruntime) runs these layers.
//!
//! Output positions are taken on a grid that is a plane of what the kernel reads: at grid
//! position `j = y·width + x`, kernel tap `(ky, kx)` of channel `c` reads `input[c][tap
//! offset + j]`, so for every tap a run of consecutive grid positions reads consecutive
//! memory. Three inputs give such a grid:
//! - a stride-1 layer reads its NCHW input in place ([`Window`]): the grid is the input
//!   plane, and the lanes whose read falls in the padding are masked off (masks computed
//!   by vector compares once per call; a 3×3 call whose rows are all inside keeps its two
//!   column masks in mask registers, [`accumulate_3x3`]);
//! - a 1×1 layer without padding reads its input as it is;
//! - any other layer (strided, or stride 1 on planes a multiple of 4 KiB, whose channels
//!   would meet in the same L1 sets) reads zero-padded planes split by stride phase
//!   (`P[py][px][r][c] = padded[r·sh + py][c·sw + px]`, [`Planes`]): each task lays out
//!   the rows it reads into a buffer of its own, which stays in L2.
//!
//! Grid columns past an output row's end are computed and dropped.
//!
//! The micro-kernel ([`accumulate`]) keeps a block of `OC` output channels × `V` vectors of
//! 16 grid positions in registers (8 × 3 = 24 accumulators of the 32 zmm registers) and runs
//! over the taps and input channels: per step `V` loads of input, `OC` weight broadcasts and
//! `OC·V` fused multiply-adds, so it is bound by arithmetic rather than memory. Input
//! channels go in passes sized so a call's input stays in L1 while up to 4 blocks of output
//! channels use it (the sums of earlier passes wait in a buffer); the first block's pass
//! prefetches the next call's input rows. The weights are repacked per block as
//! `[channel][tap][OC]`, once per node ([`crate::ops::kernels::Prepared`]). Bias and SiLU
//! are applied in registers before the one store of each output value (one masked store per
//! output row a vector touches).
//!
//! The crate's main module with `unsafe` (the other is one `set_len` in
//! [`super::concat`]): the intrinsics that load and store through raw pointers, and tasks
//! writing disjoint parts of one output buffer. Every block says why it holds; the tests
//! check each path against the definition.
#![allow(unsafe_code)]

use std::arch::x86_64::*;

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::{Activation, ConvGeometry};

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

/// The layout of a strided layer's input, zero-padded and split by stride phase, as the
/// module docs describe: per channel, the `sh · sw` phase planes one after another, each
/// `width` wide. Each task lays out only the rows its grid positions read ([`Planes::rows`]),
/// into a buffer of its own that stays in L2 while the kernel reads it: written once to
/// memory and read back from there, the whole layout cost a fifth of a layer's time.
struct Planes {
    /// Grid width: the width of a phase plane.
    width: usize,
    /// Rows of one phase plane.
    hq: usize,
    /// Per kernel tap (row-major): its stride phase, and its row and column offsets in
    /// that phase's plane.
    taps: Vec<[usize; 3]>,
}

/// Rows of the phase planes, laid out for one task's grid positions.
struct PlaneRows {
    values: Vec<f32>,
    /// Values from one input channel to the next.
    channel_stride: usize,
    /// Each tap's offset from a grid position, within a channel.
    taps: Vec<usize>,
    /// The grid position whose tap offset 0 is `values[0]`: the start of the first row.
    origin: usize,
}

impl Planes {
    fn new(g: &ConvGeometry) -> Self {
        let [_, _, h, w] = g.input;
        let [top, left, bottom, right] = g.pads;
        let [sh, sw] = g.strides;
        let [dh, dw] = g.dilations;
        let [kh, kw] = g.kernel;
        let taps = (0..kh * kw)
            .map(|t| {
                let (ry, rx) = (t / kw * dh, t % kw * dw);
                [(ry % sh) * sw + rx % sw, ry / sh, rx / sw]
            })
            .collect();
        Self {
            width: (w + left + right).div_ceil(sw),
            hq: (h + top + bottom).div_ceil(sh),
            taps,
        }
    }

    /// Lays out the rows of every phase plane that calls of `positions` grid positions
    /// each, starting at `grid.start` and covering `grid`, read, for the `channels`
    /// channels of `image` (`[channels, h, w]`): every value written once, input or zero
    /// (rows past a phase plane's end are zeros).
    #[target_feature(enable = "avx512f")]
    fn rows(
        &self,
        image: &[f32],
        channels: usize,
        g: &ConvGeometry,
        grid: std::ops::Range<usize>,
        positions: usize,
    ) -> PlaneRows {
        let [_, _, h, w] = g.input;
        let [top, left, _, _] = g.pads;
        let [sh, sw] = g.strides;
        let (wq, hq) = (self.width, self.hq);
        let last = grid.start + (grid.end - grid.start).div_ceil(positions) * positions - 1;
        let max_row = self.taps.iter().map(|t| t[1]).max().unwrap_or(0);
        let max_column = self.taps.iter().map(|t| t[2]).max().unwrap_or(0);
        let first_row = grid.start / wq;
        let rows = (last + max_column) / wq + max_row + 1 - first_row;
        let phases = sh * sw;
        let plane = rows * wq;
        let channel_stride = phases * plane;
        let mut values: Vec<f32> = Vec::with_capacity(channels * channel_stride);
        let mut slots =
            values.spare_capacity_mut()[..channels * channel_stride].chunks_exact_mut(wq);
        for channel in image.chunks_exact(h * w).take(channels) {
            for phase in 0..phases {
                let (phase_row, phase_col) = (phase / sw, phase % sw);
                for (r, row) in (first_row..first_row + rows).zip(slots.by_ref()) {
                    // Padded row `r·sh + phase_row`.
                    let y = (r * sh + phase_row).checked_sub(top).filter(|&y| y < h);
                    match y {
                        Some(y) if r < hq => {
                            phase_row_from(row, &channel[y * w..][..w], phase_col, sw, left);
                        }
                        _ => row.fill(MaybeUninit::new(0.0)),
                    }
                }
            }
        }
        // SAFETY: the loop above wrote every one of these values.
        unsafe { values.set_len(channels * channel_stride) };
        PlaneRows {
            values,
            channel_stride,
            taps: self
                .taps
                .iter()
                .map(|&[phase, row, column]| phase * plane + row * wq + column)
                .collect(),
            origin: first_row * wq,
        }
    }
}

/// Writes phase `phase` of padded row `line` (`left` zeros before it, zeros after) into
/// `row`: `row[c] = padded[c·stride + phase]`.
#[target_feature(enable = "avx512f")]
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
        2 => every_other(inside, source),
        _ => {
            for (slot, &v) in inside.iter_mut().zip(source.iter().step_by(stride)) {
                *slot = MaybeUninit::new(v);
            }
        }
    }
}

/// `slots[i] = source[2i]` for every slot (`source` holds `2·slots.len() - 1` values or
/// more): 16 at a time from two loads and one permutation (the compiler's own loop moved
/// four at a time and took a quarter of a stride-2 layer).
#[target_feature(enable = "avx512f")]
fn every_other(slots: &mut [MaybeUninit<f32>], source: &[f32]) {
    assert!(2 * slots.len() <= source.len() + 1);
    let evens = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    let whole = (slots.len() / 16).min(source.len() / 32);
    for i in 0..whole {
        // SAFETY: values `32i..32i + 32` are inside `source` and slots `16i..16i + 16`
        // inside `slots` (`i < whole`).
        unsafe {
            let low = _mm512_loadu_ps(source.as_ptr().add(32 * i));
            let high = _mm512_loadu_ps(source.as_ptr().add(32 * i + 16));
            let even = _mm512_permutex2var_ps(low, evens, high);
            _mm512_storeu_ps(slots.as_mut_ptr().add(16 * i).cast::<f32>(), even);
        }
    }
    // The rest (fewer than 16 slots): the same with masked loads and store.
    let rest = slots.len() - 16 * whole;
    if rest > 0 {
        let available = source.len() - 32 * whole;
        let low = (1u32 << available.min(16)) - 1;
        let high = (1u32 << available.saturating_sub(16).min(16)) - 1;
        // SAFETY: the masks take values `32·whole..` only up to `source`'s end and slots
        // `16·whole..` only up to `slots`' end.
        unsafe {
            let from = source.as_ptr().add(32 * whole);
            let low = _mm512_maskz_loadu_ps(low as u16, from);
            let high = _mm512_maskz_loadu_ps(high as u16, from.wrapping_add(16));
            let even = _mm512_permutex2var_ps(low, evens, high);
            let to = slots.as_mut_ptr().add(16 * whole).cast::<f32>();
            _mm512_mask_storeu_ps(to, ((1u32 << rest) - 1) as u16, even);
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

/// Packed weights per block of output channels.
fn block_weights_of(g: &ConvGeometry, block: Block) -> usize {
    g.input[1] / g.group * g.kernel[0] * g.kernel[1] * block.channels()
}

/// What the micro-kernel reads: input channels `channel_stride` apart, each read on a grid
/// `width` wide at the offsets `taps`.
#[derive(Clone, Copy)]
struct Input<'a> {
    values: &'a [f32],
    channel_stride: usize,
    width: usize,
    taps: &'a [usize],
    /// Set when an unpadded input is read in place.
    window: Option<Window>,
    /// The grid position that reads `values[0]` at tap offset 0 (a task's own rows of the
    /// phase planes start at their first row; 0 otherwise).
    origin: usize,
}

/// A stride-1 convolution reading its NCHW input in place: the grid is the input plane
/// (`width` = its width), tap `(ky, kx)` reads `(ky·dh - top)·w + kx·dw - left` from a grid
/// position, and the lanes whose read falls in the padding are masked off (a masked load
/// reads nothing there), so no padded copy is made.
#[derive(Clone, Copy)]
struct Window {
    size: [usize; 2],
    kernel: [usize; 2],
    dilations: [usize; 2],
    /// Top and left padding.
    origin: [usize; 2],
}

impl Window {
    /// For `g` when it can be read in place: stride 1, output rows no wider than the
    /// input's (the grid's width), and rows, columns and kernel reach small enough for the
    /// masks' 32-bit lanes.
    fn of(g: &ConvGeometry) -> Option<Self> {
        let [_, _, h, w] = g.input;
        let [_, ow] = g.output_size();
        let reach = g.kernel[0] * g.dilations[0] + g.kernel[1] * g.dilations[1];
        let fits = h * w + reach + g.pads[0] + g.pads[1] < 1 << 30;
        (g.strides == [1, 1] && ow <= w && fits).then_some(Self {
            size: [h, w],
            kernel: g.kernel,
            dilations: g.dilations,
            origin: [g.pads[0], g.pads[1]],
        })
    }

    /// The tap offsets from the grid position shifted by `(-top, -left)`.
    fn taps(&self) -> Vec<usize> {
        let [kh, kw] = self.kernel;
        let [dh, dw] = self.dilations;
        (0..kh * kw)
            .map(|t| t / kw * dh * self.size[1] + t % kw * dw)
            .collect()
    }

    /// Appends the lanes of each tap's `V` vectors at grid positions `j..j + 16·V` that
    /// read inside the input, as `masks[tap · V + v]` from the previous end: per vector,
    /// the lanes' rows and columns, then one unsigned compare per kernel row and column.
    ///
    /// # Safety
    /// AVX-512F must be available.
    #[target_feature(enable = "avx512f")]
    unsafe fn masks<const V: usize>(&self, j: usize, masks: &mut Vec<u16>) {
        let [h, w] = self.size;
        let [kh, kw] = self.kernel;
        let [dh, dw] = self.dilations;
        let [top, left] = self.origin;
        // Every value below fits in i32 (checked by `Window::of`).
        let lanes = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        let width = _mm512_set1_epi32(w as i32);
        let (mut rows, mut columns) = ([[0u16; V]; 16], [[0u16; V]; 16]);
        for v in 0..V {
            let at = j + v * LANES;
            let mut x = _mm512_add_epi32(_mm512_set1_epi32((at % w) as i32), lanes);
            let mut y = _mm512_set1_epi32((at / w) as i32);
            // Lanes past a row's end: on to the next row (more than once when w < 16).
            loop {
                let wrapped = _mm512_cmpge_epi32_mask(x, width);
                if wrapped == 0 {
                    break;
                }
                x = _mm512_mask_sub_epi32(x, wrapped, x, width);
                y = _mm512_mask_add_epi32(y, wrapped, y, _mm512_set1_epi32(1));
            }
            // Inside when `r - top` (`c - left`) is in `0..h` (`0..w`), as unsigned.
            for (ky, row) in rows.iter_mut().enumerate().take(kh) {
                let r = _mm512_add_epi32(y, _mm512_set1_epi32((ky * dh) as i32 - top as i32));
                row[v] = _mm512_cmplt_epu32_mask(r, _mm512_set1_epi32(h as i32));
            }
            for (kx, column) in columns.iter_mut().enumerate().take(kw) {
                let c = _mm512_add_epi32(x, _mm512_set1_epi32((kx * dw) as i32 - left as i32));
                column[v] = _mm512_cmplt_epu32_mask(c, width);
            }
        }
        for t in 0..kh * kw {
            masks.extend((0..V).map(|v| rows[t / kw][v] & columns[t % kw][v]));
        }
    }
}

/// `Conv` with AVX-512; as [`super::conv2d`]. `prepared` keeps the repacked weights of a
/// node whose weights are constant, so they are repacked once per model, not per call.
pub fn conv2d(
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    g: &ConvGeometry,
    activation: Activation,
    prepared: Option<&crate::ops::kernels::Prepared>,
) -> Vec<f32> {
    assert!(available(), "the direct convolution needs AVX-512");
    let [batch, c_in, h, w] = g.input;
    let [oh, ow] = g.output_size();
    let (cg_in, cg_out) = (c_in / g.group, g.c_out / g.group);
    let block = if cg_out == 1 {
        Block::Single
    } else {
        Block::Wide
    };
    let blocks = cg_out.div_ceil(block.channels());
    let repacked;
    let packed = match prepared {
        Some(slot) => slot
            .get_or_init(|| pack_weights(weight, g, block))
            .as_slice(),
        None => {
            repacked = pack_weights(weight, g, block);
            repacked.as_slice()
        }
    };
    assert_eq!(packed.len(), g.group * blocks * block_weights_of(g, block));
    let block_weights = block_weights_of(g, block);
    // A pointwise layer reads its input as it is: the grid is the input plane itself.
    let as_is = g.is_pointwise();
    // In place up to 16×16 kernels (the masks' row and column sets), with enough input
    // channels per group to share each call's masks (depthwise: 1; there the masks cost
    // more than the copy), and planes that are not a multiple of 4 KiB: the channels of
    // such planes (160×160) meet in the same few L1 sets at every position and evict each
    // other, where each task's own padded rows do not (0.58× against 0.65× the GEMM's time
    // on 16 channels at 160×160); else padded planes.
    let aliased = (h * w) % 1024 == 0;
    let window = Window::of(g)
        .filter(|_| !as_is && !aliased && cg_in >= 8 && g.kernel[0] <= 16 && g.kernel[1] <= 16);
    let window_taps = window.map(|window| window.taps()).unwrap_or_default();
    let planes = (!as_is && window.is_none()).then(|| Planes::new(g));
    // Every output value is written by exactly one task (the runs cover the grid, each
    // micro-kernel call every grid position of its run), so nothing is zeroed first.
    let len = batch * g.c_out * oh * ow;
    let mut out: Vec<f32> = Vec::with_capacity(len);
    // Each task: a run of micro-kernel calls along the grid × up to 4 blocks of output
    // channels, so that a call's input, read from L1, serves every block. Runs: enough
    // tasks for every core, each run's input rows about half of L2. Runs need not follow
    // output rows (bias and activation are applied in registers), so only the grid's very
    // last call computes positions past its end. A task that lays out its phase-plane rows
    // does so once for all blocks of its group.
    let blocks_per_task = 4.min(blocks);
    let task_blocks = blocks.div_ceil(blocks_per_task);
    let positions = block.positions();
    let grid_width = planes.as_ref().map_or(w, |planes| planes.width);
    let calls = (oh * grid_width).div_ceil(positions);
    let per_row = cg_in * g.strides[0] * grid_width * g.strides[1] * 4;
    let by_cache = (512 * 1024 / per_row.max(1)).max(1) * grid_width / positions;
    let tasks_wanted = 8 * rayon::current_num_threads().max(1);
    // Block groups split among this many tasks of a run: all, but with phase-plane rows to
    // lay out only as many as it takes for enough tasks on a small grid.
    let parallel_blocks = if planes.is_some() {
        task_blocks.min(tasks_wanted.div_ceil(calls))
    } else {
        task_blocks
    };
    let groups_per_task = task_blocks.div_ceil(parallel_blocks);
    let by_tasks = calls.div_ceil(tasks_wanted.div_ceil(g.group * parallel_blocks));
    let run_calls = by_cache.min(by_tasks).clamp(1, calls);
    let runs = calls.div_ceil(run_calls);
    let zero_bias = vec![0.0f32; g.c_out];
    let bias = bias.unwrap_or(&zero_bias);
    for (index, image) in x.chunks_exact(c_in * h * w).enumerate() {
        // SAFETY: within the capacity: image `index` of `batch`.
        let target = Output(unsafe { out.as_mut_ptr().add(index * g.c_out * oh * ow) });
        // Run-major, so the tasks running side by side share their input rows.
        (0..runs * g.group * parallel_blocks)
            .into_par_iter()
            .for_each(|task| {
                let run = task / (g.group * parallel_blocks);
                let group = task % (g.group * parallel_blocks) / parallel_blocks;
                let grid = run * run_calls * positions
                    ..((run + 1) * run_calls * positions).min(oh * grid_width);
                let image = &image[group * cg_in * h * w..][..cg_in * h * w];
                // SAFETY: AVX-512 is `available` (checked above).
                let rows = planes
                    .as_ref()
                    .map(|planes| unsafe { planes.rows(image, cg_in, g, grid.clone(), positions) });
                let input = match &rows {
                    Some(rows) => Input {
                        values: &rows.values,
                        channel_stride: rows.channel_stride,
                        width: grid_width,
                        taps: &rows.taps,
                        window: None,
                        origin: rows.origin,
                    },
                    None => Input {
                        values: image,
                        channel_stride: h * w,
                        width: w,
                        taps: if as_is { &[0] } else { &window_taps },
                        window,
                        origin: 0,
                    },
                };
                let chunk = input.channels_per_chunk(positions).min(cg_in);
                let part = task % parallel_blocks;
                let block_groups =
                    part * groups_per_task..((part + 1) * groups_per_task).min(task_blocks);
                for block_group in block_groups {
                    let first_block = block_group * blocks_per_task;
                    let task_blocks = blocks_per_task.min(blocks - first_block);
                    let first_channel = group * cg_out + first_block * block.channels();
                    let channels = (task_blocks * block.channels())
                        .min(cg_out - first_block * block.channels());
                    let weights = (group * blocks + first_block) * block_weights;
                    let task = Task {
                        input,
                        channels: cg_in,
                        chunk,
                        weights: &packed[weights..][..task_blocks * block_weights],
                        block_weights,
                        bias: &bias[first_channel..first_channel + channels],
                        activation,
                        grid: grid.clone(),
                        out_width: ow,
                        out_plane: oh * ow,
                        first_channel,
                    };
                    // SAFETY: AVX-512 is `available` (checked above); the task writes only
                    // its grid positions of channels `first_channel..+channels`, which no
                    // other task writes, and `out` has room for the whole image.
                    unsafe {
                        match block {
                            Block::Wide => task.run::<8, 3>(target),
                            Block::Single => task.run::<1, 4>(target),
                        }
                    }
                }
            });
    }
    // SAFETY: every value was written (see `out`).
    unsafe { out.set_len(len) };
    out
}

impl Input<'_> {
    /// Input channels per pass over a tile: their part of a micro-kernel call's input
    /// (the rows its taps touch, `positions` values and the taps' horizontal reach each)
    /// about half of L1, so that every block of output channels reads it from there.
    fn channels_per_chunk(&self, positions: usize) -> usize {
        let rows = self.row_taps().len();
        let reach = self.taps.iter().map(|t| t % self.width).max().unwrap_or(0);
        let per_channel = rows * (positions + reach) * 4;
        (24 * 1024 / per_channel.max(1)).max(4)
    }

    /// One tap of each input row the taps read (the first of the row, in tap order).
    fn row_taps(&self) -> Vec<usize> {
        let mut rows: Vec<usize> = Vec::new();
        for &tap in self.taps {
            if rows.iter().all(|&row| row / self.width != tap / self.width) {
                rows.push(tap);
            }
        }
        rows
    }
}

/// One task: grid positions `grid` of a few blocks of output channels.
struct Task<'a> {
    /// Starting at the group's first input channel.
    input: Input<'a>,
    /// Input channels per group.
    channels: usize,
    /// Input channels per pass (see [`Input::channels_per_chunk`]).
    chunk: usize,
    /// The packed weights of this task's blocks, `block_weights` each (`[channel][tap][OC]`).
    weights: &'a [f32],
    block_weights: usize,
    /// The bias of each output channel of the task that exists.
    bias: &'a [f32],
    activation: Activation,
    grid: std::ops::Range<usize>,
    out_width: usize,
    out_plane: usize,
    first_channel: usize,
}

impl Task<'_> {
    /// Computes the task into `out`, bias and activation applied in registers. With more
    /// input channels than one chunk, the sums of the first chunks wait in a buffer laid
    /// out like the task's grid positions.
    ///
    /// # Safety
    /// AVX-512F must be available, and `out` must hold the whole output of the image.
    #[target_feature(enable = "avx512f")]
    unsafe fn run<const OC: usize, const V: usize>(&self, out: Output) {
        let Input {
            values,
            channel_stride,
            width: _,
            taps,
            window,
            origin,
        } = self.input;
        let std::ops::Range { start, end } = self.grid;
        let reach = taps.iter().max().copied().unwrap_or(0) + V * LANES;
        let blocks = self.bias.len().div_ceil(OC);
        assert!(self.weights.len() >= blocks * self.block_weights);
        assert!(self.block_weights >= self.channels * taps.len() * OC);
        // The sums so far, `[block · OC + o][grid position - start]`.
        let span = (end - start).div_ceil(V * LANES) * V * LANES;
        let mut partial = if self.chunk < self.channels {
            vec![0.0f32; blocks * OC * span]
        } else {
            Vec::new()
        };
        // The masks of every call, computed once for all passes over the input channels.
        let call_masks = taps.len() * V;
        let mut masks = Vec::new();
        if let Some(window) = window {
            for j in (start..end).step_by(V * LANES) {
                // SAFETY: AVX-512F is available (this function's contract).
                unsafe { window.masks::<V>(j, &mut masks) };
            }
        }
        // Calls of a 3×3 kernel whose rows all lie inside the input: their masks are the
        // left and right columns' (the middle one reads no padding), kept in registers.
        let columns: Vec<Option<[[u16; V]; 2]>> = match window {
            Some(window) if window.kernel == [3, 3] && window.dilations == [1, 1] => masks
                .chunks_exact(call_masks)
                .map(|call| {
                    let column =
                        |kx: usize| -> [u16; V] { std::array::from_fn(|v| call[(3 + kx) * V + v]) };
                    let (left, middle, right) = (column(0), column(1), column(2));
                    let inside = middle.iter().all(|&m| m == u16::MAX)
                        && (0..9).all(|t| {
                            let want = [left, middle, right][t % 3];
                            (0..V).all(|v| call[t * V + v] == want[v])
                        });
                    inside.then_some([left, right])
                })
                .collect(),
            _ => Vec::new(),
        };
        // One tap of each input row the taps read, for the prefetches.
        let rows = self.input.row_taps();
        let mut scratch = Vec::new();
        for c0 in (0..self.channels).step_by(self.chunk) {
            let channels = self.chunk.min(self.channels - c0);
            let (first, last) = (c0 == 0, c0 + channels == self.channels);
            let mut j = start;
            while j < end {
                // The input of this call, `channels` channels from `c0`: read in place with
                // the padding masked off; or laid out already and read as it is, but at the
                // end of an input read as it is, the rest of each channel padded with zeros
                // in a copy of its own.
                let from = c0 * channel_stride + j - origin;
                let (source, stride) = if let Some(window) = window {
                    let [top, left] = window.origin;
                    // Shifted by the padding: only masked-in lanes are read, and those are
                    // inside the input (`Window::masks`).
                    let origin = values.as_ptr().wrapping_add(from);
                    (
                        origin.wrapping_sub(top * window.size[1] + left),
                        channel_stride,
                    )
                } else if from + (channels - 1) * channel_stride + reach <= values.len() {
                    (values[from..].as_ptr(), channel_stride)
                } else {
                    scratch.clear();
                    scratch.resize(channels * reach, 0.0);
                    for (c, copy) in scratch.chunks_exact_mut(reach).enumerate() {
                        let at = (from + c * channel_stride).min(values.len());
                        let available = (values.len() - at).min(reach);
                        copy[..available].copy_from_slice(&values[at..][..available]);
                    }
                    (scratch.as_ptr(), reach)
                };
                for b in 0..blocks {
                    let weights = &self.weights[b * self.block_weights + c0 * taps.len() * OC..];
                    // SAFETY: every unmasked read is inside the input (checked, copied or
                    // masked above), `weights` holds `channels · taps · OC` from here
                    // (asserted) and `masks` a mask per tap and vector.
                    let call = (j - start) / (V * LANES);
                    let mut acc = unsafe {
                        if let Some([left, right]) = columns.get(call).copied().flatten() {
                            accumulate_3x3::<OC, V>(
                                source,
                                stride,
                                channels,
                                taps,
                                weights.as_ptr(),
                                [left, right],
                                (b == 0).then_some(&rows[..]),
                            )
                        } else if window.is_some() {
                            accumulate::<OC, V, true>(
                                source,
                                stride,
                                channels,
                                taps,
                                weights.as_ptr(),
                                &masks[call * call_masks..][..call_masks],
                                (b == 0).then_some(&rows[..]),
                            )
                        } else {
                            accumulate::<OC, V, false>(
                                source,
                                stride,
                                channels,
                                taps,
                                weights.as_ptr(),
                                &[],
                                (b == 0).then_some(&rows[..]),
                            )
                        }
                    };
                    let sums = (b * OC * span + j - start)..;
                    if !first {
                        let sums = &partial[sums.clone()];
                        for (o, row) in acc.iter_mut().enumerate() {
                            for (v, a) in row.iter_mut().enumerate() {
                                // SAFETY: inside `partial` (`span` covers whole calls).
                                let before = unsafe {
                                    _mm512_loadu_ps(sums.as_ptr().add(o * span + v * LANES))
                                };
                                *a = _mm512_add_ps(*a, before);
                            }
                        }
                    }
                    if last {
                        // SAFETY: as this function's.
                        unsafe { self.finish(&acc, b * OC, j, end, out) };
                    } else {
                        let sums = &mut partial[sums];
                        for (o, row) in acc.iter().enumerate() {
                            for (v, &a) in row.iter().enumerate() {
                                // SAFETY: as above.
                                unsafe {
                                    _mm512_storeu_ps(
                                        sums.as_mut_ptr().add(o * span + v * LANES),
                                        a,
                                    );
                                }
                            }
                        }
                    }
                }
                j += V * LANES;
            }
        }
    }

    /// Adds the bias, applies the activation and stores the output positions among grid
    /// positions `j..` (before `end`) of the task's channels `channel..channel + OC`.
    ///
    /// # Safety
    /// AVX-512F must be available, and `out` must hold the whole output of the image.
    #[target_feature(enable = "avx512f")]
    unsafe fn finish<const OC: usize, const V: usize>(
        &self,
        acc: &[[__m512; V]; OC],
        channel: usize,
        j: usize,
        end: usize,
        out: Output,
    ) {
        let wq = self.input.width;
        let biases = &self.bias[channel.min(self.bias.len())..];
        let (mut y, mut x) = (j / wq, j % wq);
        for v in 0..V {
            let at = j + v * LANES;
            if at >= end {
                break;
            }
            // Output position `y·width + x` holds the vector's 16 lanes when they stay in
            // its row, or, with grid rows as wide as output rows, follow on in the next.
            let whole = at + LANES <= end && (x + LANES <= self.out_width || wq == self.out_width);
            for (o, (row, &bias)) in acc.iter().zip(biases).enumerate() {
                let plane = unsafe {
                    out.0
                        .add((self.first_channel + channel + o) * self.out_plane)
                };
                let vector = _mm512_add_ps(row[v], _mm512_set1_ps(bias));
                let vector = match self.activation {
                    Activation::None => vector,
                    Activation::Silu => silu(vector),
                };
                if whole {
                    unsafe { _mm512_storeu_ps(plane.add(y * self.out_width + x), vector) };
                } else {
                    // Straddles grid columns past an output row's end, or the run's end.
                    unsafe { store_rows(vector, plane, [y, x], end - at, wq, self.out_width) };
                }
            }
            x += LANES;
            while x >= wq {
                (x, y) = (x - wq, y + 1);
            }
        }
    }
}

/// `x · σ(x)`: `e^-x` as in [`super::exp`] (Cody–Waite reduction, degree-6 polynomial) with
/// the power of two applied by `scalef`, and `1 / (1 + e^-x)` from the 14-bit reciprocal
/// estimate and one Newton step (relative error about 10⁻⁸), since a 512-bit division costs
/// as much as the rest together.
#[target_feature(enable = "avx512f")]
#[inline]
fn silu(x: __m512) -> __m512 {
    let t = _mm512_min_ps(
        _mm512_max_ps(_mm512_sub_ps(_mm512_setzero_ps(), x), _mm512_set1_ps(-87.0)),
        _mm512_set1_ps(88.0),
    );
    let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
        _mm512_mul_ps(t, _mm512_set1_ps(std::f32::consts::LOG2_E)),
    );
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693_145_75), t);
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428_606_8e-6), r);
    let mut p = _mm512_set1_ps(1.0 / 720.0);
    for c in [1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
    }
    let e = _mm512_scalef_ps(p, n);
    let d = _mm512_add_ps(_mm512_set1_ps(1.0), e);
    let estimate = _mm512_rcp14_ps(d);
    let reciprocal = _mm512_mul_ps(estimate, _mm512_fnmadd_ps(d, estimate, _mm512_set1_ps(2.0)));
    _mm512_mul_ps(x, reciprocal)
}

/// Brings the next call's input into L1 while this one computes: the `V` vectors after this
/// call's at each row tap of `rows`, from channel `base` (a prefetch never faults, wherever
/// it points).
#[target_feature(enable = "avx512f")]
#[inline]
fn prefetch_next<const V: usize>(base: *const f32, rows: &[usize]) {
    for &row in rows {
        for v in 0..V {
            let at = base.wrapping_add(row + (V + v) * LANES);
            _mm_prefetch::<_MM_HINT_T0>(at.cast::<i8>());
        }
    }
}

/// The micro-kernel: `OC` output channels × `V` vectors of grid positions from `input`
/// (channel 0, the first position), summed over `channels` input channels and their taps;
/// with `MASKED`, tap `t`'s vector `v` reads only the lanes of `masks[t · V + v]`.
/// A function of its own so that the accumulators stay in registers: the caller's indexed
/// stores would otherwise keep them in memory, stored on every step.
///
/// # Safety
/// AVX-512F must be available; every `input + c · channel_stride + tap + 16·v + lane` read
/// (all lanes, or the masked-in ones) must be in bounds, `weights` must hold
/// `channels · taps.len() · OC` values and `masks` (with `MASKED`) `taps.len() · V`.
#[target_feature(enable = "avx512f")]
#[inline(never)]
unsafe fn accumulate<const OC: usize, const V: usize, const MASKED: bool>(
    input: *const f32,
    channel_stride: usize,
    channels: usize,
    taps: &[usize],
    weights: *const f32,
    masks: &[u16],
    ahead: Option<&[usize]>,
) -> [[__m512; V]; OC] {
    let mut acc = [[_mm512_setzero_ps(); V]; OC];
    let mut weights = weights;
    for c in 0..channels {
        let base = input.wrapping_add(c * channel_stride);
        if let Some(rows) = ahead {
            prefetch_next::<V>(base, rows);
        }
        for (t, &tap) in taps.iter().enumerate() {
            let at = base.wrapping_add(tap);
            let mut xs = [_mm512_setzero_ps(); V];
            for (v, x) in xs.iter_mut().enumerate() {
                let from = at.wrapping_add(v * LANES);
                *x = unsafe {
                    if MASKED {
                        _mm512_maskz_loadu_ps(masks[t * V + v], from)
                    } else {
                        _mm512_loadu_ps(from)
                    }
                };
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

/// [`accumulate`] for a 3×3 kernel read in place where every tap row lies inside the input:
/// the left column's taps read the lanes of `left`, the right column's those of `right`
/// (the same masks for all three rows, held in mask registers), the middle column's all.
/// It repeats [`accumulate`]'s loop on purpose: merged into one function with a choice of
/// reads, LLVM spilled the column masks and reloaded them from the stack on every tap (the
/// hottest instruction of the layer).
///
/// # Safety
/// As [`accumulate`] with `taps.len() == 9` (row-major) and those masks.
#[target_feature(enable = "avx512f")]
#[inline(never)]
unsafe fn accumulate_3x3<const OC: usize, const V: usize>(
    input: *const f32,
    channel_stride: usize,
    channels: usize,
    taps: &[usize],
    weights: *const f32,
    [left, right]: [[u16; V]; 2],
    ahead: Option<&[usize]>,
) -> [[__m512; V]; OC] {
    let taps: [usize; 9] = taps.try_into().expect("a 3×3 kernel has 9 taps");
    let mut acc = [[_mm512_setzero_ps(); V]; OC];
    let mut weights = weights;
    for c in 0..channels {
        let base = input.wrapping_add(c * channel_stride);
        if let Some(rows) = ahead {
            prefetch_next::<V>(base, rows);
        }
        for (t, &tap) in taps.iter().enumerate() {
            let at = base.wrapping_add(tap);
            let mut xs = [_mm512_setzero_ps(); V];
            for (v, x) in xs.iter_mut().enumerate() {
                let from = at.wrapping_add(v * LANES);
                *x = unsafe {
                    match t % 3 {
                        0 => _mm512_maskz_loadu_ps(left[v], from),
                        2 => _mm512_maskz_loadu_ps(right[v], from),
                        _ => _mm512_loadu_ps(from),
                    }
                };
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

/// Stores the lanes of `vector` (grid positions from row `y`, column `x` on) that are
/// output positions among the first `lanes` (grid rows `wq` wide, output rows `width`): one
/// masked store per grid row it touches.
///
/// # Safety
/// AVX-512F must be available and `plane` must hold every output row it touches.
#[target_feature(enable = "avx512f")]
unsafe fn store_rows(
    vector: __m512,
    plane: *mut f32,
    [mut y, mut x]: [usize; 2],
    lanes: usize,
    wq: usize,
    width: usize,
) {
    let lanes = lanes.min(LANES);
    let mut lane = 0;
    while lane < lanes {
        // Lanes `lane..` are grid columns `x..` of row `y`; those before `width` are output.
        let take = width.saturating_sub(x).min(lanes - lane);
        if take > 0 {
            let mask = (((1u32 << take) - 1) << lane) as u16;
            // Lane `l` goes to `y·width + x + l - lane`; only the masked-in lanes are
            // written, and those are inside the row.
            let row = plane.wrapping_add(y * width + x).wrapping_sub(lane);
            unsafe { _mm512_mask_storeu_ps(row, mask, vector) };
        }
        lane += wq - x;
        (y, x) = (y + 1, 0);
    }
}
