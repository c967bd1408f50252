"""PSNR and SSIM for training validation when ``deblur_cli.eval.metrics`` is not importable.

Same definitions as BasicSR (see /work/shared/DATA_AND_METRICS.md): float64 RGB; SSIM per channel with an
11x11 Gaussian window (sigma 1.5), C1 = (0.01 L)^2, C2 = (0.03 L)^2, borders of half a window cropped
(as scikit-image does), mean over channels. Inputs are HxWx3 arrays in [0, 1] (L = 1).
"""

from __future__ import annotations

import math

import numpy as np


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * math.log10(1.0 / mse)


def _gauss_filter(img: np.ndarray, sigma: float = 1.5, size: int = 11) -> np.ndarray:
    r = size // 2
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    p = np.pad(img, r, mode="reflect")
    rows = sum(k[i] * p[i: i + img.shape[0], :] for i in range(size))
    return sum(k[i] * rows[:, i: i + img.shape[1]] for i in range(size))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    c1, c2, r = 0.01 ** 2, 0.03 ** 2, 5
    scores = []
    for ch in range(a.shape[-1]):
        x, y = a[..., ch], b[..., ch]
        mx, my = _gauss_filter(x), _gauss_filter(y)
        sxx = _gauss_filter(x * x) - mx * mx
        syy = _gauss_filter(y * y) - my * my
        sxy = _gauss_filter(x * y) - mx * my
        s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
        scores.append(s[r:-r, r:-r].mean() if min(s.shape) > 2 * r else s.mean())
    return float(np.mean(scores))
