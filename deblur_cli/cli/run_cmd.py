"""`deblur run INPUTS...` (typed as `deblur INPUTS...`): deblur photos and folders.

Thin: options are parsed here, the work is done by ``deblur_cli.inference`` (planning in ``paths``, the
pipeline in ``pipeline``, sharding under torchrun in ``shards``). torch is imported only inside the
command, so `deblur --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer

from ..inference.settings import DEFAULTS
from .errors import DeblurError, UsageError, friendly_errors, set_debug
from .options import (
    CompileOpt,
    DebugOpt,
    DeviceOpt,
    EnsembleOpt,
    JsonOpt,
    PrecisionOpt,
    StrengthOpt,
    RunThreadsOpt,
    TileOpt,
    WeightsOpt,
    apply_threads,
)

HELP = """Deblur photos: files, folders (--recursive for sub-folders) or glob patterns.

Results go beside each input as NAME_deblurred.EXT, or under -o DIR (mirroring sub-folders), or to -o FILE for one input. Existing results are skipped (--overwrite to redo them); an input is never overwritten.

Exit code: 0 when every file is done or skipped, 1 when any failed, 2 for bad options.

Examples:  deblur photo.jpg   |   deblur shots/ -o sharp/ --recursive   |   deblur a.png -m deblurgan --compare
"""


def register(app: typer.Typer) -> None:
    app.command("run", help=HELP, no_args_is_help=True)(run)


@friendly_errors
def run(
    inputs: Annotated[list[str], typer.Argument(help="Image files, folders or glob patterns.", show_default=False)],
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Variant; see `deblur models`. Default: pix2pix-sa-gr-compact on every device (`deblur models` says why).", show_default=False)] = None,
    weights: WeightsOpt = None,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Output folder (or file, for one input).")] = None,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Look into sub-folders; keep the tree.")] = False,
    suffix: Annotated[str, typer.Option("--suffix", help="Added to the name of results written beside inputs.")] = "_deblurred",
    ext: Annotated[Optional[str], typer.Option("--ext", help="Output format, e.g. png (default: the input's).")] = None,
    quality: Annotated[int, typer.Option("--quality", min=1, max=100, help="JPEG/WebP quality.")] = 95,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Redo results that already exist.")] = False,
    tile: TileOpt = DEFAULTS.tile,
    tile_mode: Annotated[str, typer.Option("--tile-mode", help="plain | global-stats: tiles of InstanceNorm / channel-attention models share statistics pooled over all tiles (a second pass; see docs/inference.md).")] = DEFAULTS.tile_mode,
    ensemble: EnsembleOpt = DEFAULTS.ensemble,
    strength: StrengthOpt = DEFAULTS.strength,
    device: DeviceOpt = DEFAULTS.device,
    precision: PrecisionOpt = DEFAULTS.precision,
    compile_mode: CompileOpt = DEFAULTS.compile,
    threads: RunThreadsOpt = None,
    compare: Annotated[bool, typer.Option("--compare", help="Also write NAME_compare.EXT: input | result.")] = False,
    save_attention: Annotated[bool, typer.Option("--save-attention", help="BAG: also write the 4 spatial attention maps as PNGs.")] = False,
    max_pixels: Annotated[Optional[int], typer.Option("--max-pixels", help="Largest image to open, in pixels (0: no limit; default: Pillow's ~89 M).")] = None,
    as_json: JsonOpt = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no summary; errors still print.")] = False,
    debug: DebugOpt = False,
) -> None:
    set_debug(debug)
    if max_pixels is not None and max_pixels < 0:
        raise UsageError("--max-pixels must be 0 (no limit) or a positive number of pixels")
    apply_threads(threads, idle_only=True)

    from ..inference import shards
    from ..inference.devices import device_for_process
    from ..images.paths import normalize_ext, plan_outputs, scan_inputs

    ext = normalize_ext(ext)
    scanned = scan_inputs(inputs, recursive)
    items = _drop_earlier_extras(scanned.items, suffix, output)
    jobs = plan_outputs(items, output, suffix=suffix, ext=ext)

    from ..inference.pipeline import BatchOptions
    from ..inference.settings import RestoreSettings

    launch = shards.launch_from_env()
    batch = BatchOptions(ext=ext, quality=quality, overwrite=overwrite, max_pixels=max_pixels, compare=compare,
                         save_attention=save_attention)
    try:
        device = str(device_for_process(device, launch))  # an unusable device: every rank stops, rank 0 says why
        settings = RestoreSettings(ensemble=ensemble, strength=strength, tile=tile, tile_mode=tile_mode,
                                   device=device, precision=precision, compile=compile_mode)
        with shards.process_group(launch, device):
            outcomes = shards.run_sharded(
                lambda: _run_shard(shards.shard(jobs, launch), model, weights, settings, batch,
                                   show_progress=launch.is_main and not quiet and not as_json, debug=debug),
                launch)
    except DeblurError as exc:
        if launch.is_main:
            raise
        raise SystemExit(2 if isinstance(exc, UsageError) else 1) from None  # rank 0 says why, once
    results = shards.unshard([r for r, _ in outcomes], len(jobs))
    info = {**outcomes[0][1], "processes": launch.world,
            "skipped_folders": [str(folder) for folder in scanned.skipped_folders]}
    failed = any(r.status == "failed" for r in results)
    if launch.is_main:
        _report(results, info, as_json, quiet)
    if failed:
        raise typer.Exit(1)


def _run_shard(jobs, model, weights, settings, batch, show_progress: bool, debug: bool):
    """One process's share of the files: load the model with ``settings`` (a RestoreSettings) and run the batch
    (``batch``, a pipeline.BatchOptions)."""
    from ..inference.api import load_model
    from ..inference.devices import precision_name
    from ..inference.pipeline import ConsoleReporter, run_batch

    restorer = load_model(model, weights=weights, settings=settings)
    if restorer.note and show_progress:
        print(f"note: {restorer.note}", file=sys.stderr)
    results = run_batch(jobs, restorer, batch, ConsoleReporter(show_bar=show_progress, debug=debug))
    info = {"model": restorer.name, "weights": str(restorer.weights_path), "device": str(restorer.device),
            "precision": precision_name(restorer.dtype), "tile": settings.tile, "tile_mode": restorer.tile_mode,
            "ensemble": restorer.ensemble, "strength": restorer.strength, "note": restorer.note,
            "compile": settings.compile, "compiled": restorer.compiled}
    return results, info


def _drop_earlier_extras(items, suffix: str, output):
    """Beside-input runs: --compare / --save-attention files of an earlier run are not new inputs."""
    import re

    if output is not None or not suffix:
        return items
    ours = re.compile(re.escape(suffix) + r"_(compare|attention(_\d+)?)$")
    return [i for i in items if i.explicit or i.problem or not ours.search(i.path.stem)]


def _report(results, info: dict, as_json: bool, quiet: bool) -> None:
    from ..inference.pipeline import summarize

    summary = summarize(results)
    if as_json:
        print(json.dumps({**info, "summary": summary, "files": [r.to_dict() for r in results]}, indent=2))
    if quiet:
        return
    for r in results:
        for note in r.notes:
            print(f"note: {r.src}: {note}", file=sys.stderr)
    folders = info["skipped_folders"]
    if folders:
        shown = ", ".join(folders[:3]) + (", ..." if len(folders) > 3 else "")
        print(f"note: {len(folders)} sub-folder{'' if len(folders) == 1 else 's'} with images skipped ({shown}); "
              "add --recursive to include them", file=sys.stderr)
    parts = [f"{summary['ok']} deblurred"]
    if summary["skipped"]:
        parts.append(f"{summary['skipped']} skipped (existing results; --overwrite to redo)")
    if summary["failed"]:
        parts.append(f"{summary['failed']} failed")
    strength = "" if info["strength"] == 1.0 else f", strength {info['strength']:g}"
    compiled = ", compiled" if info["compiled"] else ""
    print(f"{', '.join(parts)} in {summary['seconds']:.1f} s with {info['model']} on {info['device']} "
          f"({info['precision']}{strength}{compiled})", file=sys.stderr)
