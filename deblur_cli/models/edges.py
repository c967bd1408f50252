"""Canny edge detector in plain torch (Canny 1986), the extra input channel of DeblurGAN + edge.

Paper 001 section 4.1.5 concatenates Canny edges to the blurred image as a fourth input channel. It takes
the edges of the *sharp* image, which a user deblurring a photo does not have; ``deblurgan-edge`` therefore
computes them from its blurred input (see ``models.deblurgan``).

The steps are the classical ones, run on the luminance of an image in [0, 1]:
1. Gaussian smoothing (sigma 1, 5 taps, separable, reflect padding).
2. Sobel gradients, scaled by 1/8 so the magnitude is an intensity change per pixel (a ramp of slope s
   gives s). scikit-image's ``canny`` uses the unscaled Sobel, so its thresholds are 8x ours.
3. Non-maximum suppression: the gradient direction is quantised to 0/45/90/135 degrees and a pixel is kept
   where its magnitude is above the next neighbour along that direction and not below the previous one.
4. Double threshold on that magnitude: ``high`` (0.05) marks strong edges, ``low`` (0.02) weak ones; both
   are absolute, not relative to the image's maximum, so a tile and the whole image agree.
5. Hysteresis, approximated: a weak pixel is kept when it touches a kept pixel; this is repeated
   ``hysteresis_steps`` (8) times with a 3x3 max-pool as the dilation, so a weak chain is followed at most
   8 pixels away from its strong seed (full connected components need a data-dependent loop).
No gradient flows through it: the result is a fixed {0, 1} feature map, computed under ``no_grad`` in float32.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

_LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma, as OpenCV's RGB-to-gray conversion
_TAN_22_5 = math.tan(math.radians(22.5))
_TAN_67_5 = math.tan(math.radians(67.5))


def _gaussian_taps(sigma: float) -> list[float]:
    radius = math.ceil(2 * sigma)
    taps = [math.exp(-(r * r) / (2 * sigma * sigma)) for r in range(-radius, radius + 1)]
    return [t / sum(taps) for t in taps]


def _filter(t: torch.Tensor, taps: list[float], dim: int) -> torch.Tensor:
    """Correlate along ``dim`` with 1-D ``taps`` ('valid': that dimension shrinks by len(taps) - 1).

    Shifted slices rather than a one-channel conv2d, which is slow on CPU.
    """
    n = t.shape[dim] - len(taps) + 1
    return sum(w * t.narrow(dim, i, n) for i, w in enumerate(taps) if w)


def _neighbour(padded: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """From a map zero-padded by 1, the map shifted so that (y, x) holds the value at (y + dy, x + dx)."""
    h, w = padded.shape[-2] - 2, padded.shape[-1] - 2
    return padded[..., 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]


@torch.no_grad()
def canny(image: torch.Tensor, low: float = 0.02, high: float = 0.05, sigma: float = 1.0,
          hysteresis_steps: int = 8) -> torch.Tensor:
    """Edges of an (N, 3, H, W) or (N, 1, H, W) image in [0, 1], as an (N, 1, H, W) map of 0 and 1."""
    x = image.float()
    if x.shape[1] == 3:
        x = sum(w * x[:, i:i + 1] for i, w in enumerate(_LUMA))
    taps = _gaussian_taps(sigma)
    pad = len(taps) // 2 + 1  # the Gaussian's radius, plus 1 for the Sobel
    mode = "reflect" if min(x.shape[-2:]) > pad else "replicate"  # reflect needs the image larger than the pad
    x = F.pad(x, (pad,) * 4, mode=mode)
    smooth = _filter(_filter(x, taps, -1), taps, -2)
    # Sobel / 8: a central difference / 2 along one axis, [1, 2, 1] / 4 smoothing along the other.
    gx = _filter(_filter(smooth, [-0.5, 0.0, 0.5], -1), [0.25, 0.5, 0.25], -2)
    gy = _filter(_filter(smooth, [-0.5, 0.0, 0.5], -2), [0.25, 0.5, 0.25], -1)
    magnitude = torch.hypot(gx, gy)

    # Quantise the gradient direction into 0/45/90/135 degrees (y axis points down) by comparing |gy| / |gx|
    # with tan(22.5) and tan(67.5), then keep pixels not below either neighbour along that direction.
    ax, ay = gx.abs(), gy.abs()
    horizontal = ay <= ax * _TAN_22_5
    vertical = ay > ax * _TAN_67_5
    diagonal = ~(horizontal | vertical)
    same_sign = (gx * gy) > 0
    padded = F.pad(magnitude, (1, 1, 1, 1))
    keep = torch.zeros_like(magnitude, dtype=torch.bool)
    for where, (dy, dx) in ((horizontal, (0, 1)), (diagonal & same_sign, (1, 1)), (vertical, (1, 0)),
                            (diagonal & ~same_sign, (1, -1))):
        # ">" on one side breaks ties: of two equal maxima side by side (a step edge between pixels)
        # exactly one is kept, so edges stay one pixel wide
        keep |= where & (magnitude > _neighbour(padded, dy, dx)) & (magnitude >= _neighbour(padded, -dy, -dx))
    thin = magnitude * keep

    weak = thin >= low
    edges = (thin >= high).float()
    for _ in range(hysteresis_steps):  # grow strong edges into touching weak pixels
        grown = F.max_pool2d(edges, 3, stride=1, padding=1) * weak
        if torch.equal(grown, edges):
            break
        edges = grown
    return edges.to(image.dtype)
