//! The worker's model engine, free of browser code: a cache of loaded models keyed by
//! content key, detection and filtering over images with progress and cancel, and every
//! failure turned into a typed error. The browser glue (`web.rs`) supplies a [`Host`] that
//! reads IndexedDB and fetches URLs; native tests supply one that reads memory.
//!
//! Requests run concurrently (each message is its own task), so all state sits behind
//! short `RefCell` borrows that never live across an `.await`; a model in use by one
//! request is waited for by another (`Loaded::busy`).

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use burn::tensor::Device;
use image::RgbImage;
use sightline_protocol::{
    Backend, BackendChoice, ContentKey, DetectParams, Detection, FilterParams, ImageDetections,
    ImageError, ImageRef, ImageResult, ImageSource, ModelInfo, ModelTask, PRECISION_PROBE_IMAGES,
    PrecisionChoice, Progress, ReplyBody, RequestId, WorkerError,
};
use sightline_vision::{Detector, ModelConfig, OnnxModel, Precision};

/// A model as the page stored it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredModel {
    /// The name the page gave it (the file name).
    pub name: String,
    pub onnx: Vec<u8>,
    /// AnyLabeling YAML, when the user added one.
    pub config: Option<String>,
}

/// What the engine needs from its surroundings.
#[allow(async_fn_in_trait)] // used in one thread, never as `dyn`
pub trait Host {
    /// The stored model under `key`: `ModelNotFound` or `Storage` on failure.
    async fn read_model(&self, key: &str) -> Result<StoredModel, WorkerError>;
    /// An image's encoded bytes.
    async fn read_image(&self, source: &ImageSource) -> Result<Vec<u8>, ImageError>;
    /// Lets other tasks (a `Cancel`) run.
    async fn yield_now(&self);
    /// The device for `choice` and the backend it is, or why it cannot be had.
    async fn device_for(&self, choice: BackendChoice) -> Result<(Device, Backend), WorkerError>;
    /// Reports progress of a request.
    fn progress(&self, progress: Progress);
}

struct Loaded {
    detector: RefCell<Detector>,
    info: ModelInfo,
    /// The precision setting it was loaded for.
    choice: PrecisionChoice,
    /// f16 was wanted but there was no image to check it on: a request with images loads
    /// it again.
    unchecked: bool,
    busy: Cell<bool>,
}

/// The models and the device they run on.
pub struct Engine {
    device: RefCell<Device>,
    backend: RefCell<Backend>,
    models: RefCell<HashMap<ContentKey, Rc<Loaded>>>,
    cancelled: RefCell<HashSet<RequestId>>,
}

impl Engine {
    pub fn new(device: Device, backend: Backend) -> Self {
        Self {
            device: RefCell::new(device),
            backend: RefCell::new(backend),
            models: RefCell::new(HashMap::new()),
            cancelled: RefCell::new(HashSet::new()),
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend.borrow().clone()
    }

    /// Moves to another device: loaded models are dropped (their weights live on the old
    /// device) and load again on first use.
    pub fn set_device(&self, device: Device, backend: Backend) {
        *self.device.borrow_mut() = device;
        *self.backend.borrow_mut() = backend;
        self.models.borrow_mut().clear();
    }

    /// How many models are loaded.
    pub fn loaded(&self) -> usize {
        self.models.borrow().len()
    }

    /// Marks request `target` as cancelled; it stops at its next image.
    pub fn cancel(&self, target: RequestId) {
        self.cancelled.borrow_mut().insert(target);
    }

    pub(crate) fn take_cancelled(&self, id: RequestId) -> bool {
        self.cancelled.borrow_mut().remove(&id)
    }

    /// Loads (once per precision setting) and warms up model `key`; `probe` are images
    /// the f16 model is checked on when f16 is wanted.
    pub async fn load_model(
        &self,
        host: &impl Host,
        key: &str,
        choice: PrecisionChoice,
        probe: &[ImageRef],
    ) -> Result<ModelInfo, WorkerError> {
        Ok(self
            .loaded_model(host, key, choice, probe)
            .await?
            .info
            .clone())
    }

    async fn loaded_model(
        &self,
        host: &impl Host,
        key: &str,
        choice: PrecisionChoice,
        probe: &[ImageRef],
    ) -> Result<Rc<Loaded>, WorkerError> {
        if let Some(loaded) = self.models.borrow().get(key)
            && loaded.choice == choice
            && (!loaded.unchecked || probe.is_empty())
        {
            return Ok(loaded.clone());
        }
        let stored = host.read_model(key).await?;
        let device = self.device.borrow().clone();
        let backend = self.backend();
        let invalid = |detail: String| WorkerError::InvalidModel { detail };
        let config = match &stored.config {
            Some(text) => Some(ModelConfig::from_yaml(text).map_err(|e| invalid(e.to_string()))?),
            None => None,
        };
        let reference = load_detector(&stored, config.as_ref(), &device, Precision::F32)
            .await
            .map_err(invalid)?;
        let (detector, precision_note, unchecked) = match wants_f16(choice, &backend, &device) {
            Err(why) => (reference, why, false),
            Ok(()) => {
                self.checked_f16(host, &stored, config.as_ref(), &device, reference, probe)
                    .await
            }
        };
        let (width, height) = detector.input_size();
        let suggested = config.as_ref().and_then(|c| {
            (c.score_threshold.is_some() || c.nms_threshold.is_some()).then(|| DetectParams {
                confidence: c
                    .score_threshold
                    .unwrap_or(DetectParams::default().confidence),
                iou: c.nms_threshold.unwrap_or(DetectParams::default().iou),
                ..DetectParams::default()
            })
        });
        let name = config
            .as_ref()
            .and_then(|c| c.display_name.clone().or_else(|| c.name.clone()))
            .unwrap_or_else(|| stored.name.trim_end_matches(".onnx").to_owned());
        let info = ModelInfo {
            key: key.to_owned(),
            name,
            classes: detector.class_names().to_vec(),
            input_width: width,
            input_height: height,
            task: if detector.is_segmentation() {
                ModelTask::Segment
            } else {
                ModelTask::Detect
            },
            backend,
            suggested,
            precision: match detector.precision() {
                Precision::F32 => sightline_protocol::Precision::F32,
                Precision::F16 => sightline_protocol::Precision::F16,
            },
            precision_note,
        };
        let loaded = Rc::new(Loaded {
            detector: RefCell::new(detector),
            info,
            choice,
            unchecked,
            busy: Cell::new(false),
        });
        // Another request may have loaded it meanwhile: keep the first, unless it was loaded
        // for another precision setting or this one checked f16 where it could not.
        let loaded = self
            .models
            .borrow_mut()
            .entry(key.to_owned())
            .and_modify(|old| {
                if old.choice != choice || (old.unchecked && !loaded.unchecked) {
                    *old = loaded.clone();
                }
            })
            .or_insert(loaded)
            .clone();
        Ok(loaded)
    }

    /// The f16 model when it finds what `reference` (f32) finds on the first decodable
    /// `probe` images, else `reference`; with a note saying which and why, and whether
    /// there was no image to check on.
    async fn checked_f16(
        &self,
        host: &impl Host,
        stored: &StoredModel,
        config: Option<&ModelConfig>,
        device: &Device,
        reference: Detector,
        probe: &[ImageRef],
    ) -> (Detector, String, bool) {
        let mut images = Vec::new();
        for image in probe {
            if images.len() == PRECISION_PROBE_IMAGES {
                break;
            }
            if let Ok(decoded) = read_and_decode(host, image).await {
                images.push(decoded);
            }
        }
        if images.is_empty() {
            let why = "f32: no images to check f16 against".to_owned();
            return (reference, why, true);
        }
        let half = match load_detector(stored, config, device, Precision::F16).await {
            Ok(half) => half,
            Err(why) => return (reference, format!("f32, not f16: {why}"), false),
        };
        let pixels: Vec<&RgbImage> = images.iter().collect();
        match half.agrees_with_async(&reference, &pixels).await {
            Ok(()) => (
                half,
                format!("f16: same detections as f32 on {} image(s)", pixels.len()),
                false,
            ),
            Err(why) => (reference, format!("f32, not f16: {why}"), false),
        }
    }

    /// Frees model `key`.
    pub fn unload(&self, key: &str) {
        self.models.borrow_mut().remove(key);
    }

    /// Runs model `key` on `images` (and says which match `filter`, when given). One
    /// result per image; a cancel returns the images finished before it.
    pub async fn detect(
        &self,
        host: &impl Host,
        id: RequestId,
        key: &str,
        images: &[ImageRef],
        params: &DetectParams,
        filter: Option<&FilterParams>,
    ) -> Result<ReplyBody, WorkerError> {
        let probe = &images[..images.len().min(PRECISION_PROBE_IMAGES)];
        let loaded = self
            .loaded_model(host, key, params.precision, probe)
            .await?;
        // One request at a time per model (its options are set per request).
        while loaded.busy.get() {
            host.yield_now().await;
            if self.take_cancelled(id) {
                return Err(WorkerError::Cancelled {
                    finished: Vec::new(),
                });
            }
        }
        loaded.busy.set(true);
        let result = self
            .detect_with(host, id, &loaded, images, params, filter)
            .await;
        loaded.busy.set(false);
        result
    }

    async fn detect_with(
        &self,
        host: &impl Host,
        id: RequestId,
        loaded: &Loaded,
        images: &[ImageRef],
        params: &DetectParams,
        filter: Option<&FilterParams>,
    ) -> Result<ReplyBody, WorkerError> {
        {
            let mut detector = loaded.detector.borrow_mut();
            detector.options.score_threshold = params.confidence;
            detector.options.iou_threshold = params.iou;
        }
        let total = images.len() as u64;
        let batch = (params.batch as usize).max(1);
        let mut results = Vec::with_capacity(images.len());
        for chunk in images.chunks(batch) {
            host.yield_now().await;
            if self.take_cancelled(id) {
                return Err(WorkerError::Cancelled { finished: results });
            }
            host.progress(Progress {
                id,
                done: results.len() as u64,
                total,
                stage: chunk[0].name.clone(),
            });
            let outcomes = self.detect_chunk(host, loaded, chunk, filter).await;
            results.extend(
                chunk
                    .iter()
                    .zip(outcomes)
                    .map(|(image, outcome)| ImageResult {
                        name: image.name.clone(),
                        outcome,
                    }),
            );
        }
        host.progress(Progress {
            id,
            done: total,
            total,
            stage: String::new(),
        });
        // A cancel that came after the last image changes nothing.
        self.take_cancelled(id);
        Ok(ReplyBody::Detections { results })
    }

    /// Reads and decodes `chunk` (each image that fails gets its own error), then runs the
    /// decoded ones through the model in one forward pass when the model allows it.
    #[allow(clippy::await_holding_refcell_ref)] // see the borrow below
    async fn detect_chunk(
        &self,
        host: &impl Host,
        loaded: &Loaded,
        chunk: &[ImageRef],
        filter: Option<&FilterParams>,
    ) -> Vec<Result<ImageDetections, ImageError>> {
        let mut decoded = Vec::with_capacity(chunk.len());
        for image in chunk {
            decoded.push(read_and_decode(host, image).await);
        }
        let pixels: Vec<&RgbImage> = decoded.iter().filter_map(|d| d.as_ref().ok()).collect();
        // Held across the read-back: only `detect_with` borrows mutably, and it runs for one
        // request at a time per model (`Loaded::busy`), so no borrow can conflict.
        let mut found = {
            let detector = loaded.detector.borrow();
            detector.detect_batch_async(&pixels).await
        }
        .into_iter();
        decoded
            .into_iter()
            .map(|image| {
                let image = image?;
                let (width, height) = image.dimensions();
                let found = found.next().ok_or_else(|| ImageError::Inference {
                    detail: "the batch gave no result for this image".into(),
                })?;
                let detections: Vec<Detection> = found.map_err(|e| ImageError::Inference {
                    detail: e.to_string(),
                })?;
                let matches = filter.map(|f| f.matches(&detections));
                Ok(ImageDetections {
                    width,
                    height,
                    detections,
                    matches,
                })
            })
            .collect()
    }
}

/// Whether f16 is worth trying for `choice` on this device, or why not.
fn wants_f16(choice: PrecisionChoice, backend: &Backend, device: &Device) -> Result<(), String> {
    let has_f16 = Precision::F16.supported_on(device);
    match choice {
        PrecisionChoice::F32 => Err("f32: chosen in the settings".to_owned()),
        PrecisionChoice::F16 if has_f16 => Ok(()),
        PrecisionChoice::F16 => Err(format!(
            "f32: the {} backend has no f16 arithmetic here",
            backend.label()
        )),
        PrecisionChoice::Auto => match backend {
            Backend::WebGpu { .. } if has_f16 => Ok(()),
            Backend::WebGpu { .. } => {
                Err("f32: this GPU has no f16 arithmetic (shader-f16)".to_owned())
            }
            Backend::Cpu { .. } => Err("f32: f16 is used on a GPU only (auto)".to_owned()),
        },
    }
}

/// Builds the detector of a stored model in `precision` and warms it up: the first forward
/// compiles kernels (WebGPU) and sizes buffers.
async fn load_detector(
    stored: &StoredModel,
    config: Option<&ModelConfig>,
    device: &Device,
    precision: Precision,
) -> Result<Detector, String> {
    let detector = match config {
        Some(config) => Detector::from_config_with(config, &stored.onnx, device, precision)
            .map_err(|e| e.to_string())?,
        None => {
            let model = OnnxModel::from_bytes_with(&stored.onnx, device, precision)
                .map_err(|e| e.to_string())?;
            Detector::new(model, None, None).map_err(|e| e.to_string())?
        }
    };
    let (width, height) = detector.input_size();
    let blank = image::RgbImage::from_pixel(width, height, image::Rgb([114, 114, 114]));
    detector
        .detect_async(&blank)
        .await
        .map_err(|e| format!("the model failed its first run: {e}"))?;
    Ok(detector)
}

/// An image's bytes read from wherever it lives, then decoded to RGB.
pub(crate) async fn read_and_decode(
    host: &impl Host,
    image: &ImageRef,
) -> Result<RgbImage, ImageError> {
    let bytes = host.read_image(&image.source).await?;
    sightline_vision::image_io::decode_image(&bytes).map_err(|e| ImageError::Decode {
        detail: e.to_string(),
    })
}
