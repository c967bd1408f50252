"""Fibre textures and smooth warps of the procedural scenes (deblur_cli/data/synth/fibres.py)."""

from __future__ import annotations

import numpy as np
import pytest

from deblur_cli.data.mix import SynthConfig
from deblur_cli.data.synth import make_pair
from deblur_cli.data.synth.fibres import fibre_field, smooth_warp, spectral_noise
from deblur_cli.data.synth.scenes import scene


def orientation_coherence(field: np.ndarray, block: int = 16) -> float:
    """Mean over blocks of (l1 - l2) / (l1 + l2) of the gradient structure tensor: 0 isotropic, 1 one direction."""
    gy, gx = np.gradient(field.astype(np.float64))
    values = []
    for y in range(0, field.shape[0] - block + 1, block):
        for x in range(0, field.shape[1] - block + 1, block):
            a, b = gx[y:y + block, x:x + block], gy[y:y + block, x:x + block]
            jxx, jyy, jxy = (a * a).sum(), (b * b).sum(), (a * b).sum()
            values.append(np.hypot(jxx - jyy, 2 * jxy) / (jxx + jyy + 1e-12))
    return float(np.mean(values))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fibre_field_is_oriented_where_noise_is_not(seed):
    fibres = fibre_field(np.random.default_rng(seed), 96, 96)
    noise = spectral_noise(np.random.default_rng(seed), 96, 96, 1.0)
    assert orientation_coherence(fibres) > 0.5 > 0.2 > orientation_coherence(noise)
    assert abs(float(fibres.mean())) < 1e-3 and float(fibres.std()) == pytest.approx(1.0, abs=1e-3)


def test_fibre_field_wraps_around_without_a_seam():
    f = fibre_field(np.random.default_rng(4), 64, 80)
    inner = np.abs(np.diff(f, axis=1)).mean()
    seam = np.abs(f[:, 0] - f[:, -1]).mean()
    assert seam < 1.5 * inner  # leaves read windows of the field with wrap-around


def test_smooth_warp_moves_content_but_keeps_it():
    image = np.random.default_rng(0).random((64, 64, 3)).astype(np.float32)
    np.testing.assert_allclose(smooth_warp(np.random.default_rng(1), image, 0.0), image, atol=1e-6)
    warped = smooth_warp(np.random.default_rng(1), image, 4.0)
    assert warped.shape == image.shape and not np.allclose(warped, image, atol=0.05)
    assert image.min() - 1e-6 <= warped.min() and warped.max() <= image.max() + 1e-6  # interpolation only
    flat = np.full((32, 32, 3), 0.3, np.float32)
    np.testing.assert_allclose(smooth_warp(np.random.default_rng(2), flat, 6.0), flat, atol=1e-6)


def test_fibres_and_warps_change_scenes_only_when_asked():
    plain = scene(np.random.default_rng(5), 96, 96)
    np.testing.assert_array_equal(plain, scene(np.random.default_rng(5), 96, 96, p_fibres=0.0, p_warp=0.0))
    furry = scene(np.random.default_rng(5), 96, 96, p_fibres=1.0, p_warp=1.0)
    assert furry.shape == plain.shape and 0 <= furry.min() and furry.max() <= 1
    assert not np.allclose(furry, plain)
    np.testing.assert_array_equal(furry, scene(np.random.default_rng(5), 96, 96, p_fibres=1.0, p_warp=1.0))


def test_make_pair_with_fibres_is_deterministic_and_in_range():
    cfg = SynthConfig(p_fibres=0.5, p_warp=0.5)
    b1, s1 = make_pair(np.random.default_rng(9), 64, "objects", cfg)
    b2, s2 = make_pair(np.random.default_rng(9), 64, "objects", cfg)
    np.testing.assert_array_equal(b1, b2)
    np.testing.assert_array_equal(s1, s2)
    assert 0 <= b1.min() and b1.max() <= 1 and s1.shape == (64, 64, 3)
