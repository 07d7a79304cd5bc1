//! Raw outputs of the tiny YOLO fixtures against onnxruntime's, on the CPU backend (and on
//! wgpu with the `wgpu` feature when an adapter exists).

mod common;

use common::{data_dir, head_errors, max_abs, npy};
use sightline_vision::{ComputeDevice, OnnxModel};

const BOX_RELATIVE_TOLERANCE: f32 = 1e-3;
const SCORE_TOLERANCE: f32 = 1e-4;

fn check_model(name: &str, device: &ComputeDevice) {
    let dir = data_dir();
    let model = OnnxModel::from_file(dir.join(format!("{name}.onnx")), &device.device).unwrap();
    let input = npy(dir.join(format!("{name}.dog.input.npy")));
    let outputs = model
        .forward_host(&[(&input.values, &input.shape)])
        .unwrap();
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
    use super::check_model;
    use sightline_vision::ComputeDevice;

    fn gpu() -> Option<ComputeDevice> {
        let device = ComputeDevice::wgpu().ok()?;
        let probe = std::panic::catch_unwind(|| {
            burn::tensor::Tensor::<1>::from_floats([1.0f32], &device.device).into_data()
        });
        match probe {
            Ok(_) => Some(device),
            Err(_) => {
                assert!(!super::common::data_required(), "no wgpu adapter");
                eprintln!("SKIP: no wgpu adapter on this machine");
                None
            }
        }
    }

    #[test]
    fn tiny_models_match_onnxruntime_on_wgpu() {
        let Some(device) = gpu() else { return };
        for name in [
            "yolov8t",
            "yolo11t",
            "yolov5ut",
            "yolov8t-seg",
            "yolo11t-seg",
            "yolov5t-classic",
            "yolov5t-classic-seg",
        ] {
            check_model(name, &device);
        }
    }
}
