"""Coarse-to-fine multi-scale generator of article 002 (sections 3.2 and 3.4).

Three levels of a Gaussian pyramid (1/4, 1/2 and full size; 64, 128 and 256 pixels during training). The
coarsest level sees the blurred image at 1/4 size; each finer level sees the blurred image at its size
concatenated with the upsampled result of the coarser level. Every level is a residual sub-network and
produces a deblurred image at its scale; ``forward`` returns all three, coarsest first and finest last,
for the multi-scale L2 content loss (section 3.4: sum_i k_i ||I_i - J_i||^2 / N_i).

The article's figures (generator, residual sub-network) are missing from its text, so the sub-network
follows the design it describes, Nah et al.'s DeepDeblur (CVPR 2017), which the article's coarse-to-fine
scheme reproduces; choices, written down:
- A level is: 3x3 conv to ``channels`` -> ``blocks`` ResBlocks without normalisation (conv-ReLU-conv plus
  identity, as in DeepDeblur) -> 3x3 conv to 3 channels, plus the level's blurred input (a global residual
  per level). DeepDeblur uses 5x5 convs and 19 blocks; the paper preset keeps 3x3 convs and 9 blocks.
- Each level has its own weights (three "hierarchical networks", not one network shared across scales).
- Pyramid: 2x2 average pooling (a box-filter Gaussian pyramid: no aliasing from a plain subsample). The
  coarser result is brought up with bilinear interpolation, which has no weights (DeepDeblur learns a
  transposed conv).
- Each level's last conv starts at zero, so an untrained network returns its input at every scale
  (short CPU training runs start from "no change").
- Initialisation: PyTorch's default in both presets. The article does not say, and it does not build on
  the pix2pix / DeblurGAN codes whose N(0, 0.02) the other paper presets use (``blocks.reference_init_``).
Image convention: [0, 1] in and out; the input must be a multiple of 4 (the registry's ``multiple_of``).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import ResBlock, zero_init_


class ScaleLevel(nn.Module):
    """One residual sub-network: blurred (and coarser result) -> deblurred image at this scale."""

    def __init__(self, in_channels: int, channels: int, blocks: int):
        super().__init__()
        self.intro = nn.Conv2d(in_channels, channels, 3, padding=1, padding_mode="reflect")
        self.body = nn.Sequential(*[ResBlock(channels, norm="none") for _ in range(blocks)])
        self.ending = zero_init_(nn.Conv2d(channels, 3, 3, padding=1, padding_mode="reflect"))

    def forward(self, blurred: torch.Tensor, coarser: torch.Tensor | None = None) -> torch.Tensor:
        inputs = blurred if coarser is None else torch.cat([blurred, coarser], dim=1)
        return blurred + self.ending(self.body(self.intro(inputs * 2 - 1)))


class MultiScaleGenerator(nn.Module):
    """levels[0] at 1/4 size, levels[1] at 1/2, levels[2] at full size; returns [1/4, 1/2, full]."""

    scales = 3

    def __init__(self, channels: int = 64, blocks: int = 9):
        super().__init__()
        self.levels = nn.ModuleList(
            ScaleLevel(3 if i == 0 else 6, channels, blocks) for i in range(self.scales))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        pyramid = [x]
        for _ in range(self.scales - 1):
            pyramid.insert(0, F.avg_pool2d(pyramid[0], 2))
        outputs: list[torch.Tensor] = []
        for level, blurred in zip(self.levels, pyramid):
            coarser = None
            if outputs:
                coarser = F.interpolate(outputs[-1], size=blurred.shape[-2:], mode="bilinear",
                                        align_corners=False)
            outputs.append(level(blurred, coarser))
        return outputs
