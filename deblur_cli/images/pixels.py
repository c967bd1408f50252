"""Plain 8-bit arrays as image files: stand-in photos, synthetic pairs, saved comparisons, drawn plots.

These images have no original to keep faith with (no EXIF, ICC profile, alpha or 16 bits to carry), so they skip
:class:`.Picture` and are written as given, with Pillow's defaults for the format (a JPEG's ``quality`` aside).
They live here so that this package stays the only one that encodes or decodes image files; like
:func:`.write_image`, each write is atomic.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

from .writing import format_for, write_atomically

__all__ = ["write_pixels", "jpeg_round_trip"]


def write_pixels(path: str | os.PathLike, pixels: np.ndarray, quality: int | None = None) -> None:
    """Write HxW or HxWx3 ``uint8`` samples as they are; the format follows the extension of ``path``."""
    dst = Path(path)
    image = Image.fromarray(np.ascontiguousarray(pixels))
    fmt = format_for(dst.suffix, dst)
    params = {} if quality is None else {"quality": quality}
    write_atomically(dst, lambda fp: image.save(fp, format=fmt, **params))


def jpeg_round_trip(pixels: np.ndarray, quality: int) -> np.ndarray:
    """HxWx3 ``uint8`` samples as they read back after a JPEG encode at ``quality``: compression's artefacts."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"))
