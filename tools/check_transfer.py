"""How well do weights trained on procedural data transfer to a real photo?

Blurs scikit-image's `chelsea` (CC0) with our own generator at several strengths (camera shake, and a uniform
random-trajectory kernel), restores it, and prints PSNR/SSIM of input and output against the sharp target. Also
checks that an already-sharp photo is not made worse (the model must leave it alone), and writes a crop grid
(blurred | restored | sharp) to look at. Never used for training.

The target of a shake blur is the middle sub-frame, as in GoPro, and that is not always where the blur is centred:
`shake 14px` lines up best with its target 2 px off in x and y. A network cannot know that offset, so plain PSNR
there mostly measures alignment. The last column therefore gives the gain with input and output each compared at
its best integer shift (within 3 px, borders cropped); the plain gain stays the one the tools and README use.

    python tools/check_transfer.py -m bag-compact [--weights FILE] [--grid crops.png] [--ensemble N] [--strength S]
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import numpy as np
import torch
from PIL import Image

from deblur_cli.data.synth import blur_photo
from deblur_cli.data.synth.degrade import jpeg
from deblur_cli.data.synth.motion import trajectory_kernel
from deblur_cli.data.synth.render import convolve_linear


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    a8, b8 = np.round(np.clip(a, 0, 1) * 255), np.round(np.clip(b, 0, 1) * 255)
    return float(10 * np.log10(255 ** 2 / max(np.mean((a8 - b8) ** 2), 1e-10)))


def aligned_psnr(a: np.ndarray, b: np.ndarray, radius: int = 3) -> float:
    """The best PSNR of ``a`` against ``b`` over integer shifts of up to ``radius`` pixels (borders cropped)."""
    r = radius
    core = b[r:-r, r:-r]
    return max(psnr(a[r + dy:a.shape[0] - r + dy, r + dx:a.shape[1] - r + dx], core)
               for dy in range(-r, r + 1) for dx in range(-r, r + 1))


def parse_table(stdout: str) -> dict[str, dict]:
    """This script's printed table back into {case: {input_psnr, psnr, gain}} (for the tools that run it)."""
    rows = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) >= 4 and cells[1][:1].isdigit():
            rows[cells[0]] = {"input_psnr": float(cells[1]), "psnr": float(cells[2]), "gain": float(cells[3])}
    return rows


def split_gains(rows: dict[str, dict]) -> tuple[list[float], float]:
    """(gains on the blurred cases, gain on the already-sharp photo) from :func:`parse_table`'s rows."""
    blurred = [r["gain"] for case, r in rows.items() if not case.startswith("sharp")]
    sharp = next(r["gain"] for case, r in rows.items() if case.startswith("sharp"))
    return blurred, sharp


def run_check(variant: str, weights: str | None = None, ensemble: int = 1, strength: float = 1.0) -> dict[str, dict]:
    """Run this script on one thread in a fresh process (as the other tools do) and return its table's rows."""
    cmd = [sys.executable, __file__, "-m", variant, "--threads", "1", "--ensemble", str(ensemble),
           "--strength", str(strength)]
    out = subprocess.run([*cmd, *(["--weights", str(weights)] if weights else [])], capture_output=True, text=True,
                         check=True).stdout
    return parse_table(out)


def cases(photo: np.ndarray):
    """(label, blurred, sharp) triples: shake at 4 strengths, a kernel blur, and the sharp photo itself."""
    for extent in (4.0, 8.0, 14.0, 20.0):
        b, s = blur_photo(np.random.default_rng(int(extent)), photo, extent=extent, degrade_input=False)
        yield f"shake {extent:.0f}px", b, s
    k = trajectory_kernel(np.random.default_rng(3), size=25, length=12.0)
    yield "kernel 12px", convolve_linear(photo, k), photo
    yield "sharp (jpeg q90)", jpeg(np.random.default_rng(0), photo, (90, 90)), photo


def main() -> None:
    from skimage import data

    from deblur_cli.inference.api import load_model

    ap = argparse.ArgumentParser()
    ap.add_argument("-m", "--model", default="bag")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--grid", default=None, help="write a crop grid PNG here")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ensemble", type=int, default=1, help="self-ensemble passes (1, 2 or 4), as `deblur --ensemble`")
    ap.add_argument("--strength", type=float, default=1.0, help="share of the network's change, as `deblur --strength`")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    restorer = load_model(args.model, weights=args.weights, device="cpu", tile="0", ensemble=args.ensemble,
                          strength=args.strength)
    photo = data.chelsea().astype(np.float32) / 255.0
    rows, grid = {}, []
    print("| case | input PSNR | output PSNR | gain | gain, aligned |\n|---|---|---|---|---|")
    for label, blurred, sharp in cases(photo):
        out = restorer.restore(blurred)
        pin, pout = psnr(blurred, sharp), psnr(out, sharp)
        rows[label] = {"gain": pout - pin}
        aligned = aligned_psnr(out, sharp) - aligned_psnr(blurred, sharp)
        print(f"| {label} | {pin:.2f} | {pout:.2f} | {pout - pin:+.2f} | {aligned:+.2f} |")
        y, x = 60, 120  # the eyes: fine fur, whiskers and a smooth iris
        grid.append(np.concatenate([im[y:y + 128, x:x + 200] for im in (blurred, out, sharp)], axis=1))
    blurred, sharp = split_gains(rows)
    print(f"blurred cases: mean gain {np.mean(blurred):+.2f} dB, worst {min(blurred):+.2f} dB; sharp photo {sharp:+.2f} dB")
    if args.grid:
        Image.fromarray(np.round(np.clip(np.concatenate(grid, 0), 0, 1) * 255).astype(np.uint8)).save(args.grid)


if __name__ == "__main__":
    main()
