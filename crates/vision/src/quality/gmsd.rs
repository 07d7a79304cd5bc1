//! GMSD as pyiqa's `gmsd` computes it.

use std::sync::OnceLock;

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Tensor, TensorData};

use super::color::y_channel;
use super::scalar;

/// pyiqa's stabilising constant for 0..255 gradients.
const T: f32 = 170.0;

/// pyiqa `gmsd` (`GMSD(test_y_channel=True)`): on YIQ's Y times 255, rounded; a 2x2 mean
/// with stride 2 (pyiqa's `aveKernel` convolution, an odd last row or column dropped);
/// Prewitt gradients `[1 0 -1] / 3` and its transpose (correlation, zero padding 1, 'same'
/// size), magnitude `sqrt(gx^2 + gy^2 + 1e-12)`; the similarity map
/// `(2 g1 g2 + 170) / (g1^2 + g2^2 + 170)` and its standard deviation with Bessel's
/// correction (`torch.std`). f32 throughout, as pyiqa. NaN when the halved image has
/// fewer than two pixels (pyiqa raises or gives NaN).
pub fn gmsd(x: Tensor<4>, y: Tensor<4>) -> f64 {
    let [_, _, h, w] = x.dims();
    if (h / 2) * (w / 2) < 2 {
        return f64::NAN;
    }
    // Both luminances through one pipeline: batch 0 is `x`'s, batch 1 is `y`'s.
    let luma = Tensor::cat(vec![y_channel(x, 255.0), y_channel(y, 255.0)], 0);
    let g = gradient_magnitude(luma);
    let (g1, g2) = (g.clone().narrow(0, 0, 1), g.narrow(0, 1, 1));
    let map = ((g1.clone() * g2.clone() * 2.0).add_scalar(T)
        / (g1.clone() * g1 + g2.clone() * g2).add_scalar(T))
    .flatten::<1>(0, 3);
    let n = map.dims()[0] as f32;
    let centred = map.clone() - map.mean();
    let var = centred.powi_scalar(2).sum() / (n - 1.0);
    scalar(var.sqrt())
}

/// The gradient magnitude (`[N, 1, H/2, W/2]`) of the 2x2-averaged `luma` (`[N, 1, H, W]`).
fn gradient_magnitude(luma: Tensor<4>) -> Tensor<4> {
    // The 2x2 mean, then the rows of `dx` and of `dy`, as pyiqa's float32 tensors hold them.
    static WEIGHTS: OnceLock<(Vec<f32>, Vec<f32>)> = OnceLock::new();
    let (mean, prewitt) = WEIGHTS.get_or_init(|| {
        let dx = [1.0f32, 0.0, -1.0, 1.0, 0.0, -1.0, 1.0, 0.0, -1.0];
        let dy = [1.0f32, 1.0, 1.0, 0.0, 0.0, 0.0, -1.0, -1.0, -1.0];
        (
            vec![0.25; 4],
            dx.iter().chain(&dy).map(|v| v / 3.0).collect(),
        )
    });
    let device = luma.device();
    let weight = |values: &Vec<f32>, shape: [usize; 4]| {
        Tensor::<4>::from_data(TensorData::new(values.clone(), shape), &device)
    };
    // A stride-2 convolution as pyiqa has it (burn's CPU average pool is far slower).
    let luma = conv2d(
        luma,
        weight(mean, [1, 1, 2, 2]),
        None,
        ConvOptions::new([2, 2], [0, 0], [1, 1], 1),
    );
    // Both gradients from one convolution: output channel 0 is `dx`'s, 1 is `dy`'s.
    let g = conv2d(
        luma,
        weight(prewitt, [2, 1, 3, 3]),
        None,
        ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
    );
    g.powi_scalar(2).sum_dim(1).add_scalar(1e-12).sqrt()
}
