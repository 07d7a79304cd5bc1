//! The fuzz corpus, replayed natively: every committed seed (`fuzz/seeds/<target>/`) and crash
//! reproducer (`fuzz/regressions/<target>/`) goes through the body of its fuzz target
//! (`sightline_vision::fuzzing`, which the cargo-fuzz binaries call too), without libFuzzer.

use sightline_test_support::{manifest_dir, replay_fuzz_inputs};
use sightline_vision::fuzzing::TARGETS;

#[test]
fn fuzz_seeds_and_regressions_replay_without_a_panic() {
    replay_fuzz_inputs(&manifest_dir().join("fuzz"), TARGETS);
}

/// The hand-built ONNX seeds (`fuzz/make_onnx_seeds.py`) do what their names say: the valid
/// ones load and run, the others are refused with the error of their kind. A seed that the
/// reader refuses for another reason than the one it was made for would fuzz less.
#[test]
fn onnx_seeds_load_run_or_are_refused_as_built() {
    use sightline_vision::{ComputeDevice, OnnxModel, VisionError};
    let dir = manifest_dir().join("fuzz/seeds/onnx");
    let device = ComputeDevice::cpu().unwrap().device;
    let load = |name: &str| {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        OnnxModel::from_bytes(&bytes, &device)
    };
    for (name, input, outputs) in [
        ("silu.onnx", vec![1, 3, 4, 4], vec![vec![1, 8, 16]]),
        (
            "ops.onnx",
            vec![1, 3, 8, 8],
            vec![vec![1, 4, 4, 3], vec![1, 2, 8, 8]],
        ),
        ("opset9.onnx", vec![1, 2, 3, 3], vec![vec![1, 48]]),
        ("dtypes.onnx", vec![1, 2], vec![vec![1, 2]]),
    ] {
        let model = load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let values = vec![0.5f32; input.iter().product()];
        let got = model
            .forward_host(&[(&values, &input)])
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let shapes: Vec<Vec<usize>> = got.iter().map(|o| o.shape().to_vec()).collect();
        assert_eq!(shapes, outputs, "{name}");
    }
    assert_eq!(
        load("silu.onnx").unwrap().metadata_value("task"),
        Some("detect")
    );
    for (name, op) in [
        ("unknown-op.onnx", "Gelu"),
        ("custom-domain.onnx", "com.microsoft::FusedConv"),
    ] {
        match load(name) {
            Err(VisionError::UnsupportedOp { op_type, .. }) => assert_eq!(op_type, op, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
    for name in [
        "loop.onnx",
        "dangling-input.onnx",
        "output-never-computed.onnx",
        "no-input.onnx",
        "huge-tensor.onnx",
        "overflowing-dims.onnx",
        "negative-dim.onnx",
        "short-data.onnx",
        "external-data.onnx",
        "bad-dtype.onnx",
    ] {
        let result = load(name);
        assert!(
            matches!(result, Err(VisionError::InvalidModel(_))),
            "{name}: {result:?}"
        );
    }
    let result = load("constant-without-value.onnx");
    assert!(
        matches!(result, Err(VisionError::BadNode { .. })),
        "{result:?}"
    );
}

/// The image seeds (made with Pillow) reach the decoders they were made for: every one decodes
/// to its size (baseline JPEGs of each chroma layout, 16-bit tables, restart markers, and the
/// fallback's progressive, CMYK, PNG, GIF, BMP, TIFF and WebP files, EXIF rotations applied)
/// except the file cut inside its scan. A seed that fails early fuzzes less.
#[test]
fn image_seeds_decode_as_built() {
    use sightline_vision::image_io::decode_image;
    let sizes: &[(&str, Option<(u32, u32)>)] = &[
        ("420-odd.jpg", Some((19, 21))),
        ("420.jpg", Some((16, 16))),
        ("422-odd.jpg", Some((23, 9))),
        ("444-odd.jpg", Some((17, 11))),
        ("cmyk.jpg", Some((8, 8))),
        ("dqt16.jpg", Some((16, 16))),
        ("exif-rot90.jpg", Some((8, 16))),
        ("gray.jpg", Some((12, 12))),
        ("optimized.jpg", Some((16, 8))),
        ("progressive.jpg", Some((16, 16))),
        ("q100.jpg", Some((8, 8))),
        ("restart.jpg", Some((40, 24))),
        ("rgb-adobe.jpg", Some((8, 8))),
        ("sampling-12.jpg", Some((17, 11))),
        ("short-eoi.jpg", Some((48, 32))),
        ("truncated.jpg", None),
        ("exif-rot270.png", Some((4, 8))),
        ("gray.png", Some((6, 5))),
        ("gray16.png", Some((5, 4))),
        ("palette.png", Some((8, 8))),
        ("rgba.png", Some((9, 7))),
        ("animated.gif", Some((20, 10))),
        ("still.gif", Some((6, 4))),
        ("gradient.bmp", Some((6, 4))),
        ("deflate.tif", Some((6, 4))),
        ("gray.tif", Some((6, 4))),
        ("lzw.tif", Some((6, 4))),
        ("alpha.webp", Some((6, 4))),
        ("lossless.webp", Some((6, 4))),
        ("lossy.webp", Some((6, 4))),
    ];
    for dir in ["jpeg", "image"] {
        let dir = manifest_dir().join("fuzz/seeds").join(dir);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap();
            let Some((_, want)) = sizes.iter().find(|(n, _)| *n == name) else {
                panic!("{}: not in this test's list", path.display());
            };
            let got = decode_image(&std::fs::read(&path).unwrap()).map(|i| i.dimensions());
            assert_eq!(
                got.as_ref().ok(),
                want.as_ref(),
                "{}: {got:?}",
                path.display()
            );
        }
    }
}
