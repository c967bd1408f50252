"""Option aliases shared by several commands (one definition, same spelling everywhere).

Loaded by `deblur --help`: what needs torch or the library is imported inside the functions that use it."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

WeightsOpt = Annotated[Optional[str], typer.Option("--weights", help="Explicit .safetensors file to load.")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto | cpu | cuda[:N] | mps")]
PrecisionOpt = Annotated[str, typer.Option("--precision", help="auto | fp32 | fp16 | bf16")]
TileOpt = Annotated[str, typer.Option("--tile", help="auto | N (tile side in pixels) | 0 (never tile)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON report.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]
EnsembleOpt = Annotated[int, typer.Option(
    "--ensemble", help="1 | 2 | 4 passes: also restore mirrored copies and average them (self-ensemble). "
    "Each pass costs one run of the network.")]
StrengthOpt = Annotated[float, typer.Option(
    "--strength", help="How much of the network's change to apply, 0 to 3: 1 as trained; above 1 deblurs more and "
    "also sharpens already-sharp detail more (docs/results.md, \"Strength\").")]
CompileOpt = Annotated[str, typer.Option(
    "--compile", help="auto | on | off: run the network through torch.compile; auto does once the work ahead would "
    "pay back the compile time (a folder of photos, a very large image), never for one small image "
    "(docs/inference.md, \"Compiling\").")]
ThreadsOpt = Annotated[Optional[int], typer.Option("--threads", help="CPU threads for torch (default: torch's).")]
RunThreadsOpt = Annotated[Optional[int], typer.Option(
    "--threads", help="CPU threads for torch (default: torch's, fewer when other programs keep cores busy; "
    "OMP_NUM_THREADS is obeyed).")]


def apply_threads(threads: Optional[int], idle_only: bool = False) -> None:
    """Set torch's CPU thread count from --threads. None leaves torch's default, or with ``idle_only`` (what
    `deblur` does) lowers it to the cores other programs leave idle, unless OMP_NUM_THREADS says otherwise."""
    if threads is None and not idle_only:
        return
    from .errors import UsageError

    if threads is not None and threads < 1:
        raise UsageError(f"--threads must be at least 1, not {threads}")
    import os

    import torch

    if threads is None:
        if "OMP_NUM_THREADS" in os.environ:  # the user's explicit setting, which torch has read
            return
        from ..hardware import idle_cores

        threads = idle_cores(most=torch.get_num_threads())
    torch.set_num_threads(threads)
