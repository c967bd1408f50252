"""Content losses: the weighted sum of the configured ``[[losses]]`` that compare output and target.

- ``l1``: mean |R - S| (paper 001 eq. 5; report 003 eq. 15 with weight 100).
- ``l2``: mean (R - S)^2 (paper 001 eq. 6).
- ``psnr``: mean over the batch of each image's 10 log10(MSE), i.e. minus its PSNR (the "PSNR loss" of Chen et al.,
  Simple Baselines for Image Restoration (NAFNet), ECCV 2022). Every image counts by its dB, so a near-sharp pair at
  46 dB weighs as much as a blurred one at 30 dB; with L1 or L2 a blurred pair's larger error drowns it.
- ``perceptual``: MSE of VGG19 features (paper 001 eq. 7, paper 004 eq. 7), see :mod:`perceptual`.
- ``multiscale_l2``: article 002, L = sum_i k_i ||I_i - J_i||^2 / N_i over the generator's outputs,
  coarsest first, where N_i is the number of values at scale i (so each term is a mean). Choice where the
  article is silent: the target J_i is the sharp image box-filtered down to the output's size ("area"
  interpolation), as a Gaussian pyramid's levels would be, without its extra blur.

Single-image losses on a multi-scale generator read the finest output (the last one).
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import DeblurError


def finest(output: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
    return output[-1] if isinstance(output, (list, tuple)) else output


def psnr_loss(image: torch.Tensor, sharp: torch.Tensor) -> torch.Tensor:
    mse = (image.float() - sharp.float()).pow(2).flatten(1).mean(1)
    return (10.0 * torch.log10(mse + 1e-8)).mean()  # 1e-8: NAFNet's floor, 80 dB


def multiscale_l2(outputs: Sequence[torch.Tensor], sharp: torch.Tensor, ks: Sequence[float]) -> torch.Tensor:
    if len(outputs) != len(ks):
        raise DeblurError(f"multiscale_l2: the generator gave {len(outputs)} scales but scale_weights has "
                          f"{len(ks)} numbers; give one k_i per scale")
    total = sharp.new_zeros(())
    for k, out in zip(ks, outputs):
        target = sharp if out.shape[-2:] == sharp.shape[-2:] else F.interpolate(sharp, size=out.shape[-2:],
                                                                                mode="area")
        total = total + k * F.mse_loss(out.float(), target.float())
    return total


class ContentLoss(nn.Module):
    """sum_j w_j * loss_j(output, sharp); ``forward`` also returns each weighted term for the log."""

    def __init__(self, losses: Sequence, perceptual: Optional[nn.Module] = None):
        super().__init__()
        self.specs = list(losses)
        self.perceptual = perceptual
        if any(l.type == "perceptual" for l in self.specs) and perceptual is None:
            raise ValueError("a perceptual loss is configured but no VGG19 network was given")

    def forward(self, output, sharp: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        image = finest(output)
        total = sharp.new_zeros((), dtype=torch.float32)
        terms: dict[str, torch.Tensor] = {}  # detached; read only when logged
        for spec in self.specs:
            if spec.type == "l1":
                value = F.l1_loss(image.float(), sharp.float())
            elif spec.type == "l2":
                value = F.mse_loss(image.float(), sharp.float())
            elif spec.type == "psnr":
                value = psnr_loss(image, sharp)
            elif spec.type == "perceptual":
                value = self.perceptual(image, sharp)
            elif spec.type == "multiscale_l2":
                outs = output if isinstance(output, (list, tuple)) else [output]
                value = multiscale_l2(outs, sharp, spec.scale_weights)
            else:
                raise ValueError(f"not a content loss: {spec.type!r}")
            weighted = spec.weight * value
            terms[spec.type] = weighted.detach()
            total = total + weighted
        return total, terms
