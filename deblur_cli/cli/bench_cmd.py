"""`deblur bench`: time per image, throughput, achieved GFLOP/s against a plain-conv reference, peak memory;
with ``--train``, the CPU recipe's training step per variant against a plain-conv network of equal FLOPs, the
photo pairs' synthesis alone (numpy and torch engines) and steps fed by the loader, eager and compiled.

Thin layer over :mod:`deblur_cli.bench`; torch is imported inside the command only.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..inference.settings import DEFAULTS
from .errors import UsageError, friendly_errors, set_debug
from .options import DebugOpt, DeviceOpt, PrecisionOpt, ThreadsOpt, WeightsOpt, apply_threads

BenchCompileOpt = Annotated[str, typer.Option(
    "--compile", help="auto | on: also time each network (with --train: each training step fed by the loader) "
    "through torch.compile, beside eager; off: eager only.")]

EPILOG = (
    "Examples:\n\n"
    "  deblur bench --random-weights                      (every compact preset at 1280x720)\n\n"
    "  deblur bench -m bag --random-weights --repeat 1    (the paper-size BAG; paper: 1.13 s on a GTX 1080 Ti)\n\n"
    "  deblur bench -m bag-compact --size 640x360 --json\n\n"
    "  deblur bench --train --threads 1                   (training steps/s of every variant with bundled weights)\n\n"
    "  deblur bench --train -m pix2pix-sa-gr-compact --threads 2 --photos ~/deblur-photos/train\n"
    "                                                     (with pair synthesis and steps fed by the loader, eager "
    "and compiled)"
)


def parse_size(text: str) -> tuple[int, int]:
    """``"1280x720"`` -> (height 720, width 1280); ``"512"`` -> (512, 512)."""
    parts = text.lower().replace("*", "x").split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise UsageError(f"--size must be WIDTHxHEIGHT (e.g. 1280x720) or one number, not {text!r}") from None
    if len(values) == 1:
        values *= 2
    if len(values) != 2 or min(values) < 8:
        raise UsageError(f"--size must be WIDTHxHEIGHT with sides of at least 8 pixels, not {text!r}")
    return values[1], values[0]


def register(app: typer.Typer) -> None:
    @app.command("bench", epilog=EPILOG)
    @friendly_errors
    def bench_command(
        model: Annotated[Optional[str], typer.Option(
            "--model", "-m", help="Variant name(s), comma separated (default: every compact preset).")] = None,
        size: Annotated[str, typer.Option("--size", help="Image size WIDTHxHEIGHT.")] = "1280x720",
        repeat: Annotated[Optional[int], typer.Option(
            "--repeat", help="Timed runs per variant, median reported (default 3; 10 steps with --train).")] = None,
        tile: Annotated[int, typer.Option("--tile", help="Tile side for the tiled timing; 0 skips it.")] = 512,
        random_weights: Annotated[bool, typer.Option(
            "--random-weights", help="Untrained networks: speed does not depend on trained values.")] = False,
        weights: WeightsOpt = None,
        device: DeviceOpt = DEFAULTS.device,
        precision: PrecisionOpt = DEFAULTS.precision,
        threads: ThreadsOpt = None,
        compile_mode: BenchCompileOpt = DEFAULTS.compile,
        no_reference: Annotated[bool, typer.Option(
            "--no-reference", help="Skip the plain 3x3 convolution reference.")] = False,
        folder: Annotated[Optional[int], typer.Option(
            "--folder", help="Also time a folder run of N images through the file pipeline.")] = None,
        train: Annotated[bool, typer.Option(
            "--train", help="Time the CPU recipe's training step instead of inference (default: the compact "
            "presets with bundled weights).")] = False,
        batch: Annotated[Optional[int], typer.Option(
            "--batch", help="--train: crops per step (default: the recipe's, 8).")] = None,
        crop: Annotated[Optional[int], typer.Option(
            "--crop", help="--train: crop side in pixels (default: the recipe's, 128).")] = None,
        photos: Annotated[Optional[str], typer.Option(
            "--photos", help="--train: a folder of sharp photos for the data timing (default: procedural "
            "stand-ins).")] = None,
        no_end_to_end: Annotated[bool, typer.Option(
            "--no-end-to-end", help="--train: time the step on a ready batch only, not pair synthesis and steps "
            "fed by the loader.")] = False,
        json_out: Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON report.")] = False,
        debug: DebugOpt = False,
    ) -> None:
        """Measure how fast each variant restores an image on this machine (--train: how fast it trains)."""
        set_debug(debug)
        from rich.console import Console

        from ..bench import bench_report as rep
        from ..bench.bench_run import BenchOptions, default_variants, run_bench
        from ..eval.targets import parse_models

        if repeat is not None and repeat < 1:
            raise UsageError("--repeat must be at least 1")
        from ..inference.compiling import parse_compile

        compiled = parse_compile(compile_mode) != "off"  # a bad value fails before any timing
        if train:
            if folder or weights or random_weights:
                raise UsageError("--folder, --weights and --random-weights time inference; --train builds "
                                 "untrained networks (speed does not depend on trained values)")
            _bench_train(model, repeat, batch, crop, photos, device, threads, not no_reference, json_out,
                         not no_end_to_end, compiled)
            return
        if batch is not None or crop is not None or photos is not None or no_end_to_end:
            raise UsageError("--batch, --crop, --photos and --no-end-to-end go with --train")
        repeat = 3 if repeat is None else repeat
        height, width = parse_size(size)
        from ..inference.tiling import MIN_TILE

        if tile < 0 or 0 < tile < MIN_TILE:
            raise UsageError(f"--tile must be 0 (skip the tiled timing) or at least {MIN_TILE} pixels, not {tile}")
        apply_threads(threads)
        variants = parse_models(model) or default_variants()
        if weights and len(variants) != 1:
            raise UsageError("--weights goes with a single -m NAME")
        from .. import registry

        for name in variants:
            registry.get(name)  # unknown names fail before any timing
        options = BenchOptions(height=height, width=width, repeat=repeat, device=device, precision=precision,
                               tile=tile, random_weights=random_weights, weights=weights,
                               reference=not no_reference, compile=compile_mode)
        err = Console(stderr=True)
        report = run_bench(variants, options, progress=lambda what: err.print(f"timing {what} ...",
                                                                              highlight=False))
        if folder:
            from ..bench.folder import folder_throughput

            report.folder = folder_throughput(variants[0], options, folder)
        if json_out:
            typer.echo(rep.to_json(report))
        else:
            rep.print_rich(report, Console())


def _bench_train(model: Optional[str], repeat: Optional[int], batch: Optional[int], crop: Optional[int],
                 photos: Optional[str], device: str, threads: Optional[int], reference: bool, json_out: bool,
                 end_to_end: bool = True, compile_steps: bool = True) -> None:
    from rich.console import Console

    from .. import registry
    from ..eval.targets import parse_models
    from ..train import speed_report as rep
    from ..train.speed import TrainBenchOptions, bundled_variants, run_train_bench

    if batch is not None and batch < 1:
        raise UsageError(f"--batch must be at least 1, not {batch}")
    if crop is not None and crop < 8:
        raise UsageError(f"--crop must be at least 8 pixels, not {crop}")
    apply_threads(threads)
    variants = parse_models(model) or bundled_variants()
    for name in variants:
        registry.get(name)  # unknown names fail before any timing
    options = TrainBenchOptions(batch=batch, crop=crop, repeat=10 if repeat is None else repeat, device=device,
                                reference=reference, photos=photos, end_to_end=end_to_end, compile=compile_steps)
    err = Console(stderr=True)
    report = run_train_bench(variants, options, progress=lambda what: err.print(f"timing {what} ...",
                                                                                highlight=False))
    if json_out:
        typer.echo(rep.train_to_json(report))
    else:
        rep.print_train_rich(report, Console())
