"""A paper table's orderings beside ours: do our rows rank as the paper's do?

For a report that scored rows of a paper table (`deblur eval --table NAME`, with ``--weights-dir`` for several
weights sets such as seeds), per row: the network scored and its parameters, the parameters of the paper-size
variant (the paper's own network), the paper's PSNR, and ours as the mean over the weights sets with their spread
(max - min). Over the rows that have both a paper and a measured PSNR (at least :data:`MIN_ROWS`): Spearman's rho
between the two columns (:func:`deblur_cli.measure.ranks.spearman`), for the means and for each weights set.
Then each ordering the paper claims (``PaperTable.comparisons``; otherwise every pair of rows adjacent in the
paper's PSNR order): held in the paper's numbers, in our means, and in how many weights sets.

The paper's numbers and ours come from different data and network sizes, so only orderings are compared.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from ..measure.ranks import spearman
from ..paper_tables import Comparison, PaperTable
from ..registry import count_parameters
from .eval_run import EvalReport
from .targets import variants_for_row

MIN_ROWS = 3  # a rank correlation over fewer rows says nothing


@dataclass(frozen=True)
class RowScores:
    key: str  # the paper row's key
    label: str
    variant: str | None  # the network scored (several sets of one row score the same variant)
    params: int | None  # of that network
    paper_params: int | None  # of the paper-size variant that reproduces the row
    paper_psnr: float | None
    psnr: dict[str, float]  # weights set ("" without --weights-dir) -> mean PSNR over the images

    @property
    def mean(self) -> float | None:
        return math.fsum(self.psnr.values()) / len(self.psnr) if self.psnr else None

    @property
    def spread(self) -> float | None:
        """max - min over the weights sets; None for fewer than two."""
        return max(self.psnr.values()) - min(self.psnr.values()) if len(self.psnr) > 1 else None


@dataclass(frozen=True)
class OrderingCheck:
    claim: Comparison
    paper: bool | None  # the paper's numbers put ``lower`` below ``higher``
    ours: bool | None  # our means do
    gap: float | None  # our mean of ``higher`` minus that of ``lower``, dB
    held: int = 0  # weights sets scored for both rows in which ours holds
    sets: int = 0  # weights sets scored for both rows


@dataclass(frozen=True)
class TableOrdering:
    table: PaperTable
    rows: list[RowScores]
    rho: float | None  # paper vs our means, over :attr:`compared` rows; None below MIN_ROWS
    rho_per_set: dict[str, float | None]
    checks: list[OrderingCheck]

    @property
    def compared(self) -> list[RowScores]:
        return [r for r in self.rows if r.paper_psnr is not None and r.mean is not None]


@functools.lru_cache(maxsize=None)
def _paper_size_params(table: str, key: str) -> int | None:
    variants = variants_for_row(table, key)
    try:
        return count_parameters(variants[0]) if variants else None
    except Exception:  # noqa: BLE001 - a family whose module is missing still gets its row
        return None


def row_scores(report: EvalReport, table: PaperTable) -> list[RowScores]:
    """Per row of ``table`` (paper order): what the report scored for it."""
    out = []
    for row in table.rows:
        results = [r for r in report.results if r.target.table == table and r.target.paper == row]
        scored = [r for r in results if r.status == "ok" and r.psnr is not None]
        shown = scored[0] if scored else (results[0] if results else None)
        out.append(RowScores(
            row.key, row.label, (shown.variant or shown.target.variant) if shown else None,
            shown.params if shown else None, _paper_size_params(table.name, row.key), row.psnr,
            {r.target.weights_set: r.psnr for r in scored}))
    return out


def comparisons(table: PaperTable) -> tuple[Comparison, ...]:
    """The paper's claimed orderings, or every pair adjacent in its PSNR order."""
    if table.comparisons:
        return table.comparisons
    ranked = sorted((r for r in table.rows if r.psnr is not None), key=lambda r: r.psnr)
    return tuple(Comparison(a.key, b.key, "adjacent in the paper's order") for a, b in zip(ranked, ranked[1:]))


def _check(claim: Comparison, rows: dict[str, RowScores]) -> OrderingCheck:
    lo, hi = rows[claim.lower], rows[claim.higher]
    paper = None if lo.paper_psnr is None or hi.paper_psnr is None else lo.paper_psnr < hi.paper_psnr
    if lo.mean is None or hi.mean is None:
        return OrderingCheck(claim, paper, None, None)
    both = [s for s in lo.psnr if s in hi.psnr]
    return OrderingCheck(claim, paper, lo.mean < hi.mean, hi.mean - lo.mean,
                         sum(lo.psnr[s] < hi.psnr[s] for s in both), len(both))


def _rho(rows: list[RowScores]) -> float | None:
    return spearman([r.paper_psnr for r in rows], [r.mean for r in rows]) if len(rows) >= MIN_ROWS else None


def table_ordering(report: EvalReport, table: PaperTable) -> TableOrdering:
    rows = row_scores(report, table)
    compared = [r for r in rows if r.paper_psnr is not None and r.mean is not None]
    sets = sorted({s for r in compared for s in r.psnr})
    per_set = {}
    if len(sets) > 1:
        for s in sets:
            have = [RowScores(r.key, r.label, r.variant, r.params, r.paper_params, r.paper_psnr, {s: r.psnr[s]})
                    for r in compared if s in r.psnr]
            per_set[s] = _rho(have)
    by_key = {r.key: r for r in rows}
    checks = [_check(c, by_key) for c in comparisons(table)]
    return TableOrdering(table, rows, _rho(compared), per_set, checks)


def orderings(report: EvalReport) -> list[TableOrdering]:
    """One per paper table in the report that has at least two rows with both a paper and a measured PSNR."""
    scored: dict[str, set] = {}
    tables = {}
    for r in report.results:
        if r.target.table is not None and r.target.paper is not None and r.status == "ok" and r.images:
            tables[r.target.table.name] = r.target.table
            scored.setdefault(r.target.table.name, set()).add(r.target.paper.key)
    found = [table_ordering(report, t) for name, t in tables.items() if len(scored[name]) >= 2]
    return [o for o in found if len(o.compared) >= 2]


# --- text --------------------------------------------------------------------------------------------------

def _yes(value: bool | None) -> str:
    return "not measured" if value is None else ("yes" if value else "no")


def check_line(c: OrderingCheck, rows: dict[str, RowScores]) -> str:
    """e.g. ``Model Plain < Model 1 (ResBlock over plain convs (4.2.1)): paper yes (27.08 < 28.2), ours no
    (-0.15 dB; held in 1/2 weights sets)``."""
    lo, hi = rows[c.claim.lower], rows[c.claim.higher]
    text = f"{lo.label} < {hi.label} ({c.claim.what}): paper {_yes(c.paper)}"
    if c.paper is not None:
        text += f" ({lo.paper_psnr:g} {'<' if c.paper else '>='} {hi.paper_psnr:g})"
    text += f", ours {_yes(c.ours)}"
    if c.gap is not None:
        sets = f"; held in {c.held}/{c.sets} weights sets" if c.sets > 1 else ""
        text += f" ({lo.mean:.2f} -> {hi.mean:.2f} dB, {c.gap:+.2f}{sets})"
    return text


def summary_lines(o: TableOrdering, dataset: str) -> list[str]:
    """The notes under a table: what is compared, the rank correlation, each ordering."""
    n = len(o.compared)
    lines = [f"Paper {o.table.name} vs ours: the paper's PSNR is on {o.table.dataset} with paper-size networks; ours "
             f"with the networks named in the table, on {dataset}. The datasets differ, so only the orderings are "
             "compared, not the dB."]
    if n < MIN_ROWS:
        lines.append(f"Spearman's rho, paper vs ours: needs at least {MIN_ROWS} rows with both numbers ({n} here).")
    else:
        per = ", ".join(f"{s} {_fmt_rho(v)}" for s, v in o.rho_per_set.items())
        lines.append(f"Spearman's rho, paper vs our mean PSNR over {n} rows: {_fmt_rho(o.rho)}"
                     + (f" (per weights set: {per})" if per else "") + ".")
    rows = {r.key: r for r in o.rows}
    lines += [check_line(c, rows) for c in o.checks]
    return lines


def _fmt_rho(value: float | None) -> str:
    return "undefined (a column of equal values)" if value is None else f"{value:+.2f}"
