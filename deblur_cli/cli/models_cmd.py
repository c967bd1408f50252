"""`deblur models`: list the variants, describe one, download published weights.

The listing reads only the registry and the manifest (no torch), so it is instant; parameter counts
need the networks, so they are computed on request (``--params``, and always in ``models info``) by
building each network on torch's meta device, which allocates no weights.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Optional

import typer

from .errors import UsageError, friendly_errors
from .options import JsonOpt

app = typer.Typer(help="List the model variants, describe one, download published weights.",
                  no_args_is_help=False, rich_markup_mode="rich")


@app.callback(invoke_without_command=True)
@friendly_errors
def list_models(
    ctx: typer.Context,
    as_json: JsonOpt = False,
    params: Annotated[bool, typer.Option("--params", help="Count parameters (imports torch; a second or two).")] = False,
    family: Annotated[Optional[str], typer.Option("--family", help="Only this architecture family.")] = None,
) -> None:
    """Every generator variant: family, preset, where its weights are, measured quality.

    Weights: bundled (ships with deblur), cached (downloaded), hub (published, `deblur models download NAME`),
    none (train it: `deblur train --preset cpu/NAME`).
    """
    if ctx.invoked_subcommand is not None:
        return
    from .. import registry
    from ..weights.manifest import load_manifest
    from ..weights.resolve import availability, compact_fallback

    manifest = load_manifest()
    specs = [s for s in registry.specs("generator") if family is None or s.family == family]
    if not specs:
        raise UsageError(f"no variant of family {family!r}; families: "
                         f"{', '.join(sorted({s.family for s in registry.specs('generator')}))}")
    rows = []
    for spec in specs:
        entry = manifest.get(spec.name)
        row = {"name": spec.name, "family": spec.family, "preset": spec.preset,
               "status": entry.status if entry else "untrained", "weights": availability(spec.name, manifest),
               "metrics": dict(entry.metrics) if entry else {}}
        fallback = compact_fallback(spec.name)
        if row["weights"] == "none" and fallback and availability(fallback, manifest) != "none":
            row["falls_back_to"] = fallback  # `-m NAME` runs with the compact preset's weights
        if params:
            row["params"] = _params_or_none(spec.name)
        rows.append(row)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    _print_table(rows, params)


@app.command("info")
@friendly_errors
def info(name: Annotated[str, typer.Argument(help="Variant name, e.g. bag-compact.")],
         as_json: JsonOpt = False) -> None:
    """Everything known about one variant: architecture, paper rows, weights, training recipe, metrics."""
    report = _info_report(name)
    if as_json:
        print(json.dumps(report, indent=2, default=str))
        return
    _print_info(report)


@app.command("download")
@friendly_errors
def download(
    names: Annotated[Optional[list[str]], typer.Argument(help="Variant name(s).", show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every variant with published weights.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Download again even if a verified copy is cached.")] = False,
) -> None:
    """Fetch published weights into the Hugging Face cache (HF_HOME / HF_HUB_CACHE) and verify their sha256.

    Honours HF_ENDPOINT (mirrors) and HF_HUB_OFFLINE. Files already cached and verified are skipped.
    """
    from .. import registry
    from ..errors import DeblurError
    from ..weights import hub
    from ..weights.manifest import load_manifest

    if bool(names) == all_:
        raise UsageError("name the variant(s) to download, or pass --all (not both)")
    manifest = load_manifest()
    if all_:
        names = [n for n, e in manifest.entries.items() if e.trained and e.hub is not None]
        if not names:
            print("no variant has published weights yet; nothing to download")
            return
    for name in names:
        registry.get(name)  # unknown names fail before any download starts
    failures = []
    for name in names:
        try:
            result = hub.download(name, manifest, force=force)
        except DeblurError as exc:
            if not all_ and len(names) == 1:
                raise
            failures.append(str(exc))
            continue
        print(f"{name}: {result.action} {result.path}")
    if failures:
        raise DeblurError(f"{len(failures)} of {len(names)} downloads failed: " + " | ".join(failures))


PHOTO_COLUMN = "real photos, dB"


def _params_or_none(name: str) -> int | None:
    from ..registry import count_parameters

    try:
        return count_parameters(name)
    except ImportError:  # the family's network module is not written yet
        return None


def _print_table(rows: list[dict], params: bool) -> None:
    from rich.console import Console

    from ..eval.held_out_photos import photo_gains
    from ..inference.settings import DEFAULT_MODEL
    from rich.table import Table

    # one section per family instead of a family column, and no preset column (a compact preset's name ends in
    # -compact), so that the table fits an 80-column terminal without wrapping
    table = Table(title="deblur model variants (generators)")
    for col in ("name", "weights", PHOTO_COLUMN) + (("params",) if params else ()):
        # names are what users type: never cut them; the other columns wrap instead when the terminal is narrow
        table.add_column(col, justify="right" if col == "params" else "left", no_wrap=col in ("name", "params"))
    for i, row in enumerate(rows):
        # the fallback is the family's compact preset, listed a few rows below
        weights = "none -> compact" if "falls_back_to" in row else row["weights"]
        cells = [row["name"], weights, photo_gains(row["metrics"])]
        if params:
            cells.append("?" if row["params"] is None else f"{row['params'] / 1e6:.2f} M")
        last_of_family = i + 1 == len(rows) or rows[i + 1]["family"] != row["family"]
        table.add_row(*cells, end_section=last_of_family)
    console = Console()
    console.print(table)
    console.print(f"{PHOTO_COLUMN}: mean PSNR gain on held-out real photos with camera shake / random kernels, and "
                  "(the worst image, near-sharp photos included); deblur's default settings. Procedural-set "
                  "scores: `deblur models info NAME`.", markup=False)
    with_weights = sum(r["weights"] != "none" for r in rows)
    console.print(f"{len(rows)} variants, {with_weights} with weights. none -> compact: `-m NAME` uses NAME-compact's.",
                  markup=False)
    console.print(f"Without -m: {DEFAULT_MODEL}. Details: `deblur models info NAME`.", markup=False)


def _info_report(name: str) -> dict[str, Any]:
    from dataclasses import asdict

    from .. import registry
    from ..paper_tables import paper_row
    from ..weights.manifest import load_manifest
    from ..weights.resolve import availability, compact_fallback

    spec = registry.get(name)
    report: dict[str, Any] = {
        "name": spec.name, "family": spec.family, "preset": spec.preset, "kind": spec.kind,
        "paper": spec.paper, "description": spec.description, "builder": spec.builder, "kwargs": dict(spec.kwargs),
        "multiple_of": spec.multiple_of, "min_size": spec.min_size, "supports_half": spec.supports_half,
        "supports_bfloat16": spec.supports_bfloat16, "tiling": spec.tiling,
        "multiscale_outputs": spec.multiscale_outputs, "params": _params_or_none(name),
        "paper_rows": [],
    }
    for ref in spec.table_rows:
        table, row = paper_row(ref)
        report["paper_rows"].append({"ref": ref, "table": table.title, "label": row.label, "psnr": row.psnr,
                                     "ssim": row.ssim, "seconds": row.seconds, "how": table.how})
    if spec.kind == "generator":
        manifest = load_manifest()
        entry = manifest.get(name)
        report["weights"] = availability(name, manifest)
        report["fallback"] = compact_fallback(name)
        report["manifest"] = None if entry is None else {
            k: v for k, v in asdict(entry).items() if k != "name" and v not in (None, {}, "")}
    return report


def _print_info(report: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    console.print(f"[bold]{report['name']}[/bold]  ({report['family']}, {report['preset']} preset, {report['kind']})")
    console.print(f"  {report['description']}")
    console.print(f"  paper: {report['paper']}")
    params = report["params"]
    console.print(f"  params: {'? (network module not available)' if params is None else f'{params:,}'}")
    console.print(f"  build: {report['builder']} {report['kwargs']}")
    console.print(f"  input multiple of {report['multiple_of']}, at least {report['min_size']} px a side "
                  f"(smaller is padded); tiling {report['tiling']}; "
                  f"fp16 {'yes' if report['supports_half'] else 'no'}, "
                  f"bf16 {'yes' if report['supports_bfloat16'] else 'no'}"
                  + ("; multiscale outputs" if report["multiscale_outputs"] else ""))
    for row in report["paper_rows"]:
        numbers = ", ".join(f"{k} {row[k]}" for k in ("psnr", "ssim", "seconds") if row[k] is not None)
        console.print(f"  paper row {row['ref']}: {numbers or 'no numbers'}  [dim]({row['table']})[/dim]")
    if "weights" not in report:
        return
    console.print(f"  weights: {report['weights']}"
                  + (f"; without them -m {report['name']} uses {report['fallback']}" if report["fallback"] else ""))
    entry = report["manifest"] or {}
    for key in ("status", "bundled", "sha256", "bytes", "dtype", "hub"):
        if key in entry:
            console.print(f"  {key}: {entry[key]}")
    for section in ("training", "metrics"):
        for key, value in (entry.get(section) or {}).items():
            console.print(f"  {section}.{key}: {value}")
    if entry.get("status") != "trained":
        from ..weights.hints import train_command

        console.print(f"  train it: {train_command(report['name'])}")
