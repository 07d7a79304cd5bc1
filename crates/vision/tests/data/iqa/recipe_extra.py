"""Reference values for Sightline's own grey-image statistics (no pyiqa metric exists).

Writes extra_values.tsv next to this file, laid out like reference_values.tsv (one row per
metric, one column per photo/distortion). Needs numpy, Pillow and opencv-python-headless
(checked with OpenCV 5.1, numpy 2); run it with the IQA venv's python:

    ~/.cache/sightline/venv-iqa/bin/python crates/vision/tests/data/iqa/recipe_extra.py

Grey is OpenCV's 8-bit cvtColor(RGB2GRAY). laplacian_var is cv2.Laplacian(gray, CV_64F)
(ksize 1, default border BORDER_REFLECT_101) and numpy's population variance; dark and
bright fractions count grey levels <= 5 and >= 250; mean_luminance and rms_contrast are the
mean and the population standard deviation of gray / 255.
"""

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
PHOTOS = ["astronaut", "coffee", "chelsea"]
DISTORTIONS = ["ref", "blur_s2", "q30_decoded"]


def metrics(rgb):
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    unit = gray.astype(np.float64) / 255.0
    return {
        "laplacian_var": cv2.Laplacian(gray, cv2.CV_64F).var(),
        "dark_fraction": (gray <= 5).mean(),
        "bright_fraction": (gray >= 250).mean(),
        "mean_luminance": unit.mean(),
        "rms_contrast": unit.std(),
    }


def main():
    cases = [f"{p}/{d}" for p in PHOTOS for d in DISTORTIONS]
    values = {}
    for case in cases:
        photo, distortion = case.split("/")
        rgb = np.array(Image.open(HERE / f"{photo}_{distortion}.png").convert("RGB"))
        values[case] = metrics(rgb)
    rows = ["metric\t" + "\t".join(cases)]
    for name in values[cases[0]]:
        rows.append(name + "\t" + "\t".join(repr(float(values[c][name])) for c in cases))
    (HERE / "extra_values.tsv").write_text("\n".join(rows) + "\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
