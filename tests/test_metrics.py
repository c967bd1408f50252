"""PSNR/SSIM agree with scikit-image's reference implementations on varied images."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.filters import gaussian as sk_gaussian
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from deblur_cli.measure import metrics


def _levels(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)


def _sk_ssim(a: np.ndarray, b: np.ndarray, channel_axis=-1) -> float:
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=255, channel_axis=channel_axis)


def _t(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))).unsqueeze(0)


def _pairs():
    rng = np.random.default_rng(0)
    noise = rng.random((37, 53, 3), dtype=np.float32)
    yy, xx = np.mgrid[0:48, 0:64].astype(np.float32)
    smooth = np.stack([xx / 64, yy / 48, (xx + yy) / 112], axis=-1)
    texture = rng.random((40, 41, 3)).astype(np.float32)
    blurred = sk_gaussian(texture, sigma=2, channel_axis=-1).astype(np.float32)
    return {
        "random": (noise, rng.random(noise.shape, dtype=np.float32)),
        "random-vs-noisy": (noise, noise + rng.normal(0, 0.05, noise.shape).astype(np.float32)),
        "smooth": (smooth, smooth + 0.02 * np.sin(xx / 3)[..., None]),
        "blurred-pair": (blurred, texture),
        "odd-size-11": (rng.random((11, 13, 3), dtype=np.float32), rng.random((11, 13, 3), dtype=np.float32)),
        "constant-vs-image": (np.full((20, 24, 3), 0.5, np.float32), noise[:20, :24]),
        "two-constants": (np.full((16, 16, 3), 0.2, np.float32), np.full((16, 16, 3), 0.7, np.float32)),
        "out-of-range": (noise * 1.4 - 0.2, noise),
    }


@pytest.mark.parametrize("case", list(_pairs()))
def test_rgb_metrics_match_scikit_image(case):
    pred, target = _pairs()[case]
    p8, t8 = _levels(pred), _levels(target)
    ours_psnr, ours_ssim = metrics.psnr_ssim(_t(pred), _t(target))
    assert float(ours_psnr[0]) == pytest.approx(peak_signal_noise_ratio(t8, p8, data_range=255), abs=1e-3)
    assert float(ours_ssim[0]) == pytest.approx(_sk_ssim(p8, t8), abs=1e-4)
    assert float(metrics.ssim(_t(pred), _t(target))[0]) == pytest.approx(float(ours_ssim[0]), abs=1e-12)


def test_batched_equals_one_by_one():
    rng = np.random.default_rng(1)
    a = torch.rand(4, 3, 24, 30, generator=torch.Generator().manual_seed(0))
    b = (a + torch.from_numpy(rng.normal(0, 0.1, a.shape)).float())
    batch = metrics.psnr_ssim(a, b)
    for i in range(4):
        single = metrics.psnr_ssim(a[i], b[i])
        assert torch.allclose(batch[0][i], single[0][0]) and torch.allclose(batch[1][i], single[1][0])


def test_identical_images():
    x = torch.rand(1, 3, 16, 16)
    assert math.isinf(float(metrics.psnr(x, x)[0]))
    assert float(metrics.ssim(x, x)[0]) == pytest.approx(1.0, abs=1e-12)


def test_quantisation_rounds_instead_of_truncating():
    x = torch.full((1, 3, 1, 1), 100.6 / 255)
    assert float(metrics.to_uint8(x).flatten()[0]) == 101.0
    assert metrics.to_uint8(torch.tensor([-0.3, 1.7])).tolist() == [0.0, 255.0]


def test_y_channel_and_border_crop_match_basicsr_definition():
    rng = np.random.default_rng(2)
    pred, target = rng.random((30, 34, 3), dtype=np.float32), rng.random((30, 34, 3), dtype=np.float32)
    p8, t8 = _levels(pred).astype(np.float64), _levels(target).astype(np.float64)
    weights = np.array([65.481, 128.553, 24.966])
    crop = 4

    def y(img):  # BasicSR to_y_channel, unrounded, 0..255 scale, then border crop
        return (img @ weights / 255 + 16.0)[crop:-crop, crop:-crop]

    py, ty = y(p8), y(t8)
    ours_p = float(metrics.psnr(_t(pred), _t(target), y_channel=True, crop_border=crop)[0])
    ours_s = float(metrics.ssim(_t(pred), _t(target), y_channel=True, crop_border=crop)[0])
    assert ours_p == pytest.approx(peak_signal_noise_ratio(ty, py, data_range=255), abs=1e-3)
    assert ours_s == pytest.approx(_sk_ssim(py, ty, channel_axis=None), abs=1e-4)


def test_uint8_input_is_used_as_levels():
    rng = np.random.default_rng(3)
    a8 = rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)
    b8 = rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)
    ours = float(metrics.psnr(_t(a8), _t(b8))[0])
    assert ours == pytest.approx(peak_signal_noise_ratio(b8, a8, data_range=255), abs=1e-6)


def test_errors_are_clear():
    with pytest.raises(ValueError, match="at least 11x11"):
        metrics.ssim(torch.rand(1, 3, 10, 30), torch.rand(1, 3, 10, 30))
    with pytest.raises(ValueError, match="shapes differ"):
        metrics.psnr(torch.rand(1, 3, 12, 12), torch.rand(1, 3, 12, 13))
