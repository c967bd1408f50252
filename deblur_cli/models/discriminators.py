"""Discriminators the papers train their generators against.

``PatchGAN``: the 70x70 Markovian discriminator of pix2pix (Isola et al. 2017, ``n_layers=3``), used by
paper 001 (pix2pix rows; with spectral norm in section 4.1.3), DeblurGAN, BAG (paper 004 section 3.3) and
article 002. 4x4 convs: ``ndf`` channels with stride 2 and no norm, then ``layers - 1`` more stride-2 convs
doubling the width (capped at 8 * ndf), one stride-1 conv, and a stride-1 conv to one channel, each
inner conv followed by a norm and LeakyReLU(0.2). With ``layers=3`` every output logit sees a 70x70 patch.
Norm: InstanceNorm by default, as DeblurGAN's critic, because BatchNorm mixes samples and breaks the
per-sample gradient penalty of the WGAN-GP loss that DeblurGAN and BAG use; ``norm="batch"`` gives the
original pix2pix discriminator. ``in_channels=6`` makes it conditional (blurred and candidate images
concatenated, as in pix2pix); the default 3 judges the candidate alone (DeblurGAN, BAG).

``ReportDiscriminator``: report 003 section 3.5: a 4x4 stride-2 conv to 64 channels with LeakyReLU(0.2),
then 4x4 stride-2 convs to 128, 256 and 512 channels with BatchNorm and LeakyReLU(0.2), and a 4x4 stride-1
conv to one channel. The report applies a sigmoid and trains with BCE-with-logits; the sigmoid belongs to
the loss, so this module returns logits. Its "single scalar" is, for a fully convolutional network on a
whole image, a map of scores; the loss averages it. Padding of the last conv (unstated) is 1, as PatchGAN.

Initialisation: ``init="normal"`` is pix2pix's and DeblurGAN's (conv weights ~ N(0, 0.02), BatchNorm scales
~ N(1, 0.02), biases 0; ``blocks.reference_init_``), used by the paper-size ``patchgan`` and ``patchgan-sn``;
``init="default"`` (PyTorch's) for the others (report 003 does not say how it initialises its discriminator).
A discriminator is never bundled, so this touches no weights file.

Both take images in [0, 1] (mapped to [-1, 1] inside, the papers' convention) and return an (N, 1, h, w)
map of logits, one per patch: the training loss chooses how to use them (BCE, LSGAN or WGAN).
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import apply_spectral_norm, norm_layer, reference_init_


def _block(cin: int, cout: int, stride: int, norm: str) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 4, stride=stride, padding=1, bias=norm == "none"), norm_layer(norm, cout),
            nn.LeakyReLU(0.2, inplace=True)]


class PatchGAN(nn.Module):
    """pix2pix ``NLayerDiscriminator``: (N, in_channels, H, W) in [0, 1] -> (N, 1, h, w) logits."""

    def __init__(self, ndf: int = 64, layers: int = 3, spectral_norm: bool = False, norm: str = "instance",
                 in_channels: int = 3, init: str = "default"):
        super().__init__()
        widths = [ndf * min(2 ** k, 8) for k in range(layers + 1)]
        body: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        for k in range(1, layers):
            body += _block(widths[k - 1], widths[k], 2, norm)
        body += _block(widths[layers - 1], widths[layers], 1, norm)
        body.append(nn.Conv2d(widths[layers], 1, 4, stride=1, padding=1))
        self.body = nn.Sequential(*body)
        reference_init_(self, init)  # pix2pix's N(0, 0.02) when init="normal", before spectral norm
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x * 2 - 1)


class ReportDiscriminator(nn.Module):
    """Report 003 section 3.5: (N, 3, H, W) in [0, 1] -> (N, 1, h, w) logits."""

    def __init__(self, ndf: int = 64, in_channels: int = 3):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True),
            *_block(ndf, ndf * 2, 2, "batch"),
            *_block(ndf * 2, ndf * 4, 2, "batch"),
            *_block(ndf * 4, ndf * 8, 2, "batch"),
            nn.Conv2d(ndf * 8, 1, 4, stride=1, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x * 2 - 1)
