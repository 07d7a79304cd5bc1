//! Instance masks from prototypes, as Ultralytics' `process_mask`: `sigmoid(coef · protos)`,
//! cropped to the box (in prototype space), upsampled bilinearly to the model input
//! (`align_corners=False`), thresholded at 0.5.

/// A binary mask over a window of the model input.
#[derive(Debug, Clone, PartialEq)]
pub struct InputMask {
    /// Left edge of the window in model-input pixels.
    pub x0: usize,
    /// Top edge of the window in model-input pixels.
    pub y0: usize,
    /// Window width.
    pub width: usize,
    /// Window height.
    pub height: usize,
    /// Row-major `width * height` flags.
    pub inside: Vec<bool>,
}

/// Prototype tensor `[nm, mh, mw]` on the host.
#[derive(Debug, Clone, Copy)]
pub struct Prototypes<'a> {
    /// Row-major values.
    pub values: &'a [f32],
    /// Number of prototypes (`nm`).
    pub count: usize,
    /// Prototype height.
    pub height: usize,
    /// Prototype width.
    pub width: usize,
}

/// Computes the mask of one detection over its box window in the model input
/// (`input_size` is `(width, height)`).
pub fn mask_for_box(
    coefficients: &[f32],
    protos: Prototypes<'_>,
    bbox_in_input: [f32; 4],
    input_size: (usize, usize),
) -> Option<InputMask> {
    let (input_w, input_h) = input_size;
    let (mw, mh) = (protos.width, protos.height);
    if coefficients.len() != protos.count
        || protos.values.len() < protos.count * mw * mh
        || mw == 0
        || mh == 0
    {
        return None;
    }
    let ratio_x = mw as f32 / input_w as f32;
    let ratio_y = mh as f32 / input_h as f32;
    let [bx1, by1, bx2, by2] = bbox_in_input;
    let crop = [bx1 * ratio_x, by1 * ratio_y, bx2 * ratio_x, by2 * ratio_y];

    // Probabilities in prototype space, zero outside the (downscaled) box as crop_mask does:
    // a cell (c, r) survives when x1 <= c < x2 and y1 <= r < y2.
    let plane = mw * mh;
    let mut probability = vec![0f32; plane];
    for r in 0..mh {
        let rf = r as f32;
        if rf < crop[1] || rf >= crop[3] {
            continue;
        }
        for c in 0..mw {
            let cf = c as f32;
            if cf < crop[0] || cf >= crop[2] {
                continue;
            }
            let mut logit = 0f32;
            for (k, &coefficient) in coefficients.iter().enumerate() {
                logit += coefficient * protos.values[k * plane + r * mw + c];
            }
            probability[r * mw + c] = 1.0 / (1.0 + (-logit).exp());
        }
    }

    // Window in input pixels: the box plus one prototype cell of margin.
    let margin_x = (input_w as f32 / mw as f32).ceil();
    let margin_y = (input_h as f32 / mh as f32).ceil();
    let x0 = (bx1 - margin_x).floor().clamp(0.0, input_w as f32) as usize;
    let y0 = (by1 - margin_y).floor().clamp(0.0, input_h as f32) as usize;
    let x1 = (bx2 + margin_x).ceil().clamp(0.0, input_w as f32) as usize;
    let y1 = (by2 + margin_y).ceil().clamp(0.0, input_h as f32) as usize;
    if x1 <= x0 || y1 <= y0 {
        return None;
    }
    let (width, height) = (x1 - x0, y1 - y0);
    let mut inside = vec![false; width * height];
    let scale_x = mw as f32 / input_w as f32;
    let scale_y = mh as f32 / input_h as f32;
    let taps = |dest: usize, scale: f32, len: usize| {
        let source = ((dest as f32 + 0.5) * scale - 0.5).max(0.0);
        let i0 = (source.floor() as usize).min(len - 1);
        let i1 = (i0 + 1).min(len - 1);
        let t = source - i0 as f32;
        (i0, i1, t)
    };
    for y in 0..height {
        let (r0, r1, ty) = taps(y0 + y, scale_y, mh);
        for x in 0..width {
            let (c0, c1, tx) = taps(x0 + x, scale_x, mw);
            let top = probability[r0 * mw + c0] * (1.0 - tx) + probability[r0 * mw + c1] * tx;
            let bottom = probability[r1 * mw + c0] * (1.0 - tx) + probability[r1 * mw + c1] * tx;
            inside[y * width + x] = top * (1.0 - ty) + bottom * ty > 0.5;
        }
    }
    Some(InputMask {
        x0,
        y0,
        width,
        height,
        inside,
    })
}
