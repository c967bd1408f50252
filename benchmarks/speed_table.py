"""Time variants with `deblur bench` and write the markdown table the README quotes, plus the raw JSON.

    python benchmarks/speed_table.py --out benchmarks/results/cpu-compact            # every compact preset
    python benchmarks/speed_table.py -m bag --repeat 1 --out benchmarks/results/cpu-bag

Each run writes ``<out>.json`` (the full ``deblur bench --json`` report) and ``<out>.md`` (the table, with
the machine, the command and the load average). Variants are timed one process each, so a slow or failing
variant cannot disturb the others' memory figures. Unless ``--compile off``, a second table puts each network
compiled beside eager (runs interleaved in one process: ``deblur_cli/bench/compiled.py``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from deblur_cli.bench.bench_run import default_variants
from deblur_cli.inference.settings import DEFAULTS


def bench_one(variant: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, "-m", "deblur_cli", "bench", "-m", variant, "--size", args.size, "--repeat",
           str(args.repeat), "--tile", str(args.tile), "--json"]
    if args.random_weights:
        cmd.append("--random-weights")
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if args.folder:
        cmd += ["--folder", str(args.folder)]
    cmd += ["--compile", args.compile]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"variant": variant, "error": done.stderr.strip().splitlines()[-1:] or ["failed"]}
    return json.loads(done.stdout)


HEADER = ["| variant | params (M) | GFLOP/image | wall ms/image | CPU ms/image | MP/s (CPU) | GFLOP/s (CPU) "
          "| of 3x3 conv (CPU) | peak MiB | tiled: wall ms, CPU ms |",
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]


def _row(doc: dict) -> str:
    """Rates are computed on CPU time: on a shared machine the wall clock also counts waiting for a core."""
    r = doc["results"][0]
    if r["status"] != "ok":
        return f"| {r['variant']} | {r['status']} |" + " |" * (HEADER[1].count("|") - 3)
    cpu = r["median_cpu_seconds"]
    ref = doc.get("reference")
    gfs = r["gflops"] / cpu
    share = f"{100 * gfs / (ref['flops'] / 1e9 / ref['cpu_seconds']):.0f}%" if ref else "-"
    mp = doc["width"] * doc["height"] / 1e6 / cpu
    tiled = "-"
    if r["tiled_seconds"]:
        tiled = f"{r['tiled_seconds'] * 1e3:,.0f}, {r['tiled_cpu_seconds'] * 1e3:,.0f} ({r['tiles']} x {r['tile']} px)"
    mem = "-" if r["peak_memory"] is None else f"{r['peak_memory'] / 2**20:,.0f}"
    return (f"| {r['variant']} | {r['params'] / 1e6:.2f} | {r['gflops']:,.1f} | {r['median_seconds'] * 1e3:,.0f} | "
            f"{cpu * 1e3:,.0f} | {mp:.3f} | {gfs:.1f} | {share} | {mem} | {tiled} |")


COMPILED_HEADER = ["| variant | eager CPU ms | compiled CPU ms | eager / compiled | of 3x3 conv eager (CPU) "
                   "| of 3x3 conv compiled (CPU) | compile s (wall) |", "|---|---:|---:|---:|---:|---:|---:|"]


def compiled_row(doc: dict) -> str | None:
    """Both figures from the interleaved runs of the compiled step, on CPU time; None without a compiled column."""
    r = doc["results"][0]
    c = r.get("compiled") if r["status"] == "ok" else None
    if not c:
        return None
    if not c["cpu_seconds"]:
        return f"| {r['variant']} | {c['note']} |" + " |" * (COMPILED_HEADER[1].count("|") - 3)
    ref = doc.get("reference")
    ref_rate = ref["flops"] / 1e9 / ref["cpu_seconds"] if ref else None
    eager = sorted(c["eager_cpu_seconds"])[len(c["eager_cpu_seconds"]) // 2]
    compiled = c["median_cpu_seconds"]
    share = (lambda t: f"{100 * r['gflops'] / t / ref_rate:.0f}%" if ref_rate else "-")
    return (f"| {r['variant']} | {eager * 1e3:,.0f} | {compiled * 1e3:,.0f} | {eager / compiled:.2f}x | "
            f"{share(eager)} | {share(compiled)} | {c['compile_seconds']:,.0f} |")


def _ref_range(docs: list[dict]) -> str:
    rates = [d["reference"]["flops"] / 1e9 / d["reference"]["cpu_seconds"] for d in docs if d.get("reference")]
    if not rates:
        return "n/a"
    lo, hi = min(rates), max(rates)
    return f"{lo:.0f}" if round(lo) == round(hi) else f"{lo:.0f}-{hi:.0f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-m", "--model", help="comma-separated variants (default: every compact preset)")
    p.add_argument("--size", default="1280x720")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--tile", type=int, default=512)
    p.add_argument("--threads", type=int)
    p.add_argument("--folder", type=int, help="also time a folder run of N images, for each variant")
    p.add_argument("--trained", dest="random_weights", action="store_false",
                   help="use trained weights instead of random init")
    p.add_argument("--compile", default=DEFAULTS.compile, choices=("auto", "on", "off"),
                   help="off: eager only; auto or on: also each network compiled, beside eager")
    p.add_argument("--out", type=Path, required=True, help="output path without extension")
    args = p.parse_args()
    variants = [v.strip() for v in args.model.split(",")] if args.model else default_variants()
    docs, started = [], time.strftime("%Y-%m-%d %H:%M")
    for v in variants:
        print(f"timing {v} ...", file=sys.stderr, flush=True)
        docs.append(bench_one(v, args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(docs, indent=2))
    ok = [d for d in docs if "results" in d]
    lines = list(HEADER)
    lines += [_row(d) for d in ok]
    lines += [f"| {d['variant']} | failed: {' '.join(d['error'])} |" + " |" * (HEADER[1].count("|") - 3)
              for d in docs if "error" in d]
    if ok:
        d = ok[0]
        loads = [f"{x['load_average']:.1f}" for x in ok if x.get("load_average") is not None]
        lines += ["", f"Machine: {d['device']}, torch {d['torch']}, {d['precision']}; {d['width']}x{d['height']} "
                  f"random image; median of {d['repeat']} runs after one warm-up; started {started}; 1-minute "
                  f"load average at each variant's start: {', '.join(loads) or 'n/a'}.",
                  f"3x3 conv 64->64 reference, timed in each variant's process: {_ref_range(ok)} GFLOP/s of CPU "
                  "time (each row's share uses its own process's figure).",
                  f"Command: `python benchmarks/speed_table.py {' '.join(sys.argv[1:])}`"]
        compiled = [row for row in map(compiled_row, ok) if row]
        if compiled:
            lines += ["", *COMPILED_HEADER, *compiled]
        folders = [x["folder"] for x in ok if x.get("folder")]
        for f in folders:
            lines.append(f"Folder run ({f['variant']}, {f['images']} images, {f['format']}): "
                         f"{f['seconds_per_image'] * 1e3:,.0f} ms/image against {f['model_only_seconds_per_image'] * 1e3:,.0f} "
                         f"ms model-only ({f['seconds_per_image'] / f['model_only_seconds_per_image']:.0%}).")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
