//! The image pipeline on the tiny fixtures: our letterbox against Ultralytics' stored input,
//! and detect/segment end to end (random weights: checks shapes and invariants, not boxes).

mod common;

use common::{data_dir, demo_dir, npy, shared_fixture, tiny_model};
use sightline_vision::image_io::read_image;
use sightline_vision::yolo::letterbox::letterbox;
use sightline_vision::{ComputeDevice, Detector, ModelConfig};

#[test]
fn letterbox_matches_ultralytics_input() {
    let image = read_image(demo_dir().join("dog.jpg")).unwrap();
    let (input, _) = letterbox(&image, (320, 320));
    let want = npy(data_dir().join("yolov8t.dog.input.npy"));
    assert_eq!(want.shape, vec![1, 3, 320, 320]);
    assert_eq!(input.len(), want.values.len());
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
}

/// The trained model's 640 input of person.jpg (no resize: 640x424), from the shared refs.
#[test]
fn letterbox_matches_ultralytics_input_at_640() {
    let Some(person) = shared_fixture("refs/fall-yolov8s.person.input.npy") else {
        return;
    };
    let image = read_image(demo_dir().join("person.jpg")).unwrap();
    let (input, _) = letterbox(&image, (640, 640));
    let want = npy(person);
    assert_eq!(want.shape, vec![1, 3, 640, 640]);
    assert_eq!(input.len(), want.values.len());
    let max = input
        .iter()
        .zip(&want.values)
        .map(|(a, b)| (a - b).abs() * 255.0)
        .fold(0.0, f32::max);
    assert!(max < 0.5, "person.jpg: max difference {max}/255");
}

#[test]
fn segmentation_pipeline_produces_polygons_inside_the_image() {
    let image = read_image(demo_dir().join("dog.jpg")).unwrap();
    let device = ComputeDevice::cpu().unwrap();
    // yolo11t's random head has negative widths everywhere (no box at any threshold), so
    // the plain detector here is yolov8t.
    for name in ["yolov8t-seg", "yolov5t-classic-seg", "yolov8t"] {
        let Some(path) = tiny_model(name) else {
            return;
        };
        let mut detector = Detector::load(path, &device.device).unwrap();
        assert_eq!(detector.class_names(), ["cat", "dog", "person"]);
        // Random weights give low scores: lower the threshold to exercise post-processing.
        detector.options.score_threshold = 0.01;
        detector.options.objectness_threshold = Some(0.01);
        let found = detector.detect(&image).unwrap();
        println!("{name}: {} detections", found.len());
        assert!(!found.is_empty(), "{name}: nothing to check at 0.01");
        let (w, h) = (image.width() as f32, image.height() as f32);
        for d in &found {
            let [x1, y1, x2, y2] = d.bbox;
            assert!(
                0.0 <= x1 && x1 <= x2 && x2 <= w && 0.0 <= y1 && y1 <= y2 && y2 <= h,
                "{d:?}"
            );
            assert!(d.score > 0.01 && d.score <= 1.0);
            if let Some(polygon) = &d.polygon {
                assert!(polygon.len() >= 3);
                assert!(
                    polygon
                        .iter()
                        .all(|p| (0.0..=w).contains(&p[0]) && (0.0..=h).contains(&p[1]))
                );
            }
        }
        assert_eq!(detector.is_segmentation(), name.ends_with("-seg"));
        // Random weights leave the masks near 0.5 everywhere, so the tiny segmenters rarely
        // outline anything: `mask_polygons_follow_the_prototypes` checks the outlines.
        if !name.ends_with("-seg") {
            assert!(
                found.iter().all(|d| d.polygon.is_none()),
                "{name}: a detector gives boxes only"
            );
        }
        let json = serde_json::to_string(&found).unwrap();
        let back: Vec<sightline_vision::Detection> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, found);
    }
}

/// The segmentation post-processing on outputs whose masks are known: a head with two
/// candidates over prototypes that are +20 on one rectangle and -20 elsewhere. The mask of
/// the first is that rectangle (upsampled ×4, thresholded at 0.5: input pixels 120..=199 ×
/// 120..=179), so its outline is the rectangle's four corners in image pixels, each within
/// the simplification's tolerance (1 input pixel: 2 image pixels); the second's mask is
/// empty, so it has no outline.
#[test]
fn mask_polygons_follow_the_prototypes() {
    let device = ComputeDevice::cpu().unwrap();
    let Some(path) = tiny_model("yolov8t-seg") else {
        return;
    };
    let detector = Detector::load(path, &device.device).unwrap();
    assert_eq!(detector.input_size(), (320, 320));
    // 640×480 into 320×320: scale 0.5, 40 rows of padding above.
    let (_, placement) = letterbox(&image::RgbImage::new(640, 480), (320, 320));
    // Head [1, 4 + 3 classes + 32 coefficients, 2 candidates], channels first.
    let (channels, candidates) = (4 + 3 + 32, 2);
    let mut head = vec![0.0f32; channels * candidates];
    let mut set = |channel: usize, candidate: usize, value: f32| {
        head[channel * candidates + candidate] = value;
    };
    // Candidate 0: a "dog" box centred at (160, 160), 160×120 → [80, 100, 240, 220].
    for (channel, value) in [
        (0, 160.0),
        (1, 160.0),
        (2, 160.0),
        (3, 120.0),
        (5, 0.9),
        (7, 1.0),
    ] {
        set(channel, 0, value);
    }
    // Candidate 1: a "cat" box [10, 50, 50, 90], away from the rectangle.
    for (channel, value) in [
        (0, 30.0),
        (1, 70.0),
        (2, 40.0),
        (3, 40.0),
        (4, 0.8),
        (7, 1.0),
    ] {
        set(channel, 1, value);
    }
    // Prototype 0: +20 on cells 30..50 × 30..45 (input pixels 120..200 × 120..180).
    let (side, count) = (80, 32);
    let mut protos = vec![0.0f32; count * side * side];
    for row in 0..side {
        for column in 0..side {
            let inside = (30..45).contains(&row) && (30..50).contains(&column);
            protos[row * side + column] = if inside { 20.0 } else { -20.0 };
        }
    }
    let outputs = vec![
        (vec![1, channels, candidates], head),
        (vec![1, count, side, side], protos),
    ];
    let found = detector.postprocess(&outputs, &placement).unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    let dog = &found[0];
    assert_eq!((dog.label.as_str(), dog.class_id), ("dog", 1));
    assert!((dog.score - 0.9).abs() < 1e-6);
    // Input → image: x × 2, (y - 40) × 2.
    assert_eq!(dog.bbox, [160.0, 120.0, 480.0, 360.0]);
    let mut outline = dog.polygon.clone().expect("the rectangle's outline");
    outline.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let corners = [
        [240.0, 160.0],
        [240.0, 278.0],
        [398.0, 160.0],
        [398.0, 278.0],
    ];
    assert_eq!(outline.len(), corners.len(), "{outline:?}");
    let tolerance = 2.0 * detector.options.polygon_tolerance;
    for (point, corner) in outline.iter().zip(&corners) {
        assert!(
            (point[0] - corner[0]).abs() <= tolerance && (point[1] - corner[1]).abs() <= tolerance,
            "{outline:?} vs the corners {corners:?}"
        );
    }
    let cat = &found[1];
    assert_eq!(
        (cat.label.as_str(), cat.bbox),
        ("cat", [20.0, 20.0, 100.0, 100.0])
    );
    assert_eq!(cat.polygon, None, "an empty mask has no outline");
}

#[test]
fn anylabeling_config_loads_the_model_it_names() {
    let dir = std::env::temp_dir().join(format!("sightline-vision-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let Some(model) = tiny_model("yolov5t-classic") else {
        return;
    };
    std::fs::copy(model, dir.join("m.onnx")).unwrap();
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
