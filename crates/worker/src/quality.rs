//! Quality jobs in the worker: no-reference metrics and perceptual hashes per image, and the
//! SSIM that confirms a near-duplicate pair. They run on the CPU backend whatever device
//! models use: the metrics read their results back synchronously, which WebGPU in a browser
//! cannot do.

use sightline_protocol::{
    ImageError, ImageQuality, ImageRef, Metric, Progress, QualityResult, ReplyBody, RequestId,
    Scores, WorkerError,
};
use sightline_vision::ComputeDevice;
use sightline_vision::quality::{QualityImage, duplicates, score};

use crate::engine::{Engine, Host, read_and_decode};

impl Engine {
    /// Scores `images` with `metrics` (and hashes them when `hash`). One result per image; a
    /// cancel stops at the next image.
    pub async fn quality(
        &self,
        host: &impl Host,
        id: RequestId,
        images: &[ImageRef],
        metrics: &[Metric],
        hash: bool,
    ) -> Result<ReplyBody, WorkerError> {
        let device = cpu()?;
        let total = images.len() as u64;
        let mut results = Vec::with_capacity(images.len());
        for image in images {
            host.yield_now().await;
            if self.take_cancelled(id) {
                return Err(WorkerError::Cancelled {
                    finished: Vec::new(),
                });
            }
            host.progress(Progress {
                id,
                done: results.len() as u64,
                total,
                stage: image.name.clone(),
            });
            let outcome = match read_and_decode(host, image).await {
                Ok(pixels) => scored(&pixels, metrics, hash, &device),
                Err(error) => Err(error),
            };
            results.push(QualityResult {
                name: image.name.clone(),
                outcome,
            });
        }
        self.take_cancelled(id);
        Ok(ReplyBody::Quality { results })
    }

    /// The SSIM of each pair at a common size (`vision::quality::duplicates::similarity`).
    pub async fn similarity(
        &self,
        host: &impl Host,
        id: RequestId,
        pairs: &[(ImageRef, ImageRef)],
    ) -> Result<ReplyBody, WorkerError> {
        let device = cpu()?;
        let mut ssim = Vec::with_capacity(pairs.len());
        for (a, b) in pairs {
            host.yield_now().await;
            if self.take_cancelled(id) {
                return Err(WorkerError::Cancelled {
                    finished: Vec::new(),
                });
            }
            let prepared = |pixels: image::RgbImage| {
                QualityImage::from_image(&pixels, &device.device).map_err(|e| ImageError::Decode {
                    detail: e.to_string(),
                })
            };
            let pair = async {
                let a = prepared(read_and_decode(host, a).await?)?;
                let b = prepared(read_and_decode(host, b).await?)?;
                Ok(duplicates::similarity(&a, &b))
            };
            ssim.push(pair.await);
        }
        self.take_cancelled(id);
        Ok(ReplyBody::Similarity { ssim })
    }
}

fn cpu() -> Result<ComputeDevice, WorkerError> {
    ComputeDevice::cpu().map_err(|e| WorkerError::Internal {
        detail: e.to_string(),
    })
}

/// One decoded image's scores and hash. A metric that fails fails the image, naming the
/// metric; one that is undefined for it (a flat image has no blur effect: 0/0) is left out.
fn scored(
    pixels: &image::RgbImage,
    metrics: &[Metric],
    hash: bool,
    device: &ComputeDevice,
) -> Result<ImageQuality, ImageError> {
    let failed = |metric: Metric, detail: String| ImageError::Inference {
        detail: format!("{metric}: {detail}"),
    };
    let image =
        QualityImage::from_image(pixels, &device.device).map_err(|e| ImageError::Decode {
            detail: e.to_string(),
        })?;
    let mut scores = Scores::new();
    for &metric in metrics {
        let value = score(metric, &image, None).map_err(|e| failed(metric, e.to_string()))?;
        if value.is_finite() {
            scores.insert(metric, value);
        }
    }
    let phash = hash.then(|| duplicates::perceptual_hash(&image));
    Ok(ImageQuality { scores, phash })
}
