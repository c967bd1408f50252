"""The README's before/after picture: examples/blur/chelsea.jpg restored by the bundled weights.

    python tools/make_before_after.py [-m bag]   ->  docs/before_after.jpg

Top: blurred | restored (whole image). Bottom: the same 2x-zoomed crop of the eyes, blurred | restored | sharp.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from deblur_cli.inference.api import load_model
    from deblur_cli.inference.imageio import read_image

    ap = argparse.ArgumentParser()
    ap.add_argument("-m", "--model", default="bag")
    ap.add_argument("--ensemble", type=int, default=2, help="as `deblur --ensemble` (the command's default, 2)")
    args = ap.parse_args()
    blurred = read_image(ROOT / "examples/blur/chelsea.jpg").rgb
    sharp = read_image(ROOT / "examples/sharp/chelsea.png").rgb
    restored = load_model(args.model, device="cpu", tile="0", ensemble=args.ensemble).restore(blurred)
    to8 = lambda a: np.round(np.clip(a, 0, 1) * 255).astype(np.uint8)  # noqa: E731
    top = np.concatenate([to8(blurred), to8(restored)], axis=1)
    y, x, h, w = 70, 110, 100, 150
    crops = [Image.fromarray(to8(a[y:y + h, x:x + w])).resize((w * 2, h * 2), Image.NEAREST)
             for a in (blurred, restored, sharp)]
    bottom = np.concatenate([np.asarray(c) for c in crops], axis=1)
    pad = np.full((bottom.shape[0], top.shape[1] - bottom.shape[1], 3), 255, np.uint8)
    canvas = Image.fromarray(np.concatenate([top, np.concatenate([bottom, pad], axis=1)], axis=0))
    draw = ImageDraw.Draw(canvas)
    for (tx, ty), text in (((6, 6), "blurred"), ((top.shape[1] // 2 + 6, 6), f"deblur -m {args.model}"),
                           ((6, top.shape[0] + 6), "blurred"), ((2 * w + 6, top.shape[0] + 6), "restored"),
                           ((4 * w + 6, top.shape[0] + 6), "sharp")):
        draw.text((tx, ty), text, fill=(255, 255, 255), stroke_width=2, stroke_fill=(0, 0, 0))
    (ROOT / "docs").mkdir(exist_ok=True)
    canvas.save(ROOT / "docs/before_after.jpg", quality=92)


if __name__ == "__main__":
    main()
