//! Browser glue: the `onmessage` loop, the WebGPU probe and device set-up, and the
//! [`Host`] that reads models and images from IndexedDB (the stores the page owns, described
//! with their rows in `sightline_protocol::store`) or fetches them.

use std::cell::RefCell;
use std::rc::Rc;

use burn::tensor::Device;
use js_sys::{Promise, Reflect};
use sightline_idb_store::{JsBytes, from_js, get};
use sightline_protocol::store::{self, BlobRow, ModelRow, StoreSpec};
use sightline_protocol::{
    Backend, BackendChoice, ImageError, ImageSource, Message, Progress, Reply, WorkerError,
};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::engine::{Engine, Host, StoredModel};

/// The worker's surroundings: its global scope, the probe's verdict and the WebGPU device
/// (burn's wgpu runtime can be initialised once per worker, so it is kept).
pub struct WebHost {
    scope: DedicatedWorkerGlobalScope,
    probed: Backend,
    webgpu: RefCell<Option<Device>>,
}

fn post(scope: &DedicatedWorkerGlobalScope, message: &Message) {
    let text = sightline_protocol::encode(message);
    if let Err(err) = scope.post_message(&JsValue::from_str(&text)) {
        web_sys::console::error_2(&"sightline worker: postMessage failed".into(), &err);
    }
}

/// The engine and its host, once the backend is chosen.
type Started = (Rc<Engine>, Rc<WebHost>);

/// Installs the message handler. Called once by the worker bin's `main`.
pub fn start() {
    let Ok(scope) = js_sys::global().dyn_into::<DedicatedWorkerGlobalScope>() else {
        web_sys::console::error_1(&"sightline worker: not running in a dedicated worker".into());
        return;
    };
    // A panic leaves the wasm instance unusable: the page is told, so that it fails what
    // is pending and starts a new worker (an abort without a panic, such as a failed
    // allocation, reaches it as the worker's `error` event instead).
    let panic_scope = scope.clone();
    std::panic::set_hook(Box::new(move |info| {
        console_error_panic_hook::hook(info);
        post(
            &panic_scope,
            &Message::Crashed {
                detail: info.to_string(),
            },
        );
    }));
    // Decided once at start-up, before `Ready`: the page sends nothing until then.
    let engine: Rc<RefCell<Option<Started>>> = Rc::new(RefCell::new(None));
    let handler_engine = engine.clone();
    let reply_scope = scope.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let text = event.data().as_string().unwrap_or_default();
        let scope = reply_scope.clone();
        let ready = handler_engine.borrow().clone();
        wasm_bindgen_futures::spawn_local(async move {
            let request = match crate::parse_request(&text) {
                Ok(request) => request,
                Err(reply) => return post(&scope, &reply),
            };
            let reply = match ready {
                Some((engine, host)) => crate::handle_request(&engine, &*host, request).await,
                None => Message::Reply(Reply {
                    id: request.id,
                    outcome: Err(WorkerError::Internal {
                        detail: "the worker is still starting".into(),
                    }),
                }),
            };
            post(&scope, &reply);
        });
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();
    wasm_bindgen_futures::spawn_local(async move {
        let navigator: JsValue = scope.navigator().into();
        let probed = probe_backend(&navigator).await;
        let host = Rc::new(WebHost {
            scope: scope.clone(),
            probed,
            webgpu: RefCell::new(None),
        });
        let (device, backend) = match host.device_for(BackendChoice::Auto).await {
            Ok(chosen) => chosen,
            Err(error) => (
                Device::flex(),
                Backend::Cpu {
                    reason: error.to_string(),
                },
            ),
        };
        *engine.borrow_mut() = Some((Rc::new(Engine::new(device, backend)), host));
        post(&scope, &crate::ready_message());
    });
}

impl WebHost {
    async fn webgpu(&self) -> Result<Device, WorkerError> {
        if let Backend::Cpu { reason } = &self.probed {
            return Err(WorkerError::BackendUnavailable {
                detail: reason.clone(),
            });
        }
        if let Some(device) = self.webgpu.borrow().clone() {
            return Ok(device);
        }
        let device = Device::wgpu_options().init_async().await.map_err(|err| {
            WorkerError::BackendUnavailable {
                detail: format!("WebGPU set-up failed: {err}"),
            }
        })?;
        *self.webgpu.borrow_mut() = Some(device.clone());
        Ok(device)
    }

    /// The app's database, opened at whatever version the page made it. The worker never
    /// creates it: opening a database that does not exist would create an empty one and
    /// break the page's schema upgrade.
    async fn database(&self) -> Result<idb::Database, WorkerError> {
        let storage = |detail: String| WorkerError::Storage { detail };
        let factory = idb::Factory::new().map_err(|e| storage(e.to_string()))?;
        let inner: web_sys::IdbFactory = factory.clone().into();
        let listed = Reflect::get(&inner, &"databases".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .and_then(|f| f.call0(&inner).ok());
        if let Some(listed) = listed {
            let names = JsFuture::from(Promise::from(listed))
                .await
                .map_err(|e| storage(describe_js_error(&e)))?;
            let exists = js_sys::Array::from(&names).iter().any(|info| {
                Reflect::get(&info, &"name".into())
                    .ok()
                    .and_then(|n| n.as_string())
                    .is_some_and(|n| n == store::DATABASE_NAME)
            });
            if !exists {
                return Err(storage("the app has stored nothing yet".into()));
            }
        }
        factory
            .open(store::DATABASE_NAME, None)
            .map_err(|e| storage(e.to_string()))?
            .await
            .map_err(|e| storage(e.to_string()))
    }

    /// The row under `key` in `store`, `None` if absent.
    async fn row(&self, store: StoreSpec, key: &str) -> Result<Option<JsValue>, WorkerError> {
        let database = self.database().await?;
        let result = get(&database, store, key)
            .await
            .map_err(|e| WorkerError::Storage {
                detail: e.to_string(),
            });
        database.close();
        result
    }

    async fn fetch_bytes(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let js = |e: JsValue| FetchError::Browser(describe_js_error(&e));
        let response = JsFuture::from(self.scope.fetch_with_str(url))
            .await
            .map_err(js)?;
        let response: web_sys::Response = response.dyn_into().map_err(js)?;
        if !response.ok() {
            return Err(FetchError::Http(response.status()));
        }
        let buffer = JsFuture::from(response.array_buffer().map_err(js)?)
            .await
            .map_err(js)?;
        Ok(js_sys::Uint8Array::new(&buffer).to_vec())
    }
}

/// Why a fetch brought no bytes.
#[derive(Debug)]
enum FetchError {
    /// The browser's own words (network error, blocked...).
    Browser(String),
    /// The server answered with this status.
    Http(u16),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Browser(detail) => f.write_str(detail),
            FetchError::Http(status) => write!(f, "HTTP {status}"),
        }
    }
}

impl Host for WebHost {
    async fn read_model(&self, key: &str) -> Result<StoredModel, WorkerError> {
        let value =
            self.row(store::MODELS, key)
                .await?
                .ok_or_else(|| WorkerError::ModelNotFound {
                    model: key.to_owned(),
                })?;
        // The key is the key path and every other field has a default: the bytes are what
        // can be missing.
        let row: ModelRow<JsBytes> = from_js(value).map_err(|_| WorkerError::Storage {
            detail: format!("the stored model {key} has no bytes"),
        })?;
        Ok(StoredModel {
            name: if row.name.is_empty() {
                key.to_owned()
            } else {
                row.name
            },
            onnx: row.onnx.to_vec(),
            config: row.config,
        })
    }

    async fn read_image(&self, source: &ImageSource) -> Result<Vec<u8>, ImageError> {
        match source {
            ImageSource::Stored { key } => {
                let value = self
                    .row(store::BLOBS, key)
                    .await
                    .map_err(|e| ImageError::Read {
                        detail: e.to_string(),
                    })?
                    .ok_or_else(|| ImageError::Read {
                        detail: "its stored bytes are gone".into(),
                    })?;
                // The key is the key path and the type has a default: the bytes are what
                // can be missing.
                let row: BlobRow<JsBytes> = from_js(value).map_err(|_| ImageError::Read {
                    detail: "the stored record has no bytes".into(),
                })?;
                Ok(row.bytes.to_vec())
            }
            ImageSource::Url { url } => {
                self.fetch_bytes(url)
                    .await
                    .map_err(|detail| ImageError::Read {
                        detail: format!("{url}: {detail}"),
                    })
            }
        }
    }

    async fn yield_now(&self) {
        // A macrotask: queued messages (a Cancel) are handled before this resolves.
        let scope = self.scope.clone();
        let promise = Promise::new(&mut |resolve, _| {
            let _ = scope.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
        });
        let _ = JsFuture::from(promise).await;
    }

    async fn device_for(&self, choice: BackendChoice) -> Result<(Device, Backend), WorkerError> {
        let cpu = |reason: &str| {
            (
                Device::flex(),
                Backend::Cpu {
                    reason: reason.to_owned(),
                },
            )
        };
        match choice {
            BackendChoice::Cpu => Ok(cpu("chosen in the settings")),
            BackendChoice::WebGpu => Ok((self.webgpu().await?, self.probed.clone())),
            BackendChoice::Auto => match self.webgpu().await {
                Ok(device) => Ok((device, self.probed.clone())),
                Err(error) => Ok(cpu(&match &self.probed {
                    Backend::Cpu { reason } => reason.clone(),
                    Backend::WebGpu { .. } => error.to_string(),
                })),
            },
        }
    }

    fn progress(&self, progress: Progress) {
        post(&self.scope, &Message::Progress(progress));
    }
}

/// Asks the browser for a WebGPU adapter, as burn's WebGPU backend will. `navigator` is the
/// page's or the worker's navigator.
pub async fn probe_backend(navigator: &JsValue) -> Backend {
    let gpu = Reflect::get(navigator, &"gpu".into()).unwrap_or(JsValue::UNDEFINED);
    if gpu.is_undefined() || gpu.is_null() {
        return Backend::Cpu {
            reason: "this browser offers no WebGPU (navigator.gpu is missing)".into(),
        };
    }
    let request = Reflect::get(&gpu, &"requestAdapter".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    let Some(request) = request else {
        return Backend::Cpu {
            reason: "navigator.gpu has no requestAdapter".into(),
        };
    };
    let adapter = match request.call0(&gpu).map(Promise::from) {
        Ok(promise) => JsFuture::from(promise).await,
        Err(err) => Err(err),
    };
    match adapter {
        Ok(adapter) if !adapter.is_null() && !adapter.is_undefined() => Backend::WebGpu {
            adapter: describe_adapter(&adapter),
        },
        Ok(_) => Backend::Cpu {
            reason: "WebGPU is present but offers no adapter".into(),
        },
        Err(err) => Backend::Cpu {
            reason: format!(
                "requesting a WebGPU adapter failed: {}",
                describe_js_error(&err)
            ),
        },
    }
}

/// "vendor / architecture / description" from `GPUAdapter.info`, as much as the browser tells.
fn describe_adapter(adapter: &JsValue) -> String {
    let info = Reflect::get(adapter, &"info".into()).unwrap_or(JsValue::UNDEFINED);
    let parts: Vec<String> = ["vendor", "architecture", "description"]
        .iter()
        .filter_map(|key| Reflect::get(&info, &(*key).into()).ok()?.as_string())
        .filter(|part| !part.is_empty())
        .collect();
    if parts.is_empty() {
        "unnamed adapter".to_owned()
    } else {
        parts.join(" / ")
    }
}

fn describe_js_error(err: &JsValue) -> String {
    err.as_string()
        .or_else(|| {
            err.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| "unknown error".to_owned())
}
