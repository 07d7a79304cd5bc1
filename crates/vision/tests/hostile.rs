//! Bad model files get specific errors, never a panic.

mod common;

use common::tiny_model;
use sightline_vision::{ComputeDevice, OnnxModel, VisionError};

fn load(bytes: &[u8]) -> Result<OnnxModel, VisionError> {
    OnnxModel::from_bytes(bytes, &ComputeDevice::cpu().unwrap().device)
}

fn tiny() -> Option<Vec<u8>> {
    tiny_model("yolov8t").map(|path| std::fs::read(path).unwrap())
}

#[test]
fn non_onnx_bytes_are_not_onnx() {
    for bytes in [
        &b""[..],
        b"this is a text file, not a model\n",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
    ] {
        let error = load(bytes).unwrap_err();
        assert!(matches!(error, VisionError::NotOnnx(_)), "{error}");
    }
    let jpeg = std::fs::read(common::demo_dir().join("dog.jpg")).unwrap();
    let error = load(&jpeg).unwrap_err();
    assert!(matches!(error, VisionError::NotOnnx(_)), "{error}");
}

#[test]
fn truncated_files_are_rejected() {
    let Some(bytes) = tiny() else {
        return;
    };
    for keep in [10, 1000, bytes.len() / 2, bytes.len() - 1] {
        let error = load(&bytes[..keep]).unwrap_err();
        assert!(
            matches!(
                error,
                VisionError::NotOnnx(_) | VisionError::InvalidModel(_)
            ),
            "cut at {keep}: {error}"
        );
    }
}

#[test]
fn unsupported_op_is_named_with_its_node() {
    // Rename every `Sigmoid` op type to `Sigmoix` (same length, so the protobuf stays valid).
    let Some(mut bytes) = tiny() else {
        return;
    };
    let needle = b"Sigmoid";
    let mut renamed = 0;
    let mut i = 0;
    while i + needle.len() <= bytes.len() {
        // op_type is field 4 (tag 0x22) followed by the length 7.
        if i >= 2 && bytes[i - 2] == 0x22 && bytes[i - 1] == 7 && &bytes[i..i + 7] == needle {
            bytes[i + 6] = b'x';
            renamed += 1;
        }
        i += 1;
    }
    assert!(renamed > 0);
    let error = load(&bytes).unwrap_err();
    match &error {
        VisionError::UnsupportedOp { op_type, node } => {
            assert_eq!(op_type, "Sigmoix");
            assert!(!node.is_empty());
        }
        other => panic!("expected UnsupportedOp, got {other}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("Sigmoix") && message.contains("node"),
        "{message}"
    );
}

#[test]
fn wrong_input_shape_is_an_error() {
    let Some(bytes) = tiny() else {
        return;
    };
    let model = load(&bytes).unwrap();
    let values = vec![0.5f32; 3 * 64 * 64];
    let error = model
        .forward_host(&[(&values, &[1, 3, 64, 64])])
        .unwrap_err();
    assert!(matches!(error, VisionError::BadInput(_)), "{error}");
    let error = model
        .forward_host(&[(&values[..10], &[1, 3, 64, 64])])
        .unwrap_err();
    assert!(matches!(error, VisionError::BadInput(_)), "{error}");
}

#[test]
fn bad_images_are_errors() {
    use sightline_vision::Detector;
    use sightline_vision::image_io::decode_image;
    let device = ComputeDevice::cpu().unwrap();
    let Some(path) = tiny_model("yolov8t") else {
        return;
    };
    let detector = Detector::load(path, &device.device).unwrap();
    let result = detector.detect(&image::RgbImage::new(0, 0));
    assert!(matches!(result, Err(VisionError::Image(_))), "{result:?}");
    for bytes in [&b""[..], b"not an image", b"\xff\xd8\xff\xe0\0\x10JFIF\0"] {
        assert!(
            matches!(decode_image(bytes), Err(VisionError::Image(_))),
            "{bytes:?} decoded"
        );
    }
    // A truncated JPEG is an error, not a half-grey picture.
    let jpeg = std::fs::read(common::demo_dir().join("dog.jpg")).unwrap();
    assert!(decode_image(&jpeg).is_ok(), "the whole JPEG decodes");
    let result = decode_image(&jpeg[..jpeg.len() / 3]);
    assert!(
        matches!(result, Err(VisionError::Image(_))),
        "a truncated JPEG decoded"
    );
}

/// A model that passes `input -> Identity -> output0`, its input declared `side`² pixels.
fn identity_model(side: usize) -> OnnxModel {
    use sightline_vision::onnx::{Graph, Node, ValueDecl};
    let graph = Graph {
        opset: 17,
        inputs: vec![ValueDecl {
            name: "images".into(),
            shape: vec![Some(1), Some(3), Some(side), Some(side)],
        }],
        outputs: vec![ValueDecl {
            name: "output0".into(),
            shape: vec![Some(1), Some(84), Some(8400)],
        }],
        nodes: vec![Node {
            name: "out".into(),
            op_type: "Identity".into(),
            inputs: vec!["images".into()],
            outputs: vec!["output0".into()],
            attributes: Default::default(),
        }],
        initializers: Vec::new(),
        metadata: Vec::new(),
    };
    OnnxModel::from_graph(graph, &ComputeDevice::cpu().unwrap().device).unwrap()
}

#[test]
fn a_huge_declared_input_is_refused_at_load() {
    use sightline_vision::Detector;
    use sightline_vision::detector::MAX_INPUT_PIXELS;
    // 32768² RGB floats: 12.9 GB for the first image's input tensor.
    let error = Detector::new(identity_model(32_768), None, None).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, VisionError::InvalidModel(_)), "{message}");
    assert!(
        message.contains("32768x32768") && message.contains(&MAX_INPUT_PIXELS.to_string()),
        "{message}"
    );
    // The limit itself loads.
    let side = 8192;
    assert_eq!((side * side) as u64, MAX_INPUT_PIXELS);
    let detector = Detector::new(identity_model(side), None, None).unwrap();
    assert_eq!(detector.input_size(), (8192, 8192));
}

/// JPEGs whose colour is sampled more finely than their brightness are refused with a reason
/// before they reach zune-jpeg, which panics on them (found by the `image` fuzz target; the
/// files are its regressions). The same picture with ordinary sampling decodes.
#[test]
fn chroma_finer_than_luma_is_refused_not_a_panic() {
    use sightline_vision::image_io::decode_image;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions/image");
    let found = std::fs::read(dir.join("zune-chroma-finer-than-luma.jpg")).unwrap();
    for name in [
        "zune-chroma-finer-than-luma.jpg",
        "zune-chroma-2x2-luma-1x1.jpg",
        "zune-chroma-2x4-luma-2x2.jpg",
    ] {
        let error = decode_image(&std::fs::read(dir.join(name)).unwrap()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("sampled more finely than the brightness"),
            "{name}: {error}"
        );
    }
    // The found file with the third component at 1x1, as the other two.
    let frame = found.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
    let mut ordinary = found.clone();
    ordinary[frame + 4 + 6 + 2 * 3 + 1] = 0x11;
    assert_eq!(decode_image(&ordinary).unwrap().dimensions(), (244, 11));
}
