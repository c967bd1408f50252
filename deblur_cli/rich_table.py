"""A terminal table whose numbers are never cut: numeric columns keep their widest cell, text columns fold.

Rich shrinks columns to fit the terminal and, by default, ends a cut cell with an ellipsis (or drops whole
columns); for a table of measurements that would print "2,…" for 2,920. Here each numeric column keeps the
width of its widest value, multi-word headers go on two lines (``"ms\\ntiled"``), text columns (names) fold
to make room, and when the terminal is still too narrow the least important columns are left out, in the
caller's order, with a line saying which and where to find them.
"""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table


def format_ms(seconds: float | None) -> str:
    """Seconds as milliseconds for a table cell: ``-`` for none, no decimals from 1 s up, one below."""
    return "-" if seconds is None else f"{seconds * 1e3:,.0f}" if seconds >= 1 else f"{seconds * 1e3:.1f}"


GAP = 2  # spaces between columns (rich's default padding of one on each side)
TEXT_MIN = 12  # a folded text column keeps at least this many characters per line


def needed_width(headers: list[str], rows: list[list[str]], text: set[int]) -> int:
    widths = []
    for i, header in enumerate(headers):
        cells = [len(r[i]) for r in rows] + [max(len(line) for line in header.split("\n"))]
        widths.append(min(max(cells), TEXT_MIN) if i in text else max(cells))
    return sum(widths) + GAP * (len(headers) - 1)


def fitted_table(title: str, headers: list[str], rows: list[list[str]], text: set[int],
                 row_styles: list[str | None] | None = None):
    # no box: rich under-counts box column separators when it shrinks columns, and crops the last one
    table = Table(title=escape(title), header_style="bold underline", box=None, pad_edge=False)
    for i, header in enumerate(headers):
        widest = max((len(r[i]) for r in rows), default=1)
        if i in text:
            table.add_column(header, justify="left", overflow="fold", min_width=min(widest, TEXT_MIN))
        else:
            table.add_column(header, justify="right", min_width=widest, no_wrap=True)
    for k, row in enumerate(rows):
        table.add_row(*(escape(c) for c in row), style=row_styles[k] if row_styles else None)
    return table


def print_fitted(console, title: str, headers: list[str], rows: list[list[str]], text: set[int],
                 row_styles: list[str | None] | None = None, drop_order: tuple[int, ...] = (),
                 hint: str = "") -> None:
    """Print the table, leaving out columns of ``drop_order`` (first first) until it fits ``console.width``."""
    keep = list(range(len(headers)))
    dropped = []
    for i in drop_order:
        cols = [headers[k] for k in keep]
        cells = [[r[k] for k in keep] for r in rows]
        if needed_width(cols, cells, {n for n, k in enumerate(keep) if k in text}) <= console.width:
            break
        keep.remove(i)
        dropped.append(headers[i].replace("\n", " "))
    console.print(fitted_table(title, [headers[k] for k in keep], [[r[k] for k in keep] for r in rows],
                               {n for n, k in enumerate(keep) if k in text}, row_styles))
    if dropped:
        where = f"; {hint}" if hint else ""
        console.print(f"(narrow terminal: left out {', '.join(dropped)}{where})", style="yellow", highlight=False)
