"""16-bit PNG and TIFF are read with their exact 16-bit values, whichever layout, byte order or compression.

Files are written by code other than the reader's OpenCV where possible: PNG by our own encoder
(test_image_sixteen_bit_round_trip.py also covers every PNG row filter and interlacing with a pure-Python one), TIFF
by tifffile; only the LZW TIFF comes from OpenCV, and Pillow's independent 8-bit view of it is checked too. Every
sample set holds values that an 8-bit read cannot give back (x != (x >> 8) * 257), so a reader that fell back to 8
bits fails here.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image

from deblur_cli.images import ImageReadError, read_image
from deblur_cli.images.encoders import encode_png16
from deblur_cli.images.sixteen_bit import sixteen_bit_layout

RNG = np.random.default_rng(16)


def random_u16(*shape) -> np.ndarray:
    samples = RNG.integers(0, 65536, shape, dtype=np.uint16)
    samples.flat[0] = 0x0102  # at least one value that no 8-bit level (a multiple of 257) gives back
    return samples


def as_u16(values: np.ndarray) -> np.ndarray:
    return np.rint(values * 65535).astype(np.uint16)


def write_png(path: Path, samples: np.ndarray, exif: bytes | None = None) -> None:
    with open(path, "wb") as fp:
        encode_png16(fp, samples, icc=None, exif=exif, dpi=None)


def write_tiff(path: Path, samples: np.ndarray, byteorder: str = "<", compression=None, extra: str = "unassalpha",
               orientation: int = 1, planar: bool = False, **layout) -> None:
    """``planar``: one plane per channel (PlanarConfiguration 2); ``layout``: tifffile's rowsperstrip, tile, ..."""
    channels = 1 if samples.ndim == 2 else samples.shape[2]
    if planar:
        samples, layout = np.moveaxis(samples, 2, 0), {**layout, "planarconfig": "separate"}
    tifffile.imwrite(path, samples, byteorder=byteorder, compression=compression,
                     photometric="minisblack" if channels == 1 else "rgb",
                     extrasamples=[extra] if channels == 4 else None,
                     extratags=[(274, "H", 1, orientation, True)] if orientation != 1 else [], **layout)


def write_lzw_tiff_with_opencv(path: Path, samples: np.ndarray) -> None:
    bgr = np.ascontiguousarray(np.concatenate([samples[..., 2::-1], samples[..., 3:]], axis=2))
    ok, data = cv2.imencode(".tif", bgr, [cv2.IMWRITE_TIFF_COMPRESSION, cv2.IMWRITE_TIFF_COMPRESSION_LZW])
    assert ok
    path.write_bytes(data.tobytes())


WRITERS = {
    "png": write_png,
    "tif little-endian": write_tiff,
    "tif big-endian": lambda path, samples: write_tiff(path, samples, byteorder=">"),
    "tif deflate": lambda path, samples: write_tiff(path, samples, compression="zlib"),
    "tif big-endian deflate": lambda path, samples: write_tiff(path, samples, byteorder=">", compression="zlib"),
    "tif lzw (OpenCV)": write_lzw_tiff_with_opencv,
}


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("kind", WRITERS)
def test_16bit_colour_reads_the_exact_values(tmp_path, kind, channels):
    samples = random_u16(6, 7, channels)
    path = tmp_path / ("in.png" if kind == "png" else "in.tif")
    WRITERS[kind](path, samples)
    picture = read_image(path)
    assert (picture.bit_depth, picture.mode) == (16, "rgb")
    assert np.array_equal(as_u16(picture.rgb), samples[..., :3])
    if channels == 4:
        assert picture.alpha.dtype == np.uint16 and np.array_equal(picture.alpha, samples[..., 3])
    else:
        assert picture.alpha is None
    with Image.open(path) as im:  # Pillow alone decodes the same file to the high bytes only
        high_bytes = np.asarray(im.convert("RGBA" if channels == 4 else "RGB"))
    assert np.array_equal(high_bytes, (samples >> 8).astype(np.uint8))


@pytest.mark.parametrize("ext", ["png", "tif"])
def test_an_8_bit_read_would_fail(tmp_path, ext):
    samples = np.array([[[0x0001, 0x00FF, 0x0100], [0x7FFF, 0x8000, 0xFFFE]]], np.uint16)
    scaled_from_8_bits = (samples >> 8) * 257  # what a reader that kept only the high byte would return
    assert not np.any(scaled_from_8_bits == samples)
    path = tmp_path / f"in.{ext}"
    (write_png if ext == "png" else write_tiff)(path, samples)
    assert np.array_equal(as_u16(read_image(path).rgb), samples)


def test_16bit_gray_with_alpha_png(tmp_path):
    samples = random_u16(5, 4, 2)
    write_png(tmp_path / "la.png", samples)
    picture = read_image(tmp_path / "la.png")
    assert (picture.mode, picture.bit_depth) == ("gray", 16)
    assert np.array_equal(as_u16(picture.rgb[..., 0]), samples[..., 0])
    assert np.array_equal(picture.alpha, samples[..., 1])


@pytest.mark.parametrize("byteorder", ["<", ">"])
def test_16bit_gray_tiff(tmp_path, byteorder):
    samples = random_u16(5, 4)
    write_tiff(tmp_path / "g.tif", samples, byteorder=byteorder)
    picture = read_image(tmp_path / "g.tif")
    assert (picture.mode, picture.bit_depth, picture.alpha) == ("gray", 16, None)
    assert np.array_equal(as_u16(picture.rgb[..., 0]), samples)


def test_16bit_gray_png_colour_key_becomes_alpha(tmp_path):
    write_png(tmp_path / "k.png", np.array([[7, 8]], np.uint16))
    png = (tmp_path / "k.png").read_bytes()
    body = struct.pack(">H", 7)
    trns = struct.pack(">I", len(body)) + b"tRNS" + body + struct.pack(">I", zlib.crc32(b"tRNS" + body))
    at = png.index(b"IDAT") - 4
    (tmp_path / "k.png").write_bytes(png[:at] + trns + png[at:])
    picture = read_image(tmp_path / "k.png")
    assert picture.mode == "gray" and picture.alpha.tolist() == [[0, 65535]]


def test_premultiplied_alpha_tiff_is_made_straight(tmp_path):
    samples = np.array([[[16384, 32768, 0, 32768], [100, 200, 300, 0], [1, 2, 3, 65535]]], np.uint16)
    # 16384 / 32768 of full scale is 32767.5: rounded half to even, as every level in the package is
    write_tiff(tmp_path / "a.tif", samples, extra="assocalpha")
    picture = read_image(tmp_path / "a.tif")
    assert as_u16(picture.rgb).tolist() == [[[32768, 65535, 0], [0, 0, 0], [1, 2, 3]]]
    assert picture.alpha.tolist() == [[32768, 0, 65535]]


def test_unspecified_fourth_tiff_sample_is_not_alpha(tmp_path):
    samples = random_u16(3, 4, 4)
    write_tiff(tmp_path / "x.tif", samples, extra="unspecified")
    picture = read_image(tmp_path / "x.tif")
    assert picture.alpha is None and np.array_equal(as_u16(picture.rgb), samples[..., :3])


PLANAR_LAYOUTS = {
    "one strip": {},
    "strips, deflate + predictor": {"compression": "zlib", "predictor": True, "rowsperstrip": 3},
    "strips, big-endian": {"byteorder": ">", "rowsperstrip": 2},
    "tiles, deflate": {"compression": "zlib", "tile": (16, 16)},  # 20x37: partial tiles at two edges
}


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("layout", PLANAR_LAYOUTS)
def test_planar_16bit_tiff_reads_as_its_chunky_twin(tmp_path, layout, channels):
    """One plane per channel, which OpenCV alone misreads at 16 bits (planar_tiff hands it one plane at a time):
    every bit kept, the same pixels as the interleaved file of the same samples."""
    samples = random_u16(20, 37, channels)
    samples[0, 1, 0], samples[0, 2, 0] = 0x1234, 0x1235  # 1 apart: one 8-bit level (257) would merge them
    write_tiff(tmp_path / "planar.tif", samples, planar=True, **PLANAR_LAYOUTS[layout])
    write_tiff(tmp_path / "chunky.tif", samples)
    planar, chunky = read_image(tmp_path / "planar.tif"), read_image(tmp_path / "chunky.tif")
    assert (planar.bit_depth, planar.mode, planar.notes) == (16, "rgb", [])
    got = as_u16(planar.rgb)
    assert (got[0, 1, 0], got[0, 2, 0]) == (0x1234, 0x1235)
    assert np.array_equal(got, samples[..., :3]) and np.array_equal(planar.rgb, chunky.rgb)
    if channels == 4:
        assert np.array_equal(planar.alpha, samples[..., 3]) and np.array_equal(planar.alpha, chunky.alpha)
    else:
        assert planar.alpha is None


def test_truncated_planar_16bit_tiff_is_one_line(tmp_path):
    samples = random_u16(20, 30, 3)
    write_tiff(tmp_path / "t.tif", samples, planar=True)  # directory first, then the planes: the cut hits a plane
    data = (tmp_path / "t.tif").read_bytes()
    (tmp_path / "t.tif").write_bytes(data[: len(data) - 100])
    with pytest.raises(ImageReadError) as info:
        read_image(tmp_path / "t.tif")
    assert str(tmp_path / "t.tif") in str(info.value) and "\n" not in str(info.value)


def test_planar_16bit_tiff_that_opencv_cannot_decompress_is_left_to_pillow(tmp_path):
    """LZMA is not in OpenCV's libtiff: Pillow reads it at 8 bits (11.0 on) or refuses it (before 11.0:
    "multistrip support not yet implemented"). Either way, never wrong pixels."""
    samples = random_u16(4, 5, 3)
    write_tiff(tmp_path / "p.tif", samples, compression="lzma", planar=True)
    try:
        picture = read_image(tmp_path / "p.tif")
    except ImageReadError as exc:
        assert "not supported" in str(exc) and "\n" not in str(exc)
        return
    assert picture.bit_depth == 8 and any("read as 8 bits" in n for n in picture.notes)
    assert np.array_equal(np.rint(picture.rgb * 255).astype(np.uint8), (samples >> 8).astype(np.uint8))



@pytest.mark.parametrize("channels", [1, 3, 4])
def test_chunky_16bit_lzma_tiff_is_read_by_pillow_not_reported_corrupt(tmp_path, channels):
    """OpenCV's libtiff has no LZMA, so sending such a file there made a good image "corrupt or truncated". Pillow
    reads gray at 16 bits and colour at 8 (with a note); orientation 6 checks that it is still applied once."""
    samples = random_u16(4, 6, channels) if channels > 1 else random_u16(4, 6)
    write_tiff(tmp_path / "z.tif", samples, compression="lzma", orientation=6)  # tifffile: Python's own lzma
    picture = read_image(tmp_path / "z.tif")
    upright = UPRIGHT[6](samples)
    if channels == 1:
        assert (picture.bit_depth, picture.mode, picture.notes) == (16, "gray", [])
        assert np.array_equal(as_u16(picture.rgb[..., 0]), upright)  # 0x0102 included: every bit kept
        return
    assert picture.bit_depth == 8 and any("read as 8 bits" in n for n in picture.notes)
    high_bytes = (upright >> 8).astype(np.uint8)
    assert np.array_equal(np.rint(picture.rgb * 255).astype(np.uint8), high_bytes[..., :3])
    if channels == 4:
        assert np.array_equal(picture.alpha, high_bytes[..., 3])


def set_tiff_compression_tag(path: Path, code: int) -> None:
    """Rewrite the Compression entry of a little-endian TIFF's first directory; the strips stay as they are."""
    data = bytearray(path.read_bytes())
    directory = struct.unpack_from("<I", data, 4)[0]
    for entry in range(struct.unpack_from("<H", data, directory)[0]):
        at = directory + 2 + 12 * entry
        if struct.unpack_from("<H", data, at)[0] == 259:
            struct.pack_into("<H", data, at + 8, code)  # a SHORT value sits in the entry's first two value bytes
            path.write_bytes(bytes(data))
            return
    raise AssertionError("no Compression tag")


@pytest.mark.parametrize("planar", [False, True])
@pytest.mark.parametrize("compression", [34925, 50000], ids=["lzma", "zstd"])
def test_16bit_tiff_compressed_beyond_opencv_is_not_routed_to_it(tmp_path, compression, planar):
    """The routing alone, from the header: tifffile cannot write ZSTD here (it needs imagecodecs or Python 3.14's
    compression.zstd), so the tag is set on an uncompressed file, whose strips are never read by this call."""
    write_tiff(tmp_path / "t.tif", random_u16(4, 6, 3), planar=planar)
    with Image.open(tmp_path / "t.tif") as im:
        assert sixteen_bit_layout(tmp_path / "t.tif", im) is not None  # uncompressed: OpenCV's
    set_tiff_compression_tag(tmp_path / "t.tif", compression)
    with Image.open(tmp_path / "t.tif") as im:
        assert im.tag_v2[259] == compression and sixteen_bit_layout(tmp_path / "t.tif", im) is None

def test_corrupt_16bit_png_is_one_line(tmp_path):
    write_png(tmp_path / "c.png", random_u16(32, 32, 3))
    data = bytearray((tmp_path / "c.png").read_bytes())
    start = data.index(b"IDAT") + 4
    data[start + 10 : start + 200] = bytes(190)
    (tmp_path / "c.png").write_bytes(bytes(data))
    with pytest.raises(ImageReadError) as info:
        read_image(tmp_path / "c.png")
    assert str(tmp_path / "c.png") in str(info.value) and "\n" not in str(info.value)


# Stored pixels -> what a viewer shows, for EXIF/TIFF orientations 1-8 (written out here, not taken from the reader).
UPRIGHT = {1: lambda a: a, 2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1), 7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
           8: lambda a: np.rot90(a, 1)}


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("kind", ["tif rgb 8-bit", "tif rgb 16-bit", "tif gray 16-bit", "tif rgba 16-bit deflate",
                                  "tif rgba 16-bit planar", "png rgb 16-bit"])
def test_orientation_is_applied_once(tmp_path, kind, orientation):
    """Pillow and OpenCV turn a TIFF upright as they decode it; a PNG's EXIF orientation is left to the reader."""
    channels = {"rgb": 3, "gray": 1, "rgba": 4}[kind.split()[1]]
    stored = random_u16(4, 6, channels) if channels > 1 else random_u16(4, 6)
    if "8-bit" in kind:
        stored = (stored >> 8).astype(np.uint8)
    if kind.startswith("png"):
        exif = Image.Exif()
        exif[0x0112] = orientation
        write_png(tmp_path / "o.png", stored, exif=exif.tobytes())
        path = tmp_path / "o.png"
    else:
        path = tmp_path / "o.tif"
        write_tiff(path, stored, compression="zlib" if "deflate" in kind else None, orientation=orientation,
                   planar="planar" in kind)
    picture = read_image(path)
    expected = UPRIGHT[orientation](stored)
    colour = expected if channels == 1 else expected[..., :3]
    got = picture.rgb[..., 0] if channels == 1 else picture.rgb
    peak = 255 if "8-bit" in kind else 65535
    assert np.array_equal(np.rint(got * peak), colour)
    if channels == 4:
        assert np.array_equal(picture.alpha, expected[..., 3])


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def add_png_chunk(path: Path, chunk: bytes, after_pixels: bool) -> None:
    """Insert a chunk right before the first IDAT, or right before IEND (after the image data)."""
    data = path.read_bytes()
    at = data.index(b"IDAT") - 4 if not after_pixels else data.index(b"IEND") - 4
    path.write_bytes(data[:at] + chunk + data[at:])


def exif_block(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "maker"
    return exif.tobytes()


def xmp_text(orientation: int) -> bytes:
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description tiff:Orientation="{orientation}"/></x:xmpmeta>'
    return png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp.encode())


def raw_profile_exif(orientation: int) -> bytes:
    block = exif_block(orientation)
    text = f"\nexif\n{len(block):8d}\n{block.hex()}\n".encode()
    return png_chunk(b"zTXt", b"Raw profile type exif\x00\x00" + zlib.compress(text))


PNG_METADATA = {  # chunk, whether it follows the image data
    "none": (None, False),
    "eXIf before the pixels": (png_chunk(b"eXIf", exif_block(6)), False),
    "eXIf after the pixels": (png_chunk(b"eXIf", exif_block(6)), True),
    "XMP before the pixels": (xmp_text(8), False),
    "XMP after the pixels": (xmp_text(8), True),
    "raw profile before the pixels": (raw_profile_exif(3), False),
}


@pytest.mark.parametrize("metadata", PNG_METADATA)
def test_png_exif_is_pillows_without_a_second_decode(tmp_path, monkeypatch, metadata):
    """The 16-bit pixels come from OpenCV; Pillow's getexif() would decode them again (at 8 bits) to look for an
    eXIf chunk after the image data. Only a file that has one there still pays that decode."""
    from PIL import ImageFile

    chunk, after_pixels = PNG_METADATA[metadata]
    stored = random_u16(6, 4, 3)
    path = tmp_path / "m.png"
    write_png(path, stored)
    if chunk is not None:
        add_png_chunk(path, chunk, after_pixels)
    with Image.open(path) as im:
        pillows = dict(im.getexif())
    decodes = []
    load = ImageFile.ImageFile.load

    def counting_load(im):
        decodes.append(bool(im.tile))  # tiles left to read: this call decodes pixels
        return load(im)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
    picture = read_image(path)
    assert any(decodes) == after_pixels
    orientation = pillows.get(0x0112, 1)
    assert np.array_equal(as_u16(picture.rgb), UPRIGHT[orientation](stored))
    if metadata != "none":
        assert orientation != 1  # each chunk above holds an orientation: the comparison can fail
    if 0x010F in pillows:  # the EXIF block itself is carried to the output
        carried = Image.Exif()
        carried.load(picture.exif)
        assert carried[0x010F] == pillows[0x010F]
