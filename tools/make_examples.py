"""Regenerate examples/{blur,sharp}/: scikit-image's `chelsea` (CC0) blurred by our own camera-shake generator, plus a
procedural scene. Deterministic; run `python tools/make_examples.py`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deblur_cli.data.synth import blur_photo, make_pair
from deblur_cli.images import write_pixels
from deblur_cli.measure.levels import quantize

OUT = Path(__file__).resolve().parents[1] / "examples"


def save(path: Path, image: np.ndarray, **kw) -> None:
    write_pixels(path, quantize(image), **kw)


def main() -> None:
    from skimage import data

    OUT.mkdir(exist_ok=True)
    chelsea = data.chelsea().astype(np.float32) / 255.0
    blurred, sharp = blur_photo(np.random.default_rng(2026), chelsea, extent=9.0, degrade_input=False)
    (OUT / "blur").mkdir(exist_ok=True)
    (OUT / "sharp").mkdir(exist_ok=True)
    save(OUT / "blur" / "chelsea.jpg", blurred, quality=95)
    save(OUT / "sharp" / "chelsea.png", sharp)
    b, s = make_pair(np.random.default_rng(7), 384, motion="shake")
    save(OUT / "blur" / "scene.png", b)
    save(OUT / "sharp" / "scene.png", s)


if __name__ == "__main__":
    main()
