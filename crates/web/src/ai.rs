//! AI in the page: the models the user added (stored in IndexedDB, loaded by the worker on
//! first use), auto-labelling images with progress, rate, ETA and cancel, and the image
//! filter over detections with results cached per (image, model, params).
//!
//! The page drives long jobs one request per batch of images, so each finished image is
//! applied as soon as it arrives (one undo step per image) and a cancel loses nothing that
//! finished: the worker stops at its next image and hands back what it completed.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use leptos::prelude::*;
use sightline_core::annotation::Shape;
use sightline_protocol::{
    BackendChoice, DetectParams, DetectionCache, FilterParams, ImageDetections, ImageRef,
    ImageResult, ModelInfo, PRECISION_PROBE_IMAGES, ReplyBody, RequestBody, RequestId, WorkerError,
};

use crate::autosave::Storage;
use crate::folder_import::{FileError, content_key};
use crate::image_loader::{fetch, js_error_text};
use crate::pipeline::ImagePipeline;
use crate::storage::{ModelSummary, StorageError, local_storage};
use crate::worker_bridge::AiWorker;

const ACTIVE_MODEL_KEY: &str = "sightline.active_model";
const SETTINGS_KEY: &str = "sightline.ai_settings";

/// Where the URL each model was added from is remembered (`localStorage`), by model key.
const MODEL_URLS_KEY: &str = "sightline.model_urls";

fn model_urls() -> BTreeMap<String, String> {
    local_storage()
        .and_then(|local| local.get_item(MODEL_URLS_KEY).ok()?)
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

fn remember_model_url(key: &str, url: &str) {
    let mut urls = model_urls();
    urls.insert(key.to_owned(), url.to_owned());
    if let (Some(local), Ok(text)) = (local_storage(), serde_json::to_string(&urls)) {
        let _ = local.set_item(MODEL_URLS_KEY, &text);
    }
}

/// What the AI settings hold (saved in `localStorage`).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AiSettings {
    pub params: DetectParams,
    pub backend: BackendChoice,
}

impl Default for AiSettings {
    fn default() -> Self {
        Self {
            params: DetectParams::default(),
            backend: BackendChoice::Auto,
        }
    }
}

/// A running job (auto-label or filter): what the progress bar shows.
#[derive(Clone)]
pub struct Job {
    pub title: String,
    pub done: usize,
    pub total: usize,
    pub started_ms: f64,
    cancelled: Rc<Cell<bool>>,
    request: Rc<Cell<Option<RequestId>>>,
}

impl Job {
    /// Images per second so far.
    pub fn rate(&self) -> f64 {
        let seconds = (js_sys::Date::now() - self.started_ms) / 1000.0;
        if seconds <= 0.0 {
            0.0
        } else {
            self.done as f64 / seconds
        }
    }

    /// Whether the user cancelled the job.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.get()
    }

    /// Seconds left at the rate so far.
    pub fn eta_seconds(&self) -> Option<f64> {
        let rate = self.rate();
        (rate > 0.0).then(|| (self.total - self.done) as f64 / rate)
    }
}

/// Why an AI action did not do what was asked. `Display` is the message the user reads.
#[derive(Debug, thiserror::Error)]
pub enum AiError {
    #[error("Add a model first (AI panel → Add model).")]
    NoModel,
    /// The user cancelled the job; what finished is kept.
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Worker(#[from] WorkerError),
    /// The worker could not load a picked or fetched model file (named).
    #[error("{file}: {source}")]
    ModelRefused { file: String, source: WorkerError },
    #[error("{0}")]
    Storage(#[from] StorageError),
    /// A picked file could not be read or hashed.
    #[error("{0}")]
    File(#[from] FileError),
    #[error("{0}")]
    Fetch(String),
    /// The picked files are not a usable model (no .onnx, a config naming none of them).
    #[error("{0}")]
    ModelFile(String),
    #[error("{0}")]
    Unexpected(String),
    /// A job that stopped, with its summary so far.
    #[error("{0}")]
    Stopped(String),
}

/// AI state shared through context. Cheap to copy.
#[derive(Clone, Copy)]
pub struct Ai {
    pub worker: AiWorker,
    pub models: RwSignal<Vec<ModelSummary>>,
    /// What the worker said of each model it loaded, by key.
    pub infos: RwSignal<HashMap<String, ModelInfo>>,
    pub active: RwSignal<Option<String>>,
    pub settings: RwSignal<AiSettings>,
    pub job: RwSignal<Option<Job>, LocalStorage>,
    /// The last outcome worth telling (a model refused, a job's errors).
    pub message: RwSignal<Option<String>>,
    cache: StoredValue<DetectionCache>,
    /// Where inference times and job rates go (the performance panel).
    pipeline: ImagePipeline,
}

impl Ai {
    pub fn new(pipeline: ImagePipeline) -> Self {
        let settings: AiSettings = local_storage()
            .and_then(|s| s.get_item(SETTINGS_KEY).ok()?)
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        let active = local_storage().and_then(|s| s.get_item(ACTIVE_MODEL_KEY).ok()?);
        Self {
            worker: AiWorker::new(settings.backend),
            models: RwSignal::new(Vec::new()),
            infos: RwSignal::new(HashMap::new()),
            active: RwSignal::new(active),
            settings: RwSignal::new(settings),
            job: RwSignal::new_local(None),
            message: RwSignal::new(None),
            cache: StoredValue::new(DetectionCache::default()),
            pipeline,
        }
    }

    pub fn save_settings(&self, settings: AiSettings) {
        let backend_changed = settings.backend != self.settings.get_untracked().backend;
        if settings.params.precision != self.settings.get_untracked().params.precision {
            // Loaded models are described in the old precision; the next use loads again.
            self.infos.set(HashMap::new());
        }
        self.settings.set(settings);
        if let (Some(local), Ok(text)) = (local_storage(), serde_json::to_string(&settings)) {
            let _ = local.set_item(SETTINGS_KEY, &text);
        }
        if backend_changed {
            self.worker.set_backend(settings.backend);
            self.infos.set(HashMap::new());
            let this = *self;
            leptos::task::spawn_local(async move {
                let choice = settings.backend;
                match this
                    .worker
                    .request(RequestBody::SetBackend { choice }, |_| {})
                    .await
                {
                    Ok(ReplyBody::Pong(info)) => this
                        .worker
                        .state
                        .set(crate::worker_bridge::WorkerState::Ready(info)),
                    Ok(_) => {}
                    Err(error) => this.message.set(Some(error.to_string())),
                }
            });
        }
    }

    fn set_active(&self, key: Option<String>) {
        if let Some(local) = local_storage() {
            let _ = match &key {
                Some(key) => local.set_item(ACTIVE_MODEL_KEY, key),
                None => local.remove_item(ACTIVE_MODEL_KEY),
            };
        }
        self.active.set(key);
    }

    /// The URL model `key` was added from, when it came from one (a shared link names it).
    pub fn model_url(&self, key: &str) -> Option<String> {
        model_urls().remove(key)
    }

    /// Re-reads the stored models.
    pub async fn refresh_models(&self, storage: Storage) {
        let listed = async { storage.store().await?.models().await }.await;
        match listed {
            Ok((models, _)) => {
                if let Some(active) = self.active.get_untracked()
                    && !models.iter().any(|m| m.key == active)
                {
                    self.set_active(None);
                }
                if self.active.get_untracked().is_none()
                    && let Some(first) = models.first()
                {
                    self.set_active(Some(first.key.clone()));
                }
                self.models.set(models);
            }
            Err(error) => self.message.set(Some(error.to_string())),
        }
    }

    /// Stores a model file (with its AnyLabeling config, if any), has the worker load it,
    /// and makes it the active model. A file the worker cannot use is removed again and
    /// the reason shown; nothing else changes.
    pub async fn add_model(
        &self,
        storage: Storage,
        file_name: String,
        onnx: Vec<u8>,
        config: Option<String>,
        probe: Vec<ImageRef>,
    ) -> Result<ModelInfo, AiError> {
        let key = content_key(&onnx).await?;
        let summary = ModelSummary {
            key: key.clone(),
            name: file_name.trim_end_matches(".onnx").to_owned(),
            file_name,
            size_bytes: onnx.len() as u64,
            added_ms: js_sys::Date::now(),
        };
        let store = storage.store().await?;
        store.put_model(&summary, &onnx, config.as_deref()).await?;
        drop(onnx);
        match self.load(&key, probe).await {
            Ok(info) => {
                self.refresh_models(storage).await;
                self.set_active(Some(key));
                Ok(info)
            }
            Err(error) => {
                let _ = store.delete_model(&key).await;
                self.refresh_models(storage).await;
                Err(AiError::ModelRefused {
                    file: summary.file_name,
                    source: error,
                })
            }
        }
    }

    /// Fetches a model from a URL and adds it.
    pub async fn add_model_from_url(
        &self,
        storage: Storage,
        url: String,
        probe: Vec<ImageRef>,
    ) -> Result<ModelInfo, AiError> {
        let fetch_error = |e: &wasm_bindgen::JsValue| AiError::Fetch(js_error_text(e));
        let response = fetch(&url)
            .await
            .map_err(|e| AiError::Fetch(e.to_string()))?;
        let buffer = wasm_bindgen_futures::JsFuture::from(
            response.array_buffer().map_err(|e| fetch_error(&e))?,
        )
        .await
        .map_err(|e| fetch_error(&e))?;
        let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
        let file_name = url
            .rsplit('/')
            .next()
            .filter(|n| !n.is_empty())
            .unwrap_or("model.onnx")
            .to_owned();
        let info = self
            .add_model(storage, file_name, bytes, None, probe)
            .await?;
        if let Some(key) = self.active.get_untracked() {
            remember_model_url(&key, &url);
        }
        Ok(info)
    }

    /// Has the worker load model `key` in the precision of the settings (answered at once
    /// when it is loaded already); f16 is checked on `probe`, a few of the user's images.
    pub async fn load(&self, key: &str, probe: Vec<ImageRef>) -> Result<ModelInfo, WorkerError> {
        if let Some(info) = self.infos.with_untracked(|infos| infos.get(key).cloned()) {
            return Ok(info);
        }
        let reply = self
            .worker
            .request(
                RequestBody::LoadModel {
                    model: key.to_owned(),
                    precision: self.settings.get_untracked().params.precision,
                    probe,
                },
                |_| {},
            )
            .await?;
        match reply {
            ReplyBody::ModelLoaded(info) => {
                self.infos.update(|infos| {
                    infos.insert(key.to_owned(), info.clone());
                });
                Ok(info)
            }
            other => Err(WorkerError::Internal {
                detail: format!("unexpected reply to a model load: {other:?}"),
            }),
        }
    }

    /// Removes a stored model and frees it in the worker.
    pub async fn remove_model(&self, storage: Storage, key: String) {
        let _ = self
            .worker
            .request(RequestBody::UnloadModel { model: key.clone() }, |_| {})
            .await;
        self.infos.update(|infos| {
            infos.remove(&key);
        });
        self.cache.update_value(|cache| cache.forget_model(&key));
        if let Err(error) = async { storage.store().await?.delete_model(&key).await }.await {
            self.message.set(Some(error.to_string()));
        }
        self.refresh_models(storage).await;
    }

    /// Cancels the running job: the worker stops at its next image; what finished stays.
    pub fn cancel_job(&self) {
        let Some(job) = self.job.get_untracked() else {
            return;
        };
        job.cancelled.set(true);
        if let Some(id) = job.request.get() {
            self.worker.cancel(id);
        }
    }

    /// Starts a job (one at a time: the worker's queue is shared), or says why not.
    pub(crate) fn start_job(&self, title: String, total: usize) -> Option<Job> {
        if self.job.with_untracked(Option::is_some) {
            self.message.set(Some(
                "Another AI job is running; wait or cancel it.".to_owned(),
            ));
            return None;
        }
        let job = Job {
            title,
            done: 0,
            total,
            started_ms: js_sys::Date::now(),
            cancelled: Rc::new(Cell::new(false)),
            request: Rc::new(Cell::new(None)),
        };
        self.job.set(Some(job.clone()));
        Some(job)
    }

    /// Runs the active model over `images` in batches, calling `each` with every finished
    /// image as it arrives. Returns the per-image errors, or why the job stopped.
    async fn run_batches(
        &self,
        job: &Job,
        model: &str,
        images: Vec<(String, ImageRef)>,
        params: DetectParams,
        mut each: impl FnMut(&str, &ImageResult),
    ) -> Result<Vec<String>, AiError> {
        let batch = params.batch.max(1) as usize;
        let mut errors = Vec::new();
        let mut done = 0;
        for chunk in images.chunks(batch) {
            if job.cancelled.get() {
                return Err(AiError::Cancelled);
            }
            let refs: Vec<ImageRef> = chunk.iter().map(|(_, r)| r.clone()).collect();
            let started = js_sys::Date::now();
            let request = RequestBody::Detect {
                model: model.to_owned(),
                images: refs,
                params,
            };
            let reply = self.job_request(job, request, done).await;
            let per_image = (js_sys::Date::now() - started) / chunk.len() as f64;
            if let Some(backend) = self.worker.backend_label() {
                self.pipeline.record_inference(backend, per_image);
            }
            let (results, stopped) = match reply {
                Ok(ReplyBody::Detections { results }) => (results, None),
                Err(WorkerError::Cancelled { finished }) => (finished, Some(AiError::Cancelled)),
                Ok(other) => (
                    Vec::new(),
                    Some(AiError::Unexpected(format!("unexpected reply: {other:?}"))),
                ),
                Err(error) => (Vec::new(), Some(AiError::Worker(error))),
            };
            for (result, (path, image)) in results.iter().zip(chunk) {
                if let Ok(found) = &result.outcome {
                    self.cache.update_value(|cache| {
                        cache.insert(&image.source, model, &params, found.detections.clone())
                    });
                }
                if let Err(error) = &result.outcome {
                    errors.push(format!("{path}: {error}"));
                }
                each(path, result);
            }
            done += results.len();
            self.job.update(|job| {
                if let Some(job) = job {
                    job.done = done;
                }
            });
            if let Some(reason) = stopped {
                return Err(reason);
            }
        }
        Ok(errors)
    }

    /// The active model, loaded (f16 checked on the first of `images`, the job's).
    async fn ready_model(&self, images: &[(String, ImageRef)]) -> Result<String, AiError> {
        let Some(model) = self.active.get_untracked() else {
            return Err(AiError::NoModel);
        };
        let probe = images
            .iter()
            .take(PRECISION_PROBE_IMAGES)
            .map(|(_, image)| image.clone())
            .collect();
        self.load(&model, probe).await?;
        Ok(model)
    }

    /// Auto-labels `images` (path, how the worker finds it): each image's predictions go
    /// to `apply` as shapes marked with their score, as soon as the image is done; `apply`
    /// says whether it took them. `finished` runs once the images are done (or the job was
    /// cancelled or stopped by the worker).
    pub fn label(
        &self,
        images: Vec<(String, ImageRef)>,
        title: String,
        mut apply: impl FnMut(&str, &ImageDetections, Vec<Shape>) -> bool + 'static,
        finished: impl FnOnce() + 'static,
    ) {
        if images.is_empty() {
            self.message.set(Some("No images to label.".to_owned()));
            return;
        }
        let Some(job) = self.start_job(title, images.len()) else {
            return;
        };
        let this = *self;
        leptos::task::spawn_local(async move {
            let outcome = async {
                let model = this.ready_model(&images).await?;
                let mut labelled = 0_usize;
                let mut shapes = 0_usize;
                let params = this.settings.get_untracked().params;
                let result = this
                    .run_batches(&job, &model, images, params, |path, result| {
                        if let Ok(found) = &result.outcome {
                            let predictions: Vec<Shape> =
                                found.detections.iter().map(|d| d.to_shape()).collect();
                            shapes += predictions.len();
                            if apply(path, found, predictions) {
                                labelled += 1;
                            }
                        }
                    })
                    .await;
                finished();
                let summary = format!("Labelled {labelled} image(s): {shapes} prediction(s).");
                match result {
                    Ok(errors) => Ok(with_failures(summary, &errors)),
                    Err(AiError::Cancelled) => {
                        Ok(format!("Cancelled. {summary} Finished images are kept."))
                    }
                    Err(reason) => Err(AiError::Stopped(format!("{summary} Stopped: {reason}"))),
                }
            }
            .await;
            this.finish_job(outcome);
        });
    }

    /// Filters `images` (path, how the worker finds it) by detections of the active model:
    /// runs the model where no cached result answers, then hands the matching paths to
    /// `done`.
    pub fn run_filter(
        &self,
        images: Vec<(String, ImageRef)>,
        filter: FilterParams,
        done: impl FnOnce(BTreeSet<String>) + 'static,
    ) {
        let params = DetectParams {
            confidence: filter
                .min_confidence
                .min(self.settings.get_untracked().params.confidence),
            ..self.settings.get_untracked().params
        };
        let this = *self;
        let Some(job) = self.start_job("Filtering".to_owned(), images.len()) else {
            return;
        };
        leptos::task::spawn_local(async move {
            let outcome = async {
                let total = images.len();
                let model = this
                    .ready_model(&images[..total.min(PRECISION_PROBE_IMAGES)])
                    .await?;
                let mut matching = BTreeSet::new();
                let mut to_run = Vec::new();
                for (path, image) in images {
                    let cached = this
                        .cache
                        .with_value(|cache| cache.get(&image.source, &model, &params));
                    match cached {
                        Some(detections) => {
                            if filter.matches(&detections) {
                                matching.insert(path);
                            }
                        }
                        None => to_run.push((path, image)),
                    }
                }
                let cached = total - to_run.len();
                this.job.update(|job| {
                    if let Some(job) = job {
                        job.total = to_run.len();
                    }
                });
                // The run uses the filter's floor so the cache answers later re-filters.
                let result = this
                    .run_batches(&job, &model, to_run, params, |path, result| {
                        if let Ok(found) = &result.outcome
                            && filter.matches(&found.detections)
                        {
                            matching.insert(path.to_owned());
                        }
                    })
                    .await;
                let count = matching.len();
                done(matching);
                let summary = format!(
                    "{count} of {total} image(s) match ({cached} answered from the cache)."
                );
                match result {
                    Ok(errors) => Ok(with_failures(summary, &errors)),
                    Err(reason) => Err(AiError::Stopped(format!(
                        "{summary} Stopped early ({reason})."
                    ))),
                }
            }
            .await;
            this.finish_job(outcome);
        });
    }

    /// Sets the running job's total (what is left after the cache answered).
    pub(crate) fn set_job_total(&self, total: usize) {
        self.job.update(|job| {
            if let Some(job) = job {
                job.total = total;
            }
        });
    }

    /// Sets how many of the running job's items are done.
    pub(crate) fn set_job_done(&self, done: usize) {
        self.job.update(|job| {
            if let Some(job) = job {
                job.done = done;
            }
        });
    }

    /// Starts a new stage of the running job: its title and total, nothing done yet.
    pub(crate) fn set_job_title(&self, title: String, total: usize) {
        self.job.update(|job| {
            if let Some(job) = job {
                job.title = title;
                job.total = total;
                job.done = 0;
                job.started_ms = js_sys::Date::now();
            }
        });
    }

    /// Sends one request of `job` (so Cancel reaches it); its progress counts on from `base`.
    pub(crate) async fn job_request(
        &self,
        job: &Job,
        body: RequestBody,
        base: usize,
    ) -> Result<ReplyBody, WorkerError> {
        let job_signal = self.job;
        let (id, reply) = self.worker.send(body, move |progress| {
            job_signal.update(|job| {
                if let Some(job) = job {
                    job.done = base + progress.done as usize;
                }
            });
        });
        job.request.set(Some(id));
        let reply = reply.await;
        job.request.set(None);
        reply
    }

    /// Ends the running job, telling its outcome.
    pub(crate) fn finish_job(&self, outcome: Result<String, AiError>) {
        if let Some(job) = self.job.get_untracked()
            && job.done > 0
        {
            self.pipeline.record_batch_rate(job.rate());
        }
        self.job.set(None);
        self.message.set(Some(match outcome {
            Ok(text) => text,
            Err(error) => error.to_string(),
        }));
    }
}

/// A job's summary line, followed by the images that failed, if any.
fn with_failures(summary: String, errors: &[String]) -> String {
    if errors.is_empty() {
        summary
    } else {
        format!(
            "{summary} {} image(s) failed: {}",
            errors.len(),
            errors.join("; ")
        )
    }
}
