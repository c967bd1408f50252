"""``--plot FILE.png``: per-image PSNR gain over the blurred input, one panel per evaluated line.

Matplotlib draws it when installed (``pip install deblur-cli[plot]``), with a histogram of per-image
PSNR beside the bars; otherwise Pillow draws the bar panels alone, so the option never needs a new
dependency. Bars above zero: the model improved that image; below: it made it worse.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..errors import DeblurError
from ..images import write_pixels
from .eval_run import EvalReport, TargetResult

_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]


def _lines(report: EvalReport) -> list[TargetResult]:
    return [r for r in report.results if r.images]


def _gains(r: TargetResult) -> list[float]:
    return [s.psnr - s.input_psnr for s in r.images]


def plot_report(report: EvalReport, path: str | Path) -> str:
    """Write the plot; returns which backend drew it ("matplotlib" or "pillow")."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = _lines(report)
    if not lines:
        raise DeblurError("nothing to plot: no line was evaluated (no weights?)")
    try:
        import matplotlib  # here: an optional extra (`pip install -e .[plot]`); Pillow draws without it
    except ImportError:
        _plot_pillow(lines, path)
        return "pillow"
    matplotlib.use("Agg")
    _plot_matplotlib(lines, path)
    return "matplotlib"


def _plot_matplotlib(lines: list[TargetResult], path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(lines), 2, figsize=(11, 2.6 * len(lines)), squeeze=False,
                             gridspec_kw={"width_ratios": [3, 1]})
    for (bars, hist), r, colour in zip(axes, lines, _COLOURS * 8):
        gains = _gains(r)
        bars.bar(range(len(gains)), gains, color=[colour if g >= 0 else "#888888" for g in gains], width=1.0)
        bars.axhline(0, color="black", linewidth=0.8)
        bars.set_title(f"{r.variant}: PSNR gain per image (mean {sum(gains) / len(gains):+.2f} dB)", fontsize=9)
        bars.set_ylabel("dB over input")
        hist.hist([s.input_psnr for s in r.images], bins=20, color="#aaaaaa", alpha=0.7, label="input")
        hist.hist([s.psnr for s in r.images], bins=20, color=colour, alpha=0.7, label=r.variant)
        hist.set_xlabel("PSNR (dB)")
        hist.legend(fontsize=7)
    axes[-1][0].set_xlabel("image")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_pillow(lines: list[TargetResult], path: Path, width: int = 900, panel: int = 180) -> None:
    margin, title = 50, 18
    img = Image.new("RGB", (width, len(lines) * (panel + title) + 10), "white")
    draw = ImageDraw.Draw(img)
    for k, (r, colour) in enumerate(zip(lines, _COLOURS * 8)):
        gains = _gains(r)
        top = k * (panel + title) + title
        finite = [abs(g) for g in gains if math.isfinite(g)]
        span = max([0.5, *finite])
        zero = top + panel // 2
        scale = (panel // 2 - 4) / span
        step = (width - margin - 10) / len(gains)
        for i, g in enumerate(gains):
            g = max(-span, min(span, g))
            x0 = margin + i * step
            x1 = max(x0 + 1, margin + (i + 1) * step - (1 if step > 3 else 0))
            y = zero - g * scale
            draw.rectangle([x0, min(y, zero), x1, max(y, zero)], fill=colour if g >= 0 else "#888888")
        draw.line([margin, zero, width - 10, zero], fill="black")
        draw.text((4, zero - 6), "0 dB", fill="black")
        draw.text((4, top + 2), f"+{span:.1f}", fill="black")
        draw.text((4, top + panel - 12), f"-{span:.1f}", fill="black")
        draw.text((margin, top - title + 3),
                  f"{r.variant}: PSNR gain over the blurred input, per image (mean {sum(gains) / len(gains):+.2f} dB)",
                  fill="black")
    write_pixels(path, np.asarray(img))
