//! The messages that cross the boundary between the page and the inference worker.
//!
//! Every request carries an id; the worker answers each with zero or more [`Progress`]
//! messages and exactly one final [`Reply`], whose outcome is a typed result or a typed
//! [`WorkerError`] — never a bare string and never a panic across the boundary. Messages
//! travel as JSON text through `postMessage` (see [`encode`] / [`decode`]), so this crate is
//! tested natively like any other.

use serde::{Deserialize, Serialize};

/// Version of this protocol; the page refuses a worker that speaks another.
pub const PROTOCOL_VERSION: u32 = 1;

/// Identifies one request so its replies can be matched to it.
pub type RequestId = u64;

/// What the page asks of the worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub id: RequestId,
    pub body: RequestBody,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RequestBody {
    /// Asks who the worker is and which compute backend it would use.
    Ping,
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
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub id: RequestId,
    pub done: u64,
    pub total: u64,
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
}

/// Who answered a ping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerInfo {
    /// The worker crate's version.
    pub version: String,
    pub protocol_version: u32,
    pub backend: Backend,
}

/// The compute backend the worker runs models on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Backend {
    /// A WebGPU adapter was found; `adapter` describes it as the browser does
    /// (vendor / architecture / description, whatever it discloses).
    WebGpu { adapter: String },
    /// No WebGPU adapter: models run on the CPU fallback. `reason` says why.
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkerError {
    #[error("the worker could not read the request: {detail}")]
    BadRequest { detail: String },
    #[error("the worker speaks protocol {worker}, the page {page}: reload the page")]
    VersionMismatch { worker: u32, page: u32 },
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

    #[test]
    fn ready_round_trips() {
        let ready = Message::Ready {
            protocol_version: PROTOCOL_VERSION,
        };
        assert_eq!(encode(&ready), r#"{"kind":"ready","protocol_version":1}"#);
        assert_eq!(decode::<Message>(&encode(&ready)).expect("decodes"), ready);
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
