"""How fast are training pairs made from photos? Milliseconds per pair on one core, per kind of motion and engine.

    python benchmarks/pair_synthesis.py --photos ~/deblur-photos/train            # 256 px (the GPU preset's crop)
    python benchmarks/pair_synthesis.py --photos ~/deblur-photos/train --size 128 --pairs 60

Pair synthesis runs in the data-loader workers, one core each, and on the one GPU lease so far it was what limited
training (13 workers on 16 cores fed about 22 steps of 8 x 256 px per second). This times
``make_photo_pair`` with torch at one thread, as in a worker, after every photo is decoded (as training does before
its workers fork), for each motion kind and for the training mix (``PhotoMix`` defaults, 40 % near-sharp as the
GPU preset), each over the same seeds. Rounds alternate over the kinds so that a load change on the machine hits
every kind alike; the median round is reported. Without ``--photos`` four procedural 2 MP stand-ins are used.
Both engines are timed on the same seeds: numpy (``make_photo_pair``, a pair at a time) and torch (the draws of
``plan_photo_pair``, then ``render_plans`` on batches of 8, as a CPU training run's loader worker makes them).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from deblur_cli.data.mix import PhotoMix
from deblur_cli.data.pair_plan import plan_photo_pair
from deblur_cli.data.pair_render import render_plans
from deblur_cli.data.photo_pairs import PhotoPool, find_photos, make_photo_pair
from deblur_cli.data.standins import photo_like
from deblur_cli.images import write_pixels

KINDS = ("mixed", "shake", "kernel", "objects", "none")


def pool_from(photos: Path | None, tmp: Path) -> tuple[PhotoPool, str]:
    if photos is None:
        rng = np.random.default_rng(0)
        for i in range(4):
            write_pixels(tmp / f"standin{i}.jpg", photo_like(rng, 1200, 1600), quality=92)
        photos, source = tmp, "four procedural 1600x1200 stand-ins"
    else:
        source = str(photos)
    pool = PhotoPool(find_photos(photos), max_megapixels=PhotoMix().megapixels[1])
    pool.preload()
    return pool, source


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=Path, help="a folder of sharp photos (default: procedural stand-ins)")
    ap.add_argument("--size", type=int, default=256, help="crop side in pixels")
    ap.add_argument("--pairs", type=int, default=30, help="pairs per kind and round")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    mix = PhotoMix(p_sharp=0.4)
    with tempfile.TemporaryDirectory() as tmp:
        pool, source = pool_from(args.photos, Path(tmp))
        times: dict[str, list[float]] = {k: [] for k in KINDS}
        batched: dict[str, list[float]] = {k: [] for k in KINDS}
        for _ in range(args.rounds):
            for kind in KINDS:
                start = time.perf_counter()
                for i in range(args.pairs):
                    make_photo_pair(np.random.default_rng(i), pool, args.size, kind, mix)
                times[kind].append((time.perf_counter() - start) / args.pairs)
                start = time.perf_counter()
                plans = [plan_photo_pair(np.random.default_rng(i), pool, args.size, kind, mix)
                         for i in range(args.pairs)]
                for b in range(0, args.pairs, 8):
                    render_plans(plans[b:b + 8])
                batched[kind].append((time.perf_counter() - start) / args.pairs)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"pair synthesis, {args.size} px, one thread, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, load average {load}; photos: {source}")
    print(f"`python benchmarks/pair_synthesis.py --size {args.size} --pairs {args.pairs} --rounds {args.rounds}`: "
          f"median of {args.rounds} rounds of {args.pairs} pairs per kind\n")
    print("| kind | numpy ms per pair | torch ms per pair | numpy / torch | torch pairs per second per core |\n"
          "|---|---:|---:|---:|---:|")
    for kind in KINDS:
        t, b = statistics.median(times[kind]), statistics.median(batched[kind])
        print(f"| {kind} | {1000 * t:.1f} | {1000 * b:.1f} | {t / b:.2f} | {1 / b:.1f} |")


if __name__ == "__main__":
    main()
