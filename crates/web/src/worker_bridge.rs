//! The page's side of the worker protocol: starts the worker Trunk built from `index.html`
//! on first use (its wasm carries burn and the models' code, so the app shell never waits
//! for it), numbers requests, routes progress and replies back to their callers, and turns
//! the worker's state into a signal for the status bar.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures_channel::oneshot;
use leptos::prelude::*;
use sightline_protocol::{
    BackendChoice, Message, PROTOCOL_VERSION, Progress, Reply, ReplyBody, Request, RequestBody,
    RequestId, WorkerError, WorkerInfo,
};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, Worker};

/// The loader script Trunk emits for the worker bin (`data-loader-shim`).
const WORKER_URL: &str = "./worker_loader.js";

/// What the status bar shows about the worker.
#[derive(Clone, Debug, PartialEq)]
pub enum WorkerState {
    /// Not started: AI was not used yet in this tab.
    Idle,
    Starting,
    Ready(WorkerInfo),
    Failed(String),
}

/// Why the worker could not be started or written to, in words for the status bar.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BridgeError {
    #[error("could not start the worker: {0}")]
    Start(String),
    /// `postMessage` failed (the browser's words).
    #[error("{0}")]
    Post(String),
}

type OnProgress = Box<dyn Fn(Progress)>;

/// The reply to a request, when it comes.
pub type ReplyFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<ReplyBody, WorkerError>>>>;

struct Pending {
    on_progress: OnProgress,
    reply: oneshot::Sender<Result<ReplyBody, WorkerError>>,
}

struct Inner {
    worker: Worker,
    next_id: Cell<RequestId>,
    ready: Cell<bool>,
    /// Requests posted before the worker said `Ready` (they would be lost).
    queued: RefCell<Vec<String>>,
    pending: RefCell<HashMap<RequestId, Pending>>,
}

impl Inner {
    fn post(&self, text: String) -> Result<(), BridgeError> {
        if !self.ready.get() {
            self.queued.borrow_mut().push(text);
            return Ok(());
        }
        self.worker
            .post_message(&JsValue::from_str(&text))
            .map_err(|err| BridgeError::Post(crate::image_loader::js_error_text(&err)))
    }

    /// Ends every pending request with `error` (the worker died).
    fn fail_all(&self, error: &str) {
        for (_, pending) in self.pending.borrow_mut().drain() {
            let _ = pending.reply.send(Err(WorkerError::Internal {
                detail: error.to_owned(),
            }));
        }
    }
}

/// The worker, shared through context. Cheap to copy.
#[derive(Clone, Copy)]
pub struct AiWorker {
    pub state: RwSignal<WorkerState>,
    inner: StoredValue<Option<Rc<Inner>>, LocalStorage>,
    /// The backend the settings ask for: the worker is put on it when it starts.
    backend: StoredValue<BackendChoice>,
}

impl AiWorker {
    pub fn new(backend: BackendChoice) -> Self {
        Self {
            state: RwSignal::new(WorkerState::Idle),
            inner: StoredValue::new_local(None),
            backend: StoredValue::new(backend),
        }
    }

    /// Remembers the backend setting for a worker started later (a running one is moved
    /// by `SetBackend`).
    /// The backend the running worker computes on ("webgpu", "cpu"), once it said.
    pub fn backend_label(&self) -> Option<&'static str> {
        self.state.with_untracked(|state| match state {
            WorkerState::Ready(info) => Some(match info.backend {
                sightline_protocol::Backend::WebGpu { .. } => "webgpu",
                sightline_protocol::Backend::Cpu { .. } => "cpu",
            }),
            _ => None,
        })
    }

    pub fn set_backend(&self, choice: BackendChoice) {
        self.backend.set_value(choice);
    }

    /// Starts the worker if it is not running; `state` follows its answers.
    pub fn start(&self) -> Result<(), BridgeError> {
        if self.inner.with_value(Option::is_some) {
            return Ok(());
        }
        self.state.set(WorkerState::Starting);
        let worker = Worker::new(WORKER_URL).map_err(|err| {
            let error = BridgeError::Start(crate::image_loader::js_error_text(&err));
            self.state.set(WorkerState::Failed(error.to_string()));
            error
        })?;
        let inner = Rc::new(Inner {
            worker: worker.clone(),
            next_id: Cell::new(1),
            ready: Cell::new(false),
            queued: RefCell::new(Vec::new()),
            pending: RefCell::new(HashMap::new()),
        });
        let state = self.state;
        let this = *self;
        let handler = inner.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let text = event.data().as_string().unwrap_or_default();
            match sightline_protocol::decode::<Message>(&text) {
                Ok(Message::Ready { protocol_version }) if protocol_version != PROTOCOL_VERSION => {
                    let error = format!(
                        "the worker speaks protocol {protocol_version}, the page \
                         {PROTOCOL_VERSION}: reload the page"
                    );
                    handler.fail_all(&error);
                    state.set(WorkerState::Failed(error));
                }
                Ok(Message::Ready { .. }) => {
                    handler.ready.set(true);
                    let queued: Vec<String> = handler.queued.borrow_mut().drain(..).collect();
                    for text in queued {
                        if let Err(error) = handler.post(text) {
                            state.set(WorkerState::Failed(error.to_string()));
                        }
                    }
                }
                Ok(Message::Progress(progress)) => {
                    if let Some(pending) = handler.pending.borrow().get(&progress.id) {
                        (pending.on_progress)(progress);
                    }
                }
                Ok(Message::Reply(Reply { id, outcome })) => {
                    if let Ok(ReplyBody::Pong(info)) = &outcome {
                        state.set(WorkerState::Ready(info.clone()));
                    }
                    let pending = handler.pending.borrow_mut().remove(&id);
                    if let Some(pending) = pending {
                        let _ = pending.reply.send(outcome);
                    } else if let Err(error) = outcome {
                        // A request the worker could not even read.
                        state.set(WorkerState::Failed(error.to_string()));
                    }
                }
                Ok(Message::Crashed { detail }) => this.stopped(&handler, &detail),
                Err(err) => state.set(WorkerState::Failed(err.to_string())),
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        let failing = inner.clone();
        let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
            this.stopped(&failing, &event.message());
        });
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
        self.inner.set_value(Some(inner));
        // Who answered, and on which backend, for the status bar; a backend saved in the
        // settings other than auto is applied first (answered with a pong as well).
        let this = *self;
        let first = match self.backend.get_value() {
            BackendChoice::Auto => RequestBody::Ping,
            choice => RequestBody::SetBackend { choice },
        };
        leptos::task::spawn_local(async move {
            let mut answer = this.request(first, |_| {}).await;
            if let Err(WorkerError::BackendUnavailable { .. }) = answer {
                // The saved backend is not here (now): the worker stays on its own choice,
                // whose pong says which and why.
                answer = this.request(RequestBody::Ping, |_| {}).await;
            }
            if let Err(error) = answer {
                this.state.set(WorkerState::Failed(error.to_string()));
            }
        });
        Ok(())
    }

    /// The worker died (a panic, memory exhausted): what it had pending fails with `detail`,
    /// and the next request starts a new worker. What finished before stays with the
    /// callers (batch jobs apply each image's result as it arrives).
    fn stopped(&self, inner: &Rc<Inner>, detail: &str) {
        // A panic's text spans lines (its location, then its message): one line here.
        let detail = detail.split_whitespace().collect::<Vec<_>>().join(" ");
        let error =
            format!("the AI worker stopped ({detail}); it starts again with the next AI request");
        inner.fail_all(&error);
        inner.worker.terminate();
        let current = self
            .inner
            .with_value(|running| running.as_ref().is_some_and(|r| Rc::ptr_eq(r, inner)));
        if current {
            self.inner.set_value(None);
            self.state.set(WorkerState::Failed(error));
        }
    }

    /// Sends a request (starting the worker if needed); returns its id (for [`cancel`]) and
    /// a future of its reply. `on_progress` sees each progress message.
    ///
    /// [`cancel`]: AiWorker::cancel
    pub fn send(
        &self,
        body: RequestBody,
        on_progress: impl Fn(Progress) + 'static,
    ) -> (RequestId, ReplyFuture) {
        let started = self.start();
        let (sender, receiver) = oneshot::channel();
        let mut id = 0;
        match (started, self.inner.get_value()) {
            (Ok(()), Some(inner)) => {
                id = inner.next_id.get();
                inner.next_id.set(id + 1);
                inner.pending.borrow_mut().insert(
                    id,
                    Pending {
                        on_progress: Box::new(on_progress),
                        reply: sender,
                    },
                );
                let text = sightline_protocol::encode(&Request { id, body });
                if let Err(error) = inner.post(text)
                    && let Some(pending) = inner.pending.borrow_mut().remove(&id)
                {
                    let _ = pending.reply.send(Err(WorkerError::Internal {
                        detail: error.to_string(),
                    }));
                }
            }
            (Err(error), _) => {
                let _ = sender.send(Err(WorkerError::Internal {
                    detail: error.to_string(),
                }));
            }
            (Ok(()), None) => {
                let _ = sender.send(Err(WorkerError::Internal {
                    detail: "the worker is not running".to_owned(),
                }));
            }
        }
        let reply = async move {
            receiver.await.unwrap_or_else(|_| {
                Err(WorkerError::Internal {
                    detail: "the worker went away".to_owned(),
                })
            })
        };
        (id, Box::pin(reply))
    }

    /// [`send`](AiWorker::send) without the id.
    pub async fn request(
        &self,
        body: RequestBody,
        on_progress: impl Fn(Progress) + 'static,
    ) -> Result<ReplyBody, WorkerError> {
        self.send(body, on_progress).1.await
    }

    /// Asks the worker to stop request `target` at its next image.
    pub fn cancel(&self, target: RequestId) {
        let (_, reply) = self.send(RequestBody::Cancel { target }, |_| {});
        leptos::task::spawn_local(async move {
            let _ = reply.await;
        });
    }
}
