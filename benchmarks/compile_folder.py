"""A folder of photos of varying sizes, eager and compiled: what `deblur DIR --compile on` pays on its first image
(the compile), what it gains on the tenth, and how many compiles the varying sizes cost.

    python benchmarks/compile_folder.py                                  # the three networks of issue 25
    python benchmarks/compile_folder.py -m bag-compact --threads 2 --images 10

For each variant (random-init weights: speed does not depend on trained values), two engines share one network:
``compile="off"`` and ``compile="on"`` (dynamic shapes, as `deblur` compiles). Image i (sizes cycle through
:data:`SIZES`, around 640x360, several padded shapes) is restored by the compiled engine, then by the eager one,
one pass, whole image: so both meet the same load. Per image: wall and process CPU time of both, and the
number of graphs dynamo has compiled so far. Set ``TORCHINDUCTOR_CACHE_DIR`` to a fresh folder for the cold
compile a first-time user waits for; inductor's on-disk cache makes a later process compile faster.
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import torch

from deblur_cli import registry
from deblur_cli.inference.engine import Restorer
from deblur_cli.inference.settings import SINGLE_PASS

VARIANTS = ["multiscale-compact", "deblurgan-compact", "bag-compact"]
# (height, width): a folder of phone and camera shots scaled to about 640x360, landscape and portrait
SIZES = [(360, 640), (480, 640), (360, 640), (400, 600), (512, 384), (360, 640), (300, 500), (360, 640),
         (420, 560), (360, 640)]


def timed(fn) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - cpu


def graphs() -> int:
    return int(torch._dynamo.utils.counters["stats"]["unique_graphs"])


def run(variant: str, images: int) -> list[dict]:
    spec = registry.get(variant)
    torch.manual_seed(0)
    module = spec.build()
    one_pass = replace(SINGLE_PASS, device="cpu", precision="fp32")
    eager = Restorer(module, spec, one_pass)
    compiled = Restorer(module, spec, replace(one_pass, compile="on"))
    torch._dynamo.reset()
    start_graphs = graphs()
    rows = []
    for i in range(images):
        h, w = SIZES[i % len(SIZES)]
        x = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(i))
        c_wall, c_cpu = timed(lambda: compiled.restore_tensor(x))
        e_wall, e_cpu = timed(lambda: eager.restore_tensor(x))
        rows.append(dict(image=i + 1, size=f"{w}x{h}", eager_wall=e_wall, eager_cpu=e_cpu, compiled_wall=c_wall,
                         compiled_cpu=c_cpu, graphs=graphs() - start_graphs, compiled=compiled.compiled))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-m", "--model", default=",".join(VARIANTS))
    ap.add_argument("--images", type=int, default=len(SIZES))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), one pass, whole image, random-init weights\n")
    print("| variant | image | size | eager ms (CPU ms) | compiled ms (CPU ms) | eager/compiled (CPU) | graphs |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for variant in args.model.split(","):
        rows = run(variant, args.images)
        for r in rows:
            ratio = r["eager_cpu"] / r["compiled_cpu"] if r["compiled_cpu"] > 0 else float("nan")
            print(f"| {variant} | {r['image']} | {r['size']} | {r['eager_wall'] * 1e3:,.0f} ({r['eager_cpu'] * 1e3:,.0f}) "
                  f"| {r['compiled_wall'] * 1e3:,.0f} ({r['compiled_cpu'] * 1e3:,.0f}) | {ratio:.2f} "
                  f"| {r['graphs']}{'' if r['compiled'] else ' (eager: compile failed)'} |", flush=True)
        later = rows[1:]
        if later:
            e = statistics.median(r["eager_cpu"] for r in later)
            c = statistics.median(r["compiled_cpu"] for r in later)
            print(f"| {variant} | 2-{len(rows)} median | | ({e * 1e3:,.0f}) | ({c * 1e3:,.0f}) | {e / c:.2f} | |",
                  flush=True)


if __name__ == "__main__":
    main()
