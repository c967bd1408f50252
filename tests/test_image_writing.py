"""write_image's own rules: rounding to the nearest level, clipping, the format from the extension, folders created,
the input never overwritten, and atomic writes that leave no half file or temporary behind."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from deblur_cli.errors import DeblurError
from deblur_cli.images import Picture, jpeg_round_trip, read_image, write_image, write_pixels
from deblur_cli.images import writing
from image_fixtures import random_u8, as_u16, folder_listing


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


def test_write_pixels_writes_8bit_samples_as_given_atomically(tmp_path):
    pixels = random_u8(5, 7, 3)
    write_pixels(tmp_path / "a" / "p.png", pixels)
    with Image.open(tmp_path / "a" / "p.png") as im:
        assert np.array_equal(np.asarray(im), pixels)
    write_pixels(tmp_path / "a" / "q.jpg", pixels, quality=60)
    with Image.open(tmp_path / "a" / "q.jpg") as im:
        assert im.format == "JPEG" and im.size == (7, 5)
    with pytest.raises(DeblurError, match="cannot tell the image format"):
        write_pixels(tmp_path / "a" / "p.gif", pixels)
    assert folder_listing(tmp_path / "a") == ["p.png", "q.jpg"]


def test_jpeg_round_trip_changes_the_samples_as_a_jpeg_file_would(tmp_path):
    pixels = random_u8(16, 16, 3)
    rough, fine = jpeg_round_trip(pixels, 30), jpeg_round_trip(pixels, 95)
    assert rough.shape == pixels.shape and rough.dtype == np.uint8
    error = [np.abs(x.astype(int) - pixels).mean() for x in (rough, fine)]
    assert 0 < error[1] < error[0]
    write_pixels(tmp_path / "j.jpg", pixels, quality=30)
    with Image.open(tmp_path / "j.jpg") as im:
        assert np.array_equal(np.asarray(im), rough)
