"""The non-blind reference (`deblur_cli.eval.nonblind`): sets record their true kernels, and deconvolution given
them recovers detail that deconvolution given a wrong kernel does not."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from deblur_cli.eval.held_out_photos import GOPRO_MIX, PhotoSet, make_photo_sets
from deblur_cli.eval.nonblind import deconvolve, kernel_pairs, nonblind_reference


def _photos(folder, n=2):
    folder.mkdir(parents=True)
    for i in range(n):
        rng = np.random.default_rng(i)
        low = Image.fromarray((rng.random((8, 8, 3)) * 255).astype(np.uint8)).resize((200, 160), Image.BICUBIC)
        blocks = Image.fromarray((rng.random((10, 12, 1)).repeat(3, 2) * 80).astype(np.uint8)).resize((200, 160), Image.NEAREST)
        pixels = np.asarray(low).astype(int) // 2 + np.asarray(blocks)  # smooth shading and sharp-edged blocks
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(folder / f"p{i}.png")
    return folder


@pytest.fixture
def sets(tmp_path):
    photos = _photos(tmp_path / "val")
    clean = replace(GOPRO_MIX, megapixels=(0.03, 0.03), p_noise=0.0, p_jpeg=0.0, min_extent=6.0, max_extent=9.0)
    specs = {"gopro-kernel": PhotoSet("kernel", 11, 3, 64, clean), "gopro-shake": PhotoSet("shake", 12, 2, 64, clean)}
    lines = make_photo_sets(photos, tmp_path / "sets", specs)
    assert "paths 6-9 px" in lines[0]
    return tmp_path / "sets"


def test_kernel_sets_record_their_true_kernels_and_shake_sets_none(sets):
    pairs = kernel_pairs(sets / "gopro-kernel")
    assert len(pairs) == 3 and not kernel_pairs(sets / "gopro-shake")
    for blur, sharp, kernel in pairs:
        k = np.load(kernel, allow_pickle=False)
        assert blur.exists() and sharp.exists() and k.ndim == 2 and k.sum() == pytest.approx(1.0, abs=1e-4)


def test_deconvolution_given_the_true_kernel_gains_and_a_wrong_kernel_does_not(sets):
    ref = nonblind_reference(sets / "gopro-kernel")
    assert set(ref) == {"wiener", "richardson-lucy"} and ref["wiener"].n == 3
    assert ref["wiener"].gain > 1.5 and ref["richardson-lucy"].gain > 1.5 and "balance" in ref["wiener"].method
    from deblur_cli.images import read_image

    blur, sharp, kernel = kernel_pairs(sets / "gopro-kernel")[0]
    b, s = read_image(blur).rgb, read_image(sharp).rgb
    true_k = np.load(kernel, allow_pickle=False)
    wrong_k = np.rot90(true_k).copy()  # the same amount of blur, the wrong direction
    err = lambda k: float(np.abs(deconvolve(b, k, "wiener") - s)[8:-8, 8:-8].mean())  # noqa: E731
    assert err(true_k) < 0.9 * err(wrong_k) and err(true_k) < float(np.abs(b - s)[8:-8, 8:-8].mean())
    assert nonblind_reference(sets / "gopro-shake") == {}
    with pytest.raises(ValueError, match="method"):
        deconvolve(b, true_k, "unsharp")


def test_deblur_eval_prints_the_reference_beside_the_networks(sets, capsys):
    from deblur_cli.cli.app import main

    with pytest.raises(SystemExit) as exc:
        main(["eval", "--root", str(sets / "gopro-kernel"), "-m", "bag-compact", "--limit", "2", "--format",
              "markdown", "--no-flops", "--ensemble", "1"])
    out = capsys.readouterr().out
    assert exc.value.code == 0 and "| bag-compact" in out
    assert "Non-blind reference: wiener (balance" in out and "on 2 images" in out
    assert "Non-blind reference: richardson-lucy (10 iterations)" in out
    with pytest.raises(SystemExit):
        main(["eval", "--root", str(sets / "gopro-shake"), "-m", "bag-compact", "--limit", "1", "--format",
              "markdown", "--no-flops", "--ensemble", "1"])
    assert "Non-blind" not in capsys.readouterr().out  # camera shake has no one kernel
