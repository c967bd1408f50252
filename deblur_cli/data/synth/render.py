"""Render the sub-frames of an exposure and average them in linear light, as GoPro was made.

GoPro averaged 7-23 consecutive 240 fps frames; its ``blur_gamma`` version averages in linear light,
(mean S_i^2.2)^(1/2.2), and the sharp target is the middle frame (paper 001 section 4.4, report 003 eq. 1).
Here each sub-frame is a warp of a static canvas by the camera pose, with moving sprites composited over it,
sampled with ``grid_sample`` at output resolution. GoPro kept only frames whose optical flow between neighbours
was at most 1 pixel, so we render at least as many sub-frames as the largest displacement in pixels: no ghosting.

A camera's own optics and demosaicing spread even an in-focus edge over a pixel or two, while our scenes have
1-pixel anti-aliased edges. A network that only ever sees such crisp targets learns that any softer edge is blur,
and over-sharpens real photos (dark rims on the already-sharp `chelsea`, shared/DATA_AND_METRICS.md). So both the
sub-frame mean and the target pass through one Gaussian lens PSF in linear light: blur is linear, so this equals
seeing every sub-frame through the lens, and the target keeps the softness a sharp photo has.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from .motion import CameraShake

GAMMA = 2.2


@dataclass
class MovingSprite:
    rgba: np.ndarray  # h x w x 4
    position: np.ndarray  # (T, 2) top-left corner in output pixels, (x, y), at each sub-frame
    target: np.ndarray | None = None  # (2,) where it is in the sharp target; None: at the middle sub-frame


def to_linear(srgb: torch.Tensor) -> torch.Tensor:
    return srgb.clamp(min=0) ** GAMMA


def to_srgb(linear: torch.Tensor) -> torch.Tensor:
    return linear.clamp(0, 1) ** (1 / GAMMA)


def camera_grids(shake: CameraShake, out_h: int, out_w: int, offset, canvas_hw: tuple[int, int]) -> torch.Tensor:
    """(T, out_h, out_w, 2) sampling grids into the canvas for each camera pose.

    Output pixel (x, y) samples canvas pixel R_t ((x, y) - centre) + centre + translation_t + offset, normalised
    for grid_sample. ``offset`` is one (x, y) (the window's place in the canvas) or one per pose (minus a sprite's
    position at each sub-frame, to sample the sprite). Each coordinate is a sum of a term in x alone and a term in
    y alone, so both are computed as small (T, 1, W) and (T, H, 1) tensors and one broadcast add per coordinate
    writes the grid (the per-pixel form took 23 ms for 15 poses of 256 px, a quarter of a photo pair's time)."""
    t = len(shake.rotation)
    cx, cy = (float(v) for v in shake.centre)
    ang = torch.as_tensor(shake.rotation, dtype=torch.float64).view(t, 1, 1)
    tr = (torch.as_tensor(np.asarray(shake.translation, np.float64).reshape(t, 2)
                          + np.broadcast_to(np.asarray(offset, np.float64), (t, 2)))).view(t, 1, 1, 2)
    cos, sin = torch.cos(ang), torch.sin(ang)
    u = torch.arange(out_w, dtype=torch.float64).view(1, 1, out_w) - cx
    v = torch.arange(out_h, dtype=torch.float64).view(1, out_h, 1) - cy
    sx, sy = 2 / canvas_hw[1], 2 / canvas_hw[0]  # pixel p -> grid_sample's (2 p + 1) / n - 1 (align_corners=False)
    grid = torch.empty(t, out_h, out_w, 2)
    torch.add((sx * (cos * u + cx + tr[..., 0] + 0.5) - 1).float(), (-sx * sin * v).float(),
              out=grid[..., 0])
    torch.add((sy * sin * u).float(), (sy * (cos * v + cy + tr[..., 1] + 0.5) - 1).float(),
              out=grid[..., 1])
    return grid


def gaussian_psf(sigma: float) -> np.ndarray:
    """A normalised 2-D Gaussian PSF (odd side of 6 sigma + 1); a 1x1 delta for sigma <= 0."""
    if sigma <= 0:
        return np.ones((1, 1), np.float32)
    radius = int(np.ceil(3 * sigma))
    x = np.arange(-radius, radius + 1, dtype=np.float32)
    g = np.exp(-0.5 * (x / sigma) ** 2)
    k = np.outer(g, g)
    return (k / k.sum()).astype(np.float32)


def lens_blur(linear: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur a (C, H, W) or (N, C, H, W) linear-light tensor with the lens PSF (reflect padding)."""
    return psf_blur(linear, gaussian_psf(sigma))


def psf_blur(linear: torch.Tensor, k: np.ndarray) -> torch.Tensor:
    """Convolve a (C, H, W) or (N, C, H, W) linear-light tensor with the odd-sided PSF ``k`` (reflect padding)."""
    if k.shape[0] == 1:
        return linear
    x = linear if linear.dim() == 4 else linear.unsqueeze(0)
    r = k.shape[0] // 2
    weight = torch.from_numpy(k).view(1, 1, *k.shape).expand(x.shape[1], 1, *k.shape)
    out = F.conv2d(F.pad(x, (r, r, r, r), mode="reflect"), weight, groups=x.shape[1])
    return out if linear.dim() == 4 else out[0]


def render_exposure(canvas: np.ndarray, shake: CameraShake, out_size: tuple[int, int], offset: tuple[float, float],
                    sprites: list[MovingSprite] = (), highlights: np.ndarray | None = None, lens_sigma: float = 0.0
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Return (blurred, sharp) HxWx3 sRGB float32: the linear-light mean of all sub-frames, and the frame at camera
    pose zero with each sprite at its ``target``. With paths anchored at their middle (motion.py) that frame is the
    middle sub-frame and is taken from the exposure; otherwise (paths anchored at their mean) it is rendered as one
    more frame.

    ``highlights`` (canvas-sized, >= 0) adds linear light above 1.0 that saturates after averaging, as bright
    lights do in real blurred photos. ``lens_sigma`` is the Gaussian lens PSF both outputs pass through.
    """
    out_h, out_w = out_size
    frames = len(shake.rotation)
    middle = frames // 2
    targets = [sp.position[middle] if sp.target is None else sp.target for sp in sprites]
    at_middle = (not np.any(shake.translation[middle]) and shake.rotation[middle] == 0
                 and all(np.array_equal(t, sp.position[middle]) for t, sp in zip(targets, sprites)))
    if not at_middle:  # the target is none of the exposure's frames: one more pose, zero, after them
        shake = CameraShake(np.concatenate([np.asarray(shake.translation, np.float64), np.zeros((1, 2))]),
                            np.append(np.asarray(shake.rotation, np.float64), 0.0), shake.centre)
    poses = len(shake.rotation)
    lin = to_linear(torch.from_numpy(np.ascontiguousarray(canvas)).permute(2, 0, 1))
    if highlights is not None:
        lin = lin + torch.from_numpy(highlights).unsqueeze(0)
    grids = camera_grids(shake, out_h, out_w, offset, canvas.shape[:2])
    seq = F.grid_sample(lin.unsqueeze(0).expand(poses, -1, -1, -1), grids, mode="bilinear",
                        padding_mode="reflection", align_corners=False)
    for sp, target in zip(sprites, targets):
        rgba = torch.from_numpy(np.ascontiguousarray(sp.rgba)).permute(2, 0, 1)
        rgba = torch.cat([to_linear(rgba[:3]), rgba[3:]], 0).unsqueeze(0).expand(poses, -1, -1, -1)
        sh, sw = sp.rgba.shape[:2]
        # sprite pixel = camera-warped world position minus the sprite's own position at that sub-frame
        path = sp.position if at_middle else np.concatenate([sp.position, np.reshape(target, (1, 2))])
        g = camera_grids(shake, out_h, out_w, -np.asarray(path, np.float64), (sh, sw))
        layer = F.grid_sample(rgba, g, mode="bilinear", padding_mode="zeros", align_corners=False)
        alpha = layer[:, 3:]
        seq = seq * (1 - alpha) + layer[:, :3] * alpha
    pair = lens_blur(torch.stack([seq[:frames].mean(0), seq[middle if at_middle else frames]]), lens_sigma)
    blurred, sharp = to_srgb(pair[0]), to_srgb(pair[1])
    return (blurred.permute(1, 2, 0).numpy().astype(np.float32), sharp.permute(1, 2, 0).numpy().astype(np.float32))


def convolve_linear(image: np.ndarray, kernel: np.ndarray, lens_sigma: float = 0.0) -> np.ndarray:
    """Uniform blur: convolve an sRGB image with a PSF, then the lens PSF, in linear light (reflect padding)."""
    k = kernel.shape[0]
    lin = to_linear(torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).unsqueeze(0))
    if k > 1 or kernel[0, 0] != 1:  # a 1x1 unit kernel (the sharp target) leaves the image as it is
        lin = F.pad(lin, (k // 2, k // 2, k // 2, k // 2), mode="reflect")
        weight = torch.from_numpy(kernel[::-1, ::-1].copy()).view(1, 1, k, k).expand(3, 1, k, k)
        lin = F.conv2d(lin, weight, groups=3)
    out = lens_blur(lin, lens_sigma)
    return to_srgb(out[0]).permute(1, 2, 0).numpy().astype(np.float32)
