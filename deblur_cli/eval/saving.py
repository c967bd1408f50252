"""``--save-images DIR``: the restored images, and blurred | restored | sharp comparisons.

Files are the same 8-bit levels the metrics scored (``metrics.to_uint8``), so a score can be checked
against the saved PNGs with any other tool. Layout: ``DIR/<variant>/<image name>.png`` and
``DIR/<variant>/compare/<image name>.png`` (GoPro names keep their ``<sequence>/`` folder).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..images import write_pixels
from ..measure.levels import to_uint8

GAP = 8  # white pixels between the panels of a comparison


def to_array(x: torch.Tensor) -> np.ndarray:
    """1x3xHxW (or 3xHxW) in [0, 1] -> HxWx3 uint8, rounded like the metrics."""
    x = x[0] if x.dim() == 4 else x
    return to_uint8(x.detach().cpu()).to(torch.uint8).permute(1, 2, 0).numpy()


def side_by_side(*panels: np.ndarray) -> np.ndarray:
    h = max(p.shape[0] for p in panels)
    gap = np.full((h, GAP, 3), 255, np.uint8)
    parts = []
    for i, p in enumerate(panels):
        if p.shape[0] < h:
            p = np.concatenate([p, np.full((h - p.shape[0], p.shape[1], 3), 255, np.uint8)])
        parts += [gap, p] if i else [p]
    return np.concatenate(parts, axis=1)


class ImageSaver:
    """A runner ``sink``: writes each restored image (and a comparison) as it is scored."""

    def __init__(self, root: str | Path, comparisons: bool = True):
        self.root = Path(root)
        self.comparisons = comparisons

    def path(self, variant: str, name: str, compare: bool = False) -> Path:
        base = self.root / variant / ("compare" if compare else "")
        return base / f"{name}.png"

    def __call__(self, variant: str, name: str, blur: torch.Tensor, restored: torch.Tensor,
                 sharp: torch.Tensor) -> None:
        out = to_array(restored)
        write_pixels(self.path(variant, name), out)  # atomic: a killed run leaves no half-written PNG
        if self.comparisons:
            write_pixels(self.path(variant, name, compare=True), side_by_side(to_array(blur), out, to_array(sharp)))
