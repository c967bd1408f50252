"""write_image: a restored Picture back to JPEG, PNG, WebP, TIFF or BMP, keeping what the format can hold.

Pillow writes 8-bit JPEG, PNG, WebP and BMP; :mod:`.encoders` writes 16-bit PNG and TIFF of any depth, which no
well-kept library writes with EXIF, ICC and DPI together (Pillow has no 16-bit colour, and its compressing TIFF
writer fails on EXIF sub-IFDs). What a format cannot hold becomes a note: alpha flattened, 16 bits reduced to 8, ...

Writes are atomic (``deblur_cli.atomic``): a temporary file `.<name>.<random>.tmp` in the target folder, then
`os.replace`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Callable

import numpy as np
from PIL import Image

from ..atomic import atomic_path
from ..errors import DeblurError
from ..measure.levels import clip_unit, quantize
from .paths import FORMAT_BY_EXTENSION
from . import encoders
from .picture import Picture

__all__ = ["write_image", "format_for", "write_atomically"]

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
    fmt = format_for(ext if ext is not None else dst.suffix, dst)
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
        write_atomically(dst, lambda fp: encoder(fp, stacked, icc=icc, exif=exif, dpi=picture.dpi))
    else:
        image = _pillow_image(samples, alpha)
        params = _save_params(fmt, quality, icc, exif, picture.dpi)
        write_atomically(dst, lambda fp: image.save(fp, format=fmt, **params))
    return notes


def format_for(ext: str, dst: Path) -> str:
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


def write_atomically(dst: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write through a temporary file beside `dst`, so `dst` is either complete or untouched."""
    try:
        with atomic_path(dst) as tmp, open(tmp, "wb") as fp:
            write(fp)
    except OSError as exc:
        # strerror ("No space left on device") leaves out the temporary file's name; str() for a bare OSError
        raise DeblurError(f"{dst}: cannot write: {exc.strerror or exc}") from exc
