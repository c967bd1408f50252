"""Residual-in-Residual (RiR) encoder-decoder of paper 001 (section 4.2.2, Fig. 5, Table 2).

An encoder-decoder "similar to that of pix2pix" whose encode and decode blocks are residual-in-residual
blocks (Fig. 5d): two ResBlocks (each two convs with channel attention, plus the block input), then a
stride-2 conv (encoder) or transposed conv (decoder), BatchNorm and ReLU; the result is added to the block
input "scaled to the proper size after it passes through another convolution". Table 2's rows all use
channel attention, self-attention, spectral norm and a global residual, so those are the defaults;
RiR(Large) (section 5.2) has one more encoder and one more decoder block (``levels`` + 1).

Layout (levels L, widths c_k = min(ngf * 2**(k-1), max_channels) at 1/2**k of the input):
    head: 4x4 stride-2 conv -> BN -> ReLU                              (image -> level 1, c_1)
    encoders[k]: RiR block, level k+1 -> k+2                           (k = 0 .. L-2)
    attention: non-local self-attention at the bottleneck (level L)
    decoders[k]: RiR block, level k+2 -> k+1; input = previous output ++ encoder skip (except innermost)
    tail: 4x4 stride-2 transposed conv -> tanh                        (level 1 ++ skip -> image)
The input must be a multiple of 2**L (16 for RiR, 32 for RiR(Large): the paper tests RiR at 1280x720 and
RiR(Large) at 1280x768, consistent with this).

Choices where the paper is silent, following the authors' code (github.com/lenka98/Bind-Deblurring-using-GANs,
RiR/net.py) where it has the answer:
- "Sl. Attn" in Table 2 is self-attention (its caption says so; Fig. 5d's caption says "spatial"); as in
  the authors' code it is one non-local block (eq. 2, gamma starts at 0) at the bottleneck, where the
  token count is smallest (3,600 tokens for 1280x720 at L = 4). ``attention_output_conv`` adds eq. 2's
  output conv v (O = v(A h(X)), in the authors' code too); off by default so the bundled ``rir-compact``
  weights, trained without it, keep loading; on in the paper-size presets. Skips are concatenations, as in pix2pix,
  and a decoder block's ResBlocks run at the concatenated width.
- The rescaled input path is a stride-2 4x4 conv (or transposed conv) -> BN -> ReLU, as in the authors' code.
- ResBlock convs are 3x3 (the authors' code uses 4x4 "same" convs, which pad asymmetrically), with a ReLU
  after the first channel attention (the paper lists no activation; without one the block is linear but
  for the attention gates). Channel attention reduces channels 8x, as in the authors' code.
- Widths double up to ``max_channels`` = 512, as in pix2pix (the authors' code lets RiR(Large) reach 1024).
- The tail has no BatchNorm (the authors' code puts one before tanh), so that it can start at zero: the
  output is ``x + tanh(tail)`` in our [0, 1] convention and an untrained network returns its input
  (short CPU training runs start from "no change"). Without global residual it is ``(tanh + 1) / 2``.
- Spectral norm wraps every conv, attention convs included, except the zero-initialised tail.
- Initialisation: ``init="normal"`` is the authors' code's (conv weights ~ N(0, 0.02), BatchNorm scales
  ~ N(1, 0.02), biases 0, as pix2pix), used by the paper-size presets; with spectral norm only the
  weights' direction survives. The compact presets keep PyTorch's default (``init="default"``), the starting
  point of their bundled weights (no state-dict key changes). The zero tail differs on purpose (above).
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import ChannelAttention, SelfAttention, apply_spectral_norm, reference_init_, zero_init_


class ResBlockCA(nn.Module):
    """x + CA(conv(relu(CA(conv(x))))): "two series of convolution and channel attention" plus the input."""

    def __init__(self, channels: int, channel_attention: bool = True, reduction: int = 8):
        super().__init__()

        def ca() -> nn.Module:
            return ChannelAttention(channels, reduction) if channel_attention else nn.Identity()

        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), ca(), nn.ReLU(inplace=True),
                                  nn.Conv2d(channels, channels, 3, padding=1), ca())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _resample(cin: int, cout: int, up: bool) -> nn.Sequential:
    """Stride-2 4x4 conv (down) or transposed conv (up) -> BN -> ReLU."""
    conv = nn.ConvTranspose2d if up else nn.Conv2d
    return nn.Sequential(conv(cin, cout, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class RiRBlock(nn.Module):
    """Fig. 5d: resample(ResBlock(ResBlock(x))) + resample'(x), halving or doubling the resolution."""

    def __init__(self, cin: int, cout: int, up: bool, channel_attention: bool = True):
        super().__init__()
        self.body = nn.Sequential(ResBlockCA(cin, channel_attention), ResBlockCA(cin, channel_attention),
                                  _resample(cin, cout, up))
        self.skip = _resample(cin, cout, up)  # the input "scaled to the proper size" by another conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.skip(x)


class RiRGenerator(nn.Module):
    """head -> encoders -> bottleneck self-attention -> decoders (concatenated skips) -> tail."""

    def __init__(self, ngf: int = 64, levels: int = 4, max_channels: int = 512, channel_attention: bool = True,
                 self_attention: bool = True, global_residual: bool = True, spectral_norm: bool = True,
                 attention_output_conv: bool = False, init: str = "default"):
        super().__init__()
        if levels < 2:
            raise ValueError("levels must be >= 2")
        self.global_residual = global_residual
        ch = [min(ngf * 2 ** k, max_channels) for k in range(levels)]  # ch[k]: width at level k + 1
        self.head = nn.Sequential(nn.Conv2d(3, ch[0], 4, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(ch[0]), nn.ReLU(inplace=True))
        self.encoders = nn.ModuleList(
            RiRBlock(ch[k], ch[k + 1], up=False, channel_attention=channel_attention) for k in range(levels - 1))
        # eq. 2; v (attention_output_conv) in the paper-size presets only, see the module docstring
        self.attention = (SelfAttention(ch[-1], output_conv=attention_output_conv) if self_attention
                          else nn.Identity())
        self.decoders = nn.ModuleList(
            RiRBlock(ch[k + 1] * (1 if k == levels - 2 else 2), ch[k], up=True, channel_attention=channel_attention)
            for k in range(levels - 1))
        self.tail = nn.ConvTranspose2d(ch[0] * 2, 3, 4, stride=2, padding=1)
        reference_init_(self, init)  # the authors' N(0, 0.02) when init="normal", before zero init and SN
        if global_residual:
            zero_init_(self.tail)
        if spectral_norm:
            apply_spectral_norm(self, skip=(self.tail,) if global_residual else ())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x * 2 - 1)
        skips = [h]
        for encoder in self.encoders:
            h = encoder(h)
            skips.append(h)
        h = self.attention(skips.pop())
        for k in range(len(self.decoders) - 1, -1, -1):
            h = self.decoders[k](h if k == len(self.decoders) - 1 else torch.cat([h, skips[k + 1]], dim=1))
        h = self.tail(torch.cat([h, skips[0]], dim=1))
        return x + torch.tanh(h) if self.global_residual else (torch.tanh(h) + 1) / 2
