#!/usr/bin/env bash
# Runs the e2e specs RUNS times in a row (default 3) while one busy loop per core keeps the
# machine loaded, as a shared CI runner is. Needs the app built into dist/ (`cargo xtask
# build`; SIGHTLINE_DIST names another copy) and the test tools installed (`cargo xtask setup`).
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-3}"
cores="$(nproc)"
pids=()
for _ in $(seq "$cores"); do
  (while :; do :; done) &
  pids+=("$!")
done
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
echo "e2e under load: $cores busy loops at normal priority, $runs runs"
for run in $(seq "$runs"); do
  echo "=== e2e run $run of $runs ==="
  NODE_PATH="$PWD/xtask/tools/node_modules" SIGHTLINE_DIST="${SIGHTLINE_DIST:-$PWD/dist}" \
    node --test --test-concurrency=1 tests/e2e/
done
