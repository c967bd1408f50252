"""`deblur photos`: the free sharp photographs that training and validation blur, fetched and verified.

The library is imported inside the commands, so `deblur --help` stays fast."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import UsageError, friendly_errors

app = typer.Typer(help="Fetch the free photographs that `deblur train` blurs (from Debian's archive, verified).",
                  no_args_is_help=True, rich_markup_mode="rich")


@app.command("fetch")
@friendly_errors
def fetch(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to fill: OUT/train/, OUT/val/, OUT/photos.json.")],
    split: Annotated[str, typer.Option("--split", help="Comma-separated splits to fetch: train, val.")] = "train,val",
    mirror: Annotated[Optional[str], typer.Option(
        "--mirror", help="Debian mirror root (default: deb.debian.org; env DEBLUR_DEBIAN_MIRROR).")] = None,
    debs: Annotated[Optional[Path], typer.Option(
        "--debs", help="Use .deb files already here (from `apt-get download PACKAGE`) instead of downloading.")] = None,
) -> None:
    """Download the listed Debian packages, check every package and photo against its sha256, and write the photos.

    Example:  deblur photos fetch --out ~/deblur-photos   then   deblur train --preset cpu/bag-compact-photos
    --data-root ~/deblur-photos/train
    """
    import os

    from ..data.photo_sources import DEFAULT_MIRROR, SPLITS, fetch_photos

    splits = tuple(s.strip() for s in split.split(",") if s.strip())
    bad = [s for s in splits if s not in SPLITS[:2]]
    if bad or not splits:
        raise UsageError(f"--split takes train and/or val, not {split!r}")
    report = fetch_photos(out, splits=splits, mirror=mirror or os.environ.get("DEBLUR_DEBIAN_MIRROR") or DEFAULT_MIRROR,
                          debs_dir=debs, progress=lambda message: print(f"  {message}"))
    print(f"{len(report.written)} photos written, {len(report.kept)} already there and verified, in {out} "
          f"(licences in {out / 'photos.json'})")


@app.command("list")
@friendly_errors
def list_photos() -> None:
    """The photo list: name, split, licence, package, and what each photo shows."""
    from ..data.photo_sources import load_sources

    for s in load_sources():
        note = f"  ({s.why})" if s.why else ""
        print(f"{s.split:8s} {s.name:20s} {s.licence:13s} {s.package:28s} {s.content}{note}")


def register(app_: typer.Typer) -> None:
    app_.add_typer(app, name="photos")
