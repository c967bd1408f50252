"""`deblur synth`: write procedural (blurred, sharp) pairs in the GoPro layout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .errors import friendly_errors


def synth(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output root (GoPro layout: OUT/<split>/<seq>/...).")],
    n: Annotated[int, typer.Option("--n", help="Number of pairs.", min=1)] = 100,
    seed: Annotated[int, typer.Option("--seed", help="Seed; use one different from training for test sets.")] = 0,
    size: Annotated[int, typer.Option("--size", help="Side of each square image in pixels.", min=32)] = 256,
    split: Annotated[str, typer.Option("--split", help="Split folder name.")] = "test",
    motion: Annotated[str, typer.Option("--motion", help="mixed | blurred | shake | objects | kernel | none")] = "mixed",
    fibres: Annotated[float, typer.Option("--fibres", help="Share of shapes textured with fur/grass-like strands.",
                                          min=0.0, max=1.0)] = 0.0,
    warp: Annotated[float, typer.Option("--warp", help="Chance that a scene is bent by a smooth random warp.",
                                        min=0.0, max=1.0)] = 0.0,
) -> None:
    """Write a procedural dataset (no photographs involved) that `deblur eval` and `deblur train` read like GoPro."""
    from rich.progress import Progress

    from ..data.mix import SynthConfig
    from ..data.synth import MOTIONS
    from ..data.writer import write_synthetic_gopro
    from ..errors import UsageError

    if motion not in MOTIONS:
        raise UsageError(f"--motion must be one of {', '.join(MOTIONS)}, not {motion!r}")
    with Progress(transient=True) as progress:
        task = progress.add_task("rendering pairs", total=n)
        write_synthetic_gopro(out, n, seed, size, split, motion, config=SynthConfig(p_fibres=fibres, p_warp=warp),
                              progress=lambda i: progress.update(task, completed=i + 1))
    extras = f", fibres={fibres:g}, warp={warp:g}" if fibres or warp else ""
    print(f"wrote {n} pairs ({size}x{size}, motion={motion}, seed={seed}{extras}) to {out / split}")


def register(app: typer.Typer) -> None:
    app.command("synth")(friendly_errors(synth))
