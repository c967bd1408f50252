"""How well do weights trained on procedural data transfer to a real photo?

Blurs scikit-image's `chelsea` (CC0) with our own generator at several strengths (camera shake, and a uniform
random-trajectory kernel), restores it, and prints PSNR/SSIM of input and output against the sharp target. Also
checks that an already-sharp photo is not made worse (the model must leave it alone), and writes a crop grid
(blurred | restored | sharp) to look at. Never used for training.

The target of a shake blur is the middle sub-frame, as in GoPro, and that is not always where the blur is centred:
`shake 14px` lines up best with its target 2 px off in x and y. A network cannot know that offset, so plain PSNR
there mostly measures alignment. The last column therefore gives the gain with input and output each compared at
its best integer shift (within 3 px, borders cropped); the plain gain stays the one the tools and README use.

The check itself lives in the library (`deblur_cli.eval.transfer_check`), where the other tools call it.

    python tools/check_transfer.py -m bag-compact [--weights FILE] [--grid crops.png] [--ensemble N] [--strength S]
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np
import torch

from deblur_cli.cli.errors import friendly_errors
from deblur_cli.eval.transfer_check import check_transfer, split_gains
from deblur_cli.images import write_pixels
from deblur_cli.inference.api import load_model
from deblur_cli.inference.settings import SINGLE_PASS
from deblur_cli.measure.levels import quantize


@friendly_errors
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-m", "--model", default="bag")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--grid", default=None, help="write a crop grid PNG here")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ensemble", type=int, default=SINGLE_PASS.ensemble,
                    help="self-ensemble passes (1, 2 or 4), as `deblur --ensemble`")
    ap.add_argument("--strength", type=float, default=SINGLE_PASS.strength,
                    help="share of the network's change, as `deblur --strength`")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    settings = replace(SINGLE_PASS, device="cpu", ensemble=args.ensemble, strength=args.strength)
    restorer = load_model(args.model, weights=args.weights, settings=settings)
    cases = check_transfer(restorer)
    print("| case | input PSNR | output PSNR | gain | gain, aligned |\n|---|---|---|---|---|")
    for c in cases:
        print(f"| {c.label} | {c.input_psnr:.2f} | {c.psnr:.2f} | {c.gain:+.2f} | {c.aligned_gain:+.2f} |")
    blurred, sharp = split_gains({c.label: {"gain": c.gain} for c in cases})  # unrounded, unlike the other tools
    print(f"blurred cases: mean gain {np.mean(blurred):+.2f} dB, worst {min(blurred):+.2f} dB; sharp photo {sharp:+.2f} dB")
    if args.grid:
        y, x = 60, 120  # the eyes: fine fur, whiskers and a smooth iris
        grid = [np.concatenate([im[y:y + 128, x:x + 200] for im in (c.blurred, c.restored, c.sharp)], axis=1)
                for c in cases]
        write_pixels(args.grid, quantize(np.concatenate(grid, 0)))


if __name__ == "__main__":
    main()
