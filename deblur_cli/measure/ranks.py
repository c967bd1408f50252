"""Rank correlation: how well one column of numbers orders a set of rows like another does.

:func:`spearman` is Spearman's rho computed as the Pearson correlation of the two columns' ranks, with tied
values given the mean of the ranks they span (as ``scipy.stats.spearmanr``). A column whose values are all
equal orders nothing, and fewer than two rows give nothing to compare: both return None. Pure python.
"""

from __future__ import annotations

import math
from typing import Sequence


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, smallest first; tied values share the mean of their ranks (``[3, 1, 3]`` -> ``[2.5, 1, 2.5]``)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        mean_rank = (start + end) / 2 + 1
        for k in range(start, end + 1):
            out[order[k]] = mean_rank
        start = end + 1
    return out


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rho of paired values (module doc); None when it is undefined."""
    if len(x) != len(y):
        raise ValueError(f"spearman: {len(x)} values against {len(y)}")
    if len(x) < 2:
        return None
    rx, ry = ranks(x), ranks(y)
    mx, my = math.fsum(rx) / len(rx), math.fsum(ry) / len(ry)
    dx, dy = [v - mx for v in rx], [v - my for v in ry]
    sxx, syy = math.fsum(d * d for d in dx), math.fsum(d * d for d in dy)
    if sxx == 0 or syy == 0:
        return None
    return math.fsum(a * b for a, b in zip(dx, dy)) / math.sqrt(sxx * syy)
