"""EXIF orientation applied to pixels, and the EXIF and DPI that a restored photo carries from its original."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["ORIENTATION", "EXIF_IFD", "PIXEL_X_DIMENSION", "PIXEL_Y_DIMENSION", "orient", "exif_of",
           "exif_for_output", "dpi_of"]

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


# PNG chunks that Pillow's getexif() reads: eXIf, and text chunks holding XMP (its orientation) or ImageMagick's
# "Raw profile type exif".
_PNG_EXIF_SOURCES = frozenset({b"eXIf", b"tEXt", b"zTXt", b"iTXt"})
_PNG_PIXEL_CHUNKS = frozenset({b"IDAT", b"fdAT"})  # image data, and an animated PNG's later frames


def exif_of(path: Path, im: Image.Image) -> Image.Exif:
    """``im.getexif()``, without decoding a PNG's pixels to get it.

    Until its pixels are loaded Pillow has read a PNG's chunks only up to the image data, so PngImageFile.getexif()
    loads (decodes) the whole image first in case an eXIf chunk follows it: a second decode for a 16-bit PNG, whose
    pixels come from OpenCV. When no chunk that getexif() reads follows the image data (the usual layout), what
    Pillow has read is all there is, and the base class's getexif() reads it without loading.
    """
    if im.format != "PNG" or "exif" in im.info or _png_exif_source_after_pixels(path):
        return im.getexif()
    return Image.Image.getexif(im)


def _png_exif_source_after_pixels(path: Path) -> bool:
    """True when an eXIf or text chunk follows the image data, or the chunks cannot be walked to IEND (then
    Pillow's own getexif() decides, and reports a damaged file as it always has)."""
    with open(path, "rb") as fp:
        fp.seek(8)  # the signature
        after_pixels = False
        while True:
            head = fp.read(8)
            if len(head) < 8:
                return True
            length, kind = struct.unpack(">I4s", head)
            if kind == b"IEND":
                return False
            if kind in _PNG_PIXEL_CHUNKS:
                after_pixels = True
            elif after_pixels and kind in _PNG_EXIF_SOURCES:
                return True
            fp.seek(length + 4, 1)  # the chunk's data and CRC: only headers are read


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
