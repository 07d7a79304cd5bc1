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
# Share links have no golden files: valid payloads from `encode` (tests/share.rs's full
# setup with every shape kind; a manifest with a model; a project file), and a whole link.
mkdir -p "$here/corpus/share_link"
i=0
for payload in \
    '1.1ZXBjpswEIZfpXKvyNgYG8Otl32BHreryAGHddfYyHakRKu8ew0EEqo2bapW272Z3-Nh_o_x8AoMqMDn4KQMH3wtjfQgATWoHl_Hnca20zP4uNtxjhA4JdNOLcK8g9CnTw8Py04vnbcGnJ4S0IHqFeyj9hxC76s07WwjtYfyILpey_RotcXYQGvMYcqGYEYToIZFTk_jaszwuKSoG7OcV12bCvi1H4pMG9nZdAt7MzzBtI66HJaqE630aTPHpTY8S7fkkKP-FN9lY6HrLGJ4-7VUPUZXtysZ0GmxlXrB96JMEx-crIMwrZZR6q0ywW-U2YzVjYcOoMIIogQcQZXFxcBz0KJIJzEb6AxcW2f3_UbFrCQBjfS1U31QEXpl9lonYKdF62Pt0ZSvrZOz3jvZqDrIeHAntJfxsNrtVL3XAVTB7aPQCf8yh8tDcGJK8yKPG-sa6SYEsXrZSreZfJyzDQXPzqf2ODvvrT62sbqf-iZoNj6uzs7zi4ovKuGzmo-UVjimuldEQBDb7fGL8SFK0fkf0jkrfwnP-Y7c0xt0oYGvGLHvyP2Kxro_gK1rvW8Gx8PXvwBBkBd0RWTqjn8GZH1TbBDxpZvfoEJKmBFCeJmxnDGaZ1NncBibo0A5xjjnFJX5jItCyhBnDGeYFIyN0SyDHJG8QBkrWTzBF7YwhjCMCkIJySkfowsMaVFmJeWcU5yXc1vmMCcljqUUnMWSynyMpgXEJaNZWRBE4onszi_0hj1qrJfXdziG3Zhc84yC9P04lE175VArc6PR5mt2uXrlWSnvvnZvOXhEeF5bHufiPb7x_I-6jOR5ML0nEluh9YVErVx9a85kP_gzZ_Ra-7-NP51O3wA' \
    '1.JY1NDsIgEIXv8twSENOayFWMC7RjQ1NmGtFEQ7i7QHcv3_vLYDhMFAUKD7hr7mCjVxLeEQ50tpfhjnJTiHAZnwqjTLQm85NVrGUtzN89ftSnUSE0MYylq9xq_cREz-FJ6a2Xtl9tqU6IfqZkvF62GeUP' \
    '1.BUDBCYAwDNzlBmj-2SZgsJFag7mHULq7LAR0IaHoZJaKHEZr_tmdw6X4urNVnJ0jprernom9fw' \
    'https://sightline.example/app/#share=1.q1bKVLKqVipVsopWysxNTE8t1k_UyypIV4qtrQUA'; do
    printf '%s' "$payload" > "$here/corpus/share_link/seed-$i"
    i=$((i + 1))
done

cd "$core"
status=0
for target in labelme coco voc yolo_labels yolo_data_yaml import_folder share_link; do
    echo "== fuzz $target for ${seconds}s"
    if ! cargo fuzz run "$target" "fuzz/corpus/$target" -- -max_total_time="$seconds" -rss_limit_mb=2048; then
        echo "!! $target failed: see crates/core/fuzz/artifacts/$target/"
        status=1
    fi
done
exit $status
