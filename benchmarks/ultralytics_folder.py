"""Reference whole-folder throughput: Ultralytics' own predict pipeline (what `yolo predict`
runs: read, letterbox, forward, NMS, results) on the same ONNX model and folder as
`sightline bench --input`. Prints one JSON object: {"images": n, "images_per_s": x}.

Run by `cargo xtask bench` from its own virtual environment (ultralytics from PyPI); the ONNX
model runs on onnxruntime's CPU provider, so this measures Ultralytics' pipeline around the
same forward pass.
"""
import argparse
import glob
import json
import os
import time

os.environ.setdefault("YOLO_OFFLINE", "1")  # no update checks, no downloads

from ultralytics import YOLO  # noqa: E402

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("folder")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    # Recursively, as `sightline bench --input` finds images.
    files = sorted(
        f
        for f in glob.glob(os.path.join(args.folder, "**", "*"), recursive=True)
        if f.lower().endswith(IMAGE_SUFFIXES)
    )
    model = YOLO(args.model, task="detect")
    model.predict(files[0], verbose=False, device="cpu")  # warm-up: session, first run
    rates = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        count = sum(1 for _ in model.predict(files, stream=True, verbose=False, device="cpu"))
        rates.append(count / (time.perf_counter() - start))
    rates.sort()
    print(json.dumps({"images": len(files), "images_per_s": rates[len(rates) // 2]}))


if __name__ == "__main__":
    main()
