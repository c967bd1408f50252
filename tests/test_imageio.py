"""Reading and writing photos: every format and mode round-trips, metadata survives, bad files fail in one line.

Test images are made here with Pillow and numpy. 16-bit colour files are made by an independent encoder below
(every PNG row filter, Adam7 interlacing) and, when tifffile is installed, by tifffile; our own 16-bit writers are
checked against Pillow's decoder and tifffile in turn.
"""

from __future__ import annotations

import io
import itertools
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps, JpegImagePlugin

from deblur_cli.errors import DeblurError
from deblur_cli.images import ImageReadError, Picture, read_image, write_image
from deblur_cli.images import writing
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


def encode_png16(samples: np.ndarray, filters=(0, 1, 2, 3, 4), interlace: bool = False) -> bytes:
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


# ---------------------------------------------------------------------------------------------- 8-bit round trips


@pytest.mark.parametrize("ext", ["png", "tif", "bmp", "webp"])
def test_rgb8_round_trip_is_exact_in_lossless_formats(tmp_path, ext):
    pixels = random_u8(6, 9, 3)
    src = tmp_path / f"in.{ext}"
    Image.fromarray(pixels).save(src, **({"lossless": True} if ext == "webp" else {}))
    picture = read_image(src)
    assert picture.mode == "rgb" and picture.bit_depth == 8 and picture.alpha is None
    assert picture.rgb.dtype == np.float32 and picture.rgb.shape == (6, 9, 3)
    assert np.array_equal(as_u8(picture), pixels)

    out = tmp_path / f"out.{ext}"
    write_image(out, picture, quality=100)
    with Image.open(out) as im:
        assert im.mode == "RGB"
        assert np.array_equal(np.asarray(im), pixels)


def test_jpeg_round_trip_is_close_and_uses_full_colour_resolution(tmp_path):
    pixels = np.full((16, 16, 3), (200, 120, 40), np.uint8)
    src = tmp_path / "in.jpg"
    Image.fromarray(pixels).save(src, quality=98)
    picture = read_image(src)
    assert picture.format == "JPEG"
    out = tmp_path / "out.jpg"
    write_image(out, picture)
    with Image.open(out) as im:
        assert JpegImagePlugin.get_sampling(im) == 0  # 4:4:4 at quality >= 90
        assert np.abs(np.asarray(im).astype(int) - pixels).max() <= 3


def test_quality_changes_jpeg_and_webp_size(tmp_path):
    picture = Picture(rgb=random_u8(32, 32, 3).astype(np.float32) / 255)
    for ext in ("jpg", "webp"):
        write_image(tmp_path / f"low.{ext}", picture, quality=30)
        write_image(tmp_path / f"high.{ext}", picture, quality=95)
        assert (tmp_path / f"low.{ext}").stat().st_size < (tmp_path / f"high.{ext}").stat().st_size


def test_webp_quality_100_is_lossless(tmp_path):
    pixels = random_u8(8, 8, 3)
    write_image(tmp_path / "out.webp", Picture(rgb=pixels.astype(np.float32) / 255), quality=100)
    assert np.array_equal(as_u8(read_image(tmp_path / "out.webp")), pixels)


@pytest.mark.parametrize("ext", ["png", "tif", "jpg", "bmp"])
def test_gray_stays_gray(tmp_path, ext):
    pixels = np.tile(np.arange(0, 240, 20, dtype=np.uint8), (5, 1))
    src = tmp_path / f"in.{ext}"
    Image.fromarray(pixels, mode="L").save(src, **({"quality": 100} if ext == "jpg" else {}))
    picture = read_image(src)
    assert picture.mode == "gray" and picture.bit_depth == 8
    assert np.array_equal(picture.rgb[..., 0], picture.rgb[..., 1])
    assert np.array_equal(picture.rgb[..., 0], picture.rgb[..., 2])

    out = tmp_path / f"out.{ext}"
    write_image(out, picture, quality=100)
    with Image.open(out) as im:
        assert im.mode == "L"
        tolerance = 2 if ext == "jpg" else 0
        assert np.abs(np.asarray(im).astype(int) - np.rint(picture.rgb[..., 0] * 255)).max() <= tolerance


def test_gray_is_written_as_the_mean_of_the_restored_channels(tmp_path):
    picture = Picture(rgb=np.zeros((2, 2, 3), np.float32), mode="gray")
    restored = np.zeros((2, 2, 3), np.float32)
    restored[..., 0], restored[..., 1], restored[..., 2] = 0.2, 0.5, 0.8
    write_image(tmp_path / "g.png", picture, rgb=restored)
    with Image.open(tmp_path / "g.png") as im:
        assert im.mode == "L" and np.all(np.asarray(im) == 128)  # mean 0.5 -> 127.5 -> 128


@pytest.mark.parametrize("ext", ["png", "tif", "webp"])
def test_rgba_alpha_is_carried_bit_exact(tmp_path, ext):
    rgba = random_u8(5, 7, 4)
    src = tmp_path / f"in.{ext}"
    Image.fromarray(rgba).save(src, **({"lossless": True} if ext == "webp" else {}))
    picture = read_image(src)
    assert picture.alpha is not None and picture.alpha.dtype == np.uint8
    assert np.array_equal(picture.alpha, rgba[..., 3])

    out = tmp_path / f"out.{ext}"
    restored = np.clip(picture.rgb * 0.5, 0, 1)  # the colour changes, the alpha must not
    write_image(out, picture, rgb=restored, quality=100)
    with Image.open(out) as im:
        assert im.mode == "RGBA"
        assert np.array_equal(np.asarray(im)[..., 3], rgba[..., 3])


@pytest.mark.parametrize("ext", ["png", "tif"])
def test_gray_alpha_round_trip(tmp_path, ext):
    la = random_u8(4, 6, 2)
    Image.fromarray(la, mode="LA").save(tmp_path / "in.png")
    picture = read_image(tmp_path / "in.png")
    assert picture.mode == "gray" and np.array_equal(picture.alpha, la[..., 1])
    write_image(tmp_path / f"out.{ext}", picture)
    with Image.open(tmp_path / f"out.{ext}") as im:
        assert im.mode == "LA" and np.array_equal(np.asarray(im), la)


def test_8bit_tiff_we_write_reads_in_tifffile(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    rgba = random_u8(5, 6, 4)
    write_image(tmp_path / "o.tif", Picture(rgb=rgba[..., :3] / np.float32(255), alpha=rgba[..., 3]))
    assert np.array_equal(tifffile.imread(tmp_path / "o.tif"), rgba)


@pytest.mark.parametrize("ext", ["jpg", "bmp"])
def test_formats_without_alpha_flatten_onto_white_with_a_note(tmp_path, ext):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 3] = [[0, 255], [255, 0]]
    Image.fromarray(rgba).save(tmp_path / "in.png")
    notes = write_image(tmp_path / f"out.{ext}", read_image(tmp_path / "in.png"), quality=100)
    assert any("flattened onto white" in n for n in notes)
    with Image.open(tmp_path / f"out.{ext}") as im:
        assert im.mode == "RGB"
        pixels = np.asarray(im).astype(int)
    assert pixels[0, 0].min() >= 250 and pixels[0, 1].max() <= 5  # transparent -> white, opaque black stays


def test_palette_image_is_read_as_rgb_with_a_note(tmp_path):
    indices = np.array([[0, 1], [2, 1]], np.uint8)
    image = Image.fromarray(indices, mode="P")
    image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 759)
    image.save(tmp_path / "p.png")
    picture = read_image(tmp_path / "p.png")
    assert picture.mode == "rgb" and picture.alpha is None
    assert any("palette" in n for n in picture.notes)
    assert as_u8(picture)[0, 0].tolist() == [255, 0, 0] and as_u8(picture)[1, 0].tolist() == [0, 0, 255]


def test_palette_with_transparency_gets_alpha(tmp_path):
    image = Image.fromarray(np.array([[0, 1]], np.uint8), mode="P")
    image.putpalette([10, 20, 30, 40, 50, 60] + [0] * 762)
    image.save(tmp_path / "p.png", transparency=0)
    picture = read_image(tmp_path / "p.png")
    assert picture.alpha.tolist() == [[0, 255]]


def test_png_colour_key_transparency_becomes_alpha(tmp_path):
    pixels = np.array([[[1, 2, 3], [4, 5, 6]]], np.uint8)
    Image.fromarray(pixels).save(tmp_path / "t.png", transparency=(1, 2, 3))
    assert read_image(tmp_path / "t.png").alpha.tolist() == [[0, 255]]


def test_bilevel_image_reads_as_gray(tmp_path):
    Image.fromarray(np.array([[0, 255]], np.uint8)).convert("1").save(tmp_path / "b.png")
    picture = read_image(tmp_path / "b.png")
    assert picture.mode == "gray" and as_u8(picture)[0, :, 0].tolist() == [0, 255]


# ------------------------------------------------------------------------------------------------------ CMYK


def test_cmyk_without_profile_is_converted_plainly_with_a_note(tmp_path):
    cmyk = Image.frombytes("CMYK", (2, 1), bytes([0, 0, 0, 0, 255, 0, 0, 0]))
    cmyk.save(tmp_path / "c.jpg", quality=100)
    picture = read_image(tmp_path / "c.jpg")
    assert picture.mode == "rgb" and picture.icc is None
    assert any("without colour management" in n for n in picture.notes)
    assert as_u8(picture)[0, 0].min() >= 250  # no ink -> white


def test_cmyk_with_profile_is_converted_through_it(tmp_path):
    cmyk = Image.frombytes("CMYK", (3, 1), bytes([0, 0, 0, 0, 0, 0, 0, 255, 255, 0, 0, 0]))
    icc = cmyk_profile()
    cmyk.save(tmp_path / "c.tif", icc_profile=icc)
    picture = read_image(tmp_path / "c.tif")
    expected = ImageCms.profileToProfile(cmyk, ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                                         ImageCms.createProfile("sRGB"), outputMode="RGB")
    assert np.array_equal(as_u8(picture)[0], np.asarray(expected)[0])
    assert not np.array_equal(as_u8(picture)[0], np.asarray(cmyk.convert("RGB"))[0])  # not the naive formula
    assert any("through its embedded ICC profile" in n for n in picture.notes)
    assert picture.icc is None  # a CMYK profile must not label the RGB result


def test_cmyk_with_a_broken_profile_falls_back_and_says_why(tmp_path):
    Image.new("CMYK", (2, 2)).save(tmp_path / "c.jpg", icc_profile=b"not a profile" * 20)
    picture = read_image(tmp_path / "c.jpg")
    assert any("ICC profile is unusable" in n for n in picture.notes)


# ---------------------------------------------------------------------------------------------------- 16-bit


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("interlace", [False, True])
def test_reads_16bit_png_of_every_colour_type_exactly(tmp_path, channels, interlace):
    samples = random_u16(9, 11, channels) if channels > 1 else random_u16(9, 11)
    path = tmp_path / "in.png"
    path.write_bytes(encode_png16(samples, interlace=interlace))
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
    png = encode_png16(np.array([[[1, 2, 3], [4, 5, 6]]], np.uint16))
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
    (tmp_path / "in.png").write_bytes(encode_png16(samples, filters=(4,)))
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


# ------------------------------------------------------------------------------------------ orientation and metadata


def asymmetric_image() -> np.ndarray:
    pixels = np.zeros((4, 6, 3), np.uint8)
    pixels[..., 0] = np.arange(6) * 40
    pixels[..., 1] = (np.arange(4) * 60)[:, None]
    pixels[0, 0] = (255, 255, 255)
    return pixels


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_pillow_does(tmp_path, orientation):
    path = tmp_path / "o.png"
    Image.fromarray(asymmetric_image()).save(path, exif=exif_block(orientation))
    picture = read_image(path)
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im))
    assert np.array_equal(as_u8(picture), expected)


def test_orientation_6_is_applied_reset_and_other_tags_kept(tmp_path):
    path = tmp_path / "in.jpg"
    Image.fromarray(asymmetric_image()).save(path, quality=100, exif=exif_block(6, width=6, height=4))
    picture = read_image(path)
    assert picture.rgb.shape == (6, 4, 3)  # portrait now

    write_image(tmp_path / "out.jpg", picture)
    with Image.open(tmp_path / "out.jpg") as im:
        assert im.size == (4, 6)
        tags = im.getexif()
        assert tags[ORIENTATION] == 1
        assert tags[MAKE] == "TestMake" and tags[MODEL] == "Model 7"
        sub = tags.get_ifd(EXIF_IFD)
        assert sub[DATE_ORIGINAL] == "2024:05:06 07:08:09"
        assert (sub[PIXEL_X_DIMENSION], sub[PIXEL_Y_DIMENSION]) == (4, 6)
        assert np.asarray(ImageOps.exif_transpose(im)).shape == (6, 4, 3)  # viewers do not rotate it again


@pytest.mark.parametrize("ext", ["jpg", "png", "tif", "webp"])
def test_icc_profile_dpi_and_exif_are_carried(tmp_path, ext):
    icc = srgb_icc()
    src = tmp_path / "in.png"
    Image.fromarray(random_u8(4, 4, 3)).save(src, icc_profile=icc, dpi=(300, 300), exif=exif_block())
    picture = read_image(src)
    assert picture.icc == icc and picture.dpi == pytest.approx((300, 300), abs=0.01)
    write_image(tmp_path / f"out.{ext}", picture)
    with Image.open(tmp_path / f"out.{ext}") as im:
        assert im.info.get("icc_profile") == icc
        if ext != "webp":  # WebP has no resolution field
            assert im.info["dpi"] == pytest.approx((300, 300), abs=0.01)
        assert im.getexif()[MAKE] == "TestMake"


def test_16bit_png_carries_icc_dpi_and_exif(tmp_path):
    picture = Picture(rgb=random_u16(3, 3, 3) / np.float32(65535), bit_depth=16, icc=srgb_icc(),
                      dpi=(72.0, 72.0), exif=exif_block(1))
    write_image(tmp_path / "o.png", picture)
    back = read_image(tmp_path / "o.png")
    assert back.icc == picture.icc and back.dpi == pytest.approx((72, 72), abs=0.01)
    tags = Image.Exif()
    tags.load(back.exif)
    assert tags[MODEL] == "Model 7"


def test_tiff_layout_tags_do_not_leak_into_exif(tmp_path):
    Image.fromarray(random_u8(3, 3, 3)).save(tmp_path / "in.tif", exif=exif_block())
    picture = read_image(tmp_path / "in.tif")
    tags = Image.Exif()
    tags.load(picture.exif)
    assert tags[MAKE] == "TestMake"
    assert not {256, 257, 258, 273, 279} & set(tags)


def test_rgb_profile_is_not_attached_to_gray_output(tmp_path):
    picture = Picture(rgb=np.zeros((2, 2, 3), np.float32), mode="gray", icc=srgb_icc())
    notes = write_image(tmp_path / "g.png", picture)
    assert any("ICC profile" in n for n in notes)
    with Image.open(tmp_path / "g.png") as im:
        assert "icc_profile" not in im.info


def test_bmp_drops_metadata_with_a_note(tmp_path):
    picture = Picture(rgb=np.zeros((2, 2, 3), np.float32), icc=srgb_icc(), exif=exif_block())
    notes = write_image(tmp_path / "o.bmp", picture)
    assert any("EXIF and ICC profile not written" in n for n in notes)


def test_multi_frame_files_read_the_first_frame_with_a_note(tmp_path):
    frames = [Image.new("RGB", (3, 3), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(tmp_path / "a.tif", save_all=True, append_images=frames[1:])
    picture = read_image(tmp_path / "a.tif")
    assert as_u8(picture)[0, 0].tolist() == [255, 0, 0]
    assert any("2 frames" in n for n in picture.notes)


# ----------------------------------------------------------------------------------------------------- bad input


def assert_one_line(exc: BaseException, path: Path, *words: str) -> None:
    message = str(exc)
    assert "\n" not in message and "Traceback" not in message
    assert str(path) in message
    for word in words:
        assert word in message


def valid_png(tmp_path: Path) -> bytes:
    Image.fromarray(random_u8(32, 32, 3)).save(tmp_path / "ok.png")
    return (tmp_path / "ok.png").read_bytes()


def test_empty_file(tmp_path):
    (tmp_path / "e.jpg").write_bytes(b"")
    with pytest.raises(ImageReadError) as info:
        read_image(tmp_path / "e.jpg")
    assert_one_line(info.value, tmp_path / "e.jpg", "empty")


def test_text_file_renamed_to_jpg(tmp_path):
    (tmp_path / "notes.jpg").write_text("shopping list\nmilk\n")
    with pytest.raises(ImageReadError) as info:
        read_image(tmp_path / "notes.jpg")
    assert_one_line(info.value, tmp_path / "notes.jpg", "not a JPEG")


def test_truncated_jpeg(tmp_path):
    Image.fromarray(random_u8(64, 64, 3)).save(tmp_path / "full.jpg", quality=90)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError) as info:
        read_image(tmp_path / "cut.jpg")
    assert_one_line(info.value, tmp_path / "cut.jpg", "truncated")


def test_corrupt_png_data(tmp_path):
    data = bytearray(valid_png(tmp_path))
    start = data.index(b"IDAT") + 4
    data[start + 10 : start + 60] = bytes(50)  # zeroed deflate stream (the CRC no longer matches either)
    (tmp_path / "bad.png").write_bytes(bytes(data))
    with pytest.raises(ImageReadError) as info:
        read_image(tmp_path / "bad.png")
    assert_one_line(info.value, tmp_path / "bad.png", "corrupt")


def test_corrupt_header_names_the_format(tmp_path):
    data = bytearray(valid_png(tmp_path))
    data[12:16] = b"XXXX"  # IHDR renamed
    (tmp_path / "bad.png").write_bytes(bytes(data))
    with pytest.raises(ImageReadError) as info:
        read_image(tmp_path / "bad.png")
    assert_one_line(info.value, tmp_path / "bad.png", "PNG")


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(ImageReadError, match="folder"):
        read_image(tmp_path)


def test_decompression_bomb_is_refused_with_the_pixel_count(tmp_path):
    Image.new("RGB", (20, 30)).save(tmp_path / "big.png")
    with pytest.raises(ImageReadError) as info:
        read_image(tmp_path / "big.png", max_pixels=100)
    assert_one_line(info.value, tmp_path / "big.png", "600", "100")


def test_pillow_limit_is_the_default_and_max_pixels_raises_it(tmp_path, monkeypatch):
    Image.new("RGB", (20, 30)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(ImageReadError, match="600"):
        read_image(tmp_path / "big.png")
    assert read_image(tmp_path / "big.png", max_pixels=1000).size == (20, 30)  # Pillow alone would refuse (> 2x)
    assert Image.MAX_IMAGE_PIXELS == 100  # restored


# -------------------------------------------------------------------------------------------------------- writing


def test_rounds_to_nearest_not_down(tmp_path):
    values = np.array([[[0.6 / 255, 254.4 / 255, 0.5 + 0.6 / 255]]], np.float32)
    write_image(tmp_path / "r.png", Picture(rgb=values))
    with Image.open(tmp_path / "r.png") as im:
        assert np.asarray(im)[0, 0].tolist() == [1, 254, 128]
    write_image(tmp_path / "r16.png", Picture(rgb=np.full((1, 1, 3), 0.7 / 65535, np.float32), bit_depth=16))
    assert as_u16(read_image(tmp_path / "r16.png"))[0, 0].tolist() == [1, 1, 1]


def test_out_of_range_and_nan_are_clipped(tmp_path):
    values = np.array([[[-0.5, 1.5, np.nan]]], np.float32)
    write_image(tmp_path / "c.png", Picture(rgb=values))
    with Image.open(tmp_path / "c.png") as im:
        assert np.asarray(im)[0, 0].tolist() == [0, 255, 0]


def test_ext_overrides_the_file_name(tmp_path):
    write_image(tmp_path / "out.dat", Picture(rgb=np.zeros((2, 2, 3), np.float32)), ext="png")
    with Image.open(tmp_path / "out.dat") as im:
        assert im.format == "PNG"
    with pytest.raises(DeblurError, match="format"):
        write_image(tmp_path / "out.xyz", Picture(rgb=np.zeros((2, 2, 3), np.float32)))


def test_creates_missing_folders(tmp_path):
    write_image(tmp_path / "a" / "b" / "o.png", Picture(rgb=np.zeros((2, 2, 3), np.float32)))
    assert (tmp_path / "a" / "b" / "o.png").is_file()


def test_refuses_to_overwrite_the_input(tmp_path):
    Image.fromarray(random_u8(3, 3, 3)).save(tmp_path / "in.png")
    before = (tmp_path / "in.png").read_bytes()
    picture = read_image(tmp_path / "in.png")
    (tmp_path / "link.png").symlink_to(tmp_path / "in.png")
    for target in (tmp_path / "in.png", tmp_path / "link.png", tmp_path / "." / "in.png"):
        with pytest.raises(DeblurError, match="overwrite the input"):
            write_image(target, picture, rgb=np.zeros_like(picture.rgb))
    assert (tmp_path / "in.png").read_bytes() == before


def test_alpha_size_mismatch_is_an_error(tmp_path):
    picture = Picture(rgb=np.zeros((4, 4, 3), np.float32), alpha=np.zeros((4, 4), np.uint8))
    with pytest.raises(DeblurError, match="alpha"):
        write_image(tmp_path / "o.png", picture, rgb=np.zeros((4, 5, 3), np.float32))


def test_failed_pillow_save_leaves_neither_output_nor_temporary(tmp_path, monkeypatch):
    (tmp_path / "out.png").write_bytes(b"previous result")

    def half_write_then_fail(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG partial")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", half_write_then_fail)
    picture = Picture(rgb=np.zeros((2, 2, 3), np.float32))
    with pytest.raises(DeblurError, match="disk full"):
        write_image(tmp_path / "out.png", picture)
    with pytest.raises(DeblurError):
        write_image(tmp_path / "new.jpg", picture)
    assert folder_listing(tmp_path) == ["out.png"]
    assert (tmp_path / "out.png").read_bytes() == b"previous result"  # the old file is untouched


def test_failed_16bit_encode_leaves_nothing(tmp_path, monkeypatch):
    def boom(fp, *args, **kwargs):
        fp.write(b"partial")
        raise RuntimeError("encoder bug")

    monkeypatch.setattr(writing.encoders, "encode_png16", boom)
    with pytest.raises(RuntimeError):
        write_image(tmp_path / "o.png", Picture(rgb=np.zeros((2, 2, 3), np.float32), bit_depth=16))
    assert folder_listing(tmp_path) == []


def test_successful_write_leaves_no_temporary(tmp_path):
    write_image(tmp_path / "o.tif", Picture(rgb=np.zeros((2, 2, 3), np.float32), bit_depth=16))
    assert folder_listing(tmp_path) == ["o.tif"]
