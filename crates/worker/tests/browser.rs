//! The WebGPU probe in a real browser: headless Chromium started with
//! `--enable-unsafe-webgpu` (see `webdriver.json`) offers SwiftShader's adapter.
#![cfg(target_arch = "wasm32")]

use sightline_protocol::Backend;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn probe_finds_the_webgpu_adapter_under_the_flag() {
    let navigator = web_sys::window().expect("a window").navigator();
    let backend = sightline_worker::probe_backend(&navigator.into()).await;
    assert!(
        matches!(backend, Backend::WebGpu { .. }),
        "expected WebGPU, got {backend:?}"
    );
}

#[wasm_bindgen_test]
async fn probe_without_navigator_gpu_falls_back_to_cpu() {
    let fake_navigator = js_sys::Object::new();
    let backend = sightline_worker::probe_backend(&fake_navigator.into()).await;
    let Backend::Cpu { reason } = backend else {
        panic!("expected CPU, got {backend:?}")
    };
    assert!(reason.contains("navigator.gpu"), "{reason}");
}
