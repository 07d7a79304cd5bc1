"""Writes the `image` target's seeds for the formats beyond JPEG and PNG (GIF, BMP, TIFF,
WebP): one 6x4 gradient in each, so that the fuzzer starts inside every decoder the worker
runs. Needs Pillow (`pip install Pillow`); run from this folder. `animated.gif` is the
hostile corpus's (tests/corpus/hostile/images/), copied."""

from pathlib import Path

from PIL import Image

SEEDS = Path(__file__).parent / "seeds" / "image"

picture = Image.new("RGB", (6, 4))
for x in range(6):
    for y in range(4):
        picture.putpixel((x, y), (40 * x, 60 * y, 200 - 30 * x))

picture.save(SEEDS / "gradient.bmp")
picture.save(SEEDS / "lzw.tif", compression="tiff_lzw")
picture.save(SEEDS / "deflate.tif", compression="tiff_adobe_deflate")
picture.convert("L").save(SEEDS / "gray.tif")
picture.save(SEEDS / "lossless.webp", lossless=True)
picture.save(SEEDS / "lossy.webp", quality=50)
picture.convert("RGBA").save(SEEDS / "alpha.webp", lossless=True)
picture.save(SEEDS / "still.gif")
