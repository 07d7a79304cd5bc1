//! The whole pipeline for every supported model kind: letterbox → model → decode → NMS →
//! boxes (and polygons) in original-image pixels.

use image::RgbImage;

use crate::detection::{Detection, same_detections};
use crate::error::{Result, VisionError};
use crate::model_config::ModelConfig;
use crate::runtime::{ModelOutput, OnnxModel, Precision};
use crate::yolo::contour::{largest_contour, simplify_closed};
use crate::yolo::decode::{DecodeThresholds, HeadLayout, decode_head};
use crate::yolo::letterbox::{Letterbox, letterbox};
use crate::yolo::mask::{Prototypes, mask_for_box};
use crate::yolo::names::parse_names;
use crate::yolo::nms::non_max_suppression;

/// Thresholds and limits of post-processing (Ultralytics' `predict` defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorOptions {
    /// Minimum confidence (`conf`).
    pub score_threshold: f32,
    /// NMS IoU threshold (`iou`).
    pub iou_threshold: f32,
    /// Minimum objectness for classic YOLOv5 heads (defaults to `score_threshold`).
    pub objectness_threshold: Option<f32>,
    /// At most this many detections per image (`max_det`).
    pub max_detections: usize,
    /// Douglas–Peucker tolerance for mask polygons, in model-input pixels.
    pub polygon_tolerance: f32,
}

impl Default for DetectorOptions {
    fn default() -> Self {
        Self {
            score_threshold: 0.25,
            iou_threshold: 0.45,
            objectness_threshold: None,
            max_detections: 300,
            polygon_tolerance: 1.0,
        }
    }
}

/// A reduced-precision model is used only when its boxes overlap the f32 model's this much
/// (the tolerance the Ultralytics references are checked with)…
pub const PRECISION_MIN_IOU: f32 = 0.95;
/// …and its scores are this close.
pub const PRECISION_MAX_SCORE_DELTA: f32 = 0.01;

/// The largest model input, in pixels: 8192 × 8192, whose f32 RGB tensor alone is 805 MB.
/// A model declares its input size, and a hostile or broken one may declare anything: above
/// this the first image would ask for gigabytes (32768 × 32768 is 12.9 GB), so the model is
/// refused when it is loaded. Real YOLO exports are 320 to 1920 pixels a side.
pub const MAX_INPUT_PIXELS: u64 = 8192 * 8192;

/// Raw outputs read back to the host: (shape, values) per output, in graph order.
pub type HostOutputs = Vec<(Vec<usize>, Vec<f32>)>;

/// A YOLO detector or segmenter ready to run.
#[derive(Debug)]
pub struct Detector {
    model: OnnxModel,
    layout: HeadLayout,
    class_names: Vec<String>,
    input_size: (u32, u32),
    /// Post-processing settings; change freely between calls.
    pub options: DetectorOptions,
}

impl Detector {
    /// Wraps a loaded model. `layout` and `class_names` default to what the outputs and the
    /// ONNX metadata say.
    pub fn new(
        model: OnnxModel,
        layout: Option<HeadLayout>,
        class_names: Option<Vec<String>>,
    ) -> Result<Self> {
        let input = model
            .inputs()
            .first()
            .ok_or_else(|| VisionError::InvalidModel("no input".into()))?;
        let (height, width) = match input.shape.as_slice() {
            [_, Some(3), Some(h), Some(w)] => (*h, *w),
            other => {
                return Err(VisionError::InvalidModel(format!(
                    "input `{}` must be a static [N, 3, H, W] image tensor, found {other:?} \
                     (export with a fixed imgsz)",
                    input.name
                )));
            }
        };
        // usize to u128 is lossless: no product of two sides overflows.
        let pixels = width as u128 * height as u128;
        if pixels > u128::from(MAX_INPUT_PIXELS) {
            return Err(VisionError::InvalidModel(format!(
                "input `{}` is declared {width}x{height}, over the limit of {MAX_INPUT_PIXELS} \
                 pixels (one image would take {} MB)",
                input.name,
                pixels * 3 * 4 / 1_000_000
            )));
        }
        let input_size = (
            u32::try_from(width).map_err(|_| VisionError::InvalidModel("input too wide".into()))?,
            u32::try_from(height)
                .map_err(|_| VisionError::InvalidModel("input too tall".into()))?,
        );
        let head = model
            .outputs()
            .first()
            .ok_or_else(|| VisionError::InvalidModel("no output".into()))?;
        let layout = match layout {
            Some(layout) => layout,
            None => match head.shape.as_slice() {
                [_, Some(a), Some(b)] if a > b => HeadLayout::Classic,
                _ => HeadLayout::AnchorFree,
            },
        };
        let class_names = match class_names {
            Some(names) => names,
            None => model
                .metadata_value("names")
                .and_then(parse_names)
                .unwrap_or_default(),
        };
        Ok(Self {
            model,
            layout,
            class_names,
            input_size,
            options: DetectorOptions::default(),
        })
    }

    /// Builds a detector from an AnyLabeling config and the ONNX bytes it points at.
    pub fn from_config(
        config: &ModelConfig,
        onnx_bytes: &[u8],
        device: &burn::tensor::Device,
    ) -> Result<Self> {
        Self::from_config_with(config, onnx_bytes, device, Precision::F32)
    }

    /// [`Detector::from_config`] computing in `precision`.
    pub fn from_config_with(
        config: &ModelConfig,
        onnx_bytes: &[u8],
        device: &burn::tensor::Device,
        precision: Precision,
    ) -> Result<Self> {
        let model = OnnxModel::from_bytes_with(onnx_bytes, device, precision)?;
        let mut detector = Self::new(model, Some(config.head_layout()?), config.classes.clone())?;
        if let (Some(w), Some(h)) = (config.input_width, config.input_height)
            && (w, h) != detector.input_size
        {
            return Err(VisionError::Config(format!(
                "the config says {w}x{h} but the model takes {}x{}",
                detector.input_size.0, detector.input_size.1
            )));
        }
        if let Some(score) = config.score_threshold {
            detector.options.score_threshold = score;
        }
        if let Some(iou) = config.nms_threshold {
            detector.options.iou_threshold = iou;
        }
        detector.options.objectness_threshold = config.confidence_threshold;
        Ok(detector)
    }

    /// Loads an `.onnx` file, or an AnyLabeling `.yaml`/`.yml` config and the model it names
    /// (a relative `model_path` is resolved against the config's folder).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load(path: impl AsRef<std::path::Path>, device: &burn::tensor::Device) -> Result<Self> {
        Self::load_with(path, device, Precision::F32)
    }

    /// [`Detector::load`] computing in `precision`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_with(
        path: impl AsRef<std::path::Path>,
        device: &burn::tensor::Device,
        precision: Precision,
    ) -> Result<Self> {
        let path = path.as_ref();
        let read = |p: &std::path::Path| {
            std::fs::read(p).map_err(|err| VisionError::Io {
                path: p.display().to_string(),
                message: err.to_string(),
            })
        };
        let is_yaml = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
        if is_yaml {
            let text = String::from_utf8(read(path)?)
                .map_err(|_| VisionError::Config("the config is not UTF-8".into()))?;
            let config = ModelConfig::from_yaml(&text)?;
            if config.model_path.contains("://") {
                return Err(VisionError::Config(format!(
                    "model_path `{}` is a URL; download it and point model_path at the file",
                    config.model_path
                )));
            }
            let model_path = path
                .parent()
                .unwrap_or(std::path::Path::new("."))
                .join(&config.model_path);
            Self::from_config_with(&config, &read(&model_path)?, device, precision)
        } else {
            let model = OnnxModel::from_bytes_with(&read(path)?, device, precision)?;
            Self::new(model, None, None)
        }
    }

    /// The model.
    pub fn model(&self) -> &OnnxModel {
        &self.model
    }

    /// Class names in class-id order.
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// Model input `(width, height)` in pixels.
    pub fn input_size(&self) -> (u32, u32) {
        self.input_size
    }

    /// The head layout.
    pub fn layout(&self) -> HeadLayout {
        self.layout
    }

    /// True for segmentation models (a prototype output exists).
    pub fn is_segmentation(&self) -> bool {
        self.model.outputs().len() >= 2
    }

    /// Whether this detector finds what `reference` finds on `images` (a reduced-precision
    /// copy against the f32 model): the same objects, classes and boxes (IoU ≥
    /// [`PRECISION_MIN_IOU`]) with scores within [`PRECISION_MAX_SCORE_DELTA`]. `Err` names
    /// the first image and difference. Each detector uses its own thresholds.
    pub fn agrees_with(&self, reference: &Detector, images: &[&RgbImage]) -> Result<()> {
        for (index, image) in images.iter().enumerate() {
            self.same_as(&self.detect(image)?, &reference.detect(image)?, index)?;
        }
        Ok(())
    }

    /// [`Detector::agrees_with`] with non-blocking read-backs (WebGPU in the browser).
    pub async fn agrees_with_async(
        &self,
        reference: &Detector,
        images: &[&RgbImage],
    ) -> Result<()> {
        for (index, image) in images.iter().enumerate() {
            let found = self.detect_async(image).await?;
            let wanted = reference.detect_async(image).await?;
            self.same_as(&found, &wanted, index)?;
        }
        Ok(())
    }

    fn same_as(&self, found: &[Detection], wanted: &[Detection], index: usize) -> Result<()> {
        same_detections(found, wanted, PRECISION_MIN_IOU, PRECISION_MAX_SCORE_DELTA).map_err(
            |why| {
                VisionError::Precision(format!(
                    "{} differs from f32 on image {}: {why}",
                    self.model.precision(),
                    index + 1
                ))
            },
        )
    }

    /// The number format the model computes in.
    pub fn precision(&self) -> Precision {
        self.model.precision()
    }

    /// Letterboxes, runs and post-processes one image (blocking read-back).
    pub fn detect(&self, image: &RgbImage) -> Result<Vec<Detection>> {
        check_image(image)?;
        let (input, placement) = letterbox(image, self.input_size);
        let outputs = self.forward(&input)?;
        let host = read_outputs(&outputs)?;
        self.postprocess(&host, &placement)
    }

    /// Detects in several images with one forward pass when the model allows it (see
    /// [`OnnxModel::batching`]), else one image after another. One result per image, in
    /// order: an image that fails does not fail the others.
    pub fn detect_batch(&self, images: &[&RgbImage]) -> Vec<Result<Vec<Detection>>> {
        if images.len() < 2 || self.model.batching().is_err() {
            return images.iter().map(|image| self.detect(image)).collect();
        }
        let mut batch = self.prepare_batch(images);
        let outputs = self
            .forward_batch(&batch.input, batch.placements.len())
            .and_then(|outputs| read_outputs(&outputs));
        if self.finish_batch(&mut batch, outputs).is_err() {
            // Out of memory, say: each image on its own then gets its own result.
            for (index, _) in &batch.placements {
                batch.results[*index] = Some(self.detect(images[*index]));
            }
        }
        batch.into_results()
    }

    /// [`Detector::detect_batch`] with non-blocking read-back (WebGPU in a browser worker).
    pub async fn detect_batch_async(&self, images: &[&RgbImage]) -> Vec<Result<Vec<Detection>>> {
        if images.len() < 2 || self.model.batching().is_err() {
            let mut results = Vec::with_capacity(images.len());
            for image in images {
                results.push(self.detect_async(image).await);
            }
            return results;
        }
        let mut batch = self.prepare_batch(images);
        let outputs = match self.forward_batch(&batch.input, batch.placements.len()) {
            Ok(outputs) => read_outputs_async(&outputs).await,
            Err(err) => Err(err),
        };
        if self.finish_batch(&mut batch, outputs).is_err() {
            for (index, _) in &batch.placements {
                batch.results[*index] = Some(self.detect_async(images[*index]).await);
            }
        }
        batch.into_results()
    }

    /// Letterboxes the usable images of a batch into one NCHW input; the others get their
    /// error at once.
    fn prepare_batch(&self, images: &[&RgbImage]) -> PendingBatch {
        let (w, h) = (self.input_size.0 as usize, self.input_size.1 as usize);
        let mut batch = PendingBatch {
            input: Vec::with_capacity(images.len() * 3 * w * h),
            placements: Vec::with_capacity(images.len()),
            results: Vec::with_capacity(images.len()),
        };
        for (index, image) in images.iter().enumerate() {
            match check_image(image) {
                Ok(()) => {
                    let (pixels, placement) = letterbox(image, self.input_size);
                    batch.input.extend_from_slice(&pixels);
                    batch.placements.push((index, placement));
                    batch.results.push(None);
                }
                Err(err) => batch.results.push(Some(Err(err))),
            }
        }
        batch
    }

    /// Splits a batch's outputs per image and post-processes each; `Err` when the forward
    /// pass or the read-back failed as a whole (nothing is filled in then).
    fn finish_batch(&self, batch: &mut PendingBatch, outputs: Result<HostOutputs>) -> Result<()> {
        let per_image = split_batch(outputs?, batch.placements.len())?;
        for (outputs, (index, placement)) in per_image.iter().zip(&batch.placements) {
            batch.results[*index] = Some(self.postprocess(outputs, placement));
        }
        Ok(())
    }

    /// [`Detector::detect`] with non-blocking read-back (WebGPU in a browser worker).
    pub async fn detect_async(&self, image: &RgbImage) -> Result<Vec<Detection>> {
        check_image(image)?;
        let (input, placement) = letterbox(image, self.input_size);
        let outputs = self.forward(&input)?;
        let host = read_outputs_async(&outputs).await?;
        self.postprocess(&host, &placement)
    }

    /// Runs the model on one letterboxed NCHW input (outputs stay on the device, so that a
    /// browser worker can read them back asynchronously).
    pub fn forward(&self, input: &[f32]) -> Result<Vec<ModelOutput>> {
        let (w, h) = (self.input_size.0 as usize, self.input_size.1 as usize);
        self.model.forward_host(&[(input, &[1, 3, h, w])])
    }

    /// Runs the model on `n` letterboxed NCHW images laid one after another in `input`
    /// (the model must allow batches: [`OnnxModel::batching`]).
    pub fn forward_batch(&self, input: &[f32], n: usize) -> Result<Vec<ModelOutput>> {
        let (w, h) = (self.input_size.0 as usize, self.input_size.1 as usize);
        self.model.forward_host(&[(input, &[n, 3, h, w])])
    }

    /// Turns raw outputs into detections in original-image pixels.
    pub fn postprocess(
        &self,
        outputs: &HostOutputs,
        placement: &Letterbox,
    ) -> Result<Vec<Detection>> {
        let Some((head_shape, head)) = outputs.first() else {
            return Err(VisionError::Outputs("the model produced no output".into()));
        };
        let protos = match outputs.get(1) {
            Some((shape, values)) => match shape.as_slice() {
                [1, count, height, width] => Some(Prototypes {
                    values,
                    count: *count,
                    height: *height,
                    width: *width,
                }),
                other => {
                    return Err(VisionError::Outputs(format!(
                        "prototype output has shape {other:?}, expected [1, nm, h, w]"
                    )));
                }
            },
            None => None,
        };
        let mask_channels = protos.map_or(0, |p| p.count);
        if !matches!(head_shape.as_slice(), [1, _, _]) {
            return Err(VisionError::Outputs(format!(
                "detection output has shape {head_shape:?}, expected [1, a, b]"
            )));
        }
        let score = self.options.score_threshold;
        let thresholds = DecodeThresholds {
            score,
            objectness: self.options.objectness_threshold.unwrap_or(score),
        };
        let candidates = decode_head(head, head_shape, self.layout, mask_channels, thresholds);
        let kept = non_max_suppression(
            candidates,
            self.options.iou_threshold,
            self.options.max_detections,
        );
        let input_size = (self.input_size.0 as usize, self.input_size.1 as usize);
        let detections = kept
            .into_iter()
            .map(|candidate| {
                let polygon = protos.and_then(|protos| {
                    let mask = mask_for_box(
                        &candidate.mask_coefficients,
                        protos,
                        candidate.bbox_in_input,
                        input_size,
                    )?;
                    let contour = largest_contour(&mask.inside, mask.width, mask.height);
                    let simplified = simplify_closed(&contour, self.options.polygon_tolerance);
                    let polygon: Vec<[f32; 2]> = simplified
                        .iter()
                        .map(|p| {
                            placement.point_in_image([p[0] + mask.x0 as f32, p[1] + mask.y0 as f32])
                        })
                        .collect();
                    // Masks lying in the padding collapse onto the image border: no polygon.
                    (polygon.len() >= 3 && polygon_area(&polygon) >= 1.0).then_some(polygon)
                });
                Detection {
                    class_id: u32::try_from(candidate.class_id).unwrap_or(u32::MAX),
                    label: self
                        .class_names
                        .get(candidate.class_id)
                        .cloned()
                        .unwrap_or_else(|| format!("class{}", candidate.class_id)),
                    score: candidate.score,
                    bbox: placement.bbox_in_image(candidate.bbox_in_input),
                    polygon,
                }
            })
            .collect();
        Ok(detections)
    }
}

fn check_image(image: &RgbImage) -> Result<()> {
    if image.width() == 0 || image.height() == 0 {
        return Err(VisionError::Image("the image has no pixels".into()));
    }
    Ok(())
}

/// Area of a simple polygon (shoelace), in squared units of its coordinates.
fn polygon_area(polygon: &[[f32; 2]]) -> f32 {
    let twice: f32 = polygon
        .iter()
        .zip(polygon.iter().cycle().skip(1))
        .map(|(a, b)| a[0] * b[1] - b[0] * a[1])
        .sum();
    twice.abs() / 2.0
}

/// Splits the outputs of a batch of `n` along axis 0 into `n` batches of one.
pub fn split_batch(outputs: HostOutputs, n: usize) -> Result<Vec<HostOutputs>> {
    let mut per_image: Vec<HostOutputs> =
        (0..n).map(|_| Vec::with_capacity(outputs.len())).collect();
    for (shape, values) in outputs {
        if shape.first() != Some(&n) || n == 0 {
            return Err(VisionError::Outputs(format!(
                "an output of shape {shape:?} does not hold a batch of {n}"
            )));
        }
        let mut one = shape.clone();
        one[0] = 1;
        for (image, chunk) in per_image
            .iter_mut()
            .zip(values.chunks_exact(values.len() / n))
        {
            image.push((one.clone(), chunk.to_vec()));
        }
    }
    Ok(per_image)
}

/// A batch between letterbox and post-processing: the images that could run, with where
/// each sits in the caller's list, and a result slot per image.
struct PendingBatch {
    input: Vec<f32>,
    placements: Vec<(usize, Letterbox)>,
    results: Vec<Option<Result<Vec<Detection>>>>,
}

impl PendingBatch {
    fn into_results(self) -> Vec<Result<Vec<Detection>>> {
        self.results
            .into_iter()
            .map(|result| {
                result.unwrap_or_else(|| {
                    Err(VisionError::Outputs(
                        "the batch gave no result for this image".into(),
                    ))
                })
            })
            .collect()
    }
}

/// Reads every output back to the host without blocking (WebGPU in a browser worker).
pub async fn read_outputs_async(outputs: &[ModelOutput]) -> Result<HostOutputs> {
    let mut host = Vec::with_capacity(outputs.len());
    for output in outputs {
        host.push((output.shape().to_vec(), output.to_vec_async().await?));
    }
    Ok(host)
}

/// Reads every output back to the host (blocking).
pub fn read_outputs(outputs: &[ModelOutput]) -> Result<HostOutputs> {
    outputs
        .iter()
        .map(|o| Ok((o.shape().to_vec(), o.to_vec()?)))
        .collect()
}
