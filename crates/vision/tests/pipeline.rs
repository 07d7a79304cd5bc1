//! The image pipeline on the tiny fixtures: our letterbox against Ultralytics' stored input,
//! and detect/segment end to end (random weights: checks shapes and invariants, not boxes).

mod common;

use common::{data_dir, npy, shared_fixture, shared_fixtures};
use sightline_vision::image_io::read_image;
use sightline_vision::yolo::letterbox::letterbox;
use sightline_vision::{ComputeDevice, Detector, ModelConfig};

#[test]
fn letterbox_matches_ultralytics_input() {
    let Some(path) = shared_fixture("images/dog.jpg") else {
        return;
    };
    let image = read_image(&path).unwrap();
    let (input, _) = letterbox(&image, (320, 320));
    let want = npy(data_dir().join("yolov8t.dog.input.npy"));
    assert_eq!(want.shape, vec![1, 3, 320, 320]);
    let diffs: Vec<f32> = input
        .iter()
        .zip(&want.values)
        .map(|(a, b)| (a - b).abs() * 255.0)
        .collect();
    let max = diffs.iter().copied().fold(0.0, f32::max);
    let mean = diffs.iter().sum::<f32>() / diffs.len() as f32;
    let exact = diffs.iter().filter(|d| **d < 0.5).count() as f32 / diffs.len() as f32;
    println!(
        "letterbox vs Ultralytics: max {max:.1}/255, mean {mean:.3}/255, {:.1}% identical",
        exact * 100.0
    );
    // Our baseline JPEG decoder and resize reproduce libjpeg-turbo + cv2 bit for bit.
    assert!(max < 0.5, "max difference {max}/255, mean {mean}/255");

    // The trained model's 640 input of person.jpg (no resize: 640x424), when present.
    let person = shared_fixtures().join("refs/fall-yolov8s.person.input.npy");
    if person.is_file() {
        let image = read_image(shared_fixtures().join("images/person.jpg")).unwrap();
        let (input, _) = letterbox(&image, (640, 640));
        let want = npy(person);
        let max = input
            .iter()
            .zip(&want.values)
            .map(|(a, b)| (a - b).abs() * 255.0)
            .fold(0.0, f32::max);
        assert!(max < 0.5, "person.jpg: max difference {max}/255");
    }
}

#[test]
fn segmentation_pipeline_produces_polygons_inside_the_image() {
    let Some(path) = shared_fixture("images/dog.jpg") else {
        return;
    };
    let image = read_image(&path).unwrap();
    let device = ComputeDevice::cpu().unwrap();
    for name in ["yolov8t-seg", "yolov5t-classic-seg", "yolo11t"] {
        let mut detector =
            Detector::load(data_dir().join(format!("{name}.onnx")), &device.device).unwrap();
        assert_eq!(detector.class_names(), ["cat", "dog", "person"]);
        // Random weights give low scores: lower the threshold to exercise post-processing.
        detector.options.score_threshold = 0.01;
        detector.options.objectness_threshold = Some(0.01);
        let found = detector.detect(&image).unwrap();
        println!("{name}: {} detections", found.len());
        let (w, h) = (image.width() as f32, image.height() as f32);
        for d in &found {
            let [x1, y1, x2, y2] = d.bbox_in_image;
            assert!(
                0.0 <= x1 && x1 <= x2 && x2 <= w && 0.0 <= y1 && y1 <= y2 && y2 <= h,
                "{d:?}"
            );
            assert!(d.score > 0.01 && d.score <= 1.0);
            if let Some(polygon) = &d.polygon_in_image {
                assert!(polygon.len() >= 3);
                assert!(
                    polygon
                        .iter()
                        .all(|p| (0.0..=w).contains(&p[0]) && (0.0..=h).contains(&p[1]))
                );
            }
        }
        assert_eq!(detector.is_segmentation(), name.ends_with("-seg"));
        let json = serde_json::to_string(&found).unwrap();
        let back: Vec<sightline_vision::Detection> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, found);
    }
}

#[test]
fn anylabeling_config_loads_the_model_it_names() {
    let dir = std::env::temp_dir().join(format!("sightline-vision-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(data_dir().join("yolov5t-classic.onnx"), dir.join("m.onnx")).unwrap();
    let yaml = "type: yolov5\nname: tiny\ndisplay_name: Tiny\nmodel_path: m.onnx\ninput_width: 320\n\
                input_height: 320\nscore_threshold: 0.3\nnms_threshold: 0.5\nconfidence_threshold: 0.2\n\
                classes: [a, b, c]\n";
    std::fs::write(dir.join("tiny.yaml"), yaml).unwrap();
    let device = ComputeDevice::cpu().unwrap();
    let detector = Detector::load(dir.join("tiny.yaml"), &device.device).unwrap();
    assert_eq!(detector.class_names(), ["a", "b", "c"]);
    assert_eq!(detector.input_size(), (320, 320));
    assert_eq!(detector.options.score_threshold, 0.3);
    assert_eq!(detector.options.objectness_threshold, Some(0.2));
    let config = ModelConfig::from_yaml(yaml).unwrap();
    assert_eq!(config.display_name.as_deref(), Some("Tiny"));
    std::fs::remove_dir_all(&dir).ok();
}
