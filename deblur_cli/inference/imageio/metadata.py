"""EXIF orientation applied to pixels, and the EXIF and DPI that a restored photo carries from its original."""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["ORIENTATION", "EXIF_IFD", "PIXEL_X_DIMENSION", "PIXEL_Y_DIMENSION", "orient", "exif_for_output",
           "dpi_of"]

ORIENTATION = 0x0112
EXIF_IFD = 0x8769
PIXEL_X_DIMENSION, PIXEL_Y_DIMENSION = 0xA002, 0xA003

# Tags that describe a TIFF's own pixel layout, or that we carry separately (resolution as `dpi`, the ICC profile),
# rather than the photo. Pillow's getexif() of a TIFF returns them with the rest of IFD0; written into another file's
# EXIF they would lie about it. XMP, IPTC and Photoshop blocks are not carried.
_LAYOUT_TAGS = frozenset(
    {254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 282, 283, 284, 292, 293, 296, 317,
     320, 322, 323, 324, 325, 330, 332, 338, 339, 340, 341, 347, 512, 513, 514, 515, 517, 518, 519, 520, 521, 529,
     530, 532, 700, 33723, 34377, 34675}
)


def orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to HxW[xC] pixels; same result as ImageOps.exif_transpose."""
    if orientation == 2:
        return pixels[:, ::-1]
    if orientation == 3:
        return pixels[::-1, ::-1]
    if orientation == 4:
        return pixels[::-1]
    if orientation == 5:
        return pixels.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(pixels, k=-1)
    if orientation == 7:
        return pixels.swapaxes(0, 1)[::-1, ::-1]
    if orientation == 8:
        return np.rot90(pixels, k=1)
    return pixels


def exif_for_output(tags: Image.Exif, width: int, height: int) -> bytes | None:
    """The EXIF block to write back: orientation 1, pixel dimensions of the upright image, no TIFF layout tags."""
    if not len(tags):
        return None
    fresh = Image.Exif()
    fresh.load(tags.tobytes())
    for tag in [t for t in fresh if t in _LAYOUT_TAGS]:
        del fresh[tag]
    if ORIENTATION in fresh:
        fresh[ORIENTATION] = 1
    if EXIF_IFD in fresh:
        sub = fresh.get_ifd(EXIF_IFD)
        if PIXEL_X_DIMENSION in sub:
            sub[PIXEL_X_DIMENSION] = width
        if PIXEL_Y_DIMENSION in sub:
            sub[PIXEL_Y_DIMENSION] = height
    if not len(fresh):
        return None
    return fresh.tobytes()


def dpi_of(info: dict) -> tuple[float, float] | None:
    """Pillow's `info["dpi"]` as two positive floats, or None when the file has no usable resolution."""
    dpi = info.get("dpi")
    if not dpi or len(dpi) != 2:
        return None
    try:
        x, y = float(dpi[0]), float(dpi[1])
    except (TypeError, ValueError):
        return None
    return (x, y) if x > 0 and y > 0 else None
