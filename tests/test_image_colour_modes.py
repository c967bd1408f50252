"""Files whose colour mode the network cannot take as stored: palette, bilevel, colour-key transparency and CMYK
(plain, through its ICC profile, or with a broken one) are read as gray, RGB or RGBA, and a note says so."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageCms

from deblur_cli.images import read_image
from image_fixtures import as_u8, cmyk_profile


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
