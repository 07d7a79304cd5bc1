#!/usr/bin/env bash
# Runs every fuzz target of sightline-core (crates/core/fuzz: the dataset formats, folder
# import, share links) and of sightline-vision (crates/vision/fuzz: the ONNX reader with the
# model building, the baseline JPEG decoder, the app's image decoding) for N seconds each
# (default 5). Each target starts from its committed seeds (fuzz/seeds/<target>/) and crash
# reproducers (fuzz/regressions/<target>/), copied into its working corpus (fuzz/corpus/<target>/,
# git-ignored, kept between runs so that longer runs build on earlier ones). The test command
# also replays the committed files natively (tests/fuzz_seeds.rs of both crates).
#
#   crates/core/fuzz/run.sh            # 5 s per target (a smoke run)
#   crates/core/fuzz/run.sh 5 core     # core's targets only (the test command's smoke run)
#   crates/core/fuzz/run.sh 600        # 10 min per target: run longer like this, or one
#                                      # target for as long as you like:
#   RUSTC_BOOTSTRAP=1 cargo fuzz run labelme -- -max_total_time=3600   (from crates/core)
#   RUSTC_BOOTSTRAP=1 cargo fuzz run onnx -- -max_total_time=3600      (from crates/vision)
#
# cargo-fuzz needs nightly flags (-Z sanitizer); RUSTC_BOOTSTRAP=1 lets the stable
# toolchain accept them. Install it once with `cargo install cargo-fuzz`.
# Crashes land in crates/<crate>/fuzz/artifacts/<target>/; reproduce one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run <target> fuzz/artifacts/<target>/<file>
# then fix the code, and keep the file as fuzz/regressions/<target>/<name> (replayed by the
# tests from then on). A new interesting input worth keeping goes to fuzz/seeds/<target>/
# (small files only: the seeds of all targets stay well under 1 MB).
set -euo pipefail
seconds="${1:-5}"
# Which crates' targets run: the test command's smoke run takes core's only, since building
# vision's targets compiles burn with the sanitizer (many minutes on two cores); vision's
# committed inputs are replayed natively by its tests/fuzz_seeds.rs all the same.
crates_to_run="${2:-core vision}"
here="$(cd "$(dirname "$0")" && pwd)"
crates="$(dirname "$(dirname "$here")")"
export RUSTC_BOOTSTRAP=1

status=0
for crate in $crates_to_run; do
    fuzz="$crates/$crate/fuzz"
    cd "$crates/$crate"
    for source in "$fuzz"/fuzz_targets/*.rs; do
        target="$(basename "$source" .rs)"
        corpus="$fuzz/corpus/$target"
        mkdir -p "$corpus"
        for kept in "$fuzz/seeds/$target" "$fuzz/regressions/$target"; do
            if [ -d "$kept" ]; then
                cp -f "$kept"/* "$corpus"/ 2>/dev/null || true
            fi
        done
        echo "== fuzz $crate/$target for ${seconds}s"
        # -timeout: a unit that runs a minute is a hang (the slowest seeds take milliseconds).
        if ! cargo fuzz run "$target" "fuzz/corpus/$target" -- \
            -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=60; then
            echo "!! $crate/$target failed: see crates/$crate/fuzz/artifacts/$target/"
            status=1
        fi
    done
done
exit $status
