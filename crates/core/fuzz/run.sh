#!/usr/bin/env bash
# Runs every fuzz target of sightline-core for N seconds each (default 5), seeding each
# corpus from the golden files of crates/core/tests/data.
#
#   crates/core/fuzz/run.sh            # 5 s per target (a smoke run)
#   crates/core/fuzz/run.sh 600        # 10 min per target: run longer like this, or one
#                                      # target for as long as you like:
#   RUSTC_BOOTSTRAP=1 cargo fuzz run labelme -- -max_total_time=3600   (from crates/core)
#
# cargo-fuzz needs nightly flags (-Z sanitizer); RUSTC_BOOTSTRAP=1 lets the stable
# toolchain accept them. Install it once with `cargo install cargo-fuzz`.
# Crashes land in crates/core/fuzz/artifacts/<target>/; reproduce one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run <target> fuzz/artifacts/<target>/<file>
set -euo pipefail
seconds="${1:-5}"
here="$(cd "$(dirname "$0")" && pwd)"
core="$(dirname "$here")"
golden="$core/tests/data/golden"
export RUSTC_BOOTSTRAP=1

seed() { # seed <target> <find expression...>
    local target="$1"; shift
    mkdir -p "$here/corpus/$target"
    find "$golden" -type f "$@" -exec cp {} "$here/corpus/$target/" \; 2>/dev/null || true
}
seed labelme -path '*labelme*' -name '*.json'
seed coco -name 'annotations.json'
seed voc -name '*.xml'
seed yolo_labels -path '*labels*' -name '*.txt'
seed yolo_data_yaml \( -name '*.yaml' -o -name 'classes.txt' \)
mkdir -p "$here/corpus/import_folder"

cd "$core"
status=0
for target in labelme coco voc yolo_labels yolo_data_yaml import_folder; do
    echo "== fuzz $target for ${seconds}s"
    if ! cargo fuzz run "$target" "fuzz/corpus/$target" -- -max_total_time="$seconds" -rss_limit_mb=2048; then
        echo "!! $target failed: see crates/core/fuzz/artifacts/$target/"
        status=1
    fi
done
exit $status
