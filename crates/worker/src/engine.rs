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
    ImageError, ImageRef, ImageResult, ImageSource, ModelInfo, ModelTask, Progress, ReplyBody,
    RequestId, WorkerError,
};
use sightline_vision::{Detector, ModelConfig, OnnxModel};

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

    fn take_cancelled(&self, id: RequestId) -> bool {
        self.cancelled.borrow_mut().remove(&id)
    }

    /// Loads (once) and warms up model `key`.
    pub async fn load_model(&self, host: &impl Host, key: &str) -> Result<ModelInfo, WorkerError> {
        Ok(self.loaded_model(host, key).await?.info.clone())
    }

    async fn loaded_model(&self, host: &impl Host, key: &str) -> Result<Rc<Loaded>, WorkerError> {
        if let Some(loaded) = self.models.borrow().get(key) {
            return Ok(loaded.clone());
        }
        let stored = host.read_model(key).await?;
        let device = self.device.borrow().clone();
        let invalid = |detail: String| WorkerError::InvalidModel { detail };
        let (detector, config) = match &stored.config {
            Some(text) => {
                let config = ModelConfig::from_yaml(text).map_err(|e| invalid(e.to_string()))?;
                let detector = Detector::from_config(&config, &stored.onnx, &device)
                    .map_err(|e| invalid(e.to_string()))?;
                (detector, Some(config))
            }
            None => {
                let model = OnnxModel::from_bytes(&stored.onnx, &device)
                    .map_err(|e| invalid(e.to_string()))?;
                (
                    Detector::new(model, None, None).map_err(|e| invalid(e.to_string()))?,
                    None,
                )
            }
        };
        // Warm-up: the first forward compiles kernels (WebGPU) and sizes buffers.
        let (width, height) = detector.input_size();
        let blank = image::RgbImage::from_pixel(width, height, image::Rgb([114, 114, 114]));
        detector
            .detect_async(&blank)
            .await
            .map_err(|e| invalid(format!("the model failed its first run: {e}")))?;
        let suggested = config.as_ref().and_then(|c| {
            (c.score_threshold.is_some() || c.nms_threshold.is_some()).then(|| DetectParams {
                confidence: c
                    .score_threshold
                    .unwrap_or(DetectParams::default().confidence),
                iou: c.nms_threshold.unwrap_or(DetectParams::default().iou),
                batch: 1,
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
            backend: self.backend(),
            suggested,
        };
        let loaded = Rc::new(Loaded {
            detector: RefCell::new(detector),
            info,
            busy: Cell::new(false),
        });
        // Another request may have loaded it meanwhile: keep the first.
        let loaded = self
            .models
            .borrow_mut()
            .entry(key.to_owned())
            .or_insert(loaded)
            .clone();
        Ok(loaded)
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
        let loaded = self.loaded_model(host, key).await?;
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
                let detections: Vec<Detection> = found
                    .map_err(|e| ImageError::Inference {
                        detail: e.to_string(),
                    })?
                    .into_iter()
                    .map(to_protocol)
                    .collect();
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

/// An image's bytes read from wherever it lives, then decoded to RGB.
async fn read_and_decode(host: &impl Host, image: &ImageRef) -> Result<RgbImage, ImageError> {
    let bytes = host.read_image(&image.source).await?;
    sightline_vision::image_io::decode_image(&bytes).map_err(|e| ImageError::Decode {
        detail: e.to_string(),
    })
}

/// A vision detection as the protocol carries it.
pub fn to_protocol(detection: sightline_vision::Detection) -> Detection {
    Detection {
        class_id: u32::try_from(detection.class_id).unwrap_or(u32::MAX),
        label: detection.class_name,
        score: detection.score,
        bbox: detection.bbox_in_image,
        polygon: detection.polygon_in_image,
    }
}
