"""The one 8-bit (and 16-bit) quantisation, `measure.levels`: it rounds and clips as documented, and the writers
that used to carry their own copy of ``np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)`` write the same bytes."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from deblur_cli.measure.levels import clip_unit, quantize, to_uint8


def _old(x: np.ndarray) -> np.ndarray:
    """What data/writer, data/standins, data/photo_pairs, synth/degrade and the tools computed before."""
    return np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)


def _awkward(dtype) -> np.ndarray:
    """Every level and every half-way point between two levels, a hair either side, and out-of-range values."""
    k = np.arange(0, 256, 0.5)
    x = np.concatenate([k / 255, np.nextafter(k / 255, 2), np.nextafter(k / 255, -2), [-1.0, -1e-9, 1 + 1e-9, 7.0]])
    rng = np.random.default_rng(0)
    return np.concatenate([x, rng.uniform(-0.1, 1.1, 4460)]).astype(dtype).reshape(-1, 4, 3)


def test_rounds_half_to_even_after_clipping():
    halves = [k for k in range(255) if np.float32((k + 0.5) / 255) * np.float32(255) == np.float32(k + 0.5)]
    assert halves  # some exact half-way products exist in float32
    for k in halves:
        assert quantize(np.array([np.float32((k + 0.5) / 255)]))[0] == (k if k % 2 == 0 else k + 1)
    assert quantize(np.array([0.6 / 255]))[0] == 1  # rounds, does not truncate
    assert quantize(np.array([0.4 / 255]))[0] == 0
    assert quantize(np.array([-3.0, -np.inf, 2.0, np.inf, np.nan])).tolist() == [0, 0, 255, 255, 0]
    assert quantize(np.array([0.0, 1.0, 0.5, 2.0]), depth=16).tolist() == [0, 65535, 32768, 65535]
    assert quantize(np.zeros(2, np.float32)).dtype == np.uint8
    assert quantize(np.zeros(2, np.float32), depth=16).dtype == np.uint16
    with pytest.raises(ValueError):
        quantize(np.zeros(2), depth=12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_same_levels_as_the_former_copies(dtype):
    x = _awkward(dtype)
    assert np.array_equal(quantize(x), _old(x))
    # the product stays in the input's precision, as the old expressions and BasicSR's tensor2img had it
    inside = np.clip(x, 0, 1)
    assert np.array_equal(quantize(x), np.rint(inside * dtype(255)).astype(np.uint8))
    assert clip_unit(x).dtype == dtype
    assert np.array_equal(clip_unit(x), inside)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_torch_form_gives_the_same_levels(dtype):
    x = _awkward(dtype)
    levels = to_uint8(torch.from_numpy(x))
    assert levels.dtype == torch.float64
    assert np.array_equal(levels.numpy(), quantize(x).astype(np.float64))


def _png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


def test_pair_writer_and_eval_saving_write_identical_bytes(tmp_path):
    from deblur_cli.eval.saving import ImageSaver
    from deblur_cli.images import write_pixels

    image = _awkward(np.float32).reshape(-1)[:3072].reshape(32, 32, 3)
    expected = _png(_old(image))  # the bytes both wrote before the helper

    write_pixels(tmp_path / "writer.png", quantize(image))  # as data/writer.py writes a pair
    saver = ImageSaver(tmp_path / "eval", comparisons=False)
    tensor = torch.from_numpy(image).permute(2, 0, 1)[None]
    saver("v", "x", tensor, tensor, tensor)

    assert (tmp_path / "writer.png").read_bytes() == expected
    assert saver.path("v", "x").read_bytes() == expected


def test_write_image_writes_the_same_levels(tmp_path):
    from deblur_cli.images import read_image, write_image

    image = _awkward(np.float32).reshape(-1)[:3072].reshape(32, 32, 3)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "in.png")
    picture = read_image(tmp_path / "in.png")
    write_image(tmp_path / "out.png", picture, rgb=image)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png").convert("RGB")), _old(image))
