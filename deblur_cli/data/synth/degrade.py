"""Sensor noise and JPEG compression.

Noise is one realisation added to both the input and the target, so the network learns to keep a photo's grain
rather than to remove it: a network that learns denoising flattens hair and skin in photos and over-processes
sharp ones (shared/DATA_AND_METRICS.md, and our own check on `chelsea`: an early model trained with clean targets
lost 0.5-1.1 dB on an already-sharp photo). JPEG is applied to the input only, at mild to moderate levels.
"""

from __future__ import annotations

import numpy as np

from ...images import jpeg_round_trip
from ...measure.levels import quantize


def noise_field(rng: np.random.Generator, image: np.ndarray, max_sigma: float = 0.015) -> np.ndarray:
    """Signal-dependent (shot) plus signal-independent (read) Gaussian noise for ``image``'s levels."""
    read = rng.uniform(0, max_sigma)
    shot = rng.uniform(0, max_sigma)
    sigma = np.sqrt(read ** 2 + (shot ** 2) * np.clip(image, 0, 1))
    return (rng.normal(size=image.shape) * sigma).astype(np.float32)


def sensor_noise(rng: np.random.Generator, image: np.ndarray, max_sigma: float = 0.015) -> np.ndarray:
    return np.clip(image + noise_field(rng, image, max_sigma), 0, 1).astype(np.float32)


def jpeg(rng: np.random.Generator, image: np.ndarray, quality_range: tuple[int, int] = (55, 95)) -> np.ndarray:
    return jpeg_at(image, int(rng.integers(quality_range[0], quality_range[1] + 1)))


def jpeg_at(image: np.ndarray, quality: int) -> np.ndarray:
    """``image`` (HxWx3 float in [0, 1]) through 8 bits and the JPEG codec at ``quality``, back to float32."""
    return jpeg_round_trip(quantize(image), quality).astype(np.float32) / 255.0
