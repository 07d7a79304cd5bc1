//! Browser glue: the `onmessage` loop and the WebGPU probe.

use js_sys::{Promise, Reflect};
use sightline_protocol::Backend;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

/// Installs the message handler. Called once by the worker bin's `main`.
pub fn start() {
    console_error_panic_hook::set_once();
    let Ok(scope) = js_sys::global().dyn_into::<DedicatedWorkerGlobalScope>() else {
        web_sys::console::error_1(&"sightline worker: not running in a dedicated worker".into());
        return;
    };
    // Decided once at start-up; every request awaits the same promise.
    let navigator: JsValue = scope.navigator().into();
    let backend_json = future_to_promise(async move {
        let backend = probe_backend(&navigator).await;
        Ok(JsValue::from_str(&sightline_protocol::encode(&backend)))
    });

    let reply_scope = scope.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let text = event.data().as_string().unwrap_or_default();
        let scope = reply_scope.clone();
        let backend_json = backend_json.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let backend = JsFuture::from(backend_json)
                .await
                .ok()
                .and_then(|value| value.as_string())
                .and_then(|text| sightline_protocol::decode::<Backend>(&text).ok())
                .unwrap_or_else(|| Backend::Cpu {
                    reason: "the WebGPU probe failed".into(),
                });
            let reply = crate::handle_request(&text, &backend);
            let text = sightline_protocol::encode(&reply);
            if let Err(err) = scope.post_message(&JsValue::from_str(&text)) {
                web_sys::console::error_2(&"sightline worker: postMessage failed".into(), &err);
            }
        });
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();
    let ready = crate::ready_message();
    if let Err(err) = scope.post_message(&JsValue::from_str(&sightline_protocol::encode(&ready))) {
        web_sys::console::error_2(&"sightline worker: postMessage failed".into(), &err);
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
