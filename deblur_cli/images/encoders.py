"""Encoders no well-kept library gives us: 16-bit PNG (gray, gray+alpha, RGB, RGBA) with ICC, DPI and EXIF, and TIFF
at 8 or 16 bits with EXIF sub-IFDs, ICC and DPI.

Used by :func:`.writing.write_image`; each writes a whole file to an open binary stream. Why ours, checked against
the libraries at hand (Pillow 13.0, OpenCV 5.1, tifffile 2026.3):

- Pillow has no 16-bit colour modes, and its compressing (libtiff) TIFF writer fails on EXIF sub-IFDs.
- OpenCV, our 16-bit decoder, writes 16-bit PNG and TIFF pixels, but no gray+alpha PNG (it takes 1, 3 or 4
  channels), no PNG resolution (pHYs), no EXIF or ICC in a TIFF ("metadata ... not supported when encoding
  TIFF"), and EXIF or ICC in a PNG only through ``imencodeWithMetadata``, which the oldest OpenCV we accept
  (4.10) lacks.
- tifffile (a test dependency) writes ICC and resolution but no EXIF sub-IFD.

What a library does do is used: Pillow serialises the TIFF directory (``ImageFileDirectory_v2``), zlib compresses.
"""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

import numpy as np
from PIL import Image, TiffTags, features
from PIL.TiffImagePlugin import ImageFileDirectory_v2


def encode_png16(fp: BinaryIO, samples: np.ndarray, icc: bytes | None, exif: bytes | None, dpi) -> None:
    """PNG with 16 bits per sample (PNG spec, 3rd edition), gray / gray+alpha / RGB / RGBA, filter type 1 (Sub)."""
    height, width = samples.shape[:2]
    channels = 1 if samples.ndim == 2 else samples.shape[2]
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]

    def chunk(kind: bytes, body: bytes) -> None:
        fp.write(struct.pack(">I", len(body)) + kind + body)
        fp.write(struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    fp.write(b"\x89PNG\r\n\x1a\n")
    chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0))
    if icc:
        chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc))
    if dpi:
        chunk(b"pHYs", struct.pack(">IIB", round(dpi[0] / 0.0254), round(dpi[1] / 0.0254), 1))
    if exif:
        chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)

    bytes_per_pixel = 2 * channels
    compressor = zlib.compressobj(6)
    pending = bytearray()
    rows_per_block = max(1, (4 << 20) // (width * bytes_per_pixel))
    for top in range(0, height, rows_per_block):
        block = np.ascontiguousarray(samples[top : top + rows_per_block], dtype=">u2")
        rows = block.reshape(block.shape[0], width * channels).view(np.uint8)
        filtered = np.empty((rows.shape[0], rows.shape[1] + 1), np.uint8)
        filtered[:, 0] = 1  # Sub: each byte minus the same byte of the pixel to its left, modulo 256
        filtered[:, 1 : 1 + bytes_per_pixel] = rows[:, :bytes_per_pixel]
        filtered[:, 1 + bytes_per_pixel :] = rows[:, bytes_per_pixel:] - rows[:, :-bytes_per_pixel]
        pending += compressor.compress(filtered.tobytes())
        while len(pending) >= 1 << 20:
            chunk(b"IDAT", bytes(pending[: 1 << 20]))
            del pending[: 1 << 20]
    pending += compressor.flush()
    chunk(b"IDAT", bytes(pending))
    chunk(b"IEND", b"")


def encode_tiff(fp: BinaryIO, samples: np.ndarray, icc: bytes | None, exif: bytes | None, dpi) -> None:
    """Baseline little-endian TIFF 6.0, 8 or 16 bits per sample, Adobe Deflate strips, EXIF in IFD0 + sub-IFDs.

    Ours rather than Pillow's because Pillow cannot write 16-bit colour, and its libtiff path (needed for
    compression) fails on EXIF sub-IFDs. The IFD is serialised by Pillow's ImageFileDirectory_v2 (what Pillow's
    own writer uses); layout: header, IFD and its out-of-line values, then the strips (tobytes() makes the
    StripOffsets absolute). Without libtiff Pillow cannot decode Deflate, so strips are then left uncompressed.
    """
    height, width = samples.shape[:2]
    channels = 1 if samples.ndim == 2 else samples.shape[2]
    bytes_per_sample = samples.dtype.itemsize
    deflate = features.check("libtiff")
    rows_per_strip = max(1, (1 << 20) // (width * channels * bytes_per_sample))
    strips = []
    for top in range(0, height, rows_per_strip):
        raw = np.ascontiguousarray(samples[top : top + rows_per_strip], dtype=samples.dtype.newbyteorder("<"))
        strips.append(zlib.compress(raw.tobytes(), 6) if deflate else raw.tobytes())

    ifd = ImageFileDirectory_v2()
    if exif:
        tags = Image.Exif()
        tags.load(exif)
        for tag in tags:
            ifd[tag] = tags.get_ifd(tag) if tag in TiffTags.TAGS_V2_GROUPS else tags[tag]
    ifd[256] = width
    ifd[257] = height
    ifd[258] = (8 * bytes_per_sample,) * channels
    ifd[259] = 8 if deflate else 1  # Adobe Deflate / none
    ifd[262] = 1 if channels <= 2 else 2  # BlackIsZero / RGB
    ifd[273] = tuple(int(x) for x in np.cumsum([0] + [len(s) for s in strips[:-1]]))
    ifd[277] = channels
    ifd[278] = rows_per_strip
    ifd[279] = tuple(len(s) for s in strips)
    ifd[284] = 1  # chunky
    if channels in (2, 4):
        ifd[338] = 2  # unassociated alpha
    if dpi:
        ifd[282], ifd[283], ifd[296] = float(dpi[0]), float(dpi[1]), 2  # inches
    if icc:
        ifd[34675] = icc
    fp.write(b"II*\x00" + struct.pack("<I", 8))
    fp.write(ifd.tobytes(8))
    for strip in strips:
        fp.write(strip)
