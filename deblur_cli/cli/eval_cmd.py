"""`deblur eval`: PSNR/SSIM (and time, parameters, GFLOPs) of variants on GoPro, paired folders or synthetic pairs.

Thin layer over :mod:`deblur_cli.eval`; torch is imported inside the command only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..inference.settings import DEFAULTS, RestoreSettings
from .errors import UsageError, friendly_errors, set_debug
from .options import (
    CompileOpt,
    DebugOpt,
    DeviceOpt,
    EnsembleOpt,
    PrecisionOpt,
    StrengthOpt,
    ThreadsOpt,
    TileOpt,
    WeightsOpt,
    apply_threads,
)

TABLE_NAMES = "001-table1, 001-table2, 001-table3, 004-table1, 004-table2, 003-table1"

EPILOG = (
    "Examples:\n\n"
    "  deblur eval --dataset gopro --root ~/data/GOPRO_Large --table 004-table2\n\n"
    "  deblur eval --dataset pairs --blur shots/blur --sharp shots/sharp -m bag-compact --per-image scores.csv\n\n"
    "  deblur eval --dataset synthetic --n 20 --seed 1 -m bag-compact,deblurgan-compact --format markdown\n\n"
    "  deblur eval --table 004-table1 --weights-dir ~/deblur-004-table1/weights --blur pairs/blur --sharp pairs/sharp"
)

_SUFFIX_FORMATS = {".md": "markdown", ".markdown": "markdown", ".csv": "csv", ".json": "json"}


def _choose_dataset(dataset: str | None, root, blur, sharp) -> str:
    if dataset:
        return dataset
    if root:
        return "gopro"
    if blur or sharp:
        return "pairs"
    return "synthetic"


def _output_format(fmt: str | None, out: Path | None) -> str:
    if fmt is None:
        return _SUFFIX_FORMATS.get(out.suffix.lower(), "markdown") if out else "rich"
    fmt = fmt.lower()
    if fmt not in ("rich", "markdown", "csv", "json"):
        raise UsageError(f"--format must be rich, markdown, csv or json, not {fmt!r}")
    if fmt == "rich" and out is not None:
        raise UsageError("--format rich is for the terminal; use markdown, csv or json with --out")
    return fmt


def register(app: typer.Typer) -> None:
    @app.command("eval", epilog=EPILOG)
    @friendly_errors
    def eval_command(
        model: Annotated[Optional[str], typer.Option("--model", "-m", help="Variant name(s), comma separated.")] = None,
        table: Annotated[Optional[str], typer.Option("--table", help=f"A paper table's rows: {TABLE_NAMES}.")] = None,
        dataset: Annotated[Optional[str], typer.Option(
            "--dataset", help="gopro | pairs | synthetic (default: gopro with --root, pairs with --blur/--sharp, "
            "else synthetic).")] = None,
        root: Annotated[Optional[Path], typer.Option("--root", help="gopro: GOPRO_Large or a re-packaged GoPro.")] = None,
        split: Annotated[str, typer.Option("--split", help="gopro: split folder.")] = "test",
        blur_kind: Annotated[str, typer.Option(
            "--blur-kind", help="gopro: blur (sRGB average, as most papers) | blur_gamma (linear light).")] = "blur",
        blur: Annotated[Optional[Path], typer.Option("--blur", help="pairs: folder of blurred images.")] = None,
        sharp: Annotated[Optional[Path], typer.Option("--sharp", help="pairs: folder of sharp images.")] = None,
        n: Annotated[int, typer.Option("--n", help="synthetic: number of pairs.")] = 16,
        seed: Annotated[int, typer.Option("--seed", help="synthetic: seed.")] = 0,
        size: Annotated[int, typer.Option("--size", help="synthetic: image side in pixels.")] = 256,
        motion: Annotated[str, typer.Option(
            "--motion", help="synthetic: mixed | blurred (mixed without near-sharp pairs) | shake (camera shake only) | objects | kernel | none.")] = "mixed",
        limit: Annotated[Optional[int], typer.Option("--limit", help="Evaluate the first N pairs only.")] = None,
        weights: WeightsOpt = None,
        weights_dirs: Annotated[Optional[list[Path]], typer.Option(
            "--weights-dir", metavar="DIR", help="Score the files in this folder (<variant>.safetensors, else the compact "
            "preset's) instead of the resolved weights; a folder of such folders (deblur train table's "
            "OUT/weights, one per seed) gives one line per sub-folder. Repeatable.")] = None,
        random_weights: Annotated[bool, typer.Option(
            "--random-weights", help="Untrained networks (checks the pipeline; scores mean nothing).")] = False,
        device: DeviceOpt = DEFAULTS.device,
        precision: PrecisionOpt = DEFAULTS.precision,
        tile: TileOpt = DEFAULTS.tile,
        ensemble: EnsembleOpt = DEFAULTS.ensemble,
        strength: StrengthOpt = DEFAULTS.strength,
        compile_mode: CompileOpt = DEFAULTS.compile,
        y_channel: Annotated[bool, typer.Option("--y-channel", help="Score BT.601 luma (as BasicSR), not RGB.")] = False,
        crop_border: Annotated[int, typer.Option("--crop-border", help="Pixels to ignore at each edge.")] = 0,
        fmt: Annotated[Optional[str], typer.Option(
            "--format", help="rich (terminal) | markdown | csv | json; default from --out's suffix.")] = None,
        out: Annotated[Optional[Path], typer.Option("--out", help="Write the table to this file.")] = None,
        per_image: Annotated[Optional[Path], typer.Option("--per-image", help="CSV of every image's scores.")] = None,
        save_images: Annotated[Optional[Path], typer.Option(
            "--save-images", help="Save restored images and blurred|restored|sharp comparisons here.")] = None,
        plot: Annotated[Optional[Path], typer.Option("--plot", help="PNG of per-image PSNR gains.")] = None,
        no_flops: Annotated[bool, typer.Option("--no-flops", help="Skip parameter and GFLOPs counts.")] = False,
        threads: ThreadsOpt = None,
        debug: DebugOpt = False,
    ) -> None:
        """Score variants (PSNR, SSIM, time) beside the papers' own GoPro numbers."""
        set_debug(debug)
        apply_threads(threads)
        from rich.console import Console

        from ..eval import eval_report as rep
        from ..eval.eval_run import EvalOptions, run_eval
        from ..eval.eval_sets import open_dataset
        from ..eval.targets import at_one_size, resolve_targets, with_weights_sets

        output = _output_format(fmt, out)
        targets = resolve_targets(model, table)
        if weights and (table or len(targets) != 1 or weights_dirs):
            raise UsageError("--weights goes with a single -m NAME (and no --weights-dir)")
        if weights_dirs:
            if random_weights:
                raise UsageError("--weights-dir and --random-weights contradict each other")
            targets = with_weights_sets(targets, weights_dirs)
        elif table:
            targets = at_one_size(targets)
        if limit is not None and limit < 1:
            raise UsageError("--limit must be at least 1")
        if crop_border < 0:
            raise UsageError(f"--crop-border must be 0 or more pixels, not {crop_border}")
        name = _choose_dataset(dataset, root, blur, sharp)
        evalset = open_dataset(name, root=root, split=split, blur_kind=blur_kind, blur=blur, sharp=sharp,
                               n=n, seed=seed, size=size, motion=motion)
        err = Console(stderr=True)
        err.print(f"dataset: {evalset.description}", highlight=False)
        restore = RestoreSettings(ensemble=ensemble, strength=strength, tile=tile, device=device, precision=precision,
                                  compile=compile_mode)
        options = EvalOptions(restore, weights=weights, random_weights=random_weights, limit=limit,
                              crop_border=crop_border, y_channel=y_channel, flops=not no_flops)
        sink = None
        if save_images is not None:
            from ..eval.saving import ImageSaver

            sink = ImageSaver(save_images)
        report = _run_with_progress(targets, evalset, options, sink, err, run_eval)
        if name == "gopro" and root is not None:
            from ..eval.nonblind import nonblind_reference

            report.references = list(nonblind_reference(root / split, limit=limit).values())
        if output == "rich" or out is not None:
            rep.print_rich(report, Console())
        if output != "rich":
            text = rep.render(report, output)
            if out is None:
                typer.echo(text, nl=False)
            else:
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(text, encoding="utf-8")
                err.print(f"wrote {out}", highlight=False)
        if per_image is not None:
            rep.write_per_image(report, per_image)
            err.print(f"wrote {per_image}", highlight=False)
        if plot is not None:
            from ..eval.plot import plot_report

            backend = plot_report(report, plot)
            err.print(f"wrote {plot} ({backend})", highlight=False)


def _run_with_progress(targets, evalset, options, sink, err, run_eval):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label[:40], total=total)
            bar.update(tasks[label], completed=done)

        return run_eval(targets, evalset, options, progress=progress, sink=sink)
