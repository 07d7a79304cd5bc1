//! `Resize` (and its opset-10 form): nearest upsampling by whole factors, as in every YOLO
//! neck, done exactly by repetition; bilinear through burn's `interpolate`.

use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};

use super::{NodeContext, kernels};
use crate::error::Result;
use crate::runtime::value::{DeviceTensor, Value};

/// `Resize` of a rank-4 tensor over its two spatial axes.
pub fn resize(mut ctx: NodeContext<'_>) -> Result<Vec<Value>> {
    let x = ctx.take_tensor(0)?;
    if x.rank() != 4 {
        return Err(ctx.error(format!(
            "only rank-4 inputs are supported (got {:?})",
            x.shape
        )));
    }
    let (scales_index, sizes_index) = if ctx.opset >= 11 {
        (2, Some(3))
    } else {
        (1, None)
    };
    let sizes = match sizes_index.and_then(|i| ctx.optional(i)) {
        Some(_) => Some(ctx.host_ints(sizes_index.unwrap_or(3))?),
        None => None,
    }
    .filter(|s| !s.is_empty());
    let out_shape: Vec<usize> = if let Some(sizes) = sizes {
        ctx.positive("sizes", &sizes)?
    } else {
        let scales = ctx.host_floats(scales_index)?;
        if scales.len() != 4 || scales.iter().any(|s| !s.is_finite() || *s <= 0.0) {
            return Err(ctx.error(format!("scales {scales:?} must be 4 positive numbers")));
        }
        x.shape
            .iter()
            .zip(&scales)
            .map(|(&d, &s)| (d as f32 * s).floor() as usize)
            .collect()
    };
    if out_shape.len() != 4 || out_shape[0] != x.shape[0] || out_shape[1] != x.shape[1] {
        return Err(ctx.error(format!(
            "only spatial resizing is supported ({:?} → {out_shape:?})",
            x.shape
        )));
    }
    if out_shape.contains(&0) || out_shape[2] > 1 << 16 || out_shape[3] > 1 << 16 {
        return Err(ctx.error(format!("output size {out_shape:?} is out of range")));
    }
    let mode = ctx.attr_string("mode", "nearest");
    let coordinates = ctx.attr_string("coordinate_transformation_mode", "half_pixel");
    let nearest_mode = ctx.attr_string("nearest_mode", "round_prefer_floor");
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
    let (out_h, out_w) = (out_shape[2], out_shape[3]);

    match mode.as_str() {
        "nearest" => {
            let whole = out_h % h == 0 && out_w % w == 0;
            let (fh, fw) = (out_h / h, out_w / w);
            // For whole factors, every mode below picks source index floor(dst / factor).
            let floor_like = (coordinates == "asymmetric" && nearest_mode == "floor")
                || (fh <= 2 && fw <= 2)
                || (matches!(
                    coordinates.as_str(),
                    "half_pixel" | "pytorch_half_pixel" | "tf_half_pixel_for_nn"
                ) && nearest_mode == "round_prefer_floor");
            if !whole || !floor_like {
                return Err(ctx.error(format!(
                    "nearest resize {:?} → {out_shape:?} with {coordinates}/{nearest_mode} is not supported",
                    x.shape
                )));
            }
            let y = kernels::upsample_nearest(&ctx, x, [fh, fw], |x| {
                let y = x
                    .padded
                    .reshape([n, c, h, 1, w, 1])
                    .expand([n, c, h, fh, w, fw])
                    .reshape([1, 1, n, c, out_h, out_w]);
                DeviceTensor::from_padded(y, out_shape)
            })?;
            Ok(vec![Value::Device(y)])
        }
        "linear" => {
            let align_corners = match coordinates.as_str() {
                "half_pixel" | "pytorch_half_pixel" => false,
                "align_corners" => true,
                other => {
                    return Err(ctx.error(format!(
                        "linear resize with {other} coordinates is not supported"
                    )));
                }
            };
            let options = InterpolateOptions::new(InterpolateMode::Bilinear)
                .with_align_corners(align_corners)
                .with_output_size([out_h, out_w]);
            let y = interpolate(x.as_4d(), options);
            Ok(vec![Value::Device(DeviceTensor::from_4d(y))])
        }
        other => Err(ctx.error(format!("resize mode {other} is not supported"))),
    }
}
