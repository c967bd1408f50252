"""Procedural stand-ins for photos, for timings that need image files but no particular content."""

from __future__ import annotations

import numpy as np

from ..measure.levels import quantize


def photo_like(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Smooth gradients plus mild noise: compresses like a photo (pure noise would make huge JPEGs)."""
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    base = np.stack([xx, yy, 1 - xx * yy], axis=-1) * rng.uniform(0.4, 1.0, 3)
    noisy = base + rng.normal(0, 0.03, base.shape)
    return quantize(noisy)
