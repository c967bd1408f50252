"""What a photo carries besides pixels: EXIF orientation applied and reset, other EXIF tags, ICC profile and DPI kept
where the format holds them, TIFF layout tags not leaked, a note where something is dropped."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps

from deblur_cli.images import Picture, read_image, write_image
from deblur_cli.images.metadata import PIXEL_X_DIMENSION, PIXEL_Y_DIMENSION
from image_fixtures import (DATE_ORIGINAL, EXIF_IFD, MAKE, MODEL, ORIENTATION, as_u8, asymmetric_image, exif_block,
                            random_u8, random_u16, srgb_icc)


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
