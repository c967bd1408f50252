"""(blurred, sharp) pairs from procedural scenes, made the way GoPro was made.

One call renders a scene larger than the crop, moves the camera (shake with rotation) and/or independent objects
through an exposure of 7-23+ sub-frames, averages them in linear light (gamma 2.2), takes the middle sub-frame as
the target, passes both through one lens PSF (photos are never 1-pixel crisp), adds one realisation of sensor noise
to both (the grain is kept, not learned away), and JPEG-compresses the input. A share of pairs has (almost) no blur
so that a network learns to leave sharp regions alone; a share uses DeblurGAN-style uniform random-trajectory
kernels. ``SynthConfig`` (:mod:`deblur_cli.data.mix`) sets the shares, and may add fibre textures and warps to the
scenes. Deterministic given the ``np.random.Generator``."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..mix import SynthConfig
from .degrade import jpeg, noise_field, sensor_noise
from .motion import camera_shake, smooth_path, trajectory_kernel
from .render import MovingSprite, convolve_linear, gaussian_psf, render_exposure
from .scenes import scene, sprite

MOTIONS = ("mixed", "blurred", "shake", "objects", "kernel", "none")


def _extent(rng: np.random.Generator, cfg: SynthConfig, sharp: bool) -> float:
    if sharp:
        return float(rng.uniform(0.0, 0.5))
    return float(2.0 + (cfg.max_extent - 2.0) * rng.random() ** 1.5)  # more small blurs than large


def _frames(rng: np.random.Generator, frames: tuple[int, int], extent: float) -> int:
    n = int(rng.integers(frames[0] // 2, frames[1] // 2 + 1)) * 2 + 1  # odd, as GoPro's 7..23
    n = max(n, int(np.ceil(extent)) + 1)  # at most ~1 px between sub-frames: no ghosting
    return n | 1


def _highlights(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    out = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(1, 8))):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.8, 4.0)
        yy, xx = np.ogrid[:h, :w]
        out += rng.uniform(1.5, 6.0) * np.clip(r - np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2) + 0.5, 0, 1)
    return out


def degrade(rng: np.random.Generator, blurred: np.ndarray, cfg: SynthConfig) -> np.ndarray:
    """Noise and JPEG on the input alone (used where no target needs to share them)."""
    if rng.random() < cfg.p_noise:
        blurred = sensor_noise(rng, blurred)
    if rng.random() < cfg.p_jpeg:
        blurred = jpeg(rng, blurred, cfg.jpeg_quality)
    return blurred


def degrade_pair(rng: np.random.Generator, blurred: np.ndarray, sharp: np.ndarray, cfg: SynthConfig
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The same noise realisation on input and target (keep the grain), then JPEG on the input."""
    if rng.random() < cfg.p_noise:
        noise = noise_field(rng, sharp)
        blurred = np.clip(blurred + noise, 0, 1).astype(np.float32)
        sharp = np.clip(sharp + noise, 0, 1).astype(np.float32)
    if rng.random() < cfg.p_jpeg:
        blurred = jpeg(rng, blurred, cfg.jpeg_quality)
    return blurred, sharp


def make_pair(rng: np.random.Generator, size: int = 256, motion: str = "mixed",
              config: SynthConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return (blurred, sharp), each size x size x 3 float32 sRGB in [0, 1].

    ``motion``: "mixed" (the training mix), "blurred" (the training mix without its near-sharp pairs), "shake"
    (camera shake only), "objects" (moving objects, still camera),
    "kernel" (uniform random-trajectory kernel), "none" (sharp input, degradations only).
    """
    if motion not in MOTIONS:
        raise ValueError(f"motion must be one of {MOTIONS}, not {motion!r}")
    cfg = config or SynthConfig()
    kind = motion
    if motion in ("mixed", "blurred"):
        u = rng.random()
        if motion == "blurred":  # the same shares among the blurred kinds
            u = cfg.p_sharp + u * (1.0 - cfg.p_sharp)
        kind = ("none" if u < cfg.p_sharp else "kernel" if u < cfg.p_sharp + cfg.p_kernel
                else "objects" if u < cfg.p_sharp + cfg.p_kernel + cfg.p_objects else "shake")
    extent = _extent(rng, cfg, sharp=kind == "none")
    margin = int(np.ceil(extent)) + 16
    side = size + 2 * margin
    canvas = scene(rng, side, side, cfg.p_fibres, cfg.p_warp)
    lens = float(rng.uniform(*cfg.lens_sigma))

    def sprites(frames: int) -> list[MovingSprite]:
        out = []
        for _ in range(int(rng.integers(1, 4))):
            s = int(rng.integers(size // 6, size // 2 + 1))
            start = rng.uniform(-0.2 * s, size - 0.8 * s, 2)
            path = smooth_path(rng, frames, extent * rng.uniform(0.5, 1.0), anchor=cfg.anchor)
            out.append(MovingSprite(sprite(rng, s, p_fibres=cfg.p_fibres), start + path, target=start))
        return out

    def highlights() -> np.ndarray | None:
        return _highlights(rng, side, side) if rng.random() < cfg.p_highlights else None

    blurred, sharp = render_motion(rng, canvas, size, margin, kind, extent, cfg.frames, lens, sprites, highlights,
                                   anchor=cfg.anchor)
    blurred, sharp = (np.ascontiguousarray(a, dtype=np.float32) for a in (blurred, sharp))
    return degrade_pair(rng, blurred, sharp, cfg)


def render_motion(rng: np.random.Generator, canvas: np.ndarray, size: int, margin: int, kind: str, extent: float,
                  frames: tuple[int, int], lens: float,
                  sprites: Callable[[int], list[MovingSprite]] | None = None,
                  highlights: Callable[[], np.ndarray | None] | None = None, anchor: str = "middle",
                  record: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(blurred, sharp), ``size`` x ``size``, of the middle of ``canvas`` (``margin`` px wider on every side): a
    uniform random-trajectory kernel for ``kind == "kernel"``, else an exposure of camera shake, of which moving
    objects get only up to 30 % (``sprites(frames)`` makes them). ``highlights()`` may add lights that saturate.
    ``anchor`` places the target on the camera's path (motion.py); ``sprites`` place their own.
    Shared by procedural scenes and photos; the order of the random draws is part of what a seed means.
    ``record`` (a dict) receives the true kernel under "kernel" for uniform blur, for non-blind references."""
    if kind == "kernel":
        k = trajectory_kernel(rng, size=2 * (int(extent) // 2) + 9, length=extent)
        if record is not None:
            record["kernel"] = k
        # only the crop is kept: convolve just the part of the canvas it depends on (the kernel's and the lens's
        # reach around it), which the border's reflect padding never touches when the margin covers that reach
        reach = k.shape[0] // 2 + gaussian_psf(lens).shape[0] // 2
        if reach <= margin:
            canvas, margin = canvas[margin - reach:margin + size + reach, margin - reach:margin + size + reach], reach
        crop = slice(margin, margin + size)
        return (convolve_linear(canvas, k, lens)[crop, crop],
                convolve_linear(canvas, np.ones((1, 1), np.float32), lens)[crop, crop])
    n = _frames(rng, frames, extent)
    cam_extent = extent if kind in ("shake", "none") else extent * rng.uniform(0.0, 0.3)
    shake = camera_shake(rng, n, size, cam_extent, anchor=anchor)
    moving = sprites(n) if kind == "objects" and sprites is not None else []
    lights = highlights() if highlights is not None else None
    return render_exposure(canvas, shake, (size, size), (margin, margin), moving, lights, lens)


def blur_photo(rng: np.random.Generator, photo: np.ndarray, extent: float = 12.0,
               config: SynthConfig | None = None, degrade_input: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Camera-shake blur for a given sharp image (HxWx3 float32): returns (blurred, sharp).

    The sharp target is the middle sub-frame, i.e. the photo warped by the middle camera pose (almost the photo).
    Used to check transfer on a real photo (``chelsea``) and for `examples/`; never for training.
    """
    cfg = config or SynthConfig()
    h, w = photo.shape[:2]
    frames = _frames(rng, cfg.frames, extent)
    shake = camera_shake(rng, frames, max(h, w), extent)
    blurred, sharp = render_exposure(photo.astype(np.float32), shake, (h, w), (0.0, 0.0))
    if degrade_input:
        blurred = degrade(rng, blurred, cfg)
    return blurred, sharp
