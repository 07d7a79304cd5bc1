//! Raw outputs of the tiny YOLO fixtures against onnxruntime's, on the CPU backend (and on
//! wgpu with the `wgpu` feature when an adapter exists).

mod common;

use common::{data_dir, head_errors, max_abs, npy, tiny_model};
use sightline_vision::{ComputeDevice, OnnxModel, Precision};

const BOX_RELATIVE_TOLERANCE: f32 = 1e-3;
const SCORE_TOLERANCE: f32 = 1e-4;

/// Every tiny fixture: YOLOv8, YOLO11, YOLOv5u and classic YOLOv5, detect and segment.
const TINY_MODELS: &[&str] = &[
    "yolov8t",
    "yolo11t",
    "yolov5ut",
    "yolov8t-seg",
    "yolo11t-seg",
    "yolov5t-classic",
    "yolov5t-classic-seg",
];

/// How many outputs `name` has, as many as the oracle stored: the head, and for a
/// segmenter the mask prototypes.
fn output_count(name: &str) -> usize {
    if name.ends_with("-seg") { 2 } else { 1 }
}

fn check_model(name: &str, device: &ComputeDevice) {
    let Some(path) = tiny_model(name) else {
        return;
    };
    let dir = data_dir();
    let model = OnnxModel::from_file(path, &device.device).unwrap();
    let input = npy(dir.join(format!("{name}.dog.input.npy")));
    let outputs = model
        .forward_host(&[(&input.values, &input.shape)])
        .unwrap();
    assert_eq!(outputs.len(), output_count(name), "{name} outputs");
    let classic = name.contains("classic");
    for (k, output) in outputs.iter().enumerate() {
        let want = npy(dir.join(format!("{name}.dog.output{k}.npy")));
        assert_eq!(
            output.shape(),
            want.shape.as_slice(),
            "{name} output{k} shape"
        );
        let got = output.to_vec().unwrap();
        if k == 0 {
            let errors = head_errors(&got, &want, !classic);
            println!(
                "{name} [{}] output0: max box rel err {:.2e}, max score/coef abs err {:.2e}",
                device.backend_name, errors.box_relative, errors.score_absolute
            );
            assert!(
                errors.box_relative <= BOX_RELATIVE_TOLERANCE,
                "{name}: {errors:?}"
            );
            assert!(
                errors.score_absolute <= SCORE_TOLERANCE,
                "{name}: {errors:?}"
            );
        } else {
            let error = max_abs(&got, &want.values);
            println!(
                "{name} [{}] output{k} (prototypes): max abs err {error:.2e}",
                device.backend_name
            );
            assert!(error <= SCORE_TOLERANCE, "{name} output{k}: {error}");
        }
    }
}

/// Two images in one forward: each image's outputs equal its own forward's (the first is
/// also checked against onnxruntime, through the same tolerances as above).
fn check_batch(name: &str, device: &ComputeDevice) {
    let Some(path) = tiny_model(name) else {
        return;
    };
    let dir = data_dir();
    let model = OnnxModel::from_file(path, &device.device).unwrap();
    model
        .batching()
        .unwrap_or_else(|why| panic!("{name} should run batches: {why}"));
    let first = npy(dir.join(format!("{name}.dog.input.npy")));
    // A second, different image: the photographic negative.
    let second: Vec<f32> = first.values.iter().map(|v| 1.0 - v).collect();
    let mut shape = first.shape.clone();
    let single_second = model.forward_host(&[(&second, &shape)]).unwrap();
    shape[0] = 2;
    let both = [first.values.as_slice(), second.as_slice()].concat();
    let batched = model.forward_host(&[(&both, &shape)]).unwrap();
    assert_eq!(batched.len(), output_count(name), "{name} outputs");
    assert_eq!(single_second.len(), output_count(name), "{name} outputs");
    for (k, (output, alone)) in batched.iter().zip(&single_second).enumerate() {
        let want = npy(dir.join(format!("{name}.dog.output{k}.npy")));
        let mut want_shape = want.shape.clone();
        want_shape[0] = 2;
        assert_eq!(
            output.shape(),
            want_shape.as_slice(),
            "{name} output{k} shape"
        );
        let got = output.to_vec().unwrap();
        let (got_first, got_second) = got.split_at(got.len() / 2);
        let error = if k == 0 {
            let errors = head_errors(got_first, &want, !name.contains("classic"));
            assert!(
                errors.box_relative <= BOX_RELATIVE_TOLERANCE,
                "{name}: {errors:?}"
            );
            errors.score_absolute
        } else {
            max_abs(got_first, &want.values)
        };
        assert!(
            error <= SCORE_TOLERANCE,
            "{name} output{k}, first image: {error}"
        );
        let alone = alone.to_vec().unwrap();
        let error = max_abs(got_second, &alone);
        let scale = alone.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        assert!(
            error <= 1e-5 * scale,
            "{name} output{k}, second image: {error}"
        );
    }
}

#[test]
fn batches_match_single_images() {
    for name in TINY_MODELS {
        check_batch(name, &cpu());
    }
}

fn cpu() -> ComputeDevice {
    ComputeDevice::cpu().unwrap()
}

#[test]
fn yolov8t_matches_onnxruntime() {
    check_model("yolov8t", &cpu());
}

#[test]
fn yolo11t_matches_onnxruntime() {
    check_model("yolo11t", &cpu());
}

#[test]
fn yolov5ut_matches_onnxruntime() {
    check_model("yolov5ut", &cpu());
}

#[test]
fn yolov8t_seg_matches_onnxruntime() {
    check_model("yolov8t-seg", &cpu());
}

#[test]
fn yolo11t_seg_matches_onnxruntime() {
    check_model("yolo11t-seg", &cpu());
}

#[test]
fn yolov5t_classic_matches_onnxruntime() {
    check_model("yolov5t-classic", &cpu());
}

#[test]
fn yolov5t_classic_seg_matches_onnxruntime() {
    check_model("yolov5t-classic-seg", &cpu());
}

/// The same comparisons on the GPU through wgpu (Vulkan natively), when an adapter exists.
#[cfg(feature = "wgpu")]
mod wgpu {
    use super::{TINY_MODELS, check_batch, check_model};
    use sightline_vision::ComputeDevice;

    fn gpu() -> Option<ComputeDevice> {
        // Compiled with the feature, so this only fails if burn's wgpu backend is missing.
        let device = ComputeDevice::wgpu().expect("the wgpu feature builds the wgpu device");
        let probe = std::panic::catch_unwind(|| {
            burn::tensor::Tensor::<1>::from_floats([1.0f32], &device.device).into_data()
        });
        match probe {
            Ok(_) => Some(device),
            Err(_) => {
                assert!(!super::common::data_required(), "no wgpu adapter");
                super::common::skip("a wgpu adapter (a GPU with Vulkan)");
                None
            }
        }
    }

    #[test]
    fn tiny_models_match_onnxruntime_on_wgpu() {
        let Some(device) = gpu() else { return };
        for name in TINY_MODELS {
            check_model(name, &device);
            check_batch(name, &device);
        }
    }
}

/// Every tiny graph runs in f16 (weights converted at load, every operator in f16): the
/// outputs have the oracle's shapes, are finite, and the class scores stay within 1e-2 of
/// onnxruntime's f32. The boxes are printed, not held to a tolerance: on the CPU backend the
/// f16 GEMM accumulates in f16 and these random-weight heads move boxes by up to a quarter
/// of a unit, which is why a detector uses f16 only after checking its detections against
/// f32 (`Detector::agrees_with`, tested with the trained model in `fall_model.rs`).
#[test]
fn tiny_models_run_in_f16() {
    let device = cpu();
    assert!(Precision::F16.supported_on(&device.device));
    let dir = data_dir();
    for name in TINY_MODELS {
        let Some(path) = tiny_model(name) else {
            return;
        };
        let bytes = std::fs::read(path).unwrap();
        let model = OnnxModel::from_bytes_with(&bytes, &device.device, Precision::F16).unwrap();
        let input = npy(dir.join(format!("{name}.dog.input.npy")));
        let outputs = model
            .forward_host(&[(&input.values, &input.shape)])
            .unwrap();
        let want = npy(dir.join(format!("{name}.dog.output0.npy")));
        assert_eq!(outputs.len(), output_count(name), "{name} outputs");
        assert_eq!(outputs[0].shape(), want.shape.as_slice(), "{name}");
        // head_errors also asserts that every value is finite.
        let errors = head_errors(
            &outputs[0].to_vec().unwrap(),
            &want,
            !name.contains("classic"),
        );
        println!(
            "{name} [f16] output0: max box rel err {:.2e}, max score abs err {:.2e}",
            errors.box_relative, errors.score_absolute
        );
        assert!(errors.score_absolute <= 1e-2, "{name}: {errors:?}");
        for (k, output) in outputs.iter().enumerate().skip(1) {
            let want = npy(dir.join(format!("{name}.dog.output{k}.npy")));
            assert_eq!(output.shape(), want.shape.as_slice(), "{name} output{k}");
            assert!(output.to_vec().unwrap().iter().all(|v| v.is_finite()));
        }
    }
}
