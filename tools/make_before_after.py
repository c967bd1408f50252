"""The README's before/after pictures: examples/blur/chelsea.jpg, and a held-out real photo, restored by the
bundled weights with `deblur`'s defaults.

    python tools/make_before_after.py [-m bag]            ->  docs/before_after.jpg
    python tools/make_before_after.py --photo [PATH]      ->  docs/before_after_photo.jpg

chelsea: top, blurred | restored (whole image); bottom, the same 2x-zoomed crop of the eyes, blurred | restored |
sharp. --photo: a validation photo (default: the castle of `deblur photos fetch --split val`, GFDL, Eric Pouhier)
brought to about 0.7 megapixels and blurred by 8 px of camera shake with the motion engine; 100 % crops, blurred |
restored | sharp.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from deblur_cli.images import read_image, write_pixels
from deblur_cli.inference.settings import DEFAULTS, RestoreSettings

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PHOTO = Path("~/deblur-photos/val/castle-maintenon.jpg")


def _to8(a: np.ndarray) -> np.ndarray:
    from deblur_cli.measure.levels import quantize

    return quantize(a)


def photo_before_after(path: Path, model: str, ensemble: int) -> None:
    from deblur_cli.data.synth import blur_photo
    from deblur_cli.inference.api import load_model

    sharp = read_image(path).rgb
    h, w = sharp.shape[:2]
    scale = min(1.0, float(np.sqrt(0.7e6 / (h * w))))
    sharp = np.asarray(Image.fromarray(_to8(sharp)).resize((round(w * scale), round(h * scale)), Image.LANCZOS),
                       dtype=np.float32) / 255
    blurred, target = blur_photo(np.random.default_rng(8), sharp, extent=8.0)
    restored = load_model(model, settings=RestoreSettings(device="cpu", tile="0", ensemble=ensemble)).restore(blurred)
    ch, cw = 220, 300
    y, x = (target.shape[0] - ch) // 2, (target.shape[1] - cw) // 2
    gap = np.full((ch, 6, 3), 255, np.uint8)
    row = np.concatenate([_to8(blurred[y:y + ch, x:x + cw]), gap, _to8(restored[y:y + ch, x:x + cw]), gap,
                          _to8(target[y:y + ch, x:x + cw])], axis=1)
    canvas = Image.fromarray(row)
    draw = ImageDraw.Draw(canvas)
    for tx, text in ((6, "blurred"), (cw + 12, f"deblur -m {model}"), (2 * cw + 18, "sharp")):
        draw.text((tx, 6), text, fill=(255, 255, 255), stroke_width=2, stroke_fill=(0, 0, 0))
    write_pixels(ROOT / "docs/before_after_photo.jpg", np.asarray(canvas), quality=92)


def main() -> None:
    from deblur_cli.inference.api import load_model

    ap = argparse.ArgumentParser()
    ap.add_argument("-m", "--model", default="bag")
    ap.add_argument("--ensemble", type=int, default=DEFAULTS.ensemble,
                    help="as `deblur --ensemble` (default: deblur's)")
    ap.add_argument("--photo", nargs="?", const=str(DEFAULT_PHOTO), default=None,
                    help="make the real-photo picture from this sharp photo instead")
    args = ap.parse_args()
    if args.photo:
        photo_before_after(Path(args.photo).expanduser(), args.model, args.ensemble)
        return
    blurred = read_image(ROOT / "examples/blur/chelsea.jpg").rgb
    sharp = read_image(ROOT / "examples/sharp/chelsea.png").rgb
    settings = RestoreSettings(device="cpu", tile="0", ensemble=args.ensemble)
    restored = load_model(args.model, settings=settings).restore(blurred)
    to8 = _to8
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
    write_pixels(ROOT / "docs/before_after.jpg", np.asarray(canvas), quality=92)


if __name__ == "__main__":
    main()
