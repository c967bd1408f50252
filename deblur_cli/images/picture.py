"""The decoded photo that reading returns and writing takes back: pixels plus what is needed to write it the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Picture"]


@dataclass
class Picture:
    """A decoded photo plus everything needed to write the restored version back the same way.

    `rgb` is what the network sees. `alpha` keeps its stored integer type (uint8 or uint16) and is never resampled.
    `exif` is the EXIF block as Pillow writes it (starting with b"Exif\\0\\0"), orientation already reset to 1.
    `notes` says what reading had to change (palette expanded, CMYK converted, frames dropped, ...).
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    mode: str = "rgb"
    bit_depth: int = 8
    exif: bytes | None = None
    icc: bytes | None = None
    dpi: tuple[float, float] | None = None
    format: str = "PNG"
    path: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), as Pillow counts them."""
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])
