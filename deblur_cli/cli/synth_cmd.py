"""`deblur synth`: write procedural (blurred, sharp) pairs, or pairs made from sharp photos, in the GoPro layout.

torch and the generators are imported inside the command, so `deblur --help` stays fast."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

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
    photos: Annotated[Optional[Path], typer.Option(
        "--photos", help="Blur these sharp photos (a folder, searched recursively) instead of procedural scenes.")] = None,
    max_extent: Annotated[Optional[float], typer.Option(
        "--max-extent", help="Largest blur path in pixels (default: the training mix's).", min=1.0)] = None,
) -> None:
    """Write (blurred, sharp) pairs that `deblur eval` and `deblur train` read like GoPro: procedural scenes (no
    photographs involved), or crops of your own sharp photos blurred by the same motion engine (--photos).

    Example:  deblur synth --photos photos/val --out val-shake --n 48 --size 384 --motion shake --seed 77001
    """
    from rich.progress import Progress

    from ..data.mix import PhotoMix, SynthConfig
    from ..data.synth import MOTIONS
    from ..errors import UsageError

    if motion not in MOTIONS:
        raise UsageError(f"--motion must be one of {', '.join(MOTIONS)}, not {motion!r}")
    extent = {} if max_extent is None else {"max_extent": max_extent}
    with Progress(transient=True) as progress:
        task = progress.add_task("rendering pairs", total=n)
        tick = lambda i: progress.update(task, completed=i + 1)  # noqa: E731
        if photos is not None:
            from ..data.writer import write_photo_gopro

            if fibres or warp:
                raise UsageError("--fibres and --warp shape procedural scenes; they do not apply to --photos")
            write_photo_gopro(out, photos, n, seed, size, split, motion, mix=PhotoMix(**extent), progress=tick)
        else:
            from ..data.writer import write_synthetic_gopro

            write_synthetic_gopro(out, n, seed, size, split, motion,
                                  config=SynthConfig(p_fibres=fibres, p_warp=warp, **extent), progress=tick)
    extras = f", fibres={fibres:g}, warp={warp:g}" if fibres or warp else ""
    extras += f", max extent {max_extent:g} px" if max_extent is not None else ""
    source = f"photos from {photos}" if photos is not None else "procedural scenes"
    print(f"wrote {n} pairs ({size}x{size}, {source}, motion={motion}, seed={seed}{extras}) to {out / split}")


def register(app: typer.Typer) -> None:
    app.command("synth")(friendly_errors(synth))
