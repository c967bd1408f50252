"""8-bit round trips through every format we write (PNG, TIFF, BMP, WebP exactly; JPEG closely), gray staying gray,
alpha carried or flattened onto white where the format has none."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from deblur_cli.images import Picture, read_image, write_image
from image_fixtures import random_u8, as_u8


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
