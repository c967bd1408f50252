"""Images that the image tests write and read: random samples, an independent 16-bit PNG encoder, ICC profiles,
EXIF blocks. Made with Pillow, numpy and the PNG and ICC specifications, never with the code under test, so that
a reader and a writer of ours cannot agree on the same mistake."""

from __future__ import annotations

import itertools
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

from deblur_cli.images import Picture
from deblur_cli.images.metadata import PIXEL_X_DIMENSION, PIXEL_Y_DIMENSION

RNG = np.random.default_rng(1234)
ORIENTATION, MAKE, MODEL, EXIF_IFD, DATE_ORIGINAL = 0x0112, 0x010F, 0x0110, 0x8769, 0x9003


def random_u8(*shape) -> np.ndarray:
    return RNG.integers(0, 256, shape, dtype=np.uint8)


def random_u16(*shape) -> np.ndarray:
    return RNG.integers(0, 65536, shape, dtype=np.uint16)


def as_u8(picture: Picture) -> np.ndarray:
    return np.rint(picture.rgb * 255).astype(np.uint8)


def as_u16(picture: Picture) -> np.ndarray:
    return np.rint(picture.rgb * 65535).astype(np.uint16)


def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def folder_listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


# ------------------------------------------------------------------------ an independent 16-bit PNG encoder (tests)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def _filter_rows(raw: np.ndarray, bpp: int, filters) -> bytes:
    out = bytearray()
    prior = [0] * raw.shape[1]
    for y, row in enumerate(raw.tolist()):
        kind = filters[y % len(filters)]
        encoded = []
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prior[i]
            c = prior[i - bpp] if i >= bpp else 0
            predictor = (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]
            encoded.append((x - predictor) % 256)
        out += bytes([kind]) + bytes(encoded)
        prior = row
    return bytes(out)


ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def independent_png16(samples: np.ndarray, filters=(0, 1, 2, 3, 4), interlace: bool = False) -> bytes:
    """PNG, 16 bits per sample, with the given row filters in turn (slow pure Python: tiny images only)."""
    height, width = samples.shape[:2]
    channels = 1 if samples.ndim == 2 else samples.shape[2]
    bpp = 2 * channels

    def raw_rows(part: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(part, dtype=">u2").reshape(part.shape[0], -1).view(np.uint8)

    if interlace:
        data = b"".join(
            _filter_rows(raw_rows(samples[y0::dy, x0::dx]), bpp, filters)
            for x0, y0, dx, dy in ADAM7
            if samples[y0::dy, x0::dx].size
        )
    else:
        data = _filter_rows(raw_rows(samples), bpp, filters)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 16, {1: 0, 2: 4, 3: 2, 4: 6}[channels], 0, 0, int(interlace))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(data))
            + chunk(b"IEND", b""))


def cmyk_profile() -> bytes:
    """A minimal ICC v2 CMYK printer profile: an A2B0 lut16 from CMYK to Lab on a 2-point grid."""

    def s15(x: float) -> bytes:
        return struct.pack(">i", round(x * 65536))

    name = b"test CMYK\0"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(name)) + name + bytes(4 + 4 + 2 + 1 + 67)
    white = b"XYZ " + bytes(4) + s15(0.9642) + s15(1.0) + s15(0.8249)
    rights = b"text" + bytes(4) + b"none\0"
    grid = []
    for c, m, y, k in itertools.product((0, 1), repeat=4):
        lightness = 100 * (1 - k) * (1 - 0.3 * c) * (1 - 0.4 * m) * (1 - 0.1 * y)
        a, b = -30 * c + 60 * m, -40 * c - 10 * m + 70 * y
        grid += [round(lightness / 100 * 0xFF00), round((a + 128) * 256), round((b + 128) * 256)]
    a2b0 = (b"mft2" + bytes(4) + bytes([4, 3, 2, 0]) + b"".join(s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
            + struct.pack(">HH", 2, 2) + struct.pack(">8H", *([0, 65535] * 4))
            + struct.pack(f">{len(grid)}H", *grid) + struct.pack(">6H", *([0, 65535] * 3)))
    tags = [(b"desc", desc), (b"wtpt", white), (b"cprt", rights), (b"A2B0", a2b0)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        body += bytes(-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    header = (struct.pack(">I", offset + len(data)) + bytes(4) + struct.pack(">I", 0x02100000) + b"prtr" + b"CMYK"
              + b"Lab " + bytes(12) + b"acsp" + bytes(24) + struct.pack(">I", 0)
              + s15(0.9642) + s15(1.0) + s15(0.8249) + bytes(48))
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def exif_block(orientation: int = 1, width: int | None = None, height: int | None = None) -> bytes:
    tags = Image.Exif()
    tags[ORIENTATION] = orientation
    tags[MAKE] = "TestMake"
    tags[MODEL] = "Model 7"
    sub = {DATE_ORIGINAL: "2024:05:06 07:08:09"}
    if width is not None:
        sub[PIXEL_X_DIMENSION] = width
        sub[PIXEL_Y_DIMENSION] = height
    tags[EXIF_IFD] = sub  # a dict: before Pillow 11.3, a sub-IFD filled through get_ifd() is not serialised
    return tags.tobytes()


def asymmetric_image() -> np.ndarray:
    pixels = np.zeros((4, 6, 3), np.uint8)
    pixels[..., 0] = np.arange(6) * 40
    pixels[..., 1] = (np.arange(4) * 60)[:, None]
    pixels[0, 0] = (255, 255, 255)
    return pixels

