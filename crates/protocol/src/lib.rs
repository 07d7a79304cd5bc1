//! The messages that cross the boundary between the page and the inference worker.
//!
//! Every request carries an id; the worker answers each with zero or more [`Progress`]
//! messages and exactly one final [`Reply`], whose outcome is a typed result or a typed
//! [`WorkerError`] — never a bare string and never a panic across the boundary. Messages
//! travel as JSON text through `postMessage` (see [`encode`] / [`decode`]), so this crate is
//! tested natively like any other.

use serde::{Deserialize, Serialize};

/// One object a model found, in original-image pixels: the type the vision decoder returns,
/// carried as it is (the serde field names are this protocol's).
pub use sightline_core::detection::Detection;
pub use sightline_core::duplicates::PerceptualHash;
pub use sightline_core::quality::{Metric, Scores};

/// Version of this protocol; the page refuses a worker that speaks another.
pub const PROTOCOL_VERSION: u32 = 5;

/// Identifies one request so its replies can be matched to it.
pub type RequestId = u64;

/// Names stored bytes by their content: the lowercase hex SHA-256 of the bytes. Models and
/// images are stored in IndexedDB under this key (see [`store`]), so page and worker name the
/// same bytes the same way and a model loaded twice is loaded once.
pub type ContentKey = String;

pub mod settings;
pub mod store;

/// What the page asks of the worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub id: RequestId,
    pub body: RequestBody,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RequestBody {
    /// Asks who the worker is and which compute backend it uses.
    Ping,
    /// Overrides the backend chosen at start-up (a setting); models loaded on the old one
    /// are dropped and reload lazily. Answered with [`ReplyBody::Pong`].
    SetBackend { choice: BackendChoice },
    /// Loads a model stored in IndexedDB (`store::MODELS`) into the worker's model cache and
    /// warms it up once, in the number format `precision` asks for: f16 is used only when
    /// it finds what f32 finds on `probe` (a few of the user's images). Loading a key
    /// already cached in that choice answers at once. Answered with
    /// [`ReplyBody::ModelLoaded`].
    LoadModel {
        model: ContentKey,
        #[serde(default)]
        precision: PrecisionChoice,
        #[serde(default)]
        probe: Vec<ImageRef>,
    },
    /// Drops a model from the cache, freeing its weights. Answered with
    /// [`ReplyBody::Unloaded`].
    UnloadModel { model: ContentKey },
    /// Runs a model on images (one or a batch), loading the model first if needed.
    /// Progress counts images; the reply holds one result per image, in order. A cancelled
    /// request ends with [`WorkerError::Cancelled`] and the results of the images finished
    /// before the cancel are in its `finished`.
    Detect {
        model: ContentKey,
        images: Vec<ImageRef>,
        params: DetectParams,
    },
    /// Like `Detect`, and says for each image whether it matches `filter`.
    Filter {
        model: ContentKey,
        images: Vec<ImageRef>,
        params: DetectParams,
        filter: FilterParams,
    },
    /// Scores images with no-reference quality metrics (and their perceptual hash when
    /// `hash`). Progress counts images; the reply holds one result per image, in order.
    /// Answered with [`ReplyBody::Quality`]; a cancel ends it with
    /// [`WorkerError::Cancelled`] (the page sends few images per request and keeps what
    /// earlier requests returned).
    Quality {
        images: Vec<ImageRef>,
        metrics: Vec<Metric>,
        #[serde(default)]
        hash: bool,
    },
    /// Measures how alike each pair of images is (SSIM of their grey versions at a common
    /// size): what confirms a near-duplicate candidate found by hash. Answered with
    /// [`ReplyBody::Similarity`].
    Similarity { pairs: Vec<(ImageRef, ImageRef)> },
    /// Stops request `target` at the next image boundary. Answered at once with
    /// [`ReplyBody::CancelRequested`].
    Cancel { target: RequestId },
    /// Makes the worker panic, never answered: how the page's recovery from a dead worker
    /// is tested (a worker that runs out of memory dies the same way, with
    /// [`Message::Crashed`] and the worker's `error` event).
    Crash,
}

/// What the quality metrics made of one image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QualityResult {
    pub name: String,
    /// The scores (finite values only) and the hash, or the error that stopped the image
    /// (the others go on).
    pub outcome: Result<ImageQuality, ImageError>,
}

/// An image's quality scores.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageQuality {
    pub scores: Scores,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phash: Option<PerceptualHash>,
}

/// Which backend the user wants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendChoice {
    /// WebGPU when an adapter exists, else the CPU.
    #[default]
    Auto,
    WebGpu,
    Cpu,
}

/// How many images of a `LoadModel` probe (or of a job's first images) the worker checks f16
/// on against f32; the page sends no more.
pub const PRECISION_PROBE_IMAGES: usize = 3;

/// Which number format the user wants models to compute in (a setting).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrecisionChoice {
    /// f16 on a GPU with f16 arithmetic (WebGPU `shader-f16`), after the check; else f32.
    #[default]
    Auto,
    F32,
    /// f16 wherever the device has it, after the check; else f32, saying why.
    F16,
}

/// The number format a loaded model computes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    F32,
    F16,
}

impl Precision {
    /// A short name for the model manager.
    pub fn label(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
        }
    }
}

/// One image to run a model on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    /// The project's name for the image (its path), echoed in results and errors.
    pub name: String,
    pub source: ImageSource,
}

/// Where the worker reads an image's bytes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ImageSource {
    /// The bytes stored in `store::BLOBS` under this key.
    Stored { key: ContentKey },
    /// Fetched from this URL (same origin; the demo project's images).
    Url { url: String },
}

/// Post-processing settings of a run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DetectParams {
    /// Minimum confidence kept.
    pub confidence: f32,
    /// NMS IoU threshold.
    pub iou: f32,
    /// Images per forward pass.
    pub batch: u32,
    /// The number format to compute in (the model is loaded again when it changes).
    #[serde(default)]
    pub precision: PrecisionChoice,
}

impl Default for DetectParams {
    fn default() -> Self {
        Self {
            confidence: 0.25,
            iou: 0.45,
            batch: 1,
            precision: PrecisionChoice::Auto,
        }
    }
}

/// Which images a filter keeps: those with at least one detection of one of `classes`
/// (all classes when empty) whose confidence lies in `[min_confidence, max_confidence]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FilterParams {
    pub classes: Vec<String>,
    pub min_confidence: f32,
    pub max_confidence: f32,
}

impl FilterParams {
    /// Whether `detections` satisfy the filter ([`sightline_core::detection::any_matches`],
    /// the rule `sightline filter` applies too).
    pub fn matches(&self, detections: &[Detection]) -> bool {
        sightline_core::detection::any_matches(
            detections,
            &self.classes,
            self.min_confidence,
            self.max_confidence,
        )
    }
}

/// Detections already computed, per (image, model), so that filtering again with other
/// classes or a higher confidence needs no model run. An entry computed with confidence
/// floor `c` and NMS IoU `i` answers any query with floor ≥ `c` and the same `i`: it holds
/// every detection a run at the higher floor would keep (NMS is class-aware and greedy by
/// score, so raising the floor only drops low-scoring boxes, never changes which survive
/// among the rest; `max_det` keeps the highest scores either way).
#[derive(Clone, Debug, Default)]
pub struct DetectionCache {
    entries: std::collections::HashMap<(String, ContentKey), CachedDetections>,
}

#[derive(Clone, Debug)]
struct CachedDetections {
    confidence: f32,
    iou: f32,
    detections: Vec<Detection>,
}

impl ImageSource {
    /// What names the image's bytes: its content key, or its URL.
    pub fn cache_key(&self) -> String {
        match self {
            ImageSource::Stored { key } => format!("sha256:{key}"),
            ImageSource::Url { url } => format!("url:{url}"),
        }
    }
}

impl DetectionCache {
    /// The detections of `image` by `model` at `params`, if a run at a floor no higher and
    /// the same IoU is cached.
    pub fn get(
        &self,
        image: &ImageSource,
        model: &str,
        params: &DetectParams,
    ) -> Option<Vec<Detection>> {
        let entry = self.entries.get(&(image.cache_key(), model.to_owned()))?;
        (entry.confidence <= params.confidence && entry.iou == params.iou).then(|| {
            entry
                .detections
                .iter()
                .filter(|d| d.score >= params.confidence)
                .cloned()
                .collect()
        })
    }

    /// Remembers a run's detections (replacing a cached run that answers fewer queries).
    pub fn insert(
        &mut self,
        image: &ImageSource,
        model: &str,
        params: &DetectParams,
        detections: Vec<Detection>,
    ) {
        let key = (image.cache_key(), model.to_owned());
        let keep_old = self
            .entries
            .get(&key)
            .is_some_and(|old| old.iou == params.iou && old.confidence < params.confidence);
        if !keep_old {
            self.entries.insert(
                key,
                CachedDetections {
                    confidence: params.confidence,
                    iou: params.iou,
                    detections,
                },
            );
        }
    }

    /// Forgets every result of `model` (it was removed or replaced).
    pub fn forget_model(&mut self, model: &str) {
        self.entries.retain(|(_, m), _| m != model);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What happened to one image of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageResult {
    pub name: String,
    /// The image's size as decoded, `(width, height)`, or the error that stopped it (the
    /// other images go on).
    pub outcome: Result<ImageDetections, ImageError>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageDetections {
    pub width: u32,
    pub height: u32,
    pub detections: Vec<Detection>,
    /// Set by `Filter` requests: whether the image matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<bool>,
}

/// Why one image could not be processed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ImageError {
    #[error("could not read the image: {detail}")]
    Read { detail: String },
    #[error("could not decode the image: {detail}")]
    Decode { detail: String },
    #[error("the model failed on this image: {detail}")]
    Inference { detail: String },
}

/// What the worker sends back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Message {
    /// Sent once when the worker has installed its message handler: requests posted before
    /// it would be lost, so the page holds them until this arrives.
    Ready { protocol_version: u32 },
    /// Intermediate progress of a long request.
    Progress(Progress),
    /// The last message for a request.
    Reply(Reply),
    /// The worker panicked and can answer nothing more (its wasm instance is dead): the
    /// page fails what is pending and starts a new worker on the next request.
    Crashed { detail: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub id: RequestId,
    pub done: u64,
    pub total: u64,
    /// What is being done ("loading model", "warming up", an image name...).
    #[serde(default)]
    pub stage: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub id: RequestId,
    pub outcome: Result<ReplyBody, WorkerError>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReplyBody {
    Pong(WorkerInfo),
    ModelLoaded(ModelInfo),
    Unloaded {
        model: ContentKey,
    },
    /// One result per requested image, in request order.
    Detections {
        results: Vec<ImageResult>,
    },
    /// One result per requested image, in request order.
    Quality {
        results: Vec<QualityResult>,
    },
    /// The SSIM of each requested pair, in request order, or why a pair could not be
    /// compared.
    Similarity {
        ssim: Vec<Result<f64, ImageError>>,
    },
    /// A `Cancel` was noted; the request it names ends with `WorkerError::Cancelled` at its
    /// next image (or normally, if it had finished).
    CancelRequested {
        target: RequestId,
    },
}

/// Who answered a ping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerInfo {
    /// The worker crate's version.
    pub version: String,
    pub protocol_version: u32,
    pub backend: Backend,
}

/// What the model manager shows of a loaded model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub key: ContentKey,
    /// The config's display name, else the file name.
    pub name: String,
    /// Class names in class-id order.
    pub classes: Vec<String>,
    pub input_width: u32,
    pub input_height: u32,
    pub task: ModelTask,
    /// The backend it runs on.
    pub backend: Backend,
    /// The number format it computes in.
    pub precision: Precision,
    /// Why that format: the f16 check's outcome, or why f16 was not tried.
    pub precision_note: String,
    /// Thresholds the config suggests (AnyLabeling YAML), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggested: Option<DetectParams>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelTask {
    Detect,
    Segment,
}

/// The compute backend the worker runs models on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Backend {
    /// A WebGPU adapter was found; `adapter` describes it as the browser does
    /// (vendor / architecture / description, whatever it discloses).
    WebGpu { adapter: String },
    /// No WebGPU adapter, or the user chose the CPU: models run on the CPU fallback.
    /// `reason` says why.
    Cpu { reason: String },
}

impl Backend {
    /// A short name for the status bar.
    pub fn label(&self) -> &'static str {
        match self {
            Backend::WebGpu { .. } => "WebGPU",
            Backend::Cpu { .. } => "CPU",
        }
    }
}

/// Every way a request can fail, in words a user can act on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkerError {
    #[error("the worker could not read the request: {detail}")]
    BadRequest { detail: String },
    #[error("the worker speaks protocol {worker}, the page {page}: reload the page")]
    VersionMismatch { worker: u32, page: u32 },
    #[error("no model is stored under {model}; add it again in the model manager")]
    ModelNotFound { model: ContentKey },
    #[error("the model file cannot be used: {detail}")]
    InvalidModel { detail: String },
    #[error("WebGPU is not available here ({detail}); choose the CPU backend")]
    BackendUnavailable { detail: String },
    #[error("the browser storage could not be read: {detail}")]
    Storage { detail: String },
    #[error("cancelled after {} image(s)", finished.len())]
    Cancelled { finished: Vec<ImageResult> },
    #[error("the worker failed: {detail}")]
    Internal { detail: String },
}

/// Errors of the JSON transport itself.
#[derive(Debug, thiserror::Error)]
#[error("malformed worker message: {0}")]
pub struct DecodeError(#[from] serde_json::Error);

/// Serialises a message for `postMessage`.
pub fn encode<T: Serialize>(message: &T) -> String {
    // Serialising these plain data types to JSON cannot fail: no maps with non-string keys,
    // no non-finite floats are representable in them.
    serde_json::to_string(message).unwrap_or_else(|err| {
        format!(
            r#"{{"kind":"encode_failed","detail":{:?}}}"#,
            err.to_string()
        )
    })
}

pub fn decode<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, DecodeError> {
    Ok(serde_json::from_str(text)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_round_trips() {
        let request = Request {
            id: 7,
            body: RequestBody::Ping,
        };
        let text = encode(&request);
        assert_eq!(text, r#"{"id":7,"body":{"kind":"ping"}}"#);
        assert_eq!(decode::<Request>(&text).expect("decodes"), request);
    }

    #[test]
    fn pong_and_errors_round_trip() {
        for outcome in [
            Ok(ReplyBody::Pong(WorkerInfo {
                version: "0.1.0".into(),
                protocol_version: PROTOCOL_VERSION,
                backend: Backend::WebGpu {
                    adapter: "google / swiftshader".into(),
                },
            })),
            Ok(ReplyBody::Pong(WorkerInfo {
                version: "0.1.0".into(),
                protocol_version: PROTOCOL_VERSION,
                backend: Backend::Cpu {
                    reason: "navigator.gpu is missing".into(),
                },
            })),
            Err(WorkerError::BadRequest {
                detail: "eof".into(),
            }),
            Err(WorkerError::VersionMismatch { worker: 2, page: 1 }),
        ] {
            let message = Message::Reply(Reply { id: 3, outcome });
            let back: Message = decode(&encode(&message)).expect("decodes");
            assert_eq!(back, message);
        }
    }

    fn person(score: f32) -> Detection {
        Detection {
            class_id: 0,
            label: "person".into(),
            score,
            bbox: [1.0, 2.0, 30.5, 40.25],
            polygon: None,
        }
    }

    #[test]
    fn settings_saved_before_the_precision_setting_still_load() {
        // AI settings in localStorage and requests of protocol 2 had no `precision`.
        let params: DetectParams =
            serde_json::from_str(r#"{"confidence":0.3,"iou":0.5,"batch":2}"#).expect("decodes");
        assert_eq!(params.precision, PrecisionChoice::Auto);
        assert_eq!(params.batch, 2);
        let load: RequestBody =
            serde_json::from_str(r#"{"kind":"load_model","model":"ff"}"#).expect("decodes");
        assert_eq!(
            load,
            RequestBody::LoadModel {
                model: "ff".into(),
                precision: PrecisionChoice::Auto,
                probe: Vec::new(),
            }
        );
    }

    #[test]
    fn inference_requests_round_trip() {
        let images = vec![
            ImageRef {
                name: "a.jpg".into(),
                source: ImageSource::Stored { key: "ab12".into() },
            },
            ImageRef {
                name: "demo/b.jpg".into(),
                source: ImageSource::Url {
                    url: "demo/b.jpg".into(),
                },
            },
        ];
        for body in [
            RequestBody::SetBackend {
                choice: BackendChoice::Cpu,
            },
            RequestBody::LoadModel {
                model: "ff".into(),
                precision: PrecisionChoice::F16,
                probe: images.clone(),
            },
            RequestBody::UnloadModel { model: "ff".into() },
            RequestBody::Detect {
                model: "ff".into(),
                images: images.clone(),
                params: DetectParams {
                    confidence: 0.3,
                    iou: 0.5,
                    batch: 4,
                    precision: PrecisionChoice::F32,
                },
            },
            RequestBody::Filter {
                model: "ff".into(),
                images,
                params: DetectParams::default(),
                filter: FilterParams {
                    classes: vec!["Normal".into()],
                    min_confidence: 0.5,
                    max_confidence: 1.0,
                },
            },
            RequestBody::Cancel { target: 9 },
        ] {
            let request = Request { id: 11, body };
            assert_eq!(
                decode::<Request>(&encode(&request)).expect("decodes"),
                request
            );
        }
    }

    #[test]
    fn results_and_typed_errors_round_trip() {
        let finished = vec![
            ImageResult {
                name: "a.jpg".into(),
                outcome: Ok(ImageDetections {
                    width: 640,
                    height: 480,
                    detections: vec![Detection {
                        polygon: Some(vec![[1.0, 2.0], [3.0, 4.0], [5.0, 1.5]]),
                        ..person(0.875)
                    }],
                    matches: Some(true),
                }),
            },
            ImageResult {
                name: "broken.jpg".into(),
                outcome: Err(ImageError::Decode {
                    detail: "not a JPEG".into(),
                }),
            },
        ];
        for outcome in [
            Ok(ReplyBody::Detections {
                results: finished.clone(),
            }),
            Ok(ReplyBody::ModelLoaded(ModelInfo {
                key: "ff".into(),
                name: "fall".into(),
                classes: vec!["Fall".into(), "Normal".into()],
                input_width: 640,
                input_height: 640,
                task: ModelTask::Detect,
                backend: Backend::Cpu {
                    reason: "chosen".into(),
                },
                suggested: Some(DetectParams::default()),
                precision: Precision::F32,
                precision_note: "f32, not f16: dog.jpg: box 0 moved (IoU 0.84)".into(),
            })),
            Ok(ReplyBody::Unloaded { model: "ff".into() }),
            Ok(ReplyBody::CancelRequested { target: 4 }),
            Err(WorkerError::Cancelled { finished }),
            Err(WorkerError::InvalidModel {
                detail: "unsupported op `NonMaxSuppression` (node /nms)".into(),
            }),
            Err(WorkerError::ModelNotFound { model: "ff".into() }),
        ] {
            let message = Message::Reply(Reply { id: 5, outcome });
            assert_eq!(
                decode::<Message>(&encode(&message)).expect("decodes"),
                message
            );
        }
        let progress = Message::Progress(Progress {
            id: 5,
            done: 1,
            total: 2,
            stage: "a.jpg".into(),
        });
        assert_eq!(
            decode::<Message>(&encode(&progress)).expect("decodes"),
            progress
        );
    }

    #[test]
    fn cancelled_error_says_how_much_finished() {
        let err = WorkerError::Cancelled {
            finished: vec![ImageResult {
                name: "a".into(),
                outcome: Err(ImageError::Read {
                    detail: "gone".into(),
                }),
            }],
        };
        assert_eq!(err.to_string(), "cancelled after 1 image(s)");
    }

    #[test]
    fn filter_matches_class_and_confidence_range() {
        let filter = FilterParams {
            classes: vec!["person".into()],
            min_confidence: 0.5,
            max_confidence: 0.9,
        };
        assert!(filter.matches(&[person(0.7)]));
        assert!(filter.matches(&[person(0.5)]), "bounds are inclusive");
        assert!(!filter.matches(&[person(0.95)]));
        assert!(!filter.matches(&[person(0.2)]));
        assert!(!filter.matches(&[]));
        let dog = Detection {
            label: "dog".into(),
            ..person(0.8)
        };
        assert!(!filter.matches(std::slice::from_ref(&dog)));
        let any_class = FilterParams {
            classes: vec![],
            ..filter
        };
        assert!(any_class.matches(&[dog]));
    }

    #[test]
    fn cache_answers_higher_floors_with_the_same_iou_only() {
        let image = ImageSource::Stored { key: "ab".into() };
        let low = DetectParams {
            confidence: 0.1,
            ..DetectParams::default()
        };
        let mut cache = DetectionCache::default();
        assert!(cache.get(&image, "m", &low).is_none());
        cache.insert(&image, "m", &low, vec![person(0.15), person(0.6)]);
        assert_eq!(cache.get(&image, "m", &low).map(|d| d.len()), Some(2));
        let high = DetectParams {
            confidence: 0.5,
            ..low
        };
        assert_eq!(cache.get(&image, "m", &high), Some(vec![person(0.6)]));
        let other_iou = DetectParams { iou: 0.7, ..high };
        assert!(cache.get(&image, "m", &other_iou).is_none());
        let lower = DetectParams {
            confidence: 0.05,
            ..low
        };
        assert!(cache.get(&image, "m", &lower).is_none(), "might miss boxes");
        assert!(cache.get(&image, "other model", &high).is_none());
        // A run at a higher floor does not replace one that answers more.
        cache.insert(&image, "m", &high, vec![person(0.6)]);
        assert_eq!(cache.get(&image, "m", &low).map(|d| d.len()), Some(2));
        cache.forget_model("m");
        assert!(cache.is_empty());
    }

    #[test]
    fn ready_round_trips() {
        let ready = Message::Ready {
            protocol_version: PROTOCOL_VERSION,
        };
        assert_eq!(encode(&ready), r#"{"kind":"ready","protocol_version":5}"#);
        assert_eq!(decode::<Message>(&encode(&ready)).expect("decodes"), ready);
    }

    #[test]
    fn a_crash_request_and_the_crashed_message_round_trip() {
        let request = Request {
            id: 999_999,
            body: RequestBody::Crash,
        };
        // The e2e spec writes this text into the worker by hand.
        assert_eq!(encode(&request), r#"{"id":999999,"body":{"kind":"crash"}}"#);
        assert_eq!(
            decode::<Request>(&encode(&request)).expect("decodes"),
            request
        );
        let crashed = Message::Crashed {
            detail: "panicked at lib.rs:1:1:\nboom".into(),
        };
        assert_eq!(
            decode::<Message>(&encode(&crashed)).expect("decodes"),
            crashed
        );
    }

    #[test]
    fn quality_requests_and_replies_round_trip() {
        let image = ImageRef {
            name: "a.jpg".into(),
            source: ImageSource::Stored { key: "ab".into() },
        };
        let request = Request {
            id: 9,
            body: RequestBody::Quality {
                images: vec![image.clone()],
                metrics: vec![Metric::BlurEffect, Metric::Piqe],
                hash: true,
            },
        };
        let text = encode(&request);
        assert!(
            text.contains(r#""metrics":["blur_effect","piqe"]"#),
            "{text}"
        );
        assert_eq!(decode::<Request>(&text).expect("decodes"), request);
        let scores = Scores::from([(Metric::BlurEffect, 0.4), (Metric::Piqe, 33.5)]);
        for body in [
            ReplyBody::Quality {
                results: vec![
                    QualityResult {
                        name: "a.jpg".into(),
                        outcome: Ok(ImageQuality {
                            scores,
                            phash: Some(PerceptualHash(0xdead_beef_0000_0001)),
                        }),
                    },
                    QualityResult {
                        name: "b.jpg".into(),
                        outcome: Err(ImageError::Decode {
                            detail: "truncated".into(),
                        }),
                    },
                ],
            },
            ReplyBody::Similarity {
                ssim: vec![
                    Ok(0.97),
                    Err(ImageError::Read {
                        detail: "gone".into(),
                    }),
                ],
            },
        ] {
            let message = Message::Reply(Reply {
                id: 9,
                outcome: Ok(body),
            });
            assert_eq!(
                decode::<Message>(&encode(&message)).expect("decodes"),
                message
            );
        }
        let pairs = RequestBody::Similarity {
            pairs: vec![(image.clone(), image)],
        };
        assert_eq!(
            decode::<RequestBody>(&encode(&pairs)).expect("decodes"),
            pairs
        );
    }

    #[test]
    fn malformed_text_is_a_decode_error() {
        assert!(decode::<Request>("{\"id\":1}").is_err());
        assert!(decode::<Request>("not json").is_err());
        assert!(decode::<Request>(r#"{"id":1,"body":{"kind":"explode"}}"#).is_err());
    }

    #[test]
    fn backend_labels() {
        assert_eq!(
            Backend::WebGpu {
                adapter: String::new()
            }
            .label(),
            "WebGPU"
        );
        assert_eq!(
            Backend::Cpu {
                reason: String::new()
            }
            .label(),
            "CPU"
        );
    }
}
