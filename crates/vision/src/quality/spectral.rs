//! Host-side frequency-domain helpers for the metrics that filter in the Fourier domain
//! (FSIM's log-Gabor bank, VSI's SDSP saliency): 2-D FFTs with `rustfft`, and the grids
//! pyiqa's `func_util` builds them from (`get_meshgrid`, `ifftshift`).
//!
//! Planes are row-major `h * w` slices; complex values are [`C32`].

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

/// A complex f32 sample.
pub type C32 = Complex<f32>;

/// A 2-D FFT over `h * w` row-major planes: rows, then columns through a transpose.
pub struct Fft2 {
    h: usize,
    w: usize,
    rows: [Arc<dyn Fft<f32>>; 2],
    cols: [Arc<dyn Fft<f32>>; 2],
}

impl Fft2 {
    /// Plans both directions for `h` rows of `w` samples.
    pub fn new(h: usize, w: usize) -> Self {
        let mut planner = FftPlanner::new();
        Self {
            h,
            w,
            rows: [planner.plan_fft_forward(w), planner.plan_fft_inverse(w)],
            cols: [planner.plan_fft_forward(h), planner.plan_fft_inverse(h)],
        }
    }

    /// `torch.fft.fft2`: unnormalised forward transform, in place.
    pub fn forward(&self, plane: &mut [C32], work: &mut Vec<C32>) {
        let mut transposed = vec![C32::default(); plane.len()];
        self.forward_transposed(plane, &mut transposed, work);
        transpose(&transposed, plane, self.w, self.h);
    }

    /// `torch.fft.ifft2`: inverse transform scaled by `1 / (h w)`, in place.
    pub fn inverse(&self, plane: &mut [C32], work: &mut Vec<C32>) {
        let mut transposed = vec![C32::default(); plane.len()];
        transpose(plane, &mut transposed, self.h, self.w);
        self.inverse_from_transposed(&mut transposed, plane, work);
        let scale = 1.0 / (self.h * self.w) as f32;
        for v in plane.iter_mut() {
            *v *= scale;
        }
    }

    /// The forward transform of `plane` (`h * w`, overwritten) into `spectrum`, left
    /// transposed (`w * h`, frequency `(u, v)` at `v * h + u`): filters can be applied
    /// there and [`Fft2::inverse_from_transposed`] saves the transpose back.
    pub fn forward_transposed(&self, plane: &mut [C32], spectrum: &mut [C32], work: &mut Vec<C32>) {
        let (h, w) = (self.h, self.w);
        assert!(
            plane.len() == h * w && spectrum.len() == h * w,
            "planes of the planned size"
        );
        let scratch = scratch(work, &self.rows[0], &self.cols[0]);
        self.rows[0].process_with_scratch(plane, scratch);
        transpose(plane, spectrum, h, w);
        self.cols[0].process_with_scratch(spectrum, scratch);
    }

    /// The inverse transform, not normalised, of a transposed `spectrum` (`w * h`,
    /// overwritten) into `plane` (`h * w`).
    pub fn inverse_from_transposed(
        &self,
        spectrum: &mut [C32],
        plane: &mut [C32],
        work: &mut Vec<C32>,
    ) {
        let (h, w) = (self.h, self.w);
        assert!(
            plane.len() == h * w && spectrum.len() == h * w,
            "planes of the planned size"
        );
        let scratch = scratch(work, &self.rows[1], &self.cols[1]);
        self.cols[1].process_with_scratch(spectrum, scratch);
        transpose(spectrum, plane, w, h);
        self.rows[1].process_with_scratch(plane, scratch);
    }
}

/// `work` sized as the in-place scratch of both plans.
fn scratch<'a>(
    work: &'a mut Vec<C32>,
    a: &Arc<dyn Fft<f32>>,
    b: &Arc<dyn Fft<f32>>,
) -> &'a mut [C32] {
    let len = a.get_inplace_scratch_len().max(b.get_inplace_scratch_len());
    if work.len() < len {
        work.resize(len, C32::default());
    }
    &mut work[..len]
}

/// `dst` (`cols * rows`) = transpose of `src` (`rows * cols`), in cache-sized tiles.
pub fn transpose(src: &[C32], dst: &mut [C32], rows: usize, cols: usize) {
    const TILE: usize = 16;
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

/// One axis of pyiqa's `get_meshgrid`: `n` zero-centred coordinates over `n` (over
/// `n - 1` when `n` is odd).
pub fn grid_axis(n: usize) -> Vec<f32> {
    let (start, denominator) = if n % 2 == 1 {
        (-((n - 1) as f32) / 2.0, (n - 1) as f32)
    } else {
        (-(n as f32) / 2.0, n as f32)
    };
    (0..n).map(|i| (start + i as f32) / denominator).collect()
}

/// pyiqa's `get_meshgrid((h, w))`: zero-centred coordinates normalised by the size (by
/// `size - 1` when odd), the first varying down the rows, the second along them; f32 as
/// torch builds them. Returns `(rows, cols)` planes, row-major.
pub fn meshgrid(h: usize, w: usize) -> (Vec<f32>, Vec<f32>) {
    let (ys, xs) = (grid_axis(h), grid_axis(w));
    let mut rows = Vec::with_capacity(h * w);
    let mut cols = Vec::with_capacity(h * w);
    for &y in &ys {
        for &x in &xs {
            rows.push(y);
            cols.push(x);
        }
    }
    (rows, cols)
}

/// pyiqa's `ifftshift` on an `h * w` plane: rolls the centre to the top-left corner.
pub fn ifftshift<T: Copy>(plane: &[T], h: usize, w: usize) -> Vec<T> {
    let (dy, dx) = (h / 2, w / 2);
    let mut out = Vec::with_capacity(h * w);
    for r in 0..h {
        let src = &plane[((r + dy) % h) * w..][..w];
        out.extend_from_slice(&src[dx..]);
        out.extend_from_slice(&src[..dx]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fft2_round_trips_and_matches_a_direct_dft() {
        let (h, w) = (5, 6);
        let input: Vec<C32> = (0..h * w)
            .map(|i| C32::new((i as f32 * 0.37).sin(), (i as f32 * 0.11).cos()))
            .collect();
        let fft = Fft2::new(h, w);
        let mut work = Vec::new();
        let mut spectrum = input.clone();
        fft.forward(&mut spectrum, &mut work);
        let (u, v) = (2, 3);
        let mut direct = Complex::<f64>::default();
        for r in 0..h {
            for c in 0..w {
                let phase = -2.0
                    * std::f64::consts::PI
                    * ((u * r) as f64 / h as f64 + (v * c) as f64 / w as f64);
                let x = input[r * w + c];
                direct += Complex::new(f64::from(x.re), f64::from(x.im))
                    * Complex::from_polar(1.0, phase);
            }
        }
        let got = spectrum[u * w + v];
        assert!((f64::from(got.re) - direct.re).abs() < 1e-4);
        assert!((f64::from(got.im) - direct.im).abs() < 1e-4);
        fft.inverse(&mut spectrum, &mut work);
        for (a, b) in spectrum.iter().zip(&input) {
            assert!((a - b).norm() < 1e-5);
        }
    }

    #[test]
    fn ifftshift_moves_the_centre_to_the_corner() {
        let plane: Vec<usize> = (0..15).collect();
        let shifted = ifftshift(&plane, 3, 5);
        // Centre (1, 2) = 7 goes to (0, 0).
        assert_eq!(shifted[0], 7);
        assert_eq!(
            shifted,
            vec![7, 8, 9, 5, 6, 12, 13, 14, 10, 11, 2, 3, 4, 0, 1]
        );
    }
}
