"""Out-of-focus scenes for photo pairs: the window a pair is cut from, defocused before any motion, so that input
and target share the defocus and only the motion is to be undone.

Why: a network trained on in-focus windows reads every soft edge as blur. The long run's U-Net turned a defocused
background's blossoms into shapes with hard rims (docs/train.md, "The long run"), and on the held-out near-sharp
crops of out-of-focus windows (`near-sharp-defocus`) it lost 3.2 dB at 50,000 steps where the photos needed no
change at all. GoPro's targets, like any photo's, keep the defocus their lens gave them; these pairs say so.

The PSF is a disc, the defocus of a circular aperture in geometric optics (no diffraction, no cat's-eye
vignetting), antialiased by 8 x 8 supersampling, applied in linear light as the motion is (``synth.render``).
"""

from __future__ import annotations

import numpy as np
import torch

from .synth.render import GAMMA, psf_blur

_SUPERSAMPLE = 8


def disc_psf(radius: float) -> np.ndarray:
    """A normalised disc of ``radius`` px (odd side 2 ceil(radius) + 1); a 1x1 delta for radius <= 0."""
    if radius <= 0:
        return np.ones((1, 1), np.float32)
    n = int(np.ceil(radius))
    offsets = (np.arange(_SUPERSAMPLE) + 0.5) / _SUPERSAMPLE - 0.5
    fine = np.add.outer(np.arange(-n, n + 1), offsets).ravel()  # sub-pixel sample positions, pixel by pixel
    inside = (fine[:, None] ** 2 + fine[None, :] ** 2) <= radius * radius
    side = 2 * n + 1
    k = inside.reshape(side, _SUPERSAMPLE, side, _SUPERSAMPLE).sum(axis=(1, 3)).astype(np.float64)
    return (k / k.sum()).astype(np.float32)


def defocus_window(window: np.ndarray, radius: float) -> np.ndarray:
    """``window`` (H x W x 3, uint8, or float32 sRGB in [0, 1] on the 8-bit grid) through :func:`disc_psf` in linear
    light, reflect-padded, rounded to 8 bits and returned in its own dtype: both pair engines, one cutting uint8
    windows and the other float32 ones, get the same defocused canvas."""
    k = disc_psf(radius)
    if k.shape[0] == 1:
        return window
    srgb = window.astype(np.float32) / (255.0 if window.dtype == np.uint8 else 1.0)
    lin = torch.from_numpy(np.ascontiguousarray(srgb)).permute(2, 0, 1) ** GAMMA
    out = psf_blur(lin, k).clamp(0, 1) ** (1 / GAMMA)
    u8 = np.clip(np.rint(out.permute(1, 2, 0).numpy() * 255.0), 0, 255).astype(np.uint8)
    return u8 if window.dtype == np.uint8 else u8.astype(np.float32) / 255.0
