"""Writes the benchmark folder of `cargo xtask bench-quality`: COUNT distorted images and,
under the same names, their references, made from the 9 fixture PNGs of
crates/vision/tests/data/iqa/.

    python make_folder.py OUT_DIR [--count 1000] [--size 320x240] [--seed 0]

OUT_DIR/ref/img_NNNN.png is a crop of a fixture (random box of 50-100 % of its shorter
side, at the output's aspect), resized with Lanczos; OUT_DIR/input/img_NNNN.png is that
reference blurred, brightened or darkened, JPEG-compressed, noised or contrast-changed.
Everything comes from one seeded numpy generator, so the folder is the same on every
machine with the same Pillow and numpy.
"""

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

FIXTURES = Path(__file__).resolve().parents[2] / "crates/vision/tests/data/iqa"


def distort(ref, rng):
    kind = rng.integers(5)
    if kind == 0:
        return ref.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 3.0))))
    if kind == 1:
        return ImageEnhance.Brightness(ref).enhance(float(rng.uniform(0.5, 1.5)))
    if kind == 2:
        buffer = io.BytesIO()
        ref.save(buffer, "JPEG", quality=int(rng.integers(10, 70)))
        return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    if kind == 3:
        noise = rng.normal(0.0, float(rng.uniform(2.0, 15.0)), (ref.height, ref.width, 3))
        noisy = np.asarray(ref, dtype=np.float64) + noise
        return Image.fromarray(np.clip(np.rint(noisy), 0, 255).astype(np.uint8))
    return ImageEnhance.Contrast(ref).enhance(float(rng.uniform(0.4, 1.6)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    sources = [Image.open(p).convert("RGB") for p in sorted(FIXTURES.glob("*.png"))]
    if len(sources) != 9:
        raise SystemExit(f"expected the 9 fixture PNGs in {FIXTURES}, found {len(sources)}")
    rng = np.random.default_rng(args.seed)
    (args.out / "input").mkdir(parents=True, exist_ok=True)
    (args.out / "ref").mkdir(parents=True, exist_ok=True)
    for i in range(args.count):
        source = sources[i % len(sources)]
        side = min(source.width, source.height * width / height)
        crop_w = side * rng.uniform(0.5, 1.0)
        crop_h = crop_w * height / width
        left = rng.uniform(0, source.width - crop_w)
        top = rng.uniform(0, source.height - crop_h)
        box = (left, top, left + crop_w, top + crop_h)
        ref = source.resize((width, height), Image.Resampling.LANCZOS, box=box)
        name = f"img_{i:04d}.png"
        ref.save(args.out / "ref" / name)
        distort(ref, rng).save(args.out / "input" / name)
    print(f"{args.count} pairs of {width}x{height} in {args.out}")


if __name__ == "__main__":
    main()
