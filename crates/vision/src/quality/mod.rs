//! Image quality metrics with pyiqa's numbers (and scikit-image's for `blur_effect`).
//!
//! Every metric is a module of its own, written against burn's [`Tensor`] so it runs on
//! whichever device the image was put on (the CPU backend, wgpu in the worker or natively,
//! CUDA). Where pyiqa transforms in the frequency domain (FSIM, VSI, MAD, CW-SSIM) the FFT
//! runs on the host with `rustfft`: burn-signal's FFT only takes powers of two, and photos
//! are not that size.
//!
//! Inputs follow pyiqa's calling convention: RGB in `[0, 1]`, shape `[1, 3, H, W]`, the
//! distorted image first and the reference second. Each metric's own conventions (which
//! luminance, which windows, whether it downsamples) are documented on its function.
//! Tables a metric needs (filter banks, window weights) are built on first use, once per
//! process or worker, and computation is in f32.

mod color;
mod filter;
mod spectral;

mod blur;
mod cw_ssim;
mod entropy;
mod exposure;
mod fsim;
mod gmsd;
mod mad;
mod ms_ssim;
mod nlpd;
mod piqe;
mod psnr;
mod ssim;
mod vif;
mod vsi;

pub mod duplicates;

use burn::tensor::{Device, Tensor, TensorData};

use crate::error::{Result, VisionError};

/// An RGB image prepared for the metrics: `[1, 3, H, W]`, f32 in `[0, 1]`, on a device.
#[derive(Debug, Clone)]
pub struct QualityImage {
    rgb: Tensor<4>,
}

impl QualityImage {
    /// Puts 8-bit interleaved RGB pixels (`width * height * 3` bytes) on `device`.
    pub fn from_rgb8(pixels: &[u8], width: usize, height: usize, device: &Device) -> Result<Self> {
        if width == 0 || height == 0 || pixels.len() != width * height * 3 {
            return Err(VisionError::Quality(format!(
                "{width}x{height} RGB needs {} bytes, got {}",
                width * height * 3,
                pixels.len()
            )));
        }
        let plane = width * height;
        let mut planar = vec![0f32; plane * 3];
        for (i, rgb) in pixels.chunks_exact(3).enumerate() {
            for (c, &v) in rgb.iter().enumerate() {
                planar[c * plane + i] = f32::from(v) / 255.0;
            }
        }
        let data = TensorData::new(planar, [1, 3, height, width]);
        Ok(Self {
            rgb: Tensor::from_data(data, device),
        })
    }

    /// An image crate RGB image on `device`.
    pub fn from_image(image: &image::RgbImage, device: &Device) -> Result<Self> {
        Self::from_rgb8(
            image.as_raw(),
            image.width() as usize,
            image.height() as usize,
            device,
        )
    }

    /// The tensor, `[1, 3, H, W]` in `[0, 1]`.
    pub fn tensor(&self) -> &Tensor<4> {
        &self.rgb
    }

    /// `(width, height)`.
    pub fn size(&self) -> (usize, usize) {
        let [_, _, h, w] = self.rgb.dims();
        (w, h)
    }
}

pub use sightline_core::quality::{Kind, Metric, UnknownMetric};

/// Scores `image` with `metric`, against `reference` for full-reference metrics (which must
/// then be given, the same size). No-reference metrics ignore `reference`.
pub fn score(
    metric: Metric,
    image: &QualityImage,
    reference: Option<&QualityImage>,
) -> Result<f64> {
    let x = image.tensor().clone();
    let value = match metric.kind() {
        Kind::NoReference => match metric {
            Metric::Piqe => piqe::piqe(x),
            Metric::Entropy => entropy::entropy(x),
            Metric::BlurEffect => blur::blur_effect(x),
            Metric::LaplacianVariance => blur::laplacian_variance(x),
            Metric::DarkFraction => exposure::exposure(x).dark_fraction,
            Metric::BrightFraction => exposure::exposure(x).bright_fraction,
            Metric::MeanLuminance => exposure::exposure(x).mean_luminance,
            Metric::RmsContrast => exposure::rms_contrast(x),
            _ => unreachable!("every no-reference metric is listed"),
        },
        Kind::FullReference => {
            let reference = reference.ok_or_else(|| {
                VisionError::Quality(format!("{} needs a reference image", metric.name()))
            })?;
            if reference.size() != image.size() {
                let ((w, h), (rw, rh)) = (image.size(), reference.size());
                return Err(VisionError::Quality(format!(
                    "the image is {w}x{h} but its reference is {rw}x{rh}"
                )));
            }
            let y = reference.tensor().clone();
            match metric {
                Metric::Psnr => psnr::psnr(x, y),
                Metric::PsnrY => psnr::psnr_y(x, y),
                Metric::Ssim => ssim::ssim(x, y),
                Metric::SsimC => ssim::ssim_rgb(x, y),
                Metric::MsSsim => ms_ssim::ms_ssim(x, y),
                Metric::CwSsim => cw_ssim::cw_ssim(x, y),
                Metric::Fsim => fsim::fsim(x, y),
                Metric::Vif => vif::vif(x, y),
                Metric::Gmsd => gmsd::gmsd(x, y),
                Metric::Nlpd => nlpd::nlpd(x, y),
                Metric::Vsi => vsi::vsi(x, y),
                Metric::Mad => mad::mad(x, y),
                _ => unreachable!("every full-reference metric is listed"),
            }
        }
    };
    Ok(value)
}

/// The single value of a one-element tensor, as f64.
fn scalar(t: Tensor<1>) -> f64 {
    f64::from(t.into_scalar::<f32>())
}
