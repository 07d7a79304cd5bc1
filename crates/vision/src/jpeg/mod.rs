//! A baseline JPEG decoder whose output is bit-identical to libjpeg-turbo's default decode
//! (accurate integer IDCT, fancy upsampling, fixed-point colour conversion) — the decoder
//! behind OpenCV's `imread`, which Ultralytics uses. Pure Rust decoders (zune-jpeg, used by
//! the `image` crate) differ by a few levels on ~7% of samples, enough to flip near-tied
//! detections. Progressive, arithmetic-coded, 12-bit, CMYK and unusual chroma layouts return
//! `None`, and callers fall back to the `image` crate.

mod color;
mod huffman;
mod idct;

use color::{Plane, upsample, ycc_to_rgb};
use huffman::{BitReader, HuffmanTable};
use idct::idct_islow;

/// Natural-order index of the k-th zig-zag coefficient.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

#[derive(Debug, Clone)]
struct Component {
    id: u8,
    h: usize,
    v: usize,
    quant: usize,
    dc_table: usize,
    ac_table: usize,
}

/// The entropy-coded data ended before the image was complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncated;

/// A decoded image (width, height, interleaved RGB), or the news that the file is cut short.
pub type Decoded = Result<(usize, usize, Vec<u8>), Truncated>;

/// Why a JPEG must not reach the fallback decoder (zune-jpeg 0.5.15, behind `image`), if it
/// must not: a component sampled more finely than the first (brightness) one. zune-jpeg
/// indexes past a block on such frames and panics (fuzz/regressions/image/), which in the
/// browser's worker aborts the whole job; encoders never write them.
pub fn fallback_refusal(data: &[u8]) -> Option<&'static str> {
    for (marker, segment, _) in segments(data)? {
        if marker == 0xda {
            return None; // no frame header before the image data
        }
        // Every SOFn: C0–CF but for DHT (C4), JPG (C8) and DAC (CC).
        if (0xc0..=0xcf).contains(&marker) && ![0xc4, 0xc8, 0xcc].contains(&marker) {
            let count = usize::from(*segment.get(5)?);
            let sampling: Vec<u8> = (0..count)
                .filter_map(|i| segment.get(7 + i * 3).copied())
                .collect();
            let (&first, rest) = sampling.split_first()?;
            let finer = rest
                .iter()
                .any(|&s| s >> 4 > first >> 4 || s & 15 > first & 15);
            return finer.then_some(
                "unsupported JPEG: a colour component is sampled more finely than the \
                 brightness (no camera or encoder writes this)",
            );
        }
    }
    None
}

/// The marker segments of a JPEG from its SOI (`None` without one), read as libjpeg and
/// zune-jpeg read them: bytes between segments and fill bytes are skipped, and standalone
/// markers (SOI, RSTn, TEM) have no segment. Each item is a marker, its segment and the
/// position just after the segment; the walk ends at EOI or at the first segment that runs
/// past the end of the data.
fn segments(data: &[u8]) -> Option<Segments<'_>> {
    (data.get(..2)? == [0xff, 0xd8]).then_some(Segments { data, position: 2 })
}

struct Segments<'a> {
    data: &'a [u8],
    position: usize,
}

impl<'a> Iterator for Segments<'a> {
    type Item = (u8, &'a [u8], usize);

    fn next(&mut self) -> Option<Self::Item> {
        let data = self.data;
        loop {
            while data.get(self.position)? != &0xff {
                self.position += 1;
            }
            while data.get(self.position)? == &0xff {
                self.position += 1;
            }
            let marker = *data.get(self.position)?;
            self.position += 1;
            if marker == 0xd8 || (0xd0..=0xd7).contains(&marker) || marker == 0x01 {
                continue;
            }
            if marker == 0xd9 {
                return None;
            }
            let length = usize::from(u16::from_be_bytes([
                *data.get(self.position)?,
                *data.get(self.position + 1)?,
            ]));
            let segment = data.get(self.position + 2..self.position + length)?;
            self.position += length;
            return Some((marker, segment, self.position));
        }
    }
}

/// Decodes a baseline JPEG; `None` when the file uses a feature this decoder leaves to the
/// fallback, or is malformed in a way the fallback should judge (images above `max_pixels`
/// included).
pub fn decode_baseline(data: &[u8], max_pixels: u64) -> Option<Decoded> {
    let mut quant = [[0i32; 64]; 4];
    let mut dc_tables: [Option<HuffmanTable>; 4] = Default::default();
    let mut ac_tables: [Option<HuffmanTable>; 4] = Default::default();
    let mut components: Vec<Component> = Vec::new();
    let (mut width, mut height) = (0usize, 0usize);
    let mut restart_interval = 0usize;
    let mut adobe_transform: Option<u8> = None;
    // The walk ending (EOI, or data cut short) before any scan leaves the file to the fallback.
    for (marker, segment, position) in segments(data)? {
        match marker {
            0xc0 | 0xc1 => {
                // A segment too short for its fields, or a second frame header (both once
                // panicked on an index: fuzz/regressions/jpeg/): the fallback judges.
                let header = segment.get(..6)?;
                if header[0] != 8 || !components.is_empty() {
                    return None;
                }
                height = usize::from(u16::from_be_bytes([header[1], header[2]]));
                width = usize::from(u16::from_be_bytes([header[3], header[4]]));
                let count = usize::from(header[5]);
                if width == 0 || height == 0 || !(count == 1 || count == 3) {
                    return None;
                }
                for i in 0..count {
                    let c = segment.get(6 + i * 3..9 + i * 3)?;
                    let (h, v) = (usize::from(c[1] >> 4), usize::from(c[1] & 15));
                    if !(1..=2).contains(&h) || !(1..=2).contains(&v) || c[2] > 3 {
                        return None;
                    }
                    components.push(Component {
                        id: c[0],
                        h,
                        v,
                        quant: usize::from(c[2]),
                        dc_table: 0,
                        ac_table: 0,
                    });
                }
            }
            0xc2 | 0xc3 | 0xc5..=0xc7 | 0xc9..=0xcb | 0xcd..=0xcf => return None,
            0xc4 => {
                let mut at = 0;
                while at < segment.len() {
                    let class_id = segment[at];
                    let counts: [u8; 16] = segment.get(at + 1..at + 17)?.try_into().ok()?;
                    let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
                    let values = segment.get(at + 17..at + 17 + total)?.to_vec();
                    let table = HuffmanTable::new(&counts, values)?;
                    let index = usize::from(class_id & 15);
                    match (class_id >> 4, index) {
                        (0, 0..=3) => dc_tables[index] = Some(table),
                        (1, 0..=3) => ac_tables[index] = Some(table),
                        _ => return None,
                    }
                    at += 17 + total;
                }
            }
            0xdb => {
                let mut at = 0;
                while at < segment.len() {
                    let (precision, index) = (segment[at] >> 4, usize::from(segment[at] & 15));
                    if index > 3 {
                        return None;
                    }
                    for (k, slot) in quant[index].iter_mut().enumerate() {
                        *slot = if precision == 0 {
                            i32::from(*segment.get(at + 1 + k)?)
                        } else {
                            i32::from(u16::from_be_bytes([
                                *segment.get(at + 1 + 2 * k)?,
                                *segment.get(at + 2 + 2 * k)?,
                            ]))
                        };
                    }
                    at += if precision == 0 { 65 } else { 129 };
                }
            }
            0xdd => {
                restart_interval =
                    usize::from(u16::from_be_bytes([*segment.first()?, *segment.get(1)?]))
            }
            0xee if segment.starts_with(b"Adobe") => adobe_transform = segment.get(11).copied(),
            0xda => {
                let count = usize::from(*segment.first()?);
                if count != components.len() || components.is_empty() {
                    return None; // non-interleaved multi-scan files go to the fallback
                }
                for i in 0..count {
                    let s = segment.get(1 + i * 2..3 + i * 2)?;
                    let component = components.iter_mut().find(|c| c.id == s[0])?;
                    component.dc_table = usize::from(s[1] >> 4).min(3);
                    component.ac_table = usize::from(s[1] & 15).min(3);
                }
                if components.len() == 3 && adobe_transform == Some(0) {
                    return None; // RGB-coded JPEG
                }
                return decode_scan(
                    data,
                    position,
                    &components,
                    &quant,
                    &dc_tables,
                    &ac_tables,
                    (width, height),
                    restart_interval,
                    max_pixels,
                );
            }
            _ => {}
        }
    }
    None
}

#[allow(clippy::too_many_arguments)]
fn decode_scan(
    data: &[u8],
    position: usize,
    components: &[Component],
    quant: &[[i32; 64]; 4],
    dc_tables: &[Option<HuffmanTable>; 4],
    ac_tables: &[Option<HuffmanTable>; 4],
    (width, height): (usize, usize),
    restart_interval: usize,
    max_pixels: u64,
) -> Option<Decoded> {
    if width as u64 * height as u64 > max_pixels {
        return None;
    }
    let h_max = components.iter().map(|c| c.h).max()?;
    let v_max = components.iter().map(|c| c.v).max()?;
    let single = components.len() == 1;
    // A single-component scan is not interleaved: one block per MCU.
    let (mcu_w, mcu_h) = if single {
        (8, 8)
    } else {
        (8 * h_max, 8 * v_max)
    };
    let mcus_x = width.div_ceil(mcu_w);
    let mcus_y = height.div_ceil(mcu_h);
    let mut planes: Vec<Plane> = components
        .iter()
        .map(|c| {
            let (bh, bv) = if single { (1, 1) } else { (c.h, c.v) };
            let stride = mcus_x * bh * 8;
            Plane {
                samples: vec![0; stride * mcus_y * bv * 8],
                stride,
                width: (width * c.h).div_ceil(h_max),
                height: (height * c.v).div_ceil(v_max),
            }
        })
        .collect();
    let mut reader = BitReader::new(data, position);
    let mut predictors = vec![0i32; components.len()];
    let mut coefficients = [0i32; 64];
    let mut block = [0u8; 64];
    let mut mcu_count = 0;
    for mcu_y in 0..mcus_y {
        for mcu_x in 0..mcus_x {
            if restart_interval > 0 && mcu_count > 0 && mcu_count % restart_interval == 0 {
                reader.restart();
                predictors.iter_mut().for_each(|p| *p = 0);
            }
            mcu_count += 1;
            for (index, component) in components.iter().enumerate() {
                let (bh, bv) = if single {
                    (1, 1)
                } else {
                    (component.h, component.v)
                };
                let dc = dc_tables[component.dc_table].as_ref()?;
                let ac = ac_tables[component.ac_table].as_ref()?;
                let q = &quant[component.quant];
                for by in 0..bv {
                    for bx in 0..bh {
                        coefficients.fill(0);
                        let s = reader.symbol(dc)?;
                        predictors[index] =
                            predictors[index].wrapping_add(reader.receive_extend(u32::from(s)));
                        coefficients[0] = dequantize(predictors[index], q[0]);
                        let mut k = 1;
                        while k < 64 {
                            let rs = reader.symbol(ac)?;
                            let (run, size) = (usize::from(rs >> 4), u32::from(rs & 15));
                            if size == 0 {
                                if run == 15 {
                                    k += 16;
                                    continue;
                                }
                                break;
                            }
                            k += run;
                            if k > 63 {
                                break;
                            }
                            coefficients[ZIGZAG[k]] = dequantize(reader.receive_extend(size), q[k]);
                            k += 1;
                        }
                        idct_islow(&coefficients, &mut block);
                        let plane = &mut planes[index];
                        let x0 = (mcu_x * bh + bx) * 8;
                        let y0 = (mcu_y * bv + by) * 8;
                        for row in 0..8 {
                            let at = (y0 + row) * plane.stride + x0;
                            plane.samples[at..at + 8].copy_from_slice(&block[row * 8..row * 8 + 8]);
                        }
                    }
                }
            }
        }
    }
    if reader.past_end {
        return Some(Err(Truncated));
    }
    let mut rgb = vec![0u8; width * height * 3];
    if single {
        let plane = &planes[0];
        for y in 0..height {
            for x in 0..width {
                let g = plane.samples[y * plane.stride + x];
                rgb[(y * width + x) * 3..(y * width + x) * 3 + 3].fill(g);
            }
        }
        return Some(Ok((width, height, rgb)));
    }
    let full: Vec<Vec<u8>> = components
        .iter()
        .zip(&planes)
        .map(|(c, plane)| upsample(plane, h_max / c.h, v_max / c.v, width, height))
        .collect();
    // Sampling ratios other than 1 and 2 are not produced by `upsample`.
    if components
        .iter()
        .any(|c| h_max % c.h != 0 || v_max % c.v != 0)
    {
        return None;
    }
    let [y, cb, cr] = full.as_slice() else {
        return None; // neither grey nor YCbCr (the frame header allows only these)
    };
    ycc_to_rgb(y, cb, cr, &mut rgb);
    Some(Ok((width, height, rgb)))
}

/// A coefficient as libjpeg-turbo stores it (`JCOEF`, 16 bits: its DC predictor wraps and
/// the value is truncated) times its quantiser (at most 65535, so the product fits an i32).
/// Only corrupt files have coefficients outside 16 bits (they once overflowed the product:
/// fuzz/regressions/jpeg/).
fn dequantize(value: i32, quantiser: i32) -> i32 {
    i32::from(value as i16) * quantiser
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_refused_without_panicking() {
        let decode = |data: &[u8]| decode_baseline(data, crate::image_io::MAX_IMAGE_PIXELS);
        assert!(decode(b"").is_none());
        assert!(decode(b"\xff\xd8\xff").is_none());
        assert!(decode(&[0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 8, 0, 0, 0, 0]).is_none());
    }

    /// Hand-made files that panicked (fuzz/regressions/jpeg/, also replayed by the fuzz seed
    /// test): frame headers cut short or repeated go to the fallback, and coefficients far
    /// outside 16 bits (16-bit DC differences, AC values of 15 bits, quantisers of 65535)
    /// decode as libjpeg-turbo's 16-bit coefficients with wrapping arithmetic.
    #[test]
    fn malformed_frames_and_huge_coefficients_do_not_panic() {
        let decode = |data: &[u8]| decode_baseline(data, crate::image_io::MAX_IMAGE_PIXELS);
        let regression = |name: &str| {
            let path = sightline_test_support::manifest_dir()
                .join("fuzz/regressions/jpeg")
                .join(name);
            std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        };
        for name in ["sof-short.jpg", "sof-short-5.jpg", "two-sof.jpg"] {
            assert!(decode(&regression(name)).is_none(), "{name}");
        }
        for (name, width) in [("dc-overflow.jpg", 64), ("idct-overflow.jpg", 8)] {
            let Some(Ok((w, h, rgb))) = decode(&regression(name)) else {
                panic!("{name}: not decoded");
            };
            assert_eq!(
                (w, h, rgb.len()),
                (width, width, width * width * 3),
                "{name}"
            );
        }
        // The DC predictor wraps, the coefficient keeps its low 16 bits (as `JCOEF`).
        assert_eq!(dequantize(0x1_0001, 3), 3);
        assert_eq!(dequantize(-32768, 65535), -32768 * 65535);
    }
}
