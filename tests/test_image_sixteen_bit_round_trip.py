"""16 bits per sample survive: PNG of every colour type, filter and interlacing is read exactly, our 16-bit PNG and
TIFF writers round-trip and are read the same by Pillow and tifffile, and an 8-bit-only format rounds with a note.
(Layouts, byte orders and compressions of 16-bit files: test_image_sixteen_bit_layouts.py.)"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from deblur_cli.images import Picture, read_image, write_image
from image_fixtures import MAKE, EXIF_IFD, DATE_ORIGINAL, random_u16, as_u16, srgb_icc, independent_png16, exif_block


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("interlace", [False, True])
def test_reads_16bit_png_of_every_colour_type_exactly(tmp_path, channels, interlace):
    samples = random_u16(9, 11, channels) if channels > 1 else random_u16(9, 11)
    path = tmp_path / "in.png"
    path.write_bytes(independent_png16(samples, interlace=interlace))
    picture = read_image(path)
    assert picture.bit_depth == 16
    colour = samples if channels == 1 else samples[..., : 1 if channels == 2 else 3]
    if channels in (1, 2):
        assert picture.mode == "gray"
        assert np.array_equal(as_u16(picture)[..., 0], colour.reshape(9, 11))
    else:
        assert picture.mode == "rgb" and np.array_equal(as_u16(picture), colour)
    if channels in (2, 4):
        assert picture.alpha.dtype == np.uint16 and np.array_equal(picture.alpha, samples[..., -1])
    else:
        assert picture.alpha is None


def test_16bit_png_colour_key_becomes_alpha(tmp_path):
    png = independent_png16(np.array([[[1, 2, 3], [4, 5, 6]]], np.uint16))
    body = struct.pack(">HHH", 1, 2, 3)
    trns = struct.pack(">I", len(body)) + b"tRNS" + body + struct.pack(">I", zlib.crc32(b"tRNS" + body))
    at = png.index(b"IDAT") - 4
    (tmp_path / "k.png").write_bytes(png[:at] + trns + png[at:])
    assert read_image(tmp_path / "k.png").alpha.tolist() == [[0, 65535]]


@pytest.mark.parametrize("channels", [3, 4])
def test_writes_16bit_png_that_pillow_decodes(tmp_path, channels):
    samples = random_u16(6, 5, channels)
    picture = Picture(rgb=samples[..., :3] / np.float32(65535), bit_depth=16,
                      alpha=samples[..., 3] if channels == 4 else None)
    write_image(tmp_path / "o.png", picture)
    with Image.open(tmp_path / "o.png") as im:  # Pillow keeps the high byte of 16-bit colour
        assert np.array_equal(np.asarray(im), (samples >> 8).astype(np.uint8))
    back = read_image(tmp_path / "o.png")
    assert np.array_equal(as_u16(back), samples[..., :3])
    if channels == 4:
        assert np.array_equal(back.alpha, samples[..., 3])


@pytest.mark.parametrize("ext", ["png", "tif"])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_16bit_round_trip_is_exact(tmp_path, ext, channels):
    samples = random_u16(7, 6, channels) if channels > 1 else random_u16(7, 6)
    (tmp_path / "in.png").write_bytes(independent_png16(samples, filters=(4,)))
    picture = read_image(tmp_path / "in.png")
    write_image(tmp_path / f"out.{ext}", picture)
    back = read_image(tmp_path / f"out.{ext}")
    assert back.bit_depth == 16
    assert np.array_equal(as_u16(back), as_u16(picture))
    if channels in (2, 4):
        assert np.array_equal(back.alpha, picture.alpha)
    if channels == 1 or (channels == 2 and ext == "png"):
        assert back.mode == "gray"


def test_16bit_gray_png_written_by_pillow_round_trips(tmp_path):
    samples = random_u16(5, 4)
    Image.fromarray(samples).save(tmp_path / "g.png")  # mode I;16
    picture = read_image(tmp_path / "g.png")
    assert (picture.mode, picture.bit_depth) == ("gray", 16)
    write_image(tmp_path / "o.png", picture)
    with Image.open(tmp_path / "o.png") as im:
        assert im.mode in ("I;16", "I") and np.array_equal(np.asarray(im), samples)  # "I" before Pillow 10.4


def test_16bit_into_an_8bit_format_rounds_and_notes(tmp_path):
    samples = np.array([[[0, 32896, 65535]]], np.uint16)  # 32896 = 128 * 257
    picture = Picture(rgb=samples / np.float32(65535), bit_depth=16)
    notes = write_image(tmp_path / "o.bmp", picture)
    assert any("8 bits" in n for n in notes)
    with Image.open(tmp_path / "o.bmp") as im:
        assert np.asarray(im)[0, 0].tolist() == [0, 128, 255]


def test_16bit_tiff_from_tifffile_reads_exactly(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    samples = random_u16(6, 7, 3)
    tifffile.imwrite(tmp_path / "be.tif", samples, byteorder=">", photometric="rgb")
    tifffile.imwrite(tmp_path / "deflate.tif", samples, photometric="rgb", compression="zlib")
    rgba = random_u16(6, 7, 4)
    tifffile.imwrite(tmp_path / "rgba.tif", rgba, photometric="rgb", extrasamples=["unassalpha"])
    for name in ("be.tif", "deflate.tif"):
        assert np.array_equal(as_u16(read_image(tmp_path / name)), samples), name
    picture = read_image(tmp_path / "rgba.tif")
    assert np.array_equal(as_u16(picture), rgba[..., :3]) and np.array_equal(picture.alpha, rgba[..., 3])


def test_16bit_tiff_we_write_reads_in_tifffile(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    samples = random_u16(5, 9, 4)
    picture = Picture(rgb=samples[..., :3] / np.float32(65535), alpha=samples[..., 3], bit_depth=16,
                      dpi=(300.0, 300.0), icc=srgb_icc(), exif=exif_block())
    write_image(tmp_path / "o.tif", picture)
    assert np.array_equal(tifffile.imread(tmp_path / "o.tif"), samples)
    back = read_image(tmp_path / "o.tif")
    assert back.icc == picture.icc and back.dpi == (300.0, 300.0)
    tags = Image.Exif()
    tags.load(back.exif)
    assert tags[MAKE] == "TestMake" and tags.get_ifd(EXIF_IFD)[DATE_ORIGINAL] == "2024:05:06 07:08:09"
