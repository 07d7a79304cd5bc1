//! The inference web worker.
//!
//! Owns the worker side of the protocol: it answers the page's requests, decides once at
//! start-up which compute backend models run on (WebGPU when the browser offers an adapter,
//! else the CPU fallback; the user may override it), loads the models the page stored in
//! IndexedDB into a cache keyed by content, and runs them on images with progress and
//! cancel (`engine.rs`), and scores image quality (`quality.rs`). Model execution itself lives in the `vision` crate; the
//! browser-only code is in `web.rs`, chosen here once by `cfg`.

pub mod engine;
mod quality;

use engine::{Engine, Host};
use sightline_protocol::{
    Message, PROTOCOL_VERSION, Reply, ReplyBody, Request, RequestBody, WorkerError, WorkerInfo,
};

#[cfg(target_arch = "wasm32")]
mod web;
#[cfg(target_arch = "wasm32")]
pub use web::{probe_backend, start};

/// The version the worker reports in its pong.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The first message the worker sends, once it listens.
pub fn ready_message() -> Message {
    Message::Ready {
        protocol_version: PROTOCOL_VERSION,
    }
}

/// Reads a request; a message that is not one is answered with a typed error under id 0
/// (its id cannot be known).
pub fn parse_request(text: &str) -> Result<Request, Box<Message>> {
    sightline_protocol::decode::<Request>(text).map_err(|err| {
        Box::new(Message::Reply(Reply {
            id: 0,
            outcome: Err(WorkerError::BadRequest {
                detail: err.to_string(),
            }),
        }))
    })
}

fn pong(engine: &Engine) -> ReplyBody {
    ReplyBody::Pong(WorkerInfo {
        version: VERSION.to_owned(),
        protocol_version: PROTOCOL_VERSION,
        backend: engine.backend(),
    })
}

/// Answers one request. Every failure is a typed error in the reply, never a panic (but
/// for [`RequestBody::Crash`], which asks for one).
pub async fn handle_request(engine: &Engine, host: &impl Host, request: Request) -> Message {
    let id = request.id;
    let outcome = match request.body {
        RequestBody::Ping => Ok(pong(engine)),
        RequestBody::SetBackend { choice } => match host.device_for(choice).await {
            Ok((device, backend)) => {
                engine.set_device(device, backend);
                Ok(pong(engine))
            }
            Err(error) => Err(error),
        },
        RequestBody::LoadModel {
            model,
            precision,
            probe,
        } => engine
            .load_model(host, &model, precision, &probe)
            .await
            .map(ReplyBody::ModelLoaded),
        RequestBody::UnloadModel { model } => {
            engine.unload(&model);
            Ok(ReplyBody::Unloaded { model })
        }
        RequestBody::Detect {
            model,
            images,
            params,
        } => {
            engine
                .detect(host, id, &model, &images, &params, None)
                .await
        }
        RequestBody::Filter {
            model,
            images,
            params,
            filter,
        } => {
            engine
                .detect(host, id, &model, &images, &params, Some(&filter))
                .await
        }
        RequestBody::Quality {
            images,
            metrics,
            hash,
        } => engine.quality(host, id, &images, &metrics, hash).await,
        RequestBody::Similarity { pairs } => engine.similarity(host, id, &pairs).await,
        RequestBody::Cancel { target } => {
            engine.cancel(target);
            Ok(ReplyBody::CancelRequested { target })
        }
        RequestBody::Crash => panic!("the page asked the worker to crash (request {id})"),
    };
    Message::Reply(Reply { id, outcome })
}
