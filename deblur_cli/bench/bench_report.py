"""Render a :class:`~.bench_run.BenchReport` as a terminal table, or as JSON (``--json``)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict

from rich.console import Console
from rich.markup import escape

from ..rich_table import format_ms as _ms
from ..rich_table import print_fitted
from .bench_run import BenchReport, VariantBench


def paper_note(r: VariantBench, report: BenchReport) -> str | None:
    """E.g. "bag: 1.13 s per 1280x720 GoPro image on an NVIDIA GeForce GTX 1080 Ti (004-table2); here 21.3 s"."""
    if r.paper is None or r.median is None:
        return None
    which = "" if r.paper.same_network else f" for the paper-size {r.variant.removesuffix('-compact')}"
    hardware, table, _ = (r.paper.where.split(", ", 2) + ["", ""])[:3]
    here = f"{r.median:.3g} s here at {report.width}x{report.height}"
    return f"{r.variant}: the paper reports {r.paper.seconds:g} s per GoPro image{which} on {hardware} ({table}); {here}"


def header(report: BenchReport) -> list[str]:
    lines = [f"Device: {report.device}; torch {report.torch}, {report.precision}; image "
             f"{report.width}x{report.height}; median of {report.repeat} runs after warm-up."]
    cores = os.cpu_count() or 1
    if report.load_average is not None:
        busy = report.load_average > 0.5 * cores
        lines.append(f"1-minute load average at start: {report.load_average:.2f} on {cores} cores"
                     + (": the machine is busy, figures read slow (on a shared CPU, --threads 1 avoids "
                        "threads waiting on each other)." if busy else "."))
    ref = report.reference
    if ref is not None:
        lines.append(f"Reference: plain 3x3 conv {ref.channels}->{ref.channels} at {ref.width}x{ref.height}: "
                     f"{_ms(ref.seconds)} ms, {ref.gflops_per_s:.1f} GFLOP/s (what this machine reaches on "
                     "the simplest dense arithmetic).")
    return lines


def row_cells(r: VariantBench, report: BenchReport) -> list[str]:
    if r.status != "ok":
        return [f"{r.variant} ({r.status})"] + ["-"] * (len(COLUMNS) - 1)
    mp = report.width * report.height / 1e6
    gfs = r.gflops_per_s
    ref = report.reference.gflops_per_s if report.reference else None
    tiled = "-" if r.tiled_seconds is None else _ms(r.tiled_seconds)
    mem = "-" if r.peak_memory is None else f"{r.peak_memory / 2**20:,.0f}"
    name = r.variant + ("" if r.weights.startswith("random") else " (trained)")
    return [name, _ms(r.median), _ms(r.cpu_median), f"{mp / r.median:.2f}", f"{r.flops / 1e9:,.1f}",
            f"{gfs:.1f}" if gfs else "-", f"{100 * gfs / ref:.0f}%" if gfs and ref else "-", mem, tiled,
            *compiled_cells(r, ref)]


def compiled_cells(r: VariantBench, ref: float | None) -> list[str]:
    """ms per image compiled, eager over compiled (interleaved runs), and the compiled share of the reference."""
    c = r.compiled
    if c is None or c.median is None:
        return ["-", "-", "-"]
    gfs = r.flops / c.median / 1e9
    return [_ms(c.median), f"{c.speedup:.2f}x", f"{100 * gfs / ref:.0f}%" if ref else "-"]


COLUMNS = ["variant", "ms\n/img", "cpu\nms", "MP/s", "GFLOP", "GFLOP\n/s", "%\nconv", "MiB", "ms\ntiled",
           "ms\ncompiled", "x\ncompiled", "% conv\ncompiled"]


def print_rich(report: BenchReport, console=None) -> None:
    console = console or Console()
    rows = [row_cells(r, report) for r in report.results]
    styles = [None if r.status == "ok" else "dim" for r in report.results]
    ran = [r for r in report.results if r.status == "ok"]
    weights = "random-init weights" if all(r.weights.startswith("random") for r in ran) else "weights as marked"
    title = f"deblur bench, {report.width}x{report.height}, {weights}"
    # narrow terminals lose the derived figures first: MP/s follows from ms, GFLOP/s from GFLOP and ms
    print_fitted(console, title, COLUMNS, rows, text={0}, row_styles=styles, drop_order=(3, 5, 4, 8, 7, 2, 9),
                 hint="--json has every field")
    for line in header(report):
        console.print(f"[dim]- {escape(line)}[/dim]", highlight=False)
    methods = {r.memory_method for r in report.results if r.memory_method}
    if methods:
        console.print("[dim]- cpu ms: this process's CPU time per image (all threads); with --threads 1 on a busy "
                      "machine it is close to the idle-machine time.[/dim]", highlight=False)
        console.print(f"[dim]- MiB: peak memory of one run, {escape('; '.join(sorted(methods)))}. GFLOP: per "
                      "image, convolutions and matrix products (2 per multiply-add). % conv: achieved GFLOP/s "
                      "over the reference's.[/dim]", highlight=False)
    tiled = sorted({(r.tiles, r.tile) for r in report.results if r.tiled_seconds is not None})
    if tiled:
        console.print("[dim]- ms tiled: the same image in "
                      + ", ".join(f"{n} tiles of {t}px" for n, t in tiled) + " (--tile).[/dim]", highlight=False)
    compiled = [r for r in report.results if r.compiled is not None]
    if compiled:
        console.print("[dim]- compiled: torch.compile (inductor, dynamic shapes), timed in runs interleaved with eager "
                      "ones; x: eager over compiled. Compile time (first run): "
                      + escape(", ".join(f"{r.variant} {r.compiled.compile_seconds:.0f} s" for r in compiled
                                         if r.compiled.compile_seconds is not None) or "-") + ".[/dim]",
                      highlight=False)
        for r in compiled:
            if r.compiled.note:
                console.print(f"- {escape(r.variant)}: {escape(r.compiled.note)}", highlight=False)
    for r in report.results:
        note = paper_note(r, report)
        if note:
            console.print(f"- {escape(note)}", highlight=False)
    for r in report.results:
        if r.message:
            console.print(f"[dim]- {escape(r.variant)}: {escape(r.message)}[/dim]", highlight=False)
    if report.folder:
        f = report.folder
        console.print(f"Folder run ({f['variant']}, {f['images']} images, {f['format']}): "
                      f"{_ms(f['seconds_per_image'])} ms/image, {f['images_per_s']:.2f} images/s; model only "
                      f"{_ms(f['model_only_seconds_per_image'])} ms/image, so a folder run takes "
                      f"{f['seconds_per_image'] / f['model_only_seconds_per_image']:.0%} of the model-only time "
                      f"({f['method']}).", highlight=False)


def to_json(report: BenchReport) -> str:
    doc = asdict(report)
    doc["reference"] = None if report.reference is None else {
        **asdict(report.reference), "gflops_per_s": report.reference.gflops_per_s}
    doc["results"] = [{**asdict(r), "median_seconds": r.median, "best_seconds": r.best,
                       "median_cpu_seconds": r.cpu_median,
                       "megapixels_per_s": (report.width * report.height / 1e6 / r.median) if r.median else None,
                       "gflops": None if r.flops is None else r.flops / 1e9, "gflops_per_s": r.gflops_per_s,
                       "compiled": None if r.compiled is None else {
                           **asdict(r.compiled), "median_seconds": r.compiled.median,
                           "median_cpu_seconds": r.compiled.cpu_median, "speedup": r.compiled.speedup,
                           "cpu_speedup": r.compiled.cpu_speedup,
                           "gflops_per_s": r.flops / r.compiled.median / 1e9 if r.compiled.median else None}}
                      for r in report.results]
    return json.dumps(doc, indent=2)
