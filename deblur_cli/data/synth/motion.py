"""Motion during an exposure: camera-shake trajectories, object paths and random-trajectory kernels.

- Camera shake: a smooth random path of translation and in-plane rotation (rotation makes blur vary across the
  frame, as real shake does), sampled at every sub-frame of the exposure.
- Objects: their own smooth paths, independent of the camera (non-uniform blur of dynamic scenes).
- Where the sharp target sits on the path (``anchor``): "middle" puts pose zero at the middle sub-frame, as GoPro's
  target is its middle frame; "mean" puts it at the time-average of the path, the pose the blur is centred on, as
  DeblurGAN's kernels are (their trajectory minus its mean). A network trained on "middle" targets must guess where
  along a streak the middle instant lay, and a wrong guess shifts the whole output; a "mean" target lies under the
  centre of light of a translating point's streak (tests/test_data.py), so no pair asks for a shift. Measured with
  a small U-Net on camera-shake photo pairs (docs/data.md): the loss fell below the identity's faster with "mean"
  (0.956 against 0.977 of the identity's L1 after 500 steps).
- Kernels: Boracchi and Foi's random trajectories as used by DeblurGAN: a velocity of fixed length pulled back toward
  the origin (centripetal term), jittered by Gaussian noise and now and then turned by a large impulse; rasterised
  with bilinear weights (shared/DATA_AND_METRICS.md, "Blur synthesis").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


from ..mix import ANCHORS


def smooth_path(rng: np.random.Generator, steps: int, extent: float, dims: int = 2, anchor: str = "middle"
                ) -> np.ndarray:
    """A (steps, dims) path of total length ~``extent`` through 0 at its middle (``anchor="middle"``) or with its
    mean at 0 (``"mean"``): a random walk with momentum, smoothed, so the camera accelerates and turns like a hand
    does. The anchor does not change the random draws."""
    if anchor not in ANCHORS:
        raise ValueError(f"anchor must be one of {ANCHORS}, not {anchor!r}")
    n = max(steps, 2)
    velocity = rng.normal(size=dims)
    pts = np.zeros((n, dims))
    for i in range(1, n):
        velocity = 0.8 * velocity + 0.6 * rng.normal(size=dims)
        pts[i] = pts[i - 1] + velocity
    length = np.sum(np.linalg.norm(np.diff(pts, axis=0), axis=1)) if dims > 1 else np.sum(np.abs(np.diff(pts[:, 0])))
    pts *= extent / max(length, 1e-6)
    return pts - (pts[n // 2] if anchor == "middle" else pts.mean(axis=0))


@dataclass
class CameraShake:
    """Per-sub-frame camera pose: translation (pixels) and rotation (radians) about ``centre`` (pixels, x y)."""

    translation: np.ndarray  # (T, 2) as (dx, dy)
    rotation: np.ndarray  # (T,)
    centre: np.ndarray  # (2,)


def camera_shake(rng: np.random.Generator, frames: int, size: int, extent: float,
                 rotation_share: float | None = None, anchor: str = "middle") -> CameraShake:
    """Shake whose largest displacement in a ``size`` frame is about ``extent`` pixels, part of it from rotation;
    pose zero (the target's) at the ``anchor`` of the path."""
    share = rng.uniform(0.0, 0.6) if rotation_share is None else rotation_share
    # rotation about a point that may lie outside the frame (the hand's pivot), so blur varies over the image
    centre = rng.uniform(-0.5, 1.5, 2) * size
    lever = max(np.linalg.norm(centre - size / 2) + size / 2, 1.0)
    rotation = smooth_path(rng, frames, share * extent / lever, dims=1, anchor=anchor)[:, 0]
    translation = smooth_path(rng, frames, (1 - share) * extent, anchor=anchor)
    return CameraShake(translation=translation, rotation=rotation, centre=centre)


def trajectory_kernel(rng: np.random.Generator, size: int = 31, length: float | None = None,
                      anxiety: float | None = None, exposure: float | None = None) -> np.ndarray:
    """Boracchi-Foi random-trajectory PSF (size x size, sums to 1)."""
    steps = 2000
    length = rng.uniform(6, 28) if length is None else length
    anxiety = rng.uniform(0.0, 0.005) if anxiety is None else anxiety
    exposure = rng.uniform(0.5, 1.0) if exposure is None else exposure
    centripetal = 0.7 * rng.random()
    gaussian_term = 10 * rng.random()
    freq_big_shakes = 0.2 * rng.random()
    init_angle = rng.uniform(0, 2 * np.pi)
    v = np.cos(init_angle) + 1j * np.sin(init_angle)
    v0 = v * length / (steps - 1)
    v = v0
    x = np.zeros(steps, dtype=complex)
    for t in range(steps - 1):
        if rng.random() < freq_big_shakes * anxiety:
            next_dir = 2 * v * np.exp(1j * (np.pi + (rng.random() - 0.5)))
        else:
            next_dir = 0
        dv = next_dir + anxiety * (gaussian_term * (rng.normal() + 1j * rng.normal())
                                   - centripetal * x[t]) * (length / (steps - 1))
        v = v + dv
        v = (v / (abs(v) + 1e-12)) * length / (steps - 1)
        x[t + 1] = x[t] + v
    x = x[: max(int(steps * exposure), 2)]
    x = x - np.mean(x) + (size - 1) / 2 * (1 + 1j)
    # bilinear splat of every point, accumulated point by point and corner by corner (np.add.at keeps that order,
    # so the sums are the ones a loop over the points makes, bit for bit)
    x0, y0 = np.floor(x.real).astype(np.int64), np.floor(x.imag).astype(np.int64)
    fx, fy = x.real - x0, x.imag - y0
    yy = np.stack([y0, y0, y0 + 1, y0 + 1], 1).ravel()
    xx = np.stack([x0, x0 + 1, x0, x0 + 1], 1).ravel()
    weight = np.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], 1).ravel()
    inside = (yy >= 0) & (yy < size) & (xx >= 0) & (xx < size)
    kernel = np.zeros((size, size))
    np.add.at(kernel, (yy[inside], xx[inside]), weight[inside])
    return (kernel / max(kernel.sum(), 1e-12)).astype(np.float32)
