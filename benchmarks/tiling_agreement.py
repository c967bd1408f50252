"""How close is tiled output to whole-image output? PSNR (dB, higher = closer) per variant and tiling mode.

    python benchmarks/tiling_agreement.py                      # compact presets, 1280x720, 256 px tiles
    python benchmarks/tiling_agreement.py -m bag-compact --tile 384 --threads 2

Modes: ``plain`` (every tile normalised by its own statistics; the engine's default) and
``global-stats`` with statistics taken from a downscaled copy of the whole image, pooled over a plain
pass of the tiles, or pooled and refined by one more full-resolution pass. Variants without
InstanceNorm or channel attention have nothing to share: only ``plain`` is run for them.
``--tile`` and ``--overlap`` take comma-separated lists; every combination is run.
Trained weights are used where the resolver finds them on this machine. Otherwise the network is
random-initialised (seed 0), and with ``--quick-train N`` then trained for N steps of L1 loss on
procedural pairs (64 px crops, batch 4): a benchmark-only stand-in that behaves like a restoration
network (near identity plus corrections) where a random one is chaotic. The table says which.
The input is one procedural scene blurred by a camera-shake kernel (``deblur_cli.data.synth``).
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
import torch

from deblur_cli import registry
from deblur_cli.inference.engine import Restorer
from deblur_cli.inference.norm_stats import has_global_statistics
from deblur_cli.inference.settings import SINGLE_PASS
from deblur_cli.inference.tiling import default_overlap

ON_CPU = replace(SINGLE_PASS, device="cpu", precision="fp32")  # one pass: the tiling's effect alone
DEFAULT_VARIANTS = ["bag-compact", "deblurgan-compact", "pix2pix-compact", "pix2pix-sa-gr-compact",
                    "rir-compact", "multiscale-compact", "resnet-gan-compact"]
MODES = [  # column label, tile_mode, stats_source, stats_passes
    ("plain (default)", "plain", "tiles", 0),
    ("global, downscaled", "global-stats", "downscaled", 0),
    ("global, pooled from tiles", "global-stats", "tiles", 0),
    ("global, pooled + 1 pass", "global-stats", "tiles", 1),
]


def photo_image(path: str, width: int, height: int) -> np.ndarray:
    """A photo scaled to cover width x height, centre-cropped (e.g. examples/blur/chelsea.jpg)."""
    from PIL import Image

    from deblur_cli.images import read_image
    from deblur_cli.measure.levels import quantize

    im = Image.fromarray(quantize(read_image(path).rgb))  # the 8-bit levels of an 8-bit photo, exactly
    scale = max(width / im.width, height / im.height)
    im = im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)
    left, top = (im.width - width) // 2, (im.height - height) // 2
    return np.asarray(im.crop((left, top, left + width, top + height)), dtype=np.float32) / 255.0


def test_image(width: int, height: int, seed: int) -> np.ndarray:
    from deblur_cli.data.synth.generator import make_pair

    blurred, _sharp = make_pair(np.random.default_rng(seed), size=max(width, height), motion="kernel")
    return np.ascontiguousarray(blurred[:height, :width])


def network(name: str, quick_train: int):
    """(module, spec, which weights)."""
    from deblur_cli.weights.loader import load_generator
    from deblur_cli.weights.resolve import resolve_weights
    from deblur_cli.weights.errors import WeightsError

    try:
        resolved = resolve_weights(name, download=False)
        if resolved.variant == name:
            loaded = load_generator(name)
            return loaded.module, loaded.spec, f"trained ({loaded.weights_path.name})"
    except WeightsError:
        pass
    torch.manual_seed(0)
    spec = registry.get(name)
    module = spec.build()
    if quick_train <= 0:
        return module.eval(), spec, "random init"
    return quick_trained(module, spec, quick_train), spec, f"random init + {quick_train} L1 steps"


def quick_trained(module, spec, steps: int, crop: int = 64, batch: int = 4):
    from deblur_cli.data.synth.generator import make_pair

    rng = np.random.default_rng(1)  # not the test image's seed
    pairs = [make_pair(rng, size=192, motion="kernel") for _ in range(6)]
    blur = torch.from_numpy(np.stack([b for b, _ in pairs])).permute(0, 3, 1, 2)
    sharp = torch.from_numpy(np.stack([s for _, s in pairs])).permute(0, 3, 1, 2)
    optimiser = torch.optim.Adam(module.parameters(), lr=3e-4)
    module.train()
    for _ in range(steps):
        idx = rng.integers(0, len(pairs), batch)
        ys, xs = rng.integers(0, 192 - crop + 1, (2, batch))
        x = torch.stack([blur[i, :, y:y + crop, x_:x_ + crop] for i, y, x_ in zip(idx, ys, xs)])
        t = torch.stack([sharp[i, :, y:y + crop, x_:x_ + crop] for i, y, x_ in zip(idx, ys, xs)])
        out = module(x)
        out = out[-1] if isinstance(out, (list, tuple)) else out
        loss = (out - t).abs().mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return module.eval()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1 / mse)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-m", "--models", default=",".join(DEFAULT_VARIANTS))
    parser.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT")
    parser.add_argument("--tile", default="256", help="tile side(s), e.g. 256,512")
    parser.add_argument("--overlap", default="", help="overlap(s); default: the engine's (a quarter of the "
                        "tile for discouraged variants, an eighth otherwise)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--image", default="", help="a photo to use (scaled and cropped to --size) instead of "
                        "a procedural blurred image")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: PyTorch's default)")
    parser.add_argument("--quick-train", type=int, default=0, metavar="STEPS",
                        help="without trained weights: train this many L1 steps first (see above)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    width, height = (int(v) for v in args.size.lower().split("x"))
    rgb = photo_image(args.image, width, height) if args.image else test_image(width, height, args.seed)

    header = ["variant", "weights", "tile / overlap", "whole s"] + [f"{mode[0]} dB (s)" for mode in MODES]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name in args.models.split(","):
        try:
            module, spec, weights = network(name, args.quick_train)
        except ImportError as exc:  # a family whose module is not written yet
            print(f"| {name} | not available ({exc}) |" + " |" * (len(header) - 2))
            continue
        start = time.perf_counter()
        whole = Restorer(module, spec, ON_CPU).restore(rgb)
        whole_s = time.perf_counter() - start
        for tile in (int(t) for t in args.tile.split(",")):
            for overlap in ([int(o) for o in args.overlap.split(",")] if args.overlap else [None]):
                overlap = overlap if overlap is not None else default_overlap(tile, spec.tiling, spec.multiple_of)
                cells = [agreement(module, spec, rgb, whole, tile, overlap, *mode[1:]) for mode in MODES]
                print(f"| {name} | {weights} | {tile} / {overlap} | {whole_s:.1f} | " + " | ".join(cells) + " |",
                      flush=True)


def agreement(module, spec, rgb, whole, tile, overlap, mode, source, passes) -> str:
    if mode == "global-stats" and not has_global_statistics(module):
        return "n/a"
    settings = replace(ON_CPU, tile=tile, overlap=overlap, tile_mode=mode, stats_source=source, stats_passes=passes)
    restorer = Restorer(module, spec, settings)
    start = time.perf_counter()
    tiled = restorer.restore(rgb)
    return f"{psnr(tiled, whole):.1f} ({time.perf_counter() - start:.1f})"


if __name__ == "__main__":
    main()
