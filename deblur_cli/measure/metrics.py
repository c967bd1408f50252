"""PSNR and SSIM exactly as GoPro evaluations compute them, in torch, batched, on any device.

What is measured (and why):
- Both images are first quantised to 8 bits the way restored images are saved: ``round(clamp(x, 0, 1) * 255)``.
  Published GoPro numbers are computed on saved uint8 PNGs; rounding costs ~0.005 dB against float output,
  truncation (``astype(uint8)``) 0.01-0.02 dB, so we round. Inputs that are already ``uint8`` are used as they are.
- PSNR: ``10 log10(255^2 / MSE)`` with the MSE over all pixels and channels, in float64 (BasicSR
  ``calculate_psnr``, scikit-image ``peak_signal_noise_ratio(data_range=255)``). Identical images give ``inf``.
- SSIM: Wang et al. (2004) with an 11x11 Gaussian window (sigma 1.5, normalised), C1 = (0.01*255)^2,
  C2 = (0.03*255)^2, population (co)variances, computed per channel and averaged over channels.
  The SSIM map is averaged over the *valid* region only: scikit-image (``gaussian_weights=True``) filters the
  whole image with mode="reflect" and then crops ``pad = (11 - 1) // 2 = 5`` pixels from every side before
  the mean (``crop(S, pad).mean(dtype=float64)``); the cropped region is exactly the set of positions whose
  11x11 window lies inside the image, so a "valid" convolution gives the same numbers without any padding.
  BasicSR's ``calculate_ssim`` (cv2 ``filter2D`` then ``[5:-5, 5:-5]``) is the same computation.
  Everything runs in float64 (MPS has no float64, so metrics for MPS tensors are computed on the CPU).
- Options as BasicSR: ``crop_border`` pixels removed from every side first; ``y_channel`` converts to the
  ITU-R BT.601 luma that BasicSR uses, ``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255`` on 0..255 values,
  kept unrounded (BasicSR does not round Y; MATLAB's ``rgb2ycbcr`` on uint8 does).

These are not MATLAB's numbers: MATLAB's ``ssim`` on an RGB array treats it as one 3-D volume and reads
+0.02..0.05 higher on good restorations; DeblurGAN-v2's ``test_metrics.py`` reports grayscale CW-SSIM.
See docs/eval.md.
"""

from __future__ import annotations

import torch

from ..errors import ImageSizeError

# the one rounding rule (torch form), still importable from here
from .levels import to_uint8

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
_K1, _K2 = 0.01, 0.03
_PEAK = 255.0
# BasicSR rgb2ycbcr(y_only=True) weights for RGB in [0, 1] giving Y in 0..255.
_BT601_Y = (65.481, 128.553, 24.966)


def rgb_to_y(levels: torch.Tensor) -> torch.Tensor:
    """BT.601 luma of Nx3xHxW 0..255 RGB levels (BasicSR ``to_y_channel``): Nx1xHxW, range 16..235."""
    w = torch.tensor(_BT601_Y, dtype=levels.dtype, device=levels.device).view(1, 3, 1, 1)
    return (levels * w).sum(dim=1, keepdim=True) / _PEAK + 16.0


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA, *, dtype=torch.float64,
                    device=None) -> torch.Tensor:
    """Normalised 1-D Gaussian taps, as ``scipy.ndimage.gaussian_filter`` and ``cv2.getGaussianKernel`` build them."""
    r = size // 2
    x = torch.arange(-r, r + 1, dtype=dtype, device=device)
    g = torch.exp(-0.5 * (x / sigma) ** 2)
    return g / g.sum()


def _prepare(pred: torch.Tensor, target: torch.Tensor, crop_border: int, y_channel: bool) -> tuple:
    if pred.shape != target.shape:
        raise ValueError(f"image shapes differ: {tuple(pred.shape)} vs {tuple(target.shape)}")
    if pred.dim() == 3:
        pred, target = pred.unsqueeze(0), target.unsqueeze(0)
    if pred.dim() != 4:
        raise ValueError(f"expected CxHxW or NxCxHxW images, got shape {tuple(pred.shape)}")
    if pred.device.type == "mps":  # no float64 on MPS
        pred, target = pred.cpu(), target.cpu()
    a, b = to_uint8(pred), to_uint8(target.to(pred.device))
    if crop_border:
        if min(a.shape[-2:]) <= 2 * crop_border:
            raise ImageSizeError(f"crop_border={crop_border} leaves nothing of a {a.shape[-1]}x{a.shape[-2]} image")
        a = a[..., crop_border:-crop_border, crop_border:-crop_border]
        b = b[..., crop_border:-crop_border, crop_border:-crop_border]
    if y_channel:
        if a.shape[1] != 3:
            raise ValueError("y_channel needs RGB images")
        a, b = rgb_to_y(a), rgb_to_y(b)
    return a, b


def psnr(pred: torch.Tensor, target: torch.Tensor, *, crop_border: int = 0,
         y_channel: bool = False) -> torch.Tensor:
    """PSNR in dB of each image in the batch (float64 tensor of shape N); ``inf`` for identical images."""
    a, b = _prepare(pred, target, crop_border, y_channel)
    mse = (a - b).pow(2).flatten(1).mean(dim=1)
    return 10.0 * torch.log10(_PEAK**2 / mse)  # mse == 0 gives +inf, as BasicSR and scikit-image


def ssim(pred: torch.Tensor, target: torch.Tensor, *, crop_border: int = 0,
         y_channel: bool = False) -> torch.Tensor:
    """Mean SSIM of each image in the batch (float64 tensor of shape N), per channel then channel mean."""
    a, b = _prepare(pred, target, crop_border, y_channel)
    return _ssim_levels(a, b)


def _ssim_levels(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    n, c, h, w = a.shape
    if h < SSIM_WINDOW or w < SSIM_WINDOW:
        raise ImageSizeError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels, got {w}x{h}")
    # Five statistics per channel, Gaussian-filtered together (separable, valid region only).
    stats = torch.cat([a, b, a * a, b * b, a * b], dim=1)  # N x 5C x H x W
    g = gaussian_window().tolist()
    stats = _valid_filter_1d(_valid_filter_1d(stats, g, dim=-1), g, dim=-2)
    mu_a, mu_b, e_aa, e_bb, e_ab = stats.split(c, dim=1)
    var_a, var_b, cov = e_aa - mu_a * mu_a, e_bb - mu_b * mu_b, e_ab - mu_a * mu_b
    c1, c2 = (_K1 * _PEAK) ** 2, (_K2 * _PEAK) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return s.flatten(2).mean(dim=2).mean(dim=1)


def _valid_filter_1d(x: torch.Tensor, taps: list[float], dim: int) -> torch.Tensor:
    """Correlate along ``dim`` with ``taps``, keeping only positions whose window is inside the image.

    A sum of shifted slices: on CPU float64 this is ~6x faster than a grouped ``conv2d`` and gives the
    same numbers (the taps are symmetric, so correlation and convolution coincide).
    """
    n = x.shape[dim] - len(taps) + 1
    out = x.narrow(dim, 0, n) * taps[0]
    for k in range(1, len(taps)):
        out.add_(x.narrow(dim, k, n), alpha=taps[k])
    return out


def psnr_ssim(pred: torch.Tensor, target: torch.Tensor, *, crop_border: int = 0,
              y_channel: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Both metrics from one quantisation pass: ``(psnr[N], ssim[N])``."""
    a, b = _prepare(pred, target, crop_border, y_channel)
    mse = (a - b).pow(2).flatten(1).mean(dim=1)
    return 10.0 * torch.log10(_PEAK**2 / mse), _ssim_levels(a, b)
