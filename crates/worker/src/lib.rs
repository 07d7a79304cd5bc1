//! The inference web worker.
//!
//! Owns the worker side of the protocol: it answers the page's requests, decides once at
//! start-up which compute backend models run on (WebGPU when the browser offers an adapter,
//! else the CPU fallback) and reports that choice. Model execution itself lives in the
//! `vision` crate; this crate is the thin glue around it. The browser-only code is in
//! `web.rs`, chosen here once by `cfg`.

use sightline_protocol::{
    Backend, Message, PROTOCOL_VERSION, Reply, ReplyBody, Request, RequestBody, WorkerError,
    WorkerInfo,
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

/// Answers one request, given the backend chosen at start-up. Pure: the platform code only
/// moves text in and out.
pub fn handle_request(text: &str, backend: &Backend) -> Message {
    let request = match sightline_protocol::decode::<Request>(text) {
        Ok(request) => request,
        Err(err) => {
            // Without a readable id the reply cannot be matched; id 0 is reserved for that.
            return Message::Reply(Reply {
                id: 0,
                outcome: Err(WorkerError::BadRequest {
                    detail: err.to_string(),
                }),
            });
        }
    };
    let outcome = match request.body {
        RequestBody::Ping => Ok(ReplyBody::Pong(WorkerInfo {
            version: VERSION.to_owned(),
            protocol_version: PROTOCOL_VERSION,
            backend: backend.clone(),
        })),
        other => Err(WorkerError::BadRequest {
            detail: format!("not implemented by this worker yet: {other:?}"),
        }),
    };
    Message::Reply(Reply {
        id: request.id,
        outcome,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sightline_protocol::{decode, encode};

    #[test]
    fn ping_is_answered_with_version_and_backend() {
        let backend = Backend::WebGpu {
            adapter: "test adapter".into(),
        };
        let text = encode(&Request {
            id: 42,
            body: RequestBody::Ping,
        });
        let reply = handle_request(&text, &backend);
        let expected = Message::Reply(Reply {
            id: 42,
            outcome: Ok(ReplyBody::Pong(WorkerInfo {
                version: VERSION.into(),
                protocol_version: PROTOCOL_VERSION,
                backend,
            })),
        });
        assert_eq!(reply, expected);
        // And it survives the trip back to the page.
        assert_eq!(
            decode::<Message>(&encode(&reply)).expect("decodes"),
            expected
        );
    }

    #[test]
    fn garbage_gets_a_typed_error_not_a_panic() {
        let reply = handle_request(
            "{\"id\": 3, \"body\": {\"kind\": \"dance\"}}",
            &Backend::Cpu {
                reason: "test".into(),
            },
        );
        let Message::Reply(Reply {
            id: 0,
            outcome: Err(WorkerError::BadRequest { detail }),
        }) = reply
        else {
            panic!("expected a bad-request error, got {reply:?}");
        };
        assert!(detail.contains("dance"), "{detail}");
    }
}
