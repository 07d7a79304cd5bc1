"""Draws the PWA icons from the same design as public/icon.svg (run once; PNGs are committed).

~/.cache/sightline/venv-iqa/bin/python crates/web/pwa/make_icons.py
Maskable icons keep the mark inside the central 80 % safe zone and fill the whole square.
"""
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parents[3] / "public/icons"
BACKGROUND = (30, 31, 34, 255)
BLUE = (79, 140, 255, 255)
LIGHT = (227, 229, 232, 255)


def draw(size: int, maskable: bool) -> Image.Image:
    scale = 4  # drawn large, then reduced: smooth edges without an SVG renderer
    side = size * scale
    image = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    d = ImageDraw.Draw(image)
    unit = side / 64
    if maskable:
        d.rectangle([0, 0, side, side], fill=BACKGROUND)
        unit *= 0.8
    else:
        d.rounded_rectangle([0, 0, side - 1, side - 1], radius=12 * unit, fill=BACKGROUND)
    centre = side / 2
    frame = [centre - 20 * unit, centre - 16 * unit, centre + 20 * unit, centre + 16 * unit]
    d.rounded_rectangle(frame, radius=3 * unit, outline=BLUE, width=round(4 * unit))
    r = 5 * unit
    d.ellipse([centre - r, centre - r, centre + r, centre + r], fill=LIGHT)
    return image.resize((size, size), Image.LANCZOS)


for size in (192, 512):
    draw(size, False).save(HERE / f"icon-{size}.png", optimize=True)
draw(512, True).save(HERE / "icon-maskable-512.png", optimize=True)
draw(180, True).convert("RGB").save(HERE / "apple-touch-icon.png", optimize=True)
