"""read_image: any JPEG, PNG, WebP, TIFF or BMP into a Picture, or one ImageReadError line naming the file and why.

Pillow opens every file (only the five decoders in READ_FORMATS are tried) and decodes the 8-bit ones; 16-bit PNG
and TIFF samples come from OpenCV (:mod:`.sixteen_bit`). Palette, bilevel, CMYK and other modes are converted,
and `Picture.notes` says so.
"""

from __future__ import annotations

import io
import os
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import DeblurError
from .metadata import ORIENTATION, dpi_of, exif_for_output, exif_of, orient
from .picture import Picture
from .sixteen_bit import decode_sixteen_bit, holds_sixteen_bit_samples, sixteen_bit_layout

__all__ = ["ImageReadError", "read_image", "READ_FORMATS"]

# Pillow formats we open (its JPEG opener also returns "MPO" images: camera JPEGs with an embedded preview picture).
# Restricting the list keeps Image.open away from plugins such as EPS, which would start Ghostscript.
READ_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP")

# Pillow's decoders and plugins report corrupt data with any of these (and sixteen_bit with ValueError).
_DECODE_FAILURES = (OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError, TypeError, struct.error,
                    zlib.error)

_PILLOW_LIMIT_LOCK = threading.Lock()


class ImageReadError(DeblurError):
    """A file could not be read as an image; the message names the file and the reason on one line."""


def read_image(path: str | os.PathLike, max_pixels: int | None = None) -> Picture:
    """Decode `path` into a Picture (see the package docstring for what is kept).

    `max_pixels`: refuse images with more pixels than this; None uses Pillow's limit (Image.MAX_IMAGE_PIXELS),
    0 turns the check off. Raises ImageReadError with a one-line message for anything that is not a readable image.
    """
    path = Path(path)
    _check_is_readable_file(path)
    notes: list[str] = []
    try:
        with _open_checked(path, max_pixels) as im:
            return _decode(path, im, notes)
    except DeblurError:
        raise
    except MemoryError as exc:
        raise ImageReadError(f"{path}: not enough memory to decode this image") from exc
    except NotImplementedError as exc:  # Pillow's word for a valid variant it cannot decode
        raise ImageReadError(f"{path}: this variant is not supported ({_one_line(exc)})") from exc
    except _DECODE_FAILURES as exc:
        raise ImageReadError(f"{path}: corrupt or truncated image data ({_one_line(exc)})") from exc


def _check_is_readable_file(path: Path) -> None:
    if not path.exists():
        raise ImageReadError(f"{path}: no such file")
    if path.is_dir():
        raise ImageReadError(f"{path}: is a folder, not an image")
    if path.stat().st_size == 0:
        raise ImageReadError(f"{path}: empty file")
    if not os.access(path, os.R_OK):
        raise ImageReadError(f"{path}: permission denied")


def _open_checked(path: Path, max_pixels: int | None) -> Image.Image:
    try:
        im, pillow_limit = _open_without_pillow_limit(path)
    except UnidentifiedImageError as exc:
        kind = _sniff_format(path)
        reason = (f"a {kind} file that cannot be decoded (corrupt header or unsupported variant)" if kind
                  else "not a JPEG, PNG, WebP, TIFF or BMP image")
        raise ImageReadError(f"{path}: {reason}") from exc
    limit = pillow_limit if max_pixels is None else max_pixels
    width, height = im.size
    if limit and width * height > limit:
        im.close()
        raise ImageReadError(
            f"{path}: {width}x{height} = {width * height:,} pixels is over the limit of {int(limit):,} "
            "(a decompression bomb guard; raise it with --max-pixels if the file is trusted)"
        )
    return im


def _open_without_pillow_limit(path: Path) -> tuple[Image.Image, int | None]:
    """Image.open with Pillow's bomb check off; returns the image and Pillow's limit (which `_open_checked` applies).

    Pillow's check reads a process-wide setting and only warns between 1x and 2x its limit; ours names the file
    and the pixel count. The setting is switched off only around the header read, under a lock, so concurrent
    readers restore it in order; decoding happens outside the lock.
    """
    with _PILLOW_LIMIT_LOCK:
        pillow_limit = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            return Image.open(path, formats=READ_FORMATS), pillow_limit
        finally:
            Image.MAX_IMAGE_PIXELS = pillow_limit


_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8", "JPEG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
)


def _sniff_format(path: Path) -> str | None:
    with open(path, "rb") as fp:
        head = fp.read(16)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return next((name for magic, name in _SIGNATURES if head.startswith(magic)), None)


def _decode(path: Path, im: Image.Image, notes: list[str]) -> Picture:
    fmt = im.format or "unknown"
    frames = getattr(im, "n_frames", 1)
    if frames > 1 and fmt != "MPO":
        notes.append(f"has {frames} frames; only the first is read")
    icc = im.info.get("icc_profile") or None
    dpi = dpi_of(im.info)
    # Read before the pixels: once Pillow has turned a TIFF upright it drops the orientation from its EXIF.
    exif_tags = exif_of(path, im)
    orientation = exif_tags.get(ORIENTATION, 1)

    if im.mode == "CMYK":
        colour, alpha, depth = _cmyk_to_rgb(im, icc, notes), None, 8
        icc = None  # the pixels are sRGB now; a CMYK profile would mislabel them
    else:
        colour, alpha, depth = _samples(path, im, notes)
    if fmt != "TIFF":
        # Pillow (10.0 on) and OpenCV turn a TIFF upright by its Orientation tag as they decode it;
        # JPEG, PNG and WebP pixels come as stored, and the EXIF orientation is ours to apply.
        colour = orient(colour, orientation)
        alpha = None if alpha is None else orient(alpha, orientation)
    if dpi is not None and orientation in (5, 6, 7, 8):
        dpi = (dpi[1], dpi[0])
    height, width = colour.shape[:2]

    gray = colour.ndim == 2
    peak = np.float32(255 if depth == 8 else 65535)
    rgb = colour.astype(np.float32) / peak  # a division is exact to the last bit; a reciprocal product is not
    if gray:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    return Picture(
        rgb=np.ascontiguousarray(rgb),
        alpha=None if alpha is None else np.ascontiguousarray(alpha),
        mode="gray" if gray else "rgb",
        bit_depth=depth,
        exif=exif_for_output(exif_tags, width, height),
        icc=icc,
        dpi=dpi,
        format=fmt,
        path=path,
        notes=notes,
    )


def _samples(path: Path, im: Image.Image, notes: list[str]) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Pixels as stored: (gray HxW or colour HxWx3, alpha HxW or None, bits per sample)."""
    layout = sixteen_bit_layout(path, im)
    if layout is not None:
        colour, alpha = decode_sixteen_bit(path, layout)
        # OpenCV expands a colour PNG's tRNS key to alpha but leaves a gray one to us
        return (colour, alpha, 16) if alpha is not None else _with_transparency(colour, im.info, 16)
    colour, alpha, depth = _pillow_samples(path, im, notes)
    if depth == 8 and holds_sixteen_bit_samples(path, im):
        notes.append(f"16-bit {im.mode} data read as 8 bits (this layout is not decoded at 16 bits)")
    return colour, alpha, depth


def _pillow_samples(path: Path, im: Image.Image, notes: list[str]) -> tuple[np.ndarray, np.ndarray | None, int]:
    mode = im.mode
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in im.info
        im = im.convert("RGBA" if has_alpha else "RGB")
        notes.append(f"palette image read as {'RGBA' if has_alpha else 'RGB'}; the result is written in full colour")
        mode = im.mode
    elif mode == "1":
        im = im.convert("L")
        mode = "L"
        notes.append("1-bit image read as 8-bit gray")
    elif mode in ("La", "RGBa", "RGBX", "YCbCr", "LAB", "HSV"):
        target = {"La": "LA", "RGBa": "RGBA"}.get(mode, "RGB")
        try:
            im = im.convert(target)
        except ValueError as exc:
            raise ImageReadError(f"{path}: colour mode {mode} is not supported") from exc
        mode = target
    if mode == "F":
        raise ImageReadError(f"{path}: 32-bit floating-point images are not supported")

    data = np.asarray(im)
    if mode.startswith("I;16") or mode == "I":
        if mode == "I" and (data.min() < 0 or data.max() > 65535):
            raise ImageReadError(f"{path}: 32-bit integer images are not supported")
        return _with_transparency(data.astype(np.uint16), im.info, 16)
    if mode in ("L", "RGB"):
        return _with_transparency(data, im.info, 8)
    if mode == "LA":
        return data[:, :, 0], data[:, :, 1], 8
    if mode == "RGBA":
        return data[:, :, :3], data[:, :, 3], 8
    raise ImageReadError(f"{path}: colour mode {mode} is not supported")


def _with_transparency(data: np.ndarray, info: dict, depth: int):
    """A PNG tRNS colour key (one fully transparent value) becomes an alpha channel."""
    key = info.get("transparency")
    if key is None or isinstance(key, bytes):
        return data, None, depth
    top = 255 if depth == 8 else 65535
    if data.ndim == 2:
        transparent = data == key
    else:
        transparent = np.all(data == np.asarray(key, dtype=data.dtype), axis=2)
    alpha = np.where(transparent, 0, top).astype(data.dtype)
    return data, alpha, depth


def _cmyk_to_rgb(im: Image.Image, icc: bytes | None, notes: list[str]) -> np.ndarray:
    """CMYK to sRGB through the embedded profile when there is a usable one; the CMYK profile is not kept."""
    if icc:
        try:
            from PIL import ImageCms  # here: a Pillow built without LittleCMS raises ImportError, handled below

            converted = ImageCms.profileToProfile(
                im, ImageCms.ImageCmsProfile(io.BytesIO(icc)), ImageCms.createProfile("sRGB"), outputMode="RGB"
            )
            notes.append("CMYK converted to sRGB through its embedded ICC profile")
            return np.asarray(converted)
        except Exception as exc:  # ImageCms raises PyCMSError, OSError or ImportError for unusable profiles
            reason = f"its ICC profile is unusable: {_one_line(exc)}"
    else:
        reason = "it has no ICC profile"
    notes.append(f"CMYK converted to RGB without colour management ({reason}); colours may be off")
    return np.asarray(im.convert("RGB"))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 160 else line[:157] + "..."
