"""Canny edge detector in plain torch (Canny 1986), the extra input channel of DeblurGAN + edge.

Paper 001 section 4.1.5 concatenates Canny edges to the blurred image as a fourth input channel. It takes
the edges of the *sharp* image, which a user deblurring a photo does not have; ``deblurgan-edge`` therefore
computes them from its blurred input (see ``models.deblurgan``).

The steps are the classical ones, run on the luminance of an image in [0, 1]:
1. Gaussian smoothing (sigma 1, 5x5 kernel, reflect padding).
2. Sobel gradients, scaled by 1/8 so the magnitude is an intensity change per pixel (a ramp of slope s
   gives s). scikit-image's ``canny`` uses the unscaled Sobel, so its thresholds are 8x ours.
3. Non-maximum suppression: the gradient direction is quantised to 0/45/90/135 degrees and a pixel is kept
   where its magnitude is not below either neighbour along that direction.
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

_LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, as OpenCV and scikit-image's rgb2gray-free canny callers use


def _gaussian_kernel(sigma: float, size: int) -> torch.Tensor:
    r = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-(r ** 2) / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def _sobel_kernels() -> torch.Tensor:
    gx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8
    return torch.stack([gx, gx.t()])[:, None]  # (2, 1, 3, 3): d/dx, d/dy


def _neighbour(t: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """t shifted so that position (y, x) holds t[y + dy, x + dx] (zeros outside the image)."""
    h, w = t.shape[-2:]
    padded = F.pad(t, (1, 1, 1, 1))
    return padded[..., 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]


@torch.no_grad()
def canny(image: torch.Tensor, low: float = 0.02, high: float = 0.05, sigma: float = 1.0,
          hysteresis_steps: int = 8) -> torch.Tensor:
    """Edges of an (N, 3, H, W) or (N, 1, H, W) image in [0, 1], as an (N, 1, H, W) map of 0 and 1."""
    x = image.float()
    if x.shape[1] == 3:
        x = sum(w * x[:, i:i + 1] for i, w in enumerate(_LUMA))
    size = 2 * math.ceil(2 * sigma) + 1
    if min(x.shape[-2:]) > size // 2:  # reflect padding needs the image to be larger than the pad
        x = F.pad(x, (size // 2,) * 4, mode="reflect")
    else:
        x = F.pad(x, (size // 2,) * 4, mode="replicate")
    smooth = F.conv2d(x, _gaussian_kernel(sigma, size).to(x.device))
    grad = F.conv2d(F.pad(smooth, (1, 1, 1, 1), mode="replicate"), _sobel_kernels().to(x.device))
    gx, gy = grad[:, :1], grad[:, 1:]
    magnitude = torch.hypot(gx, gy)

    # Quantise the gradient direction (y axis points down) into 4 bins and compare with both neighbours.
    angle = torch.rad2deg(torch.atan2(gy, gx)) % 180
    direction = torch.round(angle / 45).long() % 4  # 0: 0 deg, 1: 45, 2: 90, 3: 135
    keep = torch.zeros_like(magnitude, dtype=torch.bool)
    for d, (dy, dx) in enumerate(((0, 1), (1, 1), (1, 0), (1, -1))):
        is_max = (magnitude >= _neighbour(magnitude, dy, dx)) & (magnitude >= _neighbour(magnitude, -dy, -dx))
        keep |= (direction == d) & is_max
    thin = magnitude * keep

    strong = thin >= high
    weak = thin >= low
    edges = strong
    for _ in range(hysteresis_steps):
        grown = F.max_pool2d(edges.float(), 3, stride=1, padding=1).bool() & weak
        if torch.equal(grown, edges):
            break
        edges = grown
    return edges.to(image.dtype)
