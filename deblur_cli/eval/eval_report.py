"""Render an :class:`~.eval_run.EvalReport`: rich table, markdown, CSV, JSON, and the per-image CSV.

Every format carries the same flat rows (:func:`flat_rows`); markdown and the terminal table add notes under
the table: the dataset, how our metrics are computed, and how each paper computed its numbers, because the
papers' numbers are not all comparable with ours or with each other.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..measure.ranks import ranks
from ..rich_table import print_fitted
from .eval_run import EvalReport, TargetResult
from .ordering import TableOrdering, orderings, summary_lines

FORMATS = ("rich", "markdown", "csv", "json")


def _num(value: float | None, digits: int) -> float | None:
    """Rounded for display; ``inf`` (identical images) is kept, NaN becomes None."""
    if value is None or math.isnan(value):
        return None
    return value if math.isinf(value) else round(value, digits)


def _finite(value):
    """JSON has no infinity: non-finite numbers become null (the notes say what inf means)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def flat_row(r: TargetResult, dataset_input: tuple[float | None, float | None] = (None, None)) -> dict:
    """One line as plain values. A line that scored no image shows the whole set's input scores
    (``dataset_input``): the blurred-vs-sharp baseline is the same whichever model did not run."""
    paper, t = r.target.paper, r.target.table
    input_psnr, input_ssim = (r.input_psnr, r.input_ssim) if r.images else dataset_input
    gain = r.psnr - r.input_psnr if r.psnr is not None and r.input_psnr is not None else None
    return {
        "line": r.target.line,
        "requested": r.target.variant,
        "variant": r.variant,
        "status": r.status,
        "weights": r.weights,
        "images": len(r.images),
        "psnr": _num(r.psnr, 3),
        "ssim": _num(r.ssim, 4),
        "input_psnr": _num(input_psnr, 3),
        "input_ssim": _num(input_ssim, 4),
        "gain_db": _num(gain, 3),
        "improved": r.improved,
        "seconds_per_image": _num(r.seconds, 4),
        "device": r.device,
        "precision": r.precision,
        "weights_set": r.target.weights_set or None,
        "params": r.params,
        "gflops_1280x720": _num(None if r.flops is None else r.flops / 1e9, 2),
        "paper_table": t.name if t else None,
        "paper_row": paper.label if paper else None,
        "paper_psnr": paper.psnr if paper else None,
        "paper_ssim": paper.ssim if paper else None,
        "paper_seconds": paper.seconds if paper else None,
        "note": r.message,
    }


ROW_KEYS = ("paper_size_params", "row_psnr_mean", "row_psnr_spread", "row_sets", "spearman_rho")


def flat_rows(report: EvalReport) -> list[dict]:
    """:func:`flat_row` of every line, plus what :mod:`.ordering` says of its paper row (:data:`ROW_KEYS`: the
    paper-size network's parameters, our mean and spread over the weights sets, the table's rank correlation)."""
    per_row = {}
    for o in orderings(report):
        for row in o.rows:
            per_row[(o.table.name, row.key)] = {
                "paper_size_params": row.paper_params, "row_psnr_mean": _num(row.mean, 3),
                "row_psnr_spread": _num(row.spread, 3), "row_sets": len(row.psnr) or None,
                "spearman_rho": _num(o.rho, 4)}
    out = []
    for r in report.results:
        key = (r.target.table.name, r.target.paper.key) if r.target.table and r.target.paper else None
        out.append({**flat_row(r, (report.input_psnr, report.input_ssim)),
                    **per_row.get(key, dict.fromkeys(ROW_KEYS))})
    return out


def _tables(report: EvalReport) -> list:
    seen = {}
    for r in report.results:
        if r.target.table is not None:
            seen.setdefault(r.target.table.name, r.target.table)
    return list(seen.values())


def notes(report: EvalReport) -> list[str]:
    lines = [f"Dataset: {report.dataset}; {report.n_images} images evaluated.",
             f"Input (blurred vs sharp): PSNR {_fmt(report.input_psnr, 2)} dB, SSIM {_fmt(report.input_ssim, 4)}.",
             f"Metrics: {report.metric}."]
    if any(r.images for r in report.results):
        lines.append(f"Device: {report.device}; time = the engine's restore call per image, after a warm-up run.")
    if any(math.isinf(x) for r in report.results for s in r.images for x in (s.psnr, s.input_psnr)):
        lines.append("PSNR inf: an image identical to its sharp reference (MSE 0); JSON writes it as null.")
    methods = {r.flops_method for r in report.results if r.flops is not None}
    if methods:
        lines.append("GFLOPs per 1280x720 image (FlopCounterMode: convolutions and matrix products, 2 per "
                     f"multiply-add): {'; '.join(sorted(methods))}.")
    for ref in report.references:
        lines.append(f"Non-blind reference: {ref.method} given the true kernel gains {ref.gain:+.2f} dB "
                     f"(worst image {ref.worst:+.2f}) on {ref.n} images.")
    for t in _tables(report):
        hw = f"; times on {t.hardware}" if t.hardware else ""
        lines.append(f"Paper {t.name} ({t.paper}, {t.title}): {t.how}{hw}.")
    per_line = []  # a row scored with several weights sets has its paper note once, its own messages each
    for r in report.results:
        message = r.message if r.status != "not in deblur" else ""
        note = r.target.paper.note if r.target.paper else ""
        if message or note:
            per_line.append(f"{r.target.line if message else r.target.label}: "
                            + " ".join(x for x in (message, note) if x))
    return lines + list(dict.fromkeys(per_line))


def _fmt(value, digits: int, suffix: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}{suffix}"


_COLUMNS = ("line", "model", "PSNR", "SSIM", "input PSNR", "input SSIM", "gain dB", "improved", "s/img",
            "params (M)", "GFLOPs@720p", "paper PSNR", "paper SSIM", "paper s/img")


def _cells(row: dict) -> list[str]:
    if row["status"] == "ok":
        model = row["variant"] + ("" if row["variant"] == row["requested"] else f" (for {row['requested']})")
        if row["weights"].startswith("random"):
            model += " [random init]"
    elif row["requested"]:
        model = f"{row['requested']}: {row['status']}"
    else:
        model = f"({row['status']})"
    params = None if row["params"] is None else row["params"] / 1e6
    if row["status"] != "ok":  # a line that failed part-way: its partial means are in the JSON, not here
        row = {**row, **dict.fromkeys(("psnr", "ssim", "gain_db", "improved", "seconds_per_image"))}
    improved = "-" if row["improved"] is None else f"{row['improved']}/{row['images']}"
    return [row["line"], model, _fmt(row["psnr"], 2), _fmt(row["ssim"], 4), _fmt(row["input_psnr"], 2),
            _fmt(row["input_ssim"], 4), _fmt(row["gain_db"], 2, ""), improved, _fmt(row["seconds_per_image"], 3),
            _fmt(params, 2), _fmt(row["gflops_1280x720"], 1), _paper(row["paper_psnr"]),
            _paper(row["paper_ssim"]), _paper(row["paper_seconds"])]


def _paper(value: float | None) -> str:
    """The paper's numbers as printed there (no padding to more digits than it gave)."""
    return "-" if value is None else f"{value:g}"


def _markdown_table(headers, rows: list[list[str]], text_columns: int) -> str:
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join("---" if i < text_columns else "---:" for i in range(len(headers))) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


_ORDER_COLUMNS = ("row", "network scored", "params\n(M)", "paper-size\nparams (M)", "paper\nPSNR", "our\nPSNR",
                  "spread", "sets", "paper\nrank", "our\nrank")


def ordering_cells(o: TableOrdering) -> list[list[str]]:
    """One line per row of the table: the network scored, both sizes, both PSNRs, ranks (1 = best) among the
    rows that have both numbers."""
    compared = o.compared
    paper_rank = dict(zip((r.key for r in compared), ranks([-r.paper_psnr for r in compared])))
    our_rank = dict(zip((r.key for r in compared), ranks([-r.mean for r in compared])))
    cells = []
    for r in o.rows:
        cells.append([r.label, r.variant or "-", _fmt(None if r.params is None else r.params / 1e6, 2),
                      _fmt(None if r.paper_params is None else r.paper_params / 1e6, 2), _paper(r.paper_psnr),
                      _fmt(r.mean, 2), _fmt(r.spread, 2), str(len(r.psnr)), _rank(paper_rank.get(r.key)),
                      _rank(our_rank.get(r.key))])
    return cells


def _rank(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"  # 2.5 for two rows tied at 2 and 3


def to_markdown(report: EvalReport) -> str:
    out = io.StringIO()
    out.write(_markdown_table(_COLUMNS, [_cells(row) for row in flat_rows(report)], 2))
    for o in orderings(report):
        out.write(f"\n{o.table.name}, row by row (ours: mean PSNR over the weights sets; spread: max - min):\n\n")
        out.write(_markdown_table([c.replace("\n", " ") for c in _ORDER_COLUMNS], ordering_cells(o), 2))
        out.write("\n" + "".join(f"- {line}\n" for line in summary_lines(o, report.dataset)))
    out.write("\n" + "".join(f"- {line}\n" for line in notes(report)))
    return out.getvalue()


def to_csv(report: EvalReport) -> str:
    rows = flat_rows(report)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["line"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def to_json(report: EvalReport) -> str:
    doc = {
        "dataset": report.dataset,
        "n_images": report.n_images,
        "metric": report.metric,
        "device": report.device,
        "input": {"psnr": _num(report.input_psnr, 3), "ssim": _num(report.input_ssim, 4)},
        "rows": flat_rows(report),
        "paper_tables": {t.name: {"paper": t.paper, "title": t.title, "how": t.how, "hardware": t.hardware,
                                  "source": t.source} for t in _tables(report)},
        "orderings": [_ordering_json(o, report.dataset) for o in orderings(report)],
        "notes": notes(report),
    }
    return json.dumps(_finite(doc), indent=2, allow_nan=False)


def _ordering_json(o: TableOrdering, dataset: str) -> dict:
    return {"table": o.table.name, "spearman_rho": o.rho, "spearman_rho_per_set": o.rho_per_set,
            "rows": [{"row": r.label, "variant": r.variant, "params": r.params, "paper_size_params": r.paper_params,
                      "paper_psnr": r.paper_psnr, "psnr_mean": r.mean, "psnr_spread": r.spread, "psnr": r.psnr}
                     for r in o.rows],
            "orderings": [{"lower": c.claim.lower, "higher": c.claim.higher, "what": c.claim.what, "paper": c.paper,
                           "ours": c.ours, "gap_db": c.gap, "held_in_sets": c.held, "sets": c.sets}
                          for c in o.checks],
            "notes": summary_lines(o, dataset)}


def render(report: EvalReport, fmt: str) -> str:
    if fmt == "markdown":
        return to_markdown(report)
    if fmt == "csv":
        return to_csv(report)
    if fmt == "json":
        return to_json(report)
    raise ValueError(f"unknown format {fmt!r}; use {', '.join(FORMATS)}")


def _rich_cells(row: dict, show_line: bool) -> list[str]:
    c = dict(zip(_COLUMNS, _cells(row)))
    paper = " / ".join(x for x in (c["paper PSNR"], c["paper SSIM"]) if x != "-") or "-"
    if c["paper s/img"] != "-":
        paper += f", {c['paper s/img']} s"
    cells = [c["model"], f"{c['PSNR']} / {c['SSIM']}", f"{c['input PSNR']} / {c['input SSIM']}", c["gain dB"],
             c["improved"], c["s/img"], c["params (M)"], c["GFLOPs@720p"], paper]
    return [c["line"], *cells] if show_line else cells


def print_rich(report: EvalReport, console=None) -> None:
    """A narrower table than the file formats: PSNR/SSIM pairs share a column."""
    console = console or Console()
    rows = flat_rows(report)
    show_line = any(r["line"] != r["requested"] for r in rows)
    headers = ["model", "PSNR\n/ SSIM", "input", "gain\ndB", "improved", "s/img", "M\nparams", "GFLOPs\n720p",
               "paper"]
    cells = [_rich_cells(r, show_line) for r in rows]
    styles = [None if r["status"] == "ok" else "dim" for r in rows]
    # narrow terminals lose cost columns first, then the improved count and the gain (both derived from
    # PSNR and input), then the time
    drop = tuple(i + show_line for i in (7, 6, 4, 3, 5))
    print_fitted(console, report.dataset, ["line", *headers] if show_line else headers, cells,
                 text={0, 1, 9} if show_line else {0, 8}, row_styles=styles, drop_order=drop,
                 hint="--format markdown|csv|json has every column")
    for o in orderings(report):
        print_fitted(console, f"{o.table.name}, row by row (ours: mean over the weights sets)", list(_ORDER_COLUMNS),
                     ordering_cells(o), text={0, 1}, drop_order=(6, 3, 7))
        for line in summary_lines(o, report.dataset):
            console.print(f"- {escape(line)}", highlight=False)
    for line in notes(report):
        console.print(f"[dim]- {escape(line)}[/dim]", highlight=False)


def write_per_image(report: EvalReport, path: str | Path) -> None:
    """One CSV row per (line, image): the per-image scores and time."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["line", "variant", "image", "psnr", "ssim", "input_psnr", "input_ssim", "seconds"])
        for r in report.results:
            for s in r.images:
                writer.writerow([r.target.label, r.variant, s.name, f"{s.psnr:.4f}", f"{s.ssim:.5f}",
                                 f"{s.input_psnr:.4f}", f"{s.input_ssim:.5f}", f"{s.seconds:.4f}"])
