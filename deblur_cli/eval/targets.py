"""What one `deblur eval` line evaluates: a variant, the paper row it reproduces, or both.

``-m a,b,c`` gives one line per variant, each beside the paper row it reproduces (if any).
``--table NAME`` gives one line per row of that paper table, in the paper's order: a row that a registered
variant reproduces (``VariantSpec.table_rows``) is run when its weights exist; rows for methods that
`deblur` does not implement are kept as reference lines with the paper's numbers only.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import registry
from ..errors import UsageError
from ..paper_tables import TABLES, PaperRow, PaperTable, paper_row, table


@dataclass(frozen=True)
class Target:
    label: str  # what the line is called: the paper's row label, or the variant name
    variant: str | None  # registered variant to run; None for a reference-only paper row
    table: PaperTable | None = None
    paper: PaperRow | None = None


def variants_for_row(table_name: str, key: str) -> list[str]:
    ref = f"{table_name}:{key}"
    return [s.name for s in registry.specs("generator") if ref in s.table_rows]


def _best_row(refs: tuple[str, ...]) -> tuple[PaperTable, PaperRow] | None:
    """The variant's paper row to print beside it: one with both PSNR and SSIM if there is one."""
    rows = [paper_row(r) for r in refs]
    full = [tr for tr in rows if tr[1].psnr is not None and tr[1].ssim is not None]
    return (full or rows or [None])[0]


def targets_for_models(models: list[str]) -> list[Target]:
    out = []
    for name in models:
        spec = registry.get(name)
        if spec.kind != "generator":
            raise UsageError(f"{name} is a {spec.kind}, not a generator; `deblur models` lists generators")
        found = _best_row(spec.table_rows)
        t, row = found if found else (None, None)
        out.append(Target(name, name, t, row))
    return out


def targets_for_table(name: str) -> list[Target]:
    if name not in TABLES:
        raise UsageError(f"unknown table {name!r}; known: {', '.join(TABLES)}")
    t = table(name)
    out = []
    for row in t.rows:
        variants = variants_for_row(name, row.key) or [None]
        out.extend(Target(row.label, v, t, row) for v in variants)
    return out


def parse_models(text: str | None) -> list[str]:
    return [m.strip() for m in (text or "").split(",") if m.strip()]


def resolve_targets(models: str | None, table_name: str | None) -> list[Target]:
    names = parse_models(models)
    if names and table_name:
        raise UsageError("give either -m/--model or --table, not both")
    if table_name:
        return targets_for_table(table_name)
    if names:
        return targets_for_models(names)
    raise UsageError(f"say what to evaluate: -m NAME[,NAME...] or --table NAME ({', '.join(TABLES)})")
