"""How close is tiled output to whole-image output? PSNR (dB, higher = closer) per variant and tiling mode.

    python benchmarks/tiling_agreement.py                      # compact presets, 1280x720, 256 px tiles
    python benchmarks/tiling_agreement.py -m bag-compact --tile 384 --threads 2

Modes: ``plain`` (every tile normalised by its own statistics; the engine's default), ``global-stats``
with 0, 1 or 2 full-resolution refinement passes (0 = statistics of a downscaled copy of the whole
image only). Variants without InstanceNorm or channel attention have nothing to share: only ``plain``
is run for them.
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

import numpy as np
import torch

from deblur_cli import registry
from deblur_cli.inference.engine import Restorer
from deblur_cli.inference.norm_stats import has_global_statistics
from deblur_cli.inference.tiling import default_overlap

DEFAULT_VARIANTS = ["bag-compact", "deblurgan-compact", "pix2pix-compact", "pix2pix-sa-gr-compact",
                    "rir-compact", "multiscale-compact", "resnet-gan-compact"]
MODES = [("plain (default)", "plain", 0), ("global, downscaled only", "global-stats", 0),
         ("global, +1 pass", "global-stats", 1), ("global, +2 passes", "global-stats", 2)]


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
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--overlap", type=int, default=None, help="default: the engine's (a quarter of the "
                        "tile for discouraged variants, an eighth otherwise)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: PyTorch's default)")
    parser.add_argument("--quick-train", type=int, default=0, metavar="STEPS",
                        help="without trained weights: train this many L1 steps first (see above)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    width, height = (int(v) for v in args.size.lower().split("x"))
    rgb = test_image(width, height, args.seed)

    header = ["variant", "weights", "tile / overlap", "whole s"] + [f"{label} dB (s)" for label, _, _ in MODES]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name in args.models.split(","):
        try:
            module, spec, weights = network(name, args.quick_train)
        except ImportError as exc:  # a family whose module is not written yet
            print(f"| {name} | not available ({exc}) |" + " |" * (len(header) - 2))
            continue
        start = time.perf_counter()
        whole = Restorer(module, spec, tile=0).restore(rgb)
        whole_s = time.perf_counter() - start
        cells = []
        overlap = args.overlap if args.overlap is not None else default_overlap(
            args.tile, spec.tiling, spec.multiple_of)
        for _label, mode, passes in MODES:
            if mode == "global-stats" and not has_global_statistics(module):
                cells.append("n/a")
                continue
            restorer = Restorer(module, spec, tile=args.tile, overlap=args.overlap, tile_mode=mode,
                                stats_passes=passes)
            start = time.perf_counter()
            tiled = restorer.restore(rgb)
            cells.append(f"{psnr(tiled, whole):.1f} ({time.perf_counter() - start:.1f})")
        print(f"| {name} | {weights} | {args.tile} / {overlap} | {whole_s:.1f} | " + " | ".join(cells) + " |",
              flush=True)


if __name__ == "__main__":
    main()
