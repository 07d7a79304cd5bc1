//! The page's side of the worker protocol: starts the worker Trunk built from `index.html`
//! and turns its messages into signals.

use leptos::prelude::*;
use sightline_protocol::{
    Message, PROTOCOL_VERSION, Reply, ReplyBody, Request, RequestBody, WorkerInfo,
};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, Worker};

/// The loader script Trunk emits for the worker bin (`data-loader-shim`).
const WORKER_URL: &str = "./worker_loader.js";

/// What the status bar shows about the worker.
#[derive(Clone, Debug, PartialEq)]
pub enum WorkerState {
    Starting,
    Ready(WorkerInfo),
    Failed(String),
}

/// Starts the worker and pings it; `state` follows its answers. The worker lives as long as
/// the page.
pub fn start_worker(state: RwSignal<WorkerState>) {
    let worker = match Worker::new(WORKER_URL) {
        Ok(worker) => worker,
        Err(err) => {
            state.set(WorkerState::Failed(format!(
                "could not start the worker: {}",
                crate::image_loader::js_error_text(&err)
            )));
            return;
        }
    };
    let ping = sightline_protocol::encode(&Request {
        id: 1,
        body: RequestBody::Ping,
    });
    let worker_handle = worker.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let text = event.data().as_string().unwrap_or_default();
        match sightline_protocol::decode::<Message>(&text) {
            Ok(Message::Ready { protocol_version }) if protocol_version != PROTOCOL_VERSION => {
                state.set(WorkerState::Failed(format!(
                    "the worker speaks protocol {protocol_version}, the page \
                     {PROTOCOL_VERSION}: reload the page"
                )));
            }
            // Requests go out only once the worker listens.
            Ok(Message::Ready { .. }) => {
                if let Err(err) = worker_handle.post_message(&JsValue::from_str(&ping)) {
                    state.set(WorkerState::Failed(crate::image_loader::js_error_text(
                        &err,
                    )));
                }
            }
            Ok(Message::Reply(Reply {
                outcome: Ok(ReplyBody::Pong(info)),
                ..
            })) => {
                if info.protocol_version == PROTOCOL_VERSION {
                    state.set(WorkerState::Ready(info));
                } else {
                    state.set(WorkerState::Failed(format!(
                        "the worker speaks protocol {}, the page {PROTOCOL_VERSION}: reload the page",
                        info.protocol_version
                    )));
                }
            }
            Ok(Message::Reply(Reply {
                outcome: Err(err), ..
            })) => {
                state.set(WorkerState::Failed(err.to_string()));
            }
            Ok(Message::Progress(_) | Message::Reply(_)) => {}
            Err(err) => state.set(WorkerState::Failed(err.to_string())),
        }
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
        state.set(WorkerState::Failed(format!(
            "the worker failed: {}",
            event.message()
        )));
    });
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();

    // Keep the worker object alive with the page.
    std::mem::forget(worker);
}
