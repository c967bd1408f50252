"""16-bit PNG and TIFF samples, decoded by OpenCV (Pillow has no 16-bit colour modes: it reads them at 8 bits).

Pillow still opens the file and reads its header, metadata and bit depth (the PNG IHDR, the TIFF tags); the
samples come from ``cv2.imdecode(..., IMREAD_UNCHANGED)``, which returns what the file holds at 16 bits: gray as
HxW, colour as BGR or BGRA (a PNG ``tRNS`` colour key already expanded to alpha). OpenCV applies a TIFF's
Orientation tag while decoding, as Pillow does, and leaves a PNG's EXIF orientation to the caller. A planar TIFF
(one plane per channel), which OpenCV misreads at 16 bits, goes to it one plane at a time (:mod:`.planar_tiff`).
Why OpenCV and not pypng, tifffile or imagecodecs: docs/imageio.md, "16-bit colour: which library and why".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from .planar_tiff import PlanarTiff, as_tuple, planar_tiff, plane_files

__all__ = ["SixteenBitLayout", "sixteen_bit_layout", "holds_sixteen_bit_samples", "decode_sixteen_bit"]

_PNG_GRAY_TYPES = (0, 4)  # IHDR colour types: gray, gray+alpha (2 = RGB, 6 = RGBA; palettes stop at 8 bits)
_TIFF_BITS, _TIFF_SAMPLE_FORMAT, _TIFF_PHOTOMETRIC, _TIFF_SAMPLES, _TIFF_EXTRA = 258, 339, 262, 277, 338
_TIFF_PLANAR = 284  # 1: samples interleaved (chunky); 2: one plane per channel
_TIFF_COMPRESSION = 259
# What OpenCV's bundled libtiff decompresses: none, LZW, Adobe Deflate, old-style Deflate, PackBits. It is built
# without LZMA and ZSTD ("compression support is not configured", checked on 5.0), which Pillow's libtiff has; such
# a file sent to OpenCV failed as "corrupt or truncated". The other codes Pillow opens hold no 16-bit RGB or gray.
_OPENCV_COMPRESSIONS = (1, 5, 8, 32946, 32773)
_BLACK_IS_ZERO, _RGB = 1, 2
_PADDING, _PREMULTIPLIED, _STRAIGHT = 0, 1, 2  # TIFF ExtraSamples: unspecified, associated, unassociated alpha


@dataclass(frozen=True)
class SixteenBitLayout:
    """What the decoded channels mean: gray or colour, and how a fourth channel is to be read."""

    gray: bool
    fourth_channel: int = _STRAIGHT  # TIFF ExtraSamples value; PNG alpha (or tRNS) is always straight
    planes: PlanarTiff | None = None  # a planar TIFF: where its planes lie; None: interleaved samples


def sixteen_bit_layout(path: Path, im: Image.Image) -> SixteenBitLayout | None:
    """The layout when `im` is a PNG or TIFF of 16-bit unsigned samples that OpenCV decodes, else None.

    None leaves the file to Pillow: 8-bit files, and 16-bit TIFFs OpenCV does not read as stored (WhiteIsZero,
    signed or mixed sample sizes, CMYK, YCbCr, compressed with LZMA or ZSTD, ...).
    """
    if im.format == "PNG":
        depth, colour_type = _png_depth_and_colour_type(path)
        return SixteenBitLayout(gray=colour_type in _PNG_GRAY_TYPES) if depth == 16 else None
    if im.format != "TIFF":
        return None
    tags = im.tag_v2  # public: TiffImageFile's tags by number
    if set(as_tuple(tags.get(_TIFF_BITS, 1))) != {16} or set(as_tuple(tags.get(_TIFF_SAMPLE_FORMAT, 1))) != {1}:
        return None
    if tags.get(_TIFF_COMPRESSION, 1) not in _OPENCV_COMPRESSIONS:
        return None
    layout = _tiff_channels(tags)
    if layout is None or tags.get(_TIFF_PLANAR, 1) == 1:
        return layout
    planes = planar_tiff(path, tags)
    return replace(layout, planes=planes) if planes is not None else None


def _tiff_channels(tags) -> SixteenBitLayout | None:
    """Gray, RGB or RGB + a fourth sample, from the photometric interpretation; None for the others."""
    photometric, samples = tags.get(_TIFF_PHOTOMETRIC), tags.get(_TIFF_SAMPLES, 1)
    if photometric == _BLACK_IS_ZERO and samples == 1:
        return SixteenBitLayout(gray=True)
    if photometric == _RGB and samples == 3:
        return SixteenBitLayout(gray=False)
    if photometric == _RGB and samples == 4:
        # No ExtraSamples tag (OpenCV writes none) is read as alpha, as Pillow reads it.
        extra = as_tuple(tags.get(_TIFF_EXTRA, _STRAIGHT)) or (_STRAIGHT,)
        return SixteenBitLayout(gray=False, fourth_channel=int(extra[0]))
    return None


def holds_sixteen_bit_samples(path: Path, im: Image.Image) -> bool:
    """True for any PNG or TIFF with 16-bit samples, whether or not OpenCV reads its layout."""
    if im.format == "PNG":
        return _png_depth_and_colour_type(path)[0] == 16
    return im.format == "TIFF" and 16 in as_tuple(im.tag_v2.get(_TIFF_BITS, 1))


def decode_sixteen_bit(path: Path, layout: SixteenBitLayout) -> tuple[np.ndarray, np.ndarray | None]:
    """(colour: HxW gray or HxWx3 RGB, alpha: HxW or None), both uint16 as stored; ValueError if it cannot."""
    if layout.planes is not None:
        pixels = _decode_planes(path, layout.planes)
    else:
        # imdecode on the bytes, not imread on the name: OpenCV's imread cannot open non-ASCII paths on Windows.
        pixels = _opencv_decode(np.fromfile(path, dtype=np.uint8))
    fourth = None
    colour = pixels
    if pixels.ndim == 3:
        colour = pixels[:, :, 2::-1]  # BGR(A) -> RGB
        fourth = pixels[:, :, 3] if pixels.shape[2] == 4 else None
    if layout.gray and colour.ndim == 3:
        colour = colour[:, :, 0]  # OpenCV widens gray+alpha to BGRA; its three colour channels are equal
    if fourth is None or layout.fourth_channel == _PADDING:
        return np.ascontiguousarray(colour), None
    if layout.fourth_channel == _PREMULTIPLIED:
        colour = _unpremultiply(colour, fourth)
    return np.ascontiguousarray(colour), np.ascontiguousarray(fourth)


def _opencv_decode(data: np.ndarray) -> np.ndarray:
    """``cv2.imdecode(data, IMREAD_UNCHANGED)``, checked to be 16-bit: HxW, or HxWxC in OpenCV's BGR(A) order."""
    import cv2  # here: only 16-bit files need OpenCV, and importing it takes 0.3 s on a 2-core CPU

    try:
        pixels = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise ValueError(f"OpenCV: {(str(exc).strip().splitlines() or ['error'])[-1]}") from exc  # last: the reason
    if pixels is None:
        raise ValueError("OpenCV could not decode the 16-bit samples")
    if pixels.dtype != np.uint16:
        raise ValueError(f"expected 16-bit samples, OpenCV decoded {pixels.dtype}")
    return pixels


def _decode_planes(path: Path, planes: PlanarTiff) -> np.ndarray:
    """A planar TIFF decoded one plane at a time, stacked as OpenCV returns an interleaved one: HxW or BGR(A)."""
    decoded = [_opencv_decode(np.frombuffer(plane, dtype=np.uint8)) for plane in plane_files(path, planes)]
    if any(plane.ndim != 2 or plane.shape != decoded[0].shape for plane in decoded):
        raise ValueError("OpenCV decoded the planes of this TIFF to different shapes")
    if len(decoded) == 1:
        return decoded[0]
    decoded[:3] = decoded[2::-1]  # RGB planes -> BGR, a fourth one stays last
    return np.stack(decoded, axis=2)


def _png_depth_and_colour_type(path: Path) -> tuple[int, int]:
    """Bit depth and colour type from the IHDR chunk, which the PNG spec puts first, at a fixed offset."""
    with open(path, "rb") as fp:
        head = fp.read(26)
    if len(head) < 26 or head[12:16] != b"IHDR":
        return 0, 0
    return head[24], head[25]


def _unpremultiply(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Associated (premultiplied) alpha to straight, as Pillow's RGBa -> RGBA does at 8 bits; clear pixels -> 0."""
    opacity = alpha.astype(np.float64)[:, :, None]
    straight = np.divide(colour * np.float64(65535), opacity, out=np.zeros(colour.shape), where=opacity > 0)
    return np.rint(np.minimum(straight, 65535)).astype(np.uint16)
