//! The tiny YOLO fixtures in a real browser, on both of the worker's backends: WebGPU
//! (headless Chromium with `--enable-unsafe-webgpu` offers SwiftShader's adapter, see
//! `xtask/webdriver.json`) and the CPU fallback (burn flex in wasm). Every output must match
//! onnxruntime's (stored as .npy beside the models): scores within 1e-4, box coordinates
//! within 1e-3 relative — the tolerances of the native oracle tests. The models are read
//! from the shared fixtures at build time (`SIGHTLINE_SHARED`), the tensors from the repository.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;

use burn::tensor::Device;
use sightline_protocol::Backend;
use sightline_vision::OnnxModel;
use sightline_vision::npy::{NpyArray, read_npy};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const BOX_RELATIVE_TOLERANCE: f32 = 1e-3;
const SCORE_TOLERANCE: f32 = 1e-4;

/// The oracle's tensors, committed beside vision's tests.
macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../vision/tests/data/",
            $name
        ))
    };
}

/// A tiny model from the shared fixtures (exported by AGPL/GPL code, so never committed:
/// LICENSES.md). `cargo xtask test` sets `SIGHTLINE_SHARED` to the folder holding them.
macro_rules! tiny {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("SIGHTLINE_SHARED"),
            "/fixtures/models/tiny/",
            $name
        ))
    };
}

struct Fixture {
    name: &'static str,
    onnx: &'static [u8],
    input: &'static [u8],
    outputs: &'static [&'static [u8]],
}

const FIXTURES: &[Fixture] = &[
    Fixture {
        name: "yolov8t",
        onnx: tiny!("yolov8t.onnx"),
        input: fixture!("yolov8t.dog.input.npy"),
        outputs: &[fixture!("yolov8t.dog.output0.npy")],
    },
    Fixture {
        name: "yolo11t",
        onnx: tiny!("yolo11t.onnx"),
        input: fixture!("yolo11t.dog.input.npy"),
        outputs: &[fixture!("yolo11t.dog.output0.npy")],
    },
    Fixture {
        name: "yolov5ut",
        onnx: tiny!("yolov5ut.onnx"),
        input: fixture!("yolov5ut.dog.input.npy"),
        outputs: &[fixture!("yolov5ut.dog.output0.npy")],
    },
    Fixture {
        name: "yolov5t-classic",
        onnx: tiny!("yolov5t-classic.onnx"),
        input: fixture!("yolov5t-classic.dog.input.npy"),
        outputs: &[fixture!("yolov5t-classic.dog.output0.npy")],
    },
    Fixture {
        name: "yolov8t-seg",
        onnx: tiny!("yolov8t-seg.onnx"),
        input: fixture!("yolov8t-seg.dog.input.npy"),
        outputs: &[
            fixture!("yolov8t-seg.dog.output0.npy"),
            fixture!("yolov8t-seg.dog.output1.npy"),
        ],
    },
    Fixture {
        name: "yolo11t-seg",
        onnx: tiny!("yolo11t-seg.onnx"),
        input: fixture!("yolo11t-seg.dog.input.npy"),
        outputs: &[
            fixture!("yolo11t-seg.dog.output0.npy"),
            fixture!("yolo11t-seg.dog.output1.npy"),
        ],
    },
    Fixture {
        name: "yolov5t-classic-seg",
        onnx: tiny!("yolov5t-classic-seg.onnx"),
        input: fixture!("yolov5t-classic-seg.dog.input.npy"),
        outputs: &[
            fixture!("yolov5t-classic-seg.dog.output0.npy"),
            fixture!("yolov5t-classic-seg.dog.output1.npy"),
        ],
    },
];

/// Largest relative box error and absolute score error of a head output; the first four
/// channels are box coordinates (`channels_first`: [1, C, N], else [1, N, C]).
fn head_errors(got: &[f32], want: &NpyArray, channels_first: bool) -> (f32, f32) {
    assert_eq!(got.len(), want.values.len(), "shape {:?}", want.shape);
    let (c, n) = if channels_first {
        (want.shape[1], want.shape[2])
    } else {
        (want.shape[2], want.shape[1])
    };
    let (mut boxes, mut scores) = (0.0_f32, 0.0_f32);
    for (i, (&g, &w)) in got.iter().zip(&want.values).enumerate() {
        assert!(g.is_finite(), "non-finite value at {i}");
        let channel = if channels_first { i / n } else { i % c };
        if channel < 4 {
            boxes = boxes.max((g - w).abs() / w.abs().max(1.0));
        } else {
            scores = scores.max((g - w).abs());
        }
    }
    (boxes, scores)
}

async fn check_all(device: &Device, backend: &str) {
    for fixture in FIXTURES {
        let model = OnnxModel::from_bytes(fixture.onnx, device).expect("parses");
        let input = read_npy(fixture.input).expect("input npy");
        let outputs = model
            .forward_host(&[(&input.values, &input.shape)])
            .expect("runs");
        assert_eq!(outputs.len(), fixture.outputs.len(), "{}", fixture.name);
        for (k, (output, want)) in outputs.iter().zip(fixture.outputs).enumerate() {
            let want = read_npy(want).expect("output npy");
            assert_eq!(
                output.shape(),
                want.shape.as_slice(),
                "{} output{k}",
                fixture.name
            );
            let got = output.to_vec_async().await.expect("read back");
            if k == 0 {
                let channels_first = !fixture.name.contains("classic");
                let (boxes, scores) = head_errors(&got, &want, channels_first);
                web_sys::console::log_1(
                    &format!(
                        "{} [{backend}] output0: box rel {boxes:.2e}, score abs {scores:.2e}",
                        fixture.name
                    )
                    .into(),
                );
                assert!(
                    boxes <= BOX_RELATIVE_TOLERANCE,
                    "{} [{backend}]: boxes {boxes}",
                    fixture.name
                );
                assert!(
                    scores <= SCORE_TOLERANCE,
                    "{} [{backend}]: scores {scores}",
                    fixture.name
                );
            } else {
                let error = got
                    .iter()
                    .zip(&want.values)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0_f32, f32::max);
                assert!(
                    error <= SCORE_TOLERANCE,
                    "{} [{backend}] output{k}: {error}",
                    fixture.name
                );
            }
        }
    }
}

thread_local! {
    static WEBGPU: RefCell<Option<Device>> = const { RefCell::new(None) };
}

/// burn's wgpu runtime is initialised once per page.
async fn webgpu() -> Device {
    if let Some(device) = WEBGPU.with(|d| d.borrow().clone()) {
        return device;
    }
    let device = Device::wgpu_options()
        .init_async()
        .await
        .expect("a WebGPU device (Chromium runs with --enable-unsafe-webgpu)");
    WEBGPU.with(|d| *d.borrow_mut() = Some(device.clone()));
    device
}

#[wasm_bindgen_test]
async fn tiny_models_match_onnxruntime_on_webgpu() {
    let navigator = web_sys::window().expect("a window").navigator();
    let probed = sightline_worker::probe_backend(&navigator.into()).await;
    assert!(
        matches!(probed, Backend::WebGpu { .. }),
        "no adapter: {probed:?}"
    );
    check_all(&webgpu().await, "webgpu").await;
}

#[wasm_bindgen_test]
async fn tiny_models_match_onnxruntime_on_the_cpu_fallback() {
    check_all(&Device::flex(), "cpu").await;
}
