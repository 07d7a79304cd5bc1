//! The fuzz corpus, replayed natively: every committed seed (`fuzz/seeds/<target>/`) and crash
//! reproducer (`fuzz/regressions/<target>/`) goes through the body of its fuzz target
//! (`sightline_core::fuzzing`, which the cargo-fuzz binaries call too), without libFuzzer.

use sightline_core::fuzzing::TARGETS;
use sightline_test_support::{manifest_dir, replay_fuzz_inputs};

#[test]
fn fuzz_seeds_and_regressions_replay_without_a_panic() {
    replay_fuzz_inputs(&manifest_dir().join("fuzz"), TARGETS);
}
