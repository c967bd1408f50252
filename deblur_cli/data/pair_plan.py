"""What a photo pair will be, drawn on the CPU: the first half of the torch pair engine.

The numpy engine (:func:`.photo_pairs.make_photo_pair`) draws and renders each pair in one go. The torch engine
splits that: this module makes every random draw of an item from its own ``np.random.Generator`` (the crop, the
motion, the sprites, the noise levels, the JPEG quality) and keeps the result as a :class:`PairPlan` of small
arrays; :mod:`.pair_render` then renders a whole batch of plans at once on the training device. A plan is a
function of (seed, epoch, index) alone, so a resumed run renders exactly the batches a straight run would.

The draws are the numpy engine's, in its order, up to the motion, so for the same generator both engines blur
the same window along the same path. Two things are drawn differently, for speed, from the same laws:
- the random-trajectory kernel pre-draws its 2,000 steps' random numbers in three vectors instead of calling the
  generator 6,000 times (3.9 ms against 6 to 9 ms per kernel in the numpy loop, measured under load);
- the noise field is drawn on the training device from a seed the plan carries, not 49,152 numpy normals.
So the kernel pairs and every draw after the noise (the JPEG decision and quality) are other samples of the same
distribution; ``tests/test_pair_engines.py`` holds the two engines' histograms together.
"""

from __future__ import annotations

import cmath
import math
from dataclasses import dataclass, field

import numpy as np

from .mix import PhotoMix
from .photo_pairs import PhotoPool, _object, draw_canvas, window_u8
from .synth.generator import _frames
from .synth.motion import camera_shake, smooth_path

NOISE_MAX_SIGMA = 0.015  # synth/degrade.py's default, which the numpy engine uses


@dataclass
class SpritePlan:
    rgba: np.ndarray  # s x s x 4 float32, sRGB colour and alpha
    position: np.ndarray  # (T, 2) top-left corner in crop pixels (x, y) at each sub-frame
    target: np.ndarray  # (2,) where it is in the sharp target


@dataclass
class PairPlan:
    """Everything random about one pair; rendering it is deterministic."""

    kind: str  # none | kernel | shake | objects
    extent: float  # the drawn blur path length in pixels
    photo: int  # index into the pool
    canvas: np.ndarray  # (size + 2 margin)^2 x 3 uint8: the window, augmented
    margin: int
    size: int
    kernel: np.ndarray | None = None  # kernel pairs: the PSF (odd side, sums to 1)
    translation: np.ndarray | None = None  # other kinds: (T, 2) camera translation per sub-frame (dx, dy)
    rotation: np.ndarray | None = None  # (T,) radians about ``centre``
    centre: np.ndarray | None = None  # (2,) pivot (x, y) in crop pixels
    sprites: list = field(default_factory=list)
    lens: float = 0.0
    noise: tuple[float, float, int] | None = None  # (read sigma, shot sigma, seed of the normals)
    jpeg: int | None = None  # JPEG quality of the input, or None


def fast_trajectory_kernel(rng: np.random.Generator, size: int, length: float) -> np.ndarray:
    """Boracchi and Foi's random-trajectory PSF, as :func:`.synth.motion.trajectory_kernel` (same parameters,
    same law), with the random numbers drawn as vectors and the walk in Python complex arithmetic."""
    steps = 2000
    anxiety = rng.uniform(0.0, 0.005)
    exposure = rng.uniform(0.5, 1.0)
    centripetal = 0.7 * rng.random()
    gaussian_term = 10 * rng.random()
    big = 0.2 * rng.random() * anxiety
    v = cmath.exp(1j * rng.uniform(0, 2 * np.pi)) * length / (steps - 1)
    shakes, turns = rng.random(steps - 1).tolist(), rng.random(steps - 1).tolist()
    normal = rng.standard_normal((steps - 1, 2))
    noise = (normal[:, 0] + 1j * normal[:, 1]).tolist()
    step_len = length / (steps - 1)
    x = [0j] * steps
    xt = 0j
    for t in range(steps - 1):
        dv = anxiety * (gaussian_term * noise[t] - centripetal * xt) * step_len
        if shakes[t] < big:
            dv += 2 * v * cmath.exp(1j * (math.pi + turns[t] - 0.5))
        v = v + dv
        v = v / (abs(v) + 1e-12) * step_len
        xt = xt + v
        x[t + 1] = xt
    pts = np.asarray(x[: max(int(steps * exposure), 2)])
    pts = pts - pts.mean() + (size - 1) / 2 * (1 + 1j)
    x0, y0 = np.floor(pts.real).astype(np.int64), np.floor(pts.imag).astype(np.int64)
    fx, fy = pts.real - x0, pts.imag - y0
    kernel = np.zeros((size + 1, size + 1))
    # bilinear splat; a point's corners outside the size x size kernel land in the spare row/column, cut below
    for dy, dx, w in ((0, 0, (1 - fx) * (1 - fy)), (0, 1, fx * (1 - fy)), (1, 0, (1 - fx) * fy), (1, 1, fx * fy)):
        yy, xx = np.clip(y0 + dy, 0, size), np.clip(x0 + dx, 0, size)
        ok = (y0 + dy >= 0) & (x0 + dx >= 0)
        np.add.at(kernel, (yy[ok], xx[ok]), w[ok])
    kernel = kernel[:size, :size]
    return (kernel / max(kernel.sum(), 1e-12)).astype(np.float32)


def plan_photo_pair(rng: np.random.Generator, pool: PhotoPool, size: int, motion: str = "mixed",
                    mix: PhotoMix | None = None, augment: bool = True) -> PairPlan:
    """The draws of :func:`.photo_pairs.make_photo_pair` for one item, in its order, without rendering."""
    mix = mix or PhotoMix()
    kind, extent, index, scale, margin, canvas = draw_canvas(rng, pool, size, motion, mix, augment, window_u8)
    plan = PairPlan(kind, extent, index, canvas, margin, size, lens=float(rng.uniform(*mix.lens_sigma)))
    if kind == "kernel":
        plan.kernel = fast_trajectory_kernel(rng, 2 * (int(extent) // 2) + 9, extent)
    else:
        n = _frames(rng, mix.frames, extent)
        cam_extent = extent if kind in ("shake", "none") else extent * rng.uniform(0.0, 0.3)
        shake = camera_shake(rng, n, size, cam_extent, anchor=mix.anchor)
        plan.translation, plan.rotation, plan.centre = shake.translation, shake.rotation, shake.centre
        if kind == "objects":
            for _ in range(int(rng.integers(1, 3))):
                rgba = _object(rng, pool, size, scale, mix)
                s = rgba.shape[0]
                start = rng.uniform(-0.2 * s, size - 0.8 * s, 2)
                path = smooth_path(rng, n, extent * rng.uniform(0.5, 1.0), anchor=mix.anchor)
                plan.sprites.append(SpritePlan(rgba, start + path, start))
    if rng.random() < mix.p_noise:
        plan.noise = (float(rng.uniform(0, NOISE_MAX_SIGMA)), float(rng.uniform(0, NOISE_MAX_SIGMA)),
                      int(rng.integers(2 ** 62)))
    if rng.random() < mix.p_jpeg:
        plan.jpeg = int(rng.integers(mix.jpeg_quality[0], mix.jpeg_quality[1] + 1))
    return plan
