//! Shared helpers of the integration tests: fixture paths and oracle comparisons.
#![allow(dead_code)]

use std::path::PathBuf;

/// Data outside the repository (the shared fixtures, the trained model): present, skipped
/// with one line, or a failure under `SIGHTLINE_REQUIRE_DATA=1`, as in every crate's tests.
#[allow(unused_imports)] // each test binary uses some of them
pub use sightline_test_support::{
    data_required, fall_model, manifest_dir, shared_fixture, skip, tiny_model,
};
use sightline_vision::npy::{NpyArray, read_npy};

/// crates/vision/tests/data: the oracle's tensors (the tiny models themselves are shared
/// fixtures: [`tiny_model`]), the quality fixtures.
pub fn data_dir() -> PathBuf {
    manifest_dir().join("tests/data")
}

/// The demo's images (`public/demo`; the same files as the shared fixtures' `images/`).
pub fn demo_dir() -> PathBuf {
    sightline_test_support::workspace_root().join("public/demo")
}

/// Reads a `.npy` file.
pub fn npy(path: impl Into<PathBuf>) -> NpyArray {
    let path = path.into();
    let bytes =
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    read_npy(&bytes).unwrap()
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
