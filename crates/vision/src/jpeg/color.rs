//! libjpeg-turbo's fancy chroma upsampling (`jdsample.c` h2v1/h2v2) and fixed-point
//! YCbCr → RGB conversion (`jdcolor.c`).

/// A decoded component plane.
#[derive(Debug, Clone)]
pub struct Plane {
    /// Samples, row-major with `stride` per row.
    pub samples: Vec<u8>,
    /// Row length in the buffer.
    pub stride: usize,
    /// Meaningful width (`downsampled_width`).
    pub width: usize,
    /// Meaningful height.
    pub height: usize,
}

impl Plane {
    fn at(&self, x: usize, y: usize) -> i32 {
        i32::from(self.samples[y.min(self.height - 1) * self.stride + x.min(self.width - 1)])
    }
}

/// Upsamples a chroma plane by (`h`, `v`) ∈ {1, 2}² to `width × height` with libjpeg-turbo's
/// triangle filters (`h2v1_`, `h1v2_`, `h2v2_fancy_upsample`).
pub fn upsample(plane: &Plane, h: usize, v: usize, width: usize, height: usize) -> Vec<u8> {
    let mut out = vec![0u8; width * height];
    let w = plane.width;
    for y in 0..height {
        let source_row = y / v;
        for x in 0..width {
            let column = x / h;
            let value = match (h, v) {
                (1, 1) => plane.at(x, y),
                (2, 1) => {
                    let this = plane.at(column, source_row);
                    if x % 2 == 0 {
                        if column == 0 {
                            this
                        } else {
                            (this * 3 + plane.at(column - 1, source_row) + 1) >> 2
                        }
                    } else if column + 1 >= w {
                        this
                    } else {
                        (this * 3 + plane.at(column + 1, source_row) + 2) >> 2
                    }
                }
                (1, 2) => {
                    // h1v2 (4:4:0): vertical 3:1 with biases 1 (upper) / 2 (lower).
                    let (other_row, bias) = if y % 2 == 0 {
                        (source_row.saturating_sub(1), 1)
                    } else {
                        (source_row + 1, 2)
                    };
                    (plane.at(x, source_row) * 3 + plane.at(x, other_row) + bias) >> 2
                }
                _ => {
                    // h2v2: vertical 3:1 column sums, then horizontal 3:1 with biases 8 / 7.
                    let other_row = if y % 2 == 0 {
                        source_row.saturating_sub(1)
                    } else {
                        source_row + 1
                    };
                    let sum = |c: usize| plane.at(c, source_row) * 3 + plane.at(c, other_row);
                    let this = sum(column);
                    if x % 2 == 0 {
                        if column == 0 {
                            (this * 4 + 8) >> 4
                        } else {
                            (this * 3 + sum(column - 1) + 8) >> 4
                        }
                    } else if column + 1 >= w {
                        (this * 4 + 7) >> 4
                    } else {
                        (this * 3 + sum(column + 1) + 7) >> 4
                    }
                }
            };
            out[y * width + x] = value as u8;
        }
    }
    out
}

const SCALE_BITS: i32 = 16;
const ONE_HALF: i32 = 1 << (SCALE_BITS - 1);

const fn fix(x: f64) -> i32 {
    (x * (1 << SCALE_BITS) as f64 + 0.5) as i32
}

/// Converts full-resolution Y, Cb, Cr planes to interleaved RGB.
pub fn ycc_to_rgb(y: &[u8], cb: &[u8], cr: &[u8], out: &mut [u8]) {
    for (i, ((&luma, &blue), &red)) in y.iter().zip(cb).zip(cr).enumerate() {
        let luma = i32::from(luma);
        let cb = i32::from(blue) - 128;
        let cr = i32::from(red) - 128;
        let r = luma + ((fix(1.40200) * cr + ONE_HALF) >> SCALE_BITS);
        let g = luma + ((-fix(0.34414) * cb + ONE_HALF - fix(0.71414) * cr) >> SCALE_BITS);
        let b = luma + ((fix(1.77200) * cb + ONE_HALF) >> SCALE_BITS);
        out[i * 3] = r.clamp(0, 255) as u8;
        out[i * 3 + 1] = g.clamp(0, 255) as u8;
        out[i * 3 + 2] = b.clamp(0, 255) as u8;
    }
}
