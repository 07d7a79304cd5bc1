"""pyiqa's (and scikit-image's) time per image for the metrics `sightline quality` computes,
the reference of `cargo xtask bench-quality`.

    python pyiqa_times.py --input DIR [--ref DIR] --metrics psnr,ssim,... --threads N
                          [--budget-s S] [--min-images K] [--step G]

Images are read as the test references were: PIL `.convert("RGB")`, then
`torch.from_numpy(rgb / 255 as float32).permute(2, 0, 1)[None]`; each pyiqa metric is
`pyiqa.create_metric(name, device="cpu", as_loss=False)`, called as `metric(X, Y)` (X the
image of --input, Y the file of the same name in --ref) or `metric(X)`; `blur_effect` is
scikit-image's `blur_effect(rgb_uint8, h_size=11, channel_axis=-1)`. Torch uses --threads
threads. Each metric is called once on the first image before timing (warm-up); the timer
covers the call alone (not reading the files). Images are taken in name order; with
--budget-s a metric stops after the image that brings its timed total over S seconds (but
not before --min-images, and only after a multiple of --step images: the fixtures are named
so that every 3 consecutive images are one of each photo size), so slow metrics are timed on
the first images only.

Prints one flat JSON object: "<metric>": mean ms per image, "p50:<metric>": the median
(numpy's linear percentile), "min:<metric>": the fastest image (what pyiqa reaches when
nothing else wants the cores), "images:<metric>": how many images they are over, plus
"threads" and the library versions.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import PIL
import pyiqa
import skimage
import torch
from PIL import Image
from skimage.measure import blur_effect

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}


def load(path):
    rgb = np.asarray(Image.open(path).convert("RGB"))
    tensor = torch.from_numpy(rgb.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    return rgb, tensor


def make(name):
    """A callable (image, reference) -> score, and whether it needs the reference."""
    if name == "blur_effect":
        return (lambda x, y: blur_effect(x[0], h_size=11, channel_axis=-1)), False
    metric = pyiqa.create_metric(name, device="cpu", as_loss=False)
    if metric.metric_mode == "FR":
        return (lambda x, y: metric(x[1], y[1])), True
    return (lambda x, y: metric(x[1])), False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--ref", type=Path)
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--budget-s", type=float, default=float("inf"))
    parser.add_argument("--min-images", type=int, default=5)
    parser.add_argument("--step", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    names = sorted(
        p.relative_to(args.input)
        for p in args.input.rglob("*")
        if p.suffix.lower() in EXTENSIONS
    )
    if not names:
        raise SystemExit(f"no images in {args.input}")
    metrics = {}
    for name in filter(None, args.metrics.split(",")):
        call, full_reference = make(name)
        if full_reference and args.ref is None:
            raise SystemExit(f"{name} needs --ref")
        metrics[name] = call

    def pair(rel):
        x = load(args.input / rel)
        y = load(args.ref / rel) if args.ref is not None else None
        return x, y

    first = pair(names[0])
    for call in metrics.values():
        call(*first)  # warm-up: lazily built kernels, filter banks, allocator
    spent = {name: 0.0 for name in metrics}
    counts = {name: 0 for name in metrics}
    times = {name: [] for name in metrics}
    for rel in names:
        active = [
            n
            for n in metrics
            if counts[n] < args.min_images
            or spent[n] < args.budget_s
            or counts[n] % args.step != 0
        ]
        if not active:
            break
        x, y = pair(rel)
        for name in active:
            start = time.perf_counter()
            metrics[name](x, y)
            elapsed = time.perf_counter() - start
            spent[name] += elapsed
            counts[name] += 1
            times[name].append(elapsed * 1000.0)

    report = {
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "pyiqa": pyiqa.__version__,
        "skimage": skimage.__version__,
        "pillow": PIL.__version__,
    }
    for name in metrics:
        report[name] = spent[name] / counts[name] * 1000.0
        report[f"p50:{name}"] = float(np.percentile(times[name], 50))
        report[f"min:{name}"] = min(times[name])
        report[f"images:{name}"] = counts[name]
    print(json.dumps(report))


if __name__ == "__main__":
    main()
