"""ResNet GAN generator of report 003 (Pham & Bui, *Image deblurring with GAN*, section 3.4, Fig. 7).

Exactly as section 3.4 lists it:
- encoder: 7x7 conv (stride 1, padding 3) to 64 channels, BatchNorm, ReLU; then two 3x3 stride-2 convs to
  128 and 256 channels, each with BatchNorm and ReLU;
- bottleneck: 6 residual blocks, each two 3x3 convs with BatchNorm and ReLU plus the block input;
- decoder: two 4x4 stride-2 transposed convs (padding 1) to 128 and 64 channels, then a 7x7 conv
  (stride 1, padding 3) to 3 channels and tanh.

Choices where the report is silent, written down:
- The transposed convs are followed by BatchNorm and ReLU, like the encoder convs.
- Padding is zero padding ("padding of 3"); a conv followed by BatchNorm has no bias.
- The residual block is conv-BN-ReLU-conv-BN plus identity (He et al.; ``blocks.ResBlock``).
- Image convention: tanh gives [-1, 1] and we use [0, 1], so the network sees ``2x - 1`` and returns
  ``(tanh + 1) / 2``, the inverse of the report's normalisation. There is no global residual in the
  report, so an untrained network does not return its input.
- Initialisation: PyTorch's default in both presets; the report does not say, and unlike DeblurGAN and
  pix2pix (whose N(0, 0.02) the other paper presets use, ``blocks.reference_init_``) it has no code to follow.

Our addition, off by default and used only by the compact preset: ``global_residual=True`` returns
``x + tanh(branch)`` with the last conv starting at zero (DeblurGAN's output, ``models.deblurgan``), so the
network starts as the identity and learns a correction. Without it the compact network must first learn to
pass every detail through its 4x-downsampled bottleneck: two CPU runs (ngf 16, then ngf 32 for 6,175 steps)
ended below their own inputs on validation, with the training L1 flat from step 3,000. The paper preset
keeps the report's architecture.
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import ResBlock, zero_init_


def _conv_bn_relu(cin: int, cout: int, kernel: int, stride: int, transposed: bool = False) -> nn.Sequential:
    if transposed:
        conv: nn.Module = nn.ConvTranspose2d(cin, cout, kernel, stride=stride, padding=1, bias=False)
    else:
        conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class ResNetGANGenerator(nn.Module):
    """encoder (7x7, 2x stride 2) -> 6 BN ResBlocks -> decoder (2x 4x4 transposed, 7x7) -> tanh."""

    def __init__(self, ngf: int = 64, blocks: int = 6, global_residual: bool = False):
        super().__init__()
        self.global_residual = global_residual
        self.encoder = nn.Sequential(
            _conv_bn_relu(3, ngf, 7, 1),
            _conv_bn_relu(ngf, ngf * 2, 3, 2),
            _conv_bn_relu(ngf * 2, ngf * 4, 3, 2),
        )
        self.bottleneck = nn.Sequential(
            *[ResBlock(ngf * 4, norm="batch", padding_mode="zeros") for _ in range(blocks)])
        self.decoder = nn.Sequential(
            _conv_bn_relu(ngf * 4, ngf * 2, 4, 2, transposed=True),
            _conv_bn_relu(ngf * 2, ngf, 4, 2, transposed=True),
            nn.Conv2d(ngf, 3, 7, padding=3),
        )
        if global_residual:
            zero_init_(self.decoder[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.decoder(self.bottleneck(self.encoder(x * 2 - 1)))
        if self.global_residual:
            return x + torch.tanh(h)  # our addition (module docstring); the engine clamps
        return (torch.tanh(h) + 1) / 2  # section 3.4: [-1, 1] -> our [0, 1]
