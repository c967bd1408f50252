"""Sensor noise and JPEG compression applied to the blurred input only (the target stays clean).

Levels are kept modest on purpose: a network that learns strong denoising flattens hair and skin in photos
(shared/DATA_AND_METRICS.md), which is worse than leaving mild noise alone.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def sensor_noise(rng: np.random.Generator, image: np.ndarray, max_sigma: float = 0.015) -> np.ndarray:
    """Signal-dependent (shot) plus signal-independent (read) Gaussian noise."""
    read = rng.uniform(0, max_sigma)
    shot = rng.uniform(0, max_sigma)
    sigma = np.sqrt(read ** 2 + (shot ** 2) * np.clip(image, 0, 1))
    return np.clip(image + rng.normal(size=image.shape).astype(np.float32) * sigma, 0, 1).astype(np.float32)


def jpeg(rng: np.random.Generator, image: np.ndarray, quality_range: tuple[int, int] = (55, 95)) -> np.ndarray:
    quality = int(rng.integers(quality_range[0], quality_range[1] + 1))
    buf = io.BytesIO()
    Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)).save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"), dtype=np.float32) / 255.0
