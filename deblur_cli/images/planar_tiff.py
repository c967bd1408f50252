"""16-bit planar TIFF (PlanarConfiguration 2: one plane per channel) decoded by OpenCV, one plane at a time.

OpenCV reads 16-bit TIFF strips and tiles as if each held every channel interleaved, so a planar file comes back
as wrong pixels (OpenCV 4.10 to 5.0; its 8-bit path, through libtiff's RGBA reader, copes). Each plane is handed to
OpenCV as a one-channel TIFF of its own instead: a new header and directory in front of that plane's strips or
tiles, copied as stored (still compressed). OpenCV's libtiff then decompresses and un-predicts them as it does any
16-bit gray TIFF, and turns them upright by the Orientation tag, which is copied too. Nothing is decoded here.

Why not a library: OpenCV is the 16-bit decoder we have, and it cannot be told the layout; Pillow has no 16-bit
colour modes; tifffile reads planar files but not LZW (OpenCV's default TIFF compression) without imagecodecs, and
is a test dependency only. The directory of each one-plane file is serialised by Pillow.
"""

from __future__ import annotations

import itertools
import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL.TiffImagePlugin import ImageFileDirectory_v2

__all__ = ["PlanarTiff", "planar_tiff", "plane_files", "as_tuple"]

_WIDTH, _LENGTH, _BITS, _COMPRESSION, _PHOTOMETRIC = 256, 257, 258, 259, 262
_STRIP_OFFSETS, _ORIENTATION, _SAMPLES, _ROWS_PER_STRIP, _STRIP_BYTES = 273, 274, 277, 278, 279
_PLANAR, _PREDICTOR, _TILE_WIDTH, _TILE_LENGTH, _TILE_OFFSETS, _TILE_BYTES = 284, 317, 322, 323, 324, 325
_SAMPLE_FORMAT = 339
# Compressions whose strips decode with no tag beyond the ones copied (JPEG would need JPEGTables): none, LZW,
# Adobe Deflate, old-style Deflate, PackBits. Others (LZMA, ZSTD, ...) are not in OpenCV's libtiff either.
_COPYABLE_COMPRESSIONS = (1, 5, 8, 32946, 32773)
_PREDICTORS = (1, 2)  # none, horizontal differencing (3, floating point, is not for integer samples)


@dataclass(frozen=True)
class PlanarTiff:
    """Where each plane's strips (or tiles) lie in the file, and the tags a one-plane copy needs."""

    byte_order: bytes  # b"II" or b"MM": 16-bit samples inside the strips are stored in the file's byte order
    width: int
    height: int
    planes: int
    compression: int
    predictor: int
    orientation: int
    tile: tuple[int, int] | None  # (width, length) for a tiled file; None for strips
    rows_per_strip: int
    offsets: tuple[int, ...]  # all planes' strips or tiles, plane after plane (TIFF 6.0, PlanarConfiguration)
    byte_counts: tuple[int, ...]


def planar_tiff(path: Path, tags) -> PlanarTiff | None:
    """Read from a TIFF's directory (Pillow's ``tag_v2``); None when its planes cannot be copied as they are."""
    compression, predictor = tags.get(_COMPRESSION, 1), tags.get(_PREDICTOR, 1)
    if compression not in _COPYABLE_COMPRESSIONS or predictor not in _PREDICTORS:
        return None
    width, height, planes = tags.get(_WIDTH, 0), tags.get(_LENGTH, 0), tags.get(_SAMPLES, 1)
    tiled = _TILE_WIDTH in tags
    tile = (tags[_TILE_WIDTH], tags.get(_TILE_LENGTH, 0)) if tiled else None
    rows_per_strip = min(tags.get(_ROWS_PER_STRIP, height), height)
    if width < 1 or height < 1 or rows_per_strip < 1 or (tile is not None and min(tile) < 1):
        return None
    per_plane = (math.ceil(width / tile[0]) * math.ceil(height / tile[1]) if tile
                 else math.ceil(height / rows_per_strip))
    offsets = as_tuple(tags.get(_TILE_OFFSETS if tiled else _STRIP_OFFSETS, ()))
    byte_counts = as_tuple(tags.get(_TILE_BYTES if tiled else _STRIP_BYTES, ()))
    if len(offsets) != planes * per_plane or len(byte_counts) != len(offsets):
        return None  # a directory that does not add up: Pillow's reader judges the file
    with open(path, "rb") as fp:
        byte_order = fp.read(2)
    if byte_order not in (b"II", b"MM"):
        return None
    return PlanarTiff(byte_order, width, height, planes, compression, predictor, tags.get(_ORIENTATION, 1), tile,
                      rows_per_strip, offsets, byte_counts)


def plane_files(path: Path, planar: PlanarTiff) -> Iterator[bytes]:
    """Each plane as the bytes of a one-channel 16-bit TIFF, first plane first; ValueError if the file is short."""
    per_plane = len(planar.offsets) // planar.planes
    with open(path, "rb") as fp:
        for plane in range(planar.planes):
            where = slice(plane * per_plane, (plane + 1) * per_plane)
            chunks = [_read_at(fp, offset, count)
                      for offset, count in zip(planar.offsets[where], planar.byte_counts[where])]
            yield _one_plane_tiff(planar, chunks)


def _read_at(fp, offset: int, count: int) -> bytes:
    fp.seek(offset)
    data = fp.read(count)
    if len(data) != count:
        raise ValueError("truncated TIFF: a strip ends past the end of the file")
    return data


def _one_plane_tiff(planar: PlanarTiff, chunks: list[bytes]) -> bytes:
    """Classic TIFF in the file's byte order: 8-byte header, the directory (serialised by Pillow's
    ImageFileDirectory_v2, as :func:`.encoders.encode_tiff` does), then the chunks as stored."""
    ifd = ImageFileDirectory_v2(prefix=planar.byte_order)
    ifd[_WIDTH], ifd[_LENGTH], ifd[_BITS], ifd[_COMPRESSION] = planar.width, planar.height, 16, planar.compression
    ifd[_PHOTOMETRIC], ifd[_ORIENTATION], ifd[_SAMPLES], ifd[_PLANAR] = 1, planar.orientation, 1, 1  # BlackIsZero
    ifd[_SAMPLE_FORMAT] = 1  # unsigned
    if planar.predictor != 1:  # only then: libtiff warns of a Predictor tag on uncompressed strips
        ifd[_PREDICTOR] = planar.predictor
    counts = tuple(len(c) for c in chunks)
    relative = tuple(itertools.accumulate(counts[:-1], initial=0))
    if planar.tile:
        ifd[_TILE_WIDTH], ifd[_TILE_LENGTH], ifd[_TILE_BYTES] = planar.tile[0], planar.tile[1], counts
        ifd[_TILE_OFFSETS] = relative  # Pillow moves only strip offsets past the directory: tiles are placed here,
        data_at = 8 + len(ifd.tobytes(8))  # after measuring it (its size does not depend on the offsets' values)
        ifd[_TILE_OFFSETS] = tuple(data_at + r for r in relative)
    else:
        ifd[_ROWS_PER_STRIP], ifd[_STRIP_BYTES], ifd[_STRIP_OFFSETS] = planar.rows_per_strip, counts, relative
    directory = ifd.tobytes(8)
    if 8 + len(directory) + sum(counts) >= 1 << 32:
        raise ValueError("a plane of this TIFF is over 4 GB")
    endian = "<" if planar.byte_order == b"II" else ">"
    return planar.byte_order + struct.pack(f"{endian}HI", 42, 8) + directory + b"".join(chunks)


def as_tuple(value) -> tuple:
    """A TIFF tag's value as a tuple: Pillow gives a single value bare, several as a tuple."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)
