"""Render a :class:`~.speed.TrainBenchReport` (`deblur bench --train`) as a terminal table, or as JSON."""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import asdict

from rich.console import Console
from rich.markup import escape

from ..rich_table import format_ms as _ms
from ..rich_table import print_fitted
from .speed import StepBench, TrainBenchReport, VariantTrainBench

TRAIN_COLUMNS = ["variant", "ms\n/step", "cpu\nms", "steps\n/s", "MP/s", "GFLOP\n/step", "GFLOP\n/s",
                 "ref\nGFLOP/s", "% ref", "reference network"]


def train_row_cells(r: VariantTrainBench) -> list[str]:
    if r.status != "ok" or r.step is None:
        return [f"{r.variant} ({r.status})"] + ["-"] * (len(TRAIN_COLUMNS) - 1)
    s, ref = r.step, r.reference
    return [r.variant, _ms(s.median), _ms(s.cpu_median), f"{s.steps_per_s:.2f}", f"{s.pixels_per_s / 1e6:.3f}",
            f"{s.step_flops / 1e9:,.1f}", f"{s.gflops_per_s:.1f}",
            "-" if ref is None else f"{ref.gflops_per_s:.1f}",
            "-" if r.of_reference is None else f"{100 * r.of_reference:.0f}%",
            "-" if ref is None else ref.name.removeprefix("plain 3x3 conv, ")]


def train_header(report: TrainBenchReport) -> list[str]:
    lines = [f"Device: {report.device}; torch {report.torch}; {report.threads} thread"
             f"{'s' if report.threads != 1 else ''} (--threads); batch {report.batch} of {report.crop}x{report.crop} "
             f"random crops; median of {report.repeat} steps after {report.warmup} warm-up steps."]
    cores = os.cpu_count() or 1
    if report.load_average is not None:
        busy = report.load_average > 0.5 * cores
        lines.append(f"1-minute load average at start: {report.load_average:.2f} on {cores} cores"
                     + (": the machine is busy, figures read slow." if busy else "."))
    lines.append("A step: forward, the recipe's loss (finest output), backward, Adam, EMA. GFLOP/step = 3 x the "
                 "forward FLOPs of the batch (backward ~ 2 x forward); MP/s = training pixels per second.")
    lines.append("ref: a plain network of 3x3 convolutions and ReLUs with about the same forward FLOPs, trained "
                 "the same way in this process; % ref = GFLOP/s over the reference's (what memory traffic, norms, "
                 "concatenation and attention cost).")
    return lines


def data_line(report: TrainBenchReport) -> str | None:
    d = report.data
    if d is None:
        return None
    ran = [r for r in report.results if r.step is not None]
    slow = [r.variant for r in ran if not d.keeps_up(r.step.median)]
    verdict = ("keeps up with every step above" if not slow else
               f"does not keep up with {', '.join(slow)}" if len(slow) < len(ran) else "keeps up with none of them")
    return (f"Data: one batch of {d.batch} {d.crop}x{d.crop} photo pairs (photo recipe, {d.source}) took "
            f"{_ms(d.cpu_seconds)} ms of one core ({_ms(d.seconds)} ms wall); with the recipe's {d.workers} loader "
            f"worker{'s' if d.workers != 1 else ''} beside the step it {verdict} (the workers need cores of their "
            "own: with --threads equal to the cores they share them with the step).")


def pipeline_lines(report: TrainBenchReport) -> list[str]:
    """Synthesis alone and steps fed by the loader (speed_e2e), one line each."""
    lines = []
    cost = {c.engine: c.median for c in report.core_cost}
    cores = os.cpu_count() or 1
    for engine, ms in cost.items():
        lines.append(f"Pairs, {engine} engine: {ms:.2f} ms of one core per {report.crop} px pair "
                     f"({1000 / ms:.0f} pairs/s per core, {cores * 1000 / ms:.0f} on {cores} idle cores)")
    if len(cost) == 2:
        lines.append(f"Pairs: the torch engine costs {cost['numpy'] / cost['torch']:.2f}x less core time than numpy")
    for s in report.synthesis:
        lines.append(f"Loader, {s.engine} engine, {s.workers} worker{'s' if s.workers != 1 else ''} (rendered on "
                     f"{s.device}): {s.median:.0f} pairs/s wall")
    base = {e.variant: e.median for e in report.end_to_end if e.engine == "numpy" and not e.compiled}
    for e in report.end_to_end:
        how = f"{e.engine} engine, {'compiled' if e.compiled else 'eager'}"
        gain = f", {e.median / base[e.variant]:.2f}x the numpy engine eager" if e.variant in base else ""
        cpu = f"; core time a step {1000 * statistics.median(e.main_cpu_s):.0f} ms training" + (
            f" + {1000 * statistics.median(e.worker_cpu_s):.0f} ms loader" if e.worker_cpu_s else "")
        first = f"{cpu}; first step {e.first_step_s:.1f} s" + (" (the compile)" if e.compiled else "")
        lines.append(f"End to end, {e.variant}, {how}: {e.median:.2f} steps/s{gain}{first}"
                     + (f"; {e.note}" if e.note else ""))
    return lines


def print_train_rich(report: TrainBenchReport, console=None) -> None:
    console = console or Console()
    rows = [train_row_cells(r) for r in report.results]
    styles = [None if r.status == "ok" else "dim" for r in report.results]
    title = (f"deblur bench --train, batch {report.batch} x {report.crop}x{report.crop}, "
             f"{report.threads} thread{'s' if report.threads != 1 else ''}")
    print_fitted(console, title, TRAIN_COLUMNS, rows, text={0, 9}, row_styles=styles, drop_order=(9, 2, 4, 5, 7),
                 hint="--json has every field")
    for line in train_header(report):
        console.print(f"[dim]- {escape(line)}[/dim]", highlight=False)
    line = data_line(report)
    if line:
        console.print(f"- {escape(line)}", highlight=False)
    for line in pipeline_lines(report):
        console.print(f"- {escape(line)}", highlight=False)
    for r in report.results:
        if r.message:
            console.print(f"[dim]- {escape(r.variant)}: {escape(r.message)}[/dim]", highlight=False)


def _step_json(s: StepBench | None) -> dict | None:
    if s is None:
        return None
    return {**asdict(s), "median_seconds": s.median, "median_cpu_seconds": s.cpu_median,
            "steps_per_s": s.steps_per_s, "pixels_per_s": s.pixels_per_s, "step_flops": s.step_flops,
            "gflops_per_s": s.gflops_per_s}


def train_to_json(report: TrainBenchReport) -> str:
    doc = asdict(report)
    doc["flops_convention"] = "step_flops = 3 x forward_flops (forward + backward); forward counted at the crop size"
    doc["results"] = [{"variant": r.variant, "status": r.status, "message": r.message, "recipe": r.recipe,
                       "step": _step_json(r.step), "reference": _step_json(r.reference),
                       "of_reference": r.of_reference} for r in report.results]
    for key, items in (("core_cost", report.core_cost), ("synthesis", report.synthesis),
                       ("end_to_end", report.end_to_end)):
        doc[key] = [{**asdict(x), "median": x.median} for x in items]
    if report.data is not None:
        doc["data"]["keeps_up_with"] = [r.variant for r in report.results
                                        if r.step is not None and report.data.keeps_up(r.step.median)]
    return json.dumps(doc, indent=2)
