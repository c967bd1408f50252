"""pix2pix U-Net generator with the self-attention, channel-attention, global-residual and spectral-norm
options of paper 001 (section 4.2.1, Fig. 4, Table 1).

The U-Net of pix2pix (Isola et al. 2017, ``unet_256``): ``levels`` encoder blocks, each a stride-2 4x4 conv,
channels ``ngf`` doubling up to 512; every block except the first is LeakyReLU(0.2) -> conv -> BatchNorm.
The decoder mirrors it with ReLU -> stride-2 4x4 transposed conv -> BatchNorm, each block's input being the
previous decoder output concatenated with the encoder output of the same size (the skips); dropout 0.5
in the three decoder blocks after the innermost one; the last block ends with tanh. The input must be a
multiple of 2**levels (256 for the paper's 8 levels; the registry's ``multiple_of``).

Choices, written down:
- Innermost level: BatchNorm over a 1x1 map with batch 1 fails in training ("expected more than 1 value
  per channel"), so, as pix2pix does, the innermost encoder conv has no norm.
- Attention placement (section 5.1: "added after every three encoder/decoder blocks, with a channel
  attention between the encoder and the decoder when the feature size is 1x1x512"): at the feature levels
  3, 6, ... (1/8, 1/64, ... of the input), once on the encoder side (on the input of the next encoder
  block, after its LeakyReLU, as the authors' code does) and once on the decoder side (on the
  concatenated input of the decoder block that reads that level). The authors' code counts decoder blocks
  from the bottleneck, which puts one attention at 1/4 resolution: 4,096 tokens at 256x256, but 61,440 at
  1280x768, where non-local attention is O((HW)^2) (the review, paper 000). Mirroring the encoder keeps
  every attention at 1/8 resolution or coarser. ``attention_levels`` overrides the levels (compact presets).
- ``self_attention`` = non-local block of eq. 2 (``blocks.SelfAttention``, gamma starts at 0);
  ``attention_output_conv`` adds eq. 2's output conv v (O = v(A h(X)), as the authors' code has it). It is
  off by default and on in the paper-size presets: the bundled ``pix2pix-sa-ca-gr-sn-compact`` weights were
  trained without v and must keep loading (``blocks.SelfAttention`` says what leaving v out changes);
  ``channel_attention`` = squeeze-and-excitation of eq. 3-4 at the same places, after the self-attention.
  The bottleneck channel attention is present whenever either attention is enabled.
- Image convention: the body sees ``2x - 1``; without global residual the output is ``(tanh + 1) / 2``,
  with it ``x + tanh`` (a correction added to the [0, 1] input), and the last transposed conv starts at zero
  so an untrained network returns its input (short CPU training runs start from "no change").
- Initialisation: ``init="normal"`` is pix2pix's ``init_weights`` "normal" (conv weights ~ N(0, 0.02),
  BatchNorm scales ~ N(1, 0.02), biases 0; the authors' TF code does the same), used by the paper-size
  presets; the compact presets keep PyTorch's default (``init="default"``), the starting point of their
  bundled weights (it changes no state-dict key). The zero-initialised last layer of ``-gr`` differs from
  pix2pix on purpose (identity start, above).
- ``spectral_norm`` wraps every conv and transposed conv, attention 1x1 convs included (the authors' code
  does the same), except a zero-initialised last layer (its spectral norm would be 0 -> NaN).
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import ChannelAttention, SelfAttention, apply_spectral_norm, reference_init_, zero_init_


def _attention(channels: int, self_attention: bool, channel_attention: bool, output_conv: bool) -> nn.Module:
    layers: list[nn.Module] = []
    if self_attention:
        layers.append(SelfAttention(channels, output_conv=output_conv))  # eq. 2 (with v when output_conv)
    if channel_attention:
        layers.append(ChannelAttention(channels))  # eq. 3-4
    return nn.Sequential(*layers)


class EncoderBlock(nn.Module):
    """[LeakyReLU ->] [attention ->] stride-2 4x4 conv [-> BatchNorm]."""

    def __init__(self, cin: int, cout: int, outermost: bool, innermost: bool, attention: nn.Module | None):
        super().__init__()
        self.act = nn.Identity() if outermost else nn.LeakyReLU(0.2)
        self.attention = attention
        norm = not (outermost or innermost)
        self.conv = nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=not norm)
        self.norm = nn.BatchNorm2d(cout) if norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(x)
        if self.attention is not None:
            h = self.attention(h)
        return self.norm(self.conv(h))


class DecoderBlock(nn.Module):
    """ReLU [-> attention] -> stride-2 4x4 transposed conv -> BatchNorm [-> dropout] (outermost: no norm)."""

    def __init__(self, cin: int, cout: int, outermost: bool, dropout: float, attention: nn.Module | None):
        super().__init__()
        self.attention = attention
        self.conv = nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=outermost)
        self.norm = nn.Identity() if outermost else nn.BatchNorm2d(cout)
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(x)
        if self.attention is not None:
            h = self.attention(h)
        return self.dropout(self.norm(self.conv(h)))


class UNetGenerator(nn.Module):
    """encoders[0..L-1] -> bottleneck (channel attention) -> decoders[L-1..0], skips by concatenation."""

    def __init__(self, ngf: int = 64, levels: int = 8, max_channels: int = 512, self_attention: bool = False,
                 channel_attention: bool = False, global_residual: bool = False, spectral_norm: bool = False,
                 dropout: float = 0.5, attention_levels: tuple[int, ...] | None = None,
                 attention_output_conv: bool = False, init: str = "default"):
        super().__init__()
        if levels < 2:
            raise ValueError("levels must be >= 2")
        self.global_residual = global_residual
        attend = self_attention or channel_attention
        at = set(attention_levels if attention_levels is not None else range(3, levels, 3)) if attend else set()
        ch = [min(ngf * 2 ** k, max_channels) for k in range(levels)]  # channels at level k + 1

        def attention(channels: int, level: int) -> nn.Module | None:
            return (_attention(channels, self_attention, channel_attention, attention_output_conv)
                    if level in at else None)

        # Encoder block k reads level k (0 = the image) and writes level k + 1.
        self.encoders = nn.ModuleList(
            EncoderBlock(3 if k == 0 else ch[k - 1], ch[k], outermost=k == 0, innermost=k == levels - 1,
                         attention=attention(ch[k - 1], k) if k else None)
            for k in range(levels))
        self.bottleneck = ChannelAttention(ch[-1]) if attend else nn.Identity()
        # Decoder block k reads level k + 1 (concatenated with the skip, except at the innermost level) and
        # writes level k; decoders[0] produces the image.
        self.decoders = nn.ModuleList(
            DecoderBlock(ch[k] * (1 if k == levels - 1 else 2), 3 if k == 0 else ch[k - 1], outermost=k == 0,
                         dropout=dropout if levels - 4 <= k < levels - 1 and k > 0 else 0.0,
                         attention=attention(ch[k] * 2, k + 1) if k < levels - 1 else None)
            for k in range(levels))
        reference_init_(self, init)  # pix2pix's N(0, 0.02) when init="normal", before zero init and SN
        last = self.decoders[0].conv
        if global_residual:
            zero_init_(last)
        if spectral_norm:
            apply_spectral_norm(self, skip=(last,) if global_residual else ())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x * 2 - 1
        skips = []
        for encoder in self.encoders:
            h = encoder(h)
            skips.append(h)
        h = self.bottleneck(skips.pop())
        for k in range(len(self.decoders) - 1, -1, -1):
            h = self.decoders[k](h if k == len(self.decoders) - 1 else torch.cat([h, skips[k]], dim=1))
        return x + torch.tanh(h) if self.global_residual else (torch.tanh(h) + 1) / 2
