"""Read and write photos so that a deblurred result keeps what the original had.

What survives a round trip: EXIF orientation (applied to the pixels, then reset to 1 in the EXIF that is written back),
the other EXIF tags, the ICC profile, DPI, gray (the network sees three equal channels; gray is written back),
alpha (returned apart from the colour and re-attached untouched on write) and 16 bits per sample.

Pillow has no 16-bit colour modes: it decodes 16-bit RGB(A) PNG and TIFF to 8 bits and cannot write them. We read
such files with Pillow's own decoder run twice, once with an unpacker ("rawmode") that keeps the high byte of each
sample and once with one that keeps the low byte; PNG row filters and TIFF compression are undone on the full bytes
before unpacking, so the two halves recombine exactly. 16-bit gray+alpha PNG is unpacked as four 8-bit channels (the
same bytes per pixel). 16-bit PNG, and TIFF of any depth, are written by the small encoders at the end of this
module (Pillow's compressing TIFF writer also fails on EXIF sub-IFDs).

Writes are atomic (``deblur_cli.atomic``): a temporary file `.<name>.<random>.tmp` in the target folder, then
`os.replace`.
"""

from __future__ import annotations

import io
import os
import re
import struct
import sys
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..atomic import atomic_path
from ..errors import DeblurError
from ..measure.levels import clip_unit, quantize
from . import encoders
from .paths import FORMAT_BY_EXTENSION

__all__ = ["ImageReadError", "Picture", "read_image", "write_image", "READ_FORMATS"]

# Pillow formats we open (its JPEG opener also returns "MPO" images: camera JPEGs with an embedded preview picture).
# Restricting the list keeps Image.open away from plugins such as EPS, which would start Ghostscript.
READ_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP")

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

# Pillow's decoders and plugins report corrupt data with any of these.
_DECODE_FAILURES = (OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError, TypeError, struct.error,
                    zlib.error)

_PILLOW_LIMIT_LOCK = threading.Lock()


class ImageReadError(DeblurError):
    """A file could not be read as an image; the message names the file and the reason on one line."""


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


# --------------------------------------------------------------------------------------------------------- reading


def read_image(path: str | os.PathLike, max_pixels: int | None = None) -> Picture:
    """Decode `path` into a Picture (see the module docstring for what is kept).

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
    dpi = _dpi_of(im.info)

    if im.mode == "CMYK":
        colour, alpha, depth = _cmyk_to_rgb(im, icc, notes), None, 8
        icc = None  # the pixels are sRGB now; a CMYK profile would mislabel them
    else:
        colour, alpha, depth = _samples(path, im, notes)
    exif_tags = im.getexif()
    orientation = exif_tags.get(ORIENTATION, 1)
    colour = _orient(colour, orientation)
    alpha = None if alpha is None else _orient(alpha, orientation)
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
        exif=_exif_for_output(exif_tags, width, height),
        icc=icc,
        dpi=dpi,
        format=fmt,
        path=path,
        notes=notes,
    )


def _samples(path: Path, im: Image.Image, notes: list[str]) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Pixels as stored: (gray HxW or colour HxWx3, alpha HxW or None, bits per sample)."""
    mode = im.mode
    if mode in ("RGB", "RGBA") and _sixteen_bit_rawmode(im) is not None:
        return _samples_16bit_colour(path, im, notes)
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
    if mode == "L":
        return _with_transparency(data, im.info, 8)
    if mode == "RGB":
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


_SIXTEEN_BIT_RAWMODE = re.compile(r"^(RGB|RGBA|RGBX);16[LBN]$|^LA;16B$")


def _tile_rawmode(tile) -> str:
    args = tile[3]
    return args if isinstance(args, str) else args[0]


def _with_tile_rawmode(tile, rawmode: str):
    args = tile[3]
    args = rawmode if isinstance(args, str) else (rawmode, *args[1:])
    if hasattr(tile, "_replace"):  # Pillow >= 11 tiles are named tuples
        return tile._replace(args=args)
    return (tile[0], tile[1], tile[2], args)


def _sixteen_bit_rawmode(im: Image.Image) -> str | None:
    """The 16-bit unpacker Pillow chose for this RGB(A) image, or None when the file holds 8-bit samples."""
    rawmodes = {_tile_rawmode(t) for t in im.tile} if im.tile else set()
    sixteen = {r for r in rawmodes if r.endswith((";16L", ";16B", ";16N"))}
    if not sixteen:
        return None
    return sixteen.pop()


def _low_byte_rawmode(rawmode: str) -> str:
    # "...;16L" keeps byte 1 of each sample (the high byte of a little-endian value), "...;16B" keeps byte 0;
    # "N" means native order (libtiff hands Pillow native-order samples).
    order = rawmode[-1]
    if order == "N":
        order = "L" if sys.byteorder == "little" else "B"
    return rawmode[:-1] + ("B" if order == "L" else "L")


def _decode_with_rawmode(path: Path, rawmode: str) -> np.ndarray:
    im, _ = _open_without_pillow_limit(path)  # its size passed the check when the file was first opened
    with im:
        im.tile = [_with_tile_rawmode(t, rawmode) for t in im.tile]
        im.load()
        return np.asarray(im)


def _samples_16bit_colour(path: Path, im: Image.Image, notes: list[str]):
    rawmode = _sixteen_bit_rawmode(im)
    if not _SIXTEEN_BIT_RAWMODE.match(rawmode):
        notes.append(f"16-bit {rawmode.split(';')[0]} data read as 8 bits (this layout is not decoded at 16 bits)")
        data = np.asarray(im.convert("RGBA" if im.mode == "RGBA" else "RGB"))
        return data[:, :, :3], (data[:, :, 3] if data.shape[2] == 4 else None), 8
    if rawmode == "LA;16B":
        # PNG gray+alpha: 4 bytes per pixel, the same as 8-bit RGBA, so "RGBA" hands us every byte.
        raw = _decode_with_rawmode(path, "RGBA").astype(np.uint16)
        return (raw[:, :, 0] << 8) | raw[:, :, 1], (raw[:, :, 2] << 8) | raw[:, :, 3], 16
    high = _decode_with_rawmode(path, rawmode).astype(np.uint16)
    low = _decode_with_rawmode(path, _low_byte_rawmode(rawmode))
    full = (high << 8) | low
    if full.shape[2] == 4:
        return full[:, :, :3], full[:, :, 3], 16
    return _with_transparency(full, im.info, 16)


def _cmyk_to_rgb(im: Image.Image, icc: bytes | None, notes: list[str]) -> np.ndarray:
    """CMYK to sRGB through the embedded profile when there is a usable one; the CMYK profile is not kept."""
    if icc:
        try:
            from PIL import ImageCms

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


def _orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
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


def _exif_for_output(tags: Image.Exif, width: int, height: int) -> bytes | None:
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


def _dpi_of(info: dict) -> tuple[float, float] | None:
    dpi = info.get("dpi")
    if not dpi or len(dpi) != 2:
        return None
    try:
        x, y = float(dpi[0]), float(dpi[1])
    except (TypeError, ValueError):
        return None
    return (x, y) if x > 0 and y > 0 else None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 160 else line[:157] + "..."


# --------------------------------------------------------------------------------------------------------- writing

# What each output format can hold.
_EIGHT_BIT_ONLY = {"JPEG", "WEBP", "BMP"}
# BMP: Pillow writes 32-bit BMPs whose fourth byte readers (Pillow included) take as padding, not alpha.
_NO_ALPHA = {"JPEG", "BMP"}
_NO_METADATA = {"BMP"}
_NO_GRAY_ALPHA = {
    ("WEBP", 8): "WebP stores colour only",
    # Pillow, and so our own reader, cannot open 16-bit gray+alpha TIFF; RGBA keeps every value.
    ("TIFF", 16): "16-bit gray+alpha TIFF is poorly supported",
}


def write_image(
    path: str | os.PathLike,
    picture: Picture,
    rgb: np.ndarray | None = None,
    ext: str | None = None,
    quality: int = 95,
) -> list[str]:
    """Write `rgb` (HxWx3 float in [0, 1]; default picture.rgb) with the picture's gray/alpha/depth/metadata.

    The format follows `ext` if given, else the extension of `path`. Returns notes on what the format could not
    hold (alpha flattened for JPEG, 16 bits reduced to 8, ...). Refuses to write over picture.path.
    """
    dst = Path(path)
    fmt = _format_for(ext if ext is not None else dst.suffix, dst)
    if picture.path is not None and _same_file(dst, Path(picture.path)):
        raise DeblurError(f"{dst}: refusing to overwrite the input image")
    rgb = picture.rgb if rgb is None else rgb
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 array, got shape {rgb.shape}")
    alpha = picture.alpha
    if alpha is not None and alpha.shape != rgb.shape[:2]:
        raise DeblurError(f"{dst}: the restored image is {rgb.shape[1]}x{rgb.shape[0]} but its alpha channel is "
                          f"{alpha.shape[1]}x{alpha.shape[0]}")

    notes: list[str] = []
    depth = picture.bit_depth
    if depth == 16 and fmt in _EIGHT_BIT_ONLY:
        depth = 8
        notes.append(f"16-bit image written with 8 bits ({fmt} holds 8 bits per sample)")
    colour = clip_unit(rgb.astype(np.float32, copy=False))  # float32, [0, 1], NaN -> 0
    if alpha is not None and fmt in _NO_ALPHA:
        opacity = alpha.astype(np.float32) / np.float32(np.iinfo(alpha.dtype).max)
        colour = colour * opacity[:, :, None] + (1.0 - opacity[:, :, None])
        alpha = None
        notes.append(f"transparency flattened onto white ({fmt} has no alpha channel)")
    if picture.mode == "gray":
        # The network saw three equal channels; their mean is the least-squares gray value of what it returned.
        colour = colour.mean(axis=2)
    samples = quantize(colour, depth)  # rounded to the nearest level, halves to even (measure.levels)
    if alpha is not None:
        alpha = _alpha_at_depth(alpha, depth)
        if samples.ndim == 2 and (fmt, depth) in _NO_GRAY_ALPHA:
            samples = np.repeat(samples[:, :, None], 3, axis=2)
            notes.append(f"gray with alpha written as RGBA ({_NO_GRAY_ALPHA[fmt, depth]})")

    icc, exif = _metadata_for(picture, fmt, gray=samples.ndim == 2 and fmt != "WEBP", notes=notes)
    if fmt == "TIFF" or (fmt == "PNG" and depth == 16):
        encoder = encoders.encode_tiff if fmt == "TIFF" else encoders.encode_png16
        stacked = samples if alpha is None else np.dstack([samples, alpha])
        _write_atomically(dst, lambda fp: encoder(fp, stacked, icc=icc, exif=exif, dpi=picture.dpi))
    else:
        image = _pillow_image(samples, alpha)
        params = _save_params(fmt, quality, icc, exif, picture.dpi)
        _write_atomically(dst, lambda fp: image.save(fp, format=fmt, **params))
    return notes


def _format_for(ext: str, dst: Path) -> str:
    key = ext.lower() if ext.startswith(".") else "." + ext.lower()
    try:
        return FORMAT_BY_EXTENSION[key]
    except KeyError:
        known = ", ".join(sorted(FORMAT_BY_EXTENSION))
        raise DeblurError(f"{dst}: cannot tell the image format from '{ext}' (use one of {known})") from None


def _same_file(a: Path, b: Path) -> bool:
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def _alpha_at_depth(alpha: np.ndarray, depth: int) -> np.ndarray:
    if depth == 8 and alpha.dtype == np.uint16:
        return np.rint(alpha / np.float32(257)).astype(np.uint8)
    if depth == 16 and alpha.dtype == np.uint8:
        return alpha.astype(np.uint16) * 257
    return alpha


def _metadata_for(picture: Picture, fmt: str, gray: bool, notes: list[str]) -> tuple[bytes | None, bytes | None]:
    icc, exif = picture.icc, picture.exif
    if fmt in _NO_METADATA:
        dropped = [name for name, value in (("EXIF", exif), ("ICC profile", icc)) if value]
        if dropped:
            them = "them" if len(dropped) > 1 else "it"
            notes.append(f"{' and '.join(dropped)} not written ({fmt} cannot store {them})")
        return None, None
    if icc is not None:
        space = icc[16:20]
        if space != (b"GRAY" if gray else b"RGB "):
            notes.append(f"ICC profile for {space.decode('latin-1').strip() or '?'} data not attached to "
                         f"{'gray' if gray else 'RGB'} output")
            icc = None
    if exif is not None and fmt == "JPEG" and len(exif) > 65533:
        notes.append("EXIF not written (over the 64 KiB a JPEG segment can hold)")
        exif = None
    return icc, exif


def _pillow_image(samples: np.ndarray, alpha: np.ndarray | None) -> Image.Image:
    if alpha is None:
        return Image.fromarray(samples)
    return Image.fromarray(np.ascontiguousarray(np.dstack([samples, alpha])))


def _save_params(fmt: str, quality: int, icc: bytes | None, exif: bytes | None, dpi) -> dict:
    params: dict = {}
    if icc:
        params["icc_profile"] = icc
    if exif:
        params["exif"] = exif
    if dpi and fmt != "WEBP":
        params["dpi"] = (round(dpi[0]), round(dpi[1])) if fmt == "JPEG" else dpi
    if fmt == "JPEG":
        # Full-resolution colour at high quality: chroma subsampling would blur the colour edges we just sharpened.
        params.update(quality=quality, subsampling=0 if quality >= 90 else -1)
    elif fmt == "WEBP":
        params.update(quality=quality, lossless=quality >= 100)
    return params


def _write_atomically(dst: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write through a temporary file beside `dst`, so `dst` is either complete or untouched."""
    try:
        with atomic_path(dst) as tmp, open(tmp, "wb") as fp:
            write(fp)
    except OSError as exc:
        raise DeblurError(f"{dst}: cannot write: {_one_line(exc)}") from exc
