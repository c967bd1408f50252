"""Fibre textures (fur, hair, grass, brushed surfaces) and smooth random warps for procedural scenes.

Why: a network trained on dead leaves with 1/f noise textures learned to sharpen real fur into a crunchy texture
once it converged further (docs/research.md, "Judging a file": the 8,000-step run). 1/f noise is isotropic; fur and grass
are made of thin, oriented, overlapping strands whose direction drifts smoothly. The hope was that a network that
has seen such strands sharp and blurred tells a strand from a blurred edge; measured, it helped a little and did
not stop the over-sharpening (docs/research.md, "Data").

- :func:`fibre_field` is line integral convolution (Cabral and Leedom, SIGGRAPH 1993): white noise averaged along
  the streamlines of a smooth orientation field gives streaks one noise grain wide and ``2 * length`` long, which is
  how fur, hair and grass look at the scale a deblurring network sees. The field is periodic, so a leaf may read any
  window of it with wrap-around, as :class:`scenes.TextureBank` does for noise.
- :func:`smooth_warp` is the random warp of VibrantLeaves (Achddou et al., shared/DATA_AND_METRICS.md): a smooth
  displacement field that bends straight leaf edges into organic outlines.

Numpy only, deterministic given the ``np.random.Generator``.
"""

from __future__ import annotations

import numpy as np


def spectral_noise(rng: np.random.Generator, h: int, w: int, exponent: float) -> np.ndarray:
    """Zero-mean, unit-std, periodic noise with a 1/f^exponent amplitude spectrum."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fx ** 2 + fy ** 2)
    f[0, 0] = 1.0
    spectrum = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f ** exponent
    spectrum[0, 0] = 0.0
    field = np.fft.irfft2(spectrum, s=(h, w))
    return (field / (field.std() + 1e-8)).astype(np.float32)


def _mirror(i: np.ndarray, n: int) -> np.ndarray:
    """Indices reflected into [0, n) (edge pixel not repeated), for any offset."""
    period = max(2 * (n - 1), 1)
    i = np.abs(i) % period
    return np.where(i >= n, period - i, i)


def _bilinear(image: np.ndarray, y: np.ndarray, x: np.ndarray, wrap: bool) -> np.ndarray:
    """``image`` (H x W or H x W x C) sampled at float pixel coordinates; periodic or mirrored."""
    h, w = image.shape[:2]
    y0, x0 = np.floor(y), np.floor(x)
    fy, fx = (y - y0).astype(np.float32), (x - x0).astype(np.float32)
    y0, x0 = y0.astype(np.int64), x0.astype(np.int64)
    if wrap:
        ya, yb, xa, xb = y0 % h, (y0 + 1) % h, x0 % w, (x0 + 1) % w
    else:  # mirrored at the border: clamping would smear the edge pixels into streaks
        ya, yb, xa, xb = _mirror(y0, h), _mirror(y0 + 1, h), _mirror(x0, w), _mirror(x0 + 1, w)
    if image.ndim == 3:
        fy, fx = fy[..., None], fx[..., None]
    top = image[ya, xa] * (1 - fx) + image[ya, xb] * fx
    bottom = image[yb, xa] * (1 - fx) + image[yb, xb] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def fibre_field(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A periodic, zero-mean, unit-std H x W field of strands along a smoothly curving direction."""
    # direction: one dominant angle plus a slow drift (1/f^3 noise is smooth at the scale of a leaf)
    theta = rng.uniform(0, np.pi) + rng.uniform(0.2, 1.2) * spectral_noise(rng, h, w, 3.0)
    dy, dx = np.sin(theta), np.cos(theta)
    # strand width: white noise is one pixel wide; a slight 1/f tilt gives thicker, clumped strands
    grains = spectral_noise(rng, h, w, rng.uniform(0.0, 0.6))
    half_length = int(rng.integers(3, 13))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    total = grains.copy()
    for sign in (1.0, -1.0):  # trace the streamline both ways from every pixel (first-order steps of 1 px)
        y, x = yy.copy(), xx.copy()
        for _ in range(half_length):
            iy, ix = np.round(y).astype(np.int64) % h, np.round(x).astype(np.int64) % w
            y += sign * dy[iy, ix]
            x += sign * dx[iy, ix]
            total += _bilinear(grains, y, x, wrap=True)
    total -= total.mean()
    return (total / (total.std() + 1e-8)).astype(np.float32)


def smooth_warp(rng: np.random.Generator, image: np.ndarray, amplitude: float) -> np.ndarray:
    """``image`` (H x W x C) resampled through a smooth random displacement of about ``amplitude`` pixels (rms)."""
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    exponent = rng.uniform(2.5, 3.5)  # smooth: the displacement changes over tens of pixels, not from pixel to pixel
    y = yy + amplitude * spectral_noise(rng, h, w, exponent)
    x = xx + amplitude * spectral_noise(rng, h, w, exponent)
    return _bilinear(image, y, x, wrap=False)
