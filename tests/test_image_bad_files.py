"""A file that is not a readable image fails with one line that names it and says why: empty, not an image,
truncated, corrupt, missing, a folder, or over the decompression-bomb limit."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from deblur_cli.images import ImageReadError, read_image
from image_fixtures import random_u8


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
