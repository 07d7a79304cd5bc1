//! Ultralytics' letterbox (`LetterBox((h, w), auto=False)`): keep the aspect ratio, resize
//! with OpenCV's `INTER_LINEAR` (bit-exact fixed-point arithmetic of its 8-bit path),
//! centre on a grey (114) canvas, and the inverse map from model input back to the image.

use image::RgbImage;

/// Grey value of the padding, as Ultralytics uses.
pub const PAD_VALUE: u8 = 114;

/// OpenCV's `INTER_RESIZE_COEF_BITS`.
const COEF_BITS: i32 = 11;
const COEF_SCALE: f32 = (1 << COEF_BITS) as f32;

/// How an image was placed into the model input, and the inverse mapping.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    /// Original image size in pixels.
    pub image_width: u32,
    /// Original image height in pixels.
    pub image_height: u32,
    /// Model input width in pixels.
    pub input_width: u32,
    /// Model input height in pixels.
    pub input_height: u32,
    /// Scale from image to model input (`min(in_h / h, in_w / w)`).
    pub gain: f64,
    /// Left padding used to map back (Ultralytics `scale_boxes`).
    pub pad_x: f64,
    /// Top padding used to map back.
    pub pad_y: f64,
}

impl Letterbox {
    /// The placement Ultralytics computes for an image of `image_size` into `input_size`
    /// (both `(width, height)`).
    pub fn new(image_size: (u32, u32), input_size: (u32, u32)) -> Self {
        let (w0, h0) = (f64::from(image_size.0), f64::from(image_size.1));
        let (w1, h1) = (f64::from(input_size.0), f64::from(input_size.1));
        let gain = (h1 / h0).min(w1 / w0);
        // ultralytics.utils.ops.scale_boxes: round((img1 - img0 * gain) / 2 - 0.1).
        let pad_x = ((w1 - w0 * gain) / 2.0 - 0.1).round_ties_even();
        let pad_y = ((h1 - h0 * gain) / 2.0 - 0.1).round_ties_even();
        Self {
            image_width: image_size.0,
            image_height: image_size.1,
            input_width: input_size.0,
            input_height: input_size.1,
            gain,
            pad_x,
            pad_y,
        }
    }

    /// Maps an input-space point to image pixels (not clipped).
    pub fn image_from_input(&self, x_in_input: f32, y_in_input: f32) -> [f32; 2] {
        [
            ((f64::from(x_in_input) - self.pad_x) / self.gain) as f32,
            ((f64::from(y_in_input) - self.pad_y) / self.gain) as f32,
        ]
    }

    /// Maps an input-space box `[x1, y1, x2, y2]` to image pixels, clipped to the image.
    pub fn bbox_in_image(&self, bbox_in_input: [f32; 4]) -> [f32; 4] {
        let [x1, y1] = self.image_from_input(bbox_in_input[0], bbox_in_input[1]);
        let [x2, y2] = self.image_from_input(bbox_in_input[2], bbox_in_input[3]);
        let (w, h) = (self.image_width as f32, self.image_height as f32);
        [
            x1.clamp(0.0, w),
            y1.clamp(0.0, h),
            x2.clamp(0.0, w),
            y2.clamp(0.0, h),
        ]
    }

    /// Maps an input-space point to image pixels, clipped to the image.
    pub fn point_in_image(&self, point_in_input: [f32; 2]) -> [f32; 2] {
        let [x, y] = self.image_from_input(point_in_input[0], point_in_input[1]);
        [
            x.clamp(0.0, self.image_width as f32),
            y.clamp(0.0, self.image_height as f32),
        ]
    }
}

/// Letterboxes `image` into `input_size` (`(width, height)`) and returns the model input as
/// NCHW `f32` RGB in `[0, 1]` (length `3 * w * h`) plus the placement.
pub fn letterbox(image: &RgbImage, input_size: (u32, u32)) -> (Vec<f32>, Letterbox) {
    let (w0, h0) = image.dimensions();
    let (w1, h1) = input_size;
    let r = (f64::from(h1) / f64::from(h0)).min(f64::from(w1) / f64::from(w0));
    let new_w = ((f64::from(w0) * r).round_ties_even() as u32).clamp(1, w1);
    let new_h = ((f64::from(h0) * r).round_ties_even() as u32).clamp(1, h1);
    let dw = f64::from(w1 - new_w) / 2.0;
    let dh = f64::from(h1 - new_h) / 2.0;
    let top = (dh - 0.1).round_ties_even().max(0.0) as u32;
    let left = (dw - 0.1).round_ties_even().max(0.0) as u32;

    let resized = if (new_w, new_h) == (w0, h0) {
        image.clone()
    } else {
        resize_linear(image, new_w, new_h)
    };

    let plane = (w1 * h1) as usize;
    let mut input = vec![f32::from(PAD_VALUE) / 255.0; 3 * plane];
    for y in 0..new_h.min(h1 - top) {
        for x in 0..new_w.min(w1 - left) {
            let pixel = resized.get_pixel(x, y).0;
            let at = ((y + top) * w1 + x + left) as usize;
            for channel in 0..3 {
                input[channel * plane + at] = f32::from(pixel[channel]) / 255.0;
            }
        }
    }
    (input, Letterbox::new((w0, h0), input_size))
}

/// Per destination index: source index and the two fixed-point weights (OpenCV's
/// `ialpha`/`ibeta` for `INTER_LINEAR`).
fn linear_taps(source_len: u32, dest_len: u32) -> Vec<(usize, i32, i32)> {
    let scale = f64::from(source_len) / f64::from(dest_len);
    (0..dest_len)
        .map(|d| {
            let mut f = ((f64::from(d) + 0.5) * scale - 0.5) as f32;
            let mut s = f.floor() as i64;
            f -= s as f32;
            if s < 0 {
                f = 0.0;
                s = 0;
            }
            if s >= i64::from(source_len) - 1 {
                f = 0.0;
                s = i64::from(source_len) - 1;
            }
            let w0 = ((1.0 - f) * COEF_SCALE).round_ties_even() as i32;
            let w1 = (f * COEF_SCALE).round_ties_even() as i32;
            (s as usize, w0, w1)
        })
        .collect()
}

/// `cv2.resize(..., interpolation=cv2.INTER_LINEAR)` for 8-bit RGB, reproducing OpenCV's
/// fixed-point horizontal pass and its vectorised vertical pass
/// (`((s0 >> 4) * b0 >> 16) + ((s1 >> 4) * b1 >> 16) + 2 >> 2`).
pub fn resize_linear(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    let (w0, h0) = image.dimensions();
    let xs = linear_taps(w0, width);
    let ys = linear_taps(h0, height);
    let src = image.as_raw();
    let row_len = (width * 3) as usize;
    // Horizontal pass per source row, computed lazily and cached (rows are reused).
    let horizontal = |sy: usize, out: &mut Vec<i32>| {
        out.clear();
        let row = &src[sy * (w0 * 3) as usize..(sy + 1) * (w0 * 3) as usize];
        for &(sx, a0, a1) in &xs {
            let next = (sx + 1).min(w0 as usize - 1);
            for c in 0..3 {
                let p0 = i32::from(row[sx * 3 + c]);
                let p1 = i32::from(row[next * 3 + c]);
                out.push(p0 * a0 + p1 * a1);
            }
        }
    };
    let mut out = vec![0u8; row_len * height as usize];
    let (mut row0, mut row1) = (Vec::with_capacity(row_len), Vec::with_capacity(row_len));
    let mut cached: (Option<usize>, Option<usize>) = (None, None);
    for (dy, &(sy, b0, b1)) in ys.iter().enumerate() {
        let sy1 = (sy + 1).min(h0 as usize - 1);
        if cached.0 != Some(sy) {
            if cached.1 == Some(sy) {
                std::mem::swap(&mut row0, &mut row1);
                cached.1 = None;
            } else {
                horizontal(sy, &mut row0);
            }
            cached.0 = Some(sy);
        }
        if cached.1 != Some(sy1) {
            horizontal(sy1, &mut row1);
            cached.1 = Some(sy1);
        }
        let dest = &mut out[dy * row_len..(dy + 1) * row_len];
        for (x, slot) in dest.iter_mut().enumerate() {
            let s0 = (row0[x] >> 4).min(i32::from(i16::MAX));
            let s1 = (row1[x] >> 4).min(i32::from(i16::MAX));
            let value = ((s0 * b0) >> 16) + ((s1 * b1) >> 16);
            *slot = ((value + 2) >> 2).clamp(0, 255) as u8;
        }
    }
    RgbImage::from_raw(width, height, out).unwrap_or_else(|| RgbImage::new(width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_matches_ultralytics_for_a_wide_image() {
        // 768x576 into 320x320: r = 0.41667, new 320x240, dh = 40.
        let image = RgbImage::from_pixel(768, 576, image::Rgb([10, 20, 30]));
        let (input, placement) = letterbox(&image, (320, 320));
        assert_eq!(input.len(), 3 * 320 * 320);
        assert_eq!(placement.pad_y, 40.0);
        assert_eq!(placement.pad_x, 0.0);
        let plane = 320 * 320;
        assert_eq!(input[39 * 320 + 5], 114.0 / 255.0);
        assert_eq!(input[40 * 320 + 5], 10.0 / 255.0);
        assert_eq!(input[plane + 279 * 320 + 5], 20.0 / 255.0);
        assert_eq!(input[2 * plane + 280 * 320 + 5], 114.0 / 255.0);
        let back = placement.bbox_in_image([0.0, 40.0, 320.0, 280.0]);
        assert!(
            (back[2] - 768.0).abs() < 1e-3
                && (back[3] - 576.0).abs() < 1e-3
                && back[1].abs() < 1e-3
        );
    }

    #[test]
    fn constant_images_stay_constant_through_resize() {
        let image = RgbImage::from_pixel(37, 23, image::Rgb([200, 3, 77]));
        let resized = resize_linear(&image, 101, 9);
        assert_eq!(resized.dimensions(), (101, 9));
        assert!(resized.pixels().all(|p| p.0 == [200, 3, 77]));
    }
}
