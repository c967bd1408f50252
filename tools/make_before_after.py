"""The README's before/after pictures: examples/blur/chelsea.jpg, and a held-out real photo at GoPro's scale of blur,
restored by the bundled weights with `deblur`'s defaults.

    python tools/make_before_after.py [-m bag]                 ->  docs/before_after.jpg
    python tools/make_before_after.py --photo [PATH] [-m NAME] ->  docs/before_after_photo.jpg

chelsea: top, blurred | restored (whole image); bottom, the same 2x-zoomed crop of the eyes, blurred | restored |
sharp. --photo: a validation photo (default: the ladybird of `deblur photos fetch --split val`, GPL-2+, Charles
Barbin), brought to 1 megapixel as the GoPro-scale sets are, blurred by 25 px of camera shake (the middle of those
sets' 10-40 px) with the motion engine, restored by the default unless -m names another file. The crop is the
300x220 window the network changed most (chosen on the change, not on the target), shown at 200 %: blurred |
restored | sharp, and the PSNR of the window and of the whole photo is printed for the caption.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from deblur_cli.images import read_image, write_pixels
from deblur_cli.inference.settings import DEFAULT_MODEL, DEFAULTS, RestoreSettings

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PHOTO = Path("~/deblur-photos/val/LadyBird.jpg")
PHOTO_EXTENT = 25.0  # px of camera shake: the middle of the GoPro-scale sets' 10-40 px


def _to8(a: np.ndarray) -> np.ndarray:
    from deblur_cli.measure.levels import quantize

    return quantize(a)


def _psnr(restored: np.ndarray, target: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.clip(restored, 0, 1) - target) ** 2)))


def _most_changed_window(change: np.ndarray, ch: int, cw: int, step: int = 20) -> tuple[int, int]:
    """Top-left corner of the ch x cw window with the largest mean |output - input|."""
    integral = np.pad(change, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    ys = np.arange(0, change.shape[0] - ch + 1, step)
    xs = np.arange(0, change.shape[1] - cw + 1, step)
    sums = (integral[ys[:, None] + ch, xs[None] + cw] - integral[ys[:, None], xs[None] + cw]
            - integral[ys[:, None] + ch, xs[None]] + integral[ys[:, None], xs[None]])
    iy, ix = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(ys[iy]), int(xs[ix])


def photo_before_after(path: Path, model: str, ensemble: int, out: Path = ROOT / "docs/before_after_photo.jpg") -> str:
    from deblur_cli.data.synth import blur_photo
    from deblur_cli.inference.api import load_model

    sharp = read_image(path).rgb
    h, w = sharp.shape[:2]
    scale = min(1.0, float(np.sqrt(1.0e6 / (h * w))))
    sharp = np.asarray(Image.fromarray(_to8(sharp)).resize((round(w * scale), round(h * scale)), Image.LANCZOS),
                       dtype=np.float32) / 255
    blurred, target = blur_photo(np.random.default_rng(8), sharp, extent=PHOTO_EXTENT)
    restored = load_model(model, settings=RestoreSettings(device="cpu", tile="0", ensemble=ensemble)).restore(blurred)
    ch, cw = 220, 300
    y, x = _most_changed_window(np.abs(restored - blurred).mean(axis=2), ch, cw)
    window = np.s_[y:y + ch, x:x + cw]
    summary = (f"{path.name}, {PHOTO_EXTENT:.0f} px of shake, {model}: whole photo {_psnr(blurred, target):.2f} -> "
               f"{_psnr(restored, target):.2f} dB; window at ({y}, {x}) {_psnr(blurred[window], target[window]):.2f} "
               f"-> {_psnr(restored[window], target[window]):.2f} dB")
    gap = np.full((2 * ch, 6, 3), 255, np.uint8)
    zoomed = [np.asarray(Image.fromarray(_to8(a[window])).resize((2 * cw, 2 * ch), Image.NEAREST))
              for a in (blurred, restored, target)]
    canvas = Image.fromarray(np.concatenate([zoomed[0], gap, zoomed[1], gap, zoomed[2]], axis=1))
    draw = ImageDraw.Draw(canvas)
    for tx, text in ((6, "blurred"), (2 * cw + 12, f"deblur -m {model}"), (4 * cw + 18, "sharp")):
        draw.text((tx, 6), text, fill=(255, 255, 255), stroke_width=2, stroke_fill=(0, 0, 0))
    write_pixels(out, np.asarray(canvas), quality=92)
    return summary


def main() -> None:
    from deblur_cli.inference.api import load_model

    ap = argparse.ArgumentParser()
    ap.add_argument("-m", "--model", default=None,
                    help="bundled weights to show (default: bag for chelsea, the default for --photo)")
    ap.add_argument("--ensemble", type=int, default=DEFAULTS.ensemble,
                    help="as `deblur --ensemble` (default: deblur's)")
    ap.add_argument("--photo", nargs="?", const=str(DEFAULT_PHOTO), default=None,
                    help="make the real-photo picture from this sharp photo instead")
    args = ap.parse_args()
    if args.photo:
        print(photo_before_after(Path(args.photo).expanduser(), args.model or DEFAULT_MODEL, args.ensemble))
        return
    args.model = args.model or "bag"
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
