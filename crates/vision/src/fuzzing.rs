//! The bodies of the fuzz targets (`crates/vision/fuzz`, cargo-fuzz), one function per
//! target, shared with the test that replays their committed seeds natively
//! (`tests/fuzz_seeds.rs`): each rule is written once. Not an interface of the crate. Every
//! function takes arbitrary bytes and panics only when the code under test breaks its
//! contract.

use crate::image_io::decode_image_within;
use crate::jpeg::decode_baseline;
use crate::onnx::{HostData, parse_onnx};
use crate::ops::SUPPORTED_OPS;
use crate::{ComputeDevice, OnnxModel};

/// The image targets' pixel limit: 512 × 512 instead of the app's
/// [`crate::image_io::MAX_IMAGE_PIXELS`] (200 Mpixel), whose buffers (gigabytes at the limit)
/// would break libFuzzer's `-rss_limit_mb=2048` and make a unit take seconds: a few bytes
/// declare any size, and a scan that meets a marker is filled in, as libjpeg does. Larger
/// images add no code, only time (at 4 Mpixel the `jpeg` target ran 220 inputs a second).
/// The decoders check the limit themselves, so the code under test is the app's.
pub const FUZZ_MAX_PIXELS: u64 = 1 << 18;

/// A fuzz target: its name and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target by name (the name of its binary in `crates/vision/fuzz/Cargo.toml` and of its
/// folder under `crates/vision/fuzz/seeds/`).
pub const TARGETS: &[Target] = &[("onnx", onnx), ("jpeg", jpeg), ("image", image)];

/// An ONNX file as the app loads one: decoded and checked (`parse_onnx`), then built into an
/// executable model on the CPU (constants uploaded, `Constant` nodes evaluated, SiLU fused,
/// the batch analysis, the free plan). Never panics; what decodes has only supported
/// operators, every node reads values computed before it (no loops), and every constant
/// holds exactly the values its shape declares.
pub fn onnx(data: &[u8]) {
    let Ok(graph) = parse_onnx(data) else {
        return;
    };
    let mut known: std::collections::HashSet<&str> =
        graph.initializers.iter().map(|(n, _)| n.as_str()).collect();
    known.extend(graph.inputs.iter().map(|v| v.name.as_str()));
    for node in &graph.nodes {
        assert!(
            SUPPORTED_OPS.contains(&node.op_type.as_str()),
            "unsupported `{}` decoded",
            node.op_type
        );
        for input in node.inputs.iter().filter(|i| !i.is_empty()) {
            assert!(
                known.contains(input.as_str()),
                "`{input}` read before it is computed"
            );
        }
        known.extend(node.outputs.iter().map(String::as_str));
    }
    for (name, tensor) in &graph.initializers {
        let len = match &tensor.data {
            HostData::F32(values) => values.len(),
            HostData::I64(values) => values.len(),
        };
        assert_eq!(
            tensor.shape.iter().product::<usize>(),
            len,
            "initializer `{name}`"
        );
    }
    let device = ComputeDevice::cpu().expect("the CPU backend is compiled in");
    let _ = OnnxModel::from_graph(graph, &device.device);
}

/// The baseline JPEG decoder (bit-exact with libjpeg-turbo) on its own: never panics, and an
/// image it returns has the size it declares, within the pixel limit.
pub fn jpeg(data: &[u8]) {
    if let Some(Ok((width, height, rgb))) = decode_baseline(data, FUZZ_MAX_PIXELS) {
        assert!(width > 0 && height > 0);
        assert!(width as u64 * height as u64 <= FUZZ_MAX_PIXELS);
        assert_eq!(rgb.len(), width * height * 3);
    }
}

/// A user's image file as the app decodes one (`image_io::decode_image`: the baseline JPEG
/// decoder, else the `image` crate, then the EXIF orientation): never panics, and what it
/// returns is within the pixel limit.
pub fn image(data: &[u8]) {
    if let Ok(image) = decode_image_within(data, FUZZ_MAX_PIXELS) {
        assert!(u64::from(image.width()) * u64::from(image.height()) <= FUZZ_MAX_PIXELS);
    }
}
