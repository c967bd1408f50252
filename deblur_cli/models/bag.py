"""Blur-Attention-GAN generator (BAG).

Paper 004: *Blur-Attention-GAN (BAG) for single-image blind motion deblurring*, section 3.1-3.2, Fig. 2-3,
Table 1. The generator is an encoder (3 convs, IN + ReLU), a blur-attention network (4 blur-attention
modules joined by a multi-level residual connection) and a decoder (3 transposed convs), with a global
skip from the input image to the output.

Choices where the paper is silent (written down as the brief asks):
- Encoder widths and strides follow DeblurGAN, which the paper builds on: 7x7 conv to C/4, then two
  stride-2 3x3 convs to C/2 and C (C = 256 in the paper preset). The decoder mirrors it: two stride-2
  transposed convs, then a stride-1 7x7 transposed conv to 3 channels with no norm or activation.
- "72 channels" of the DenseBlock unit is read as the growth rate: each of the 6 densely connected 3x3
  convs outputs 72 channels and sees the concatenation of the module input and all earlier outputs.
  A 1x1 transition conv (the module's 7th conv, matching "all the modules have 7 convolutional layers")
  fuses the concatenation back to C channels.
- Multi-level residual connection (Fig. 3): each module is residual, r_k = M_k(h_k) + h_k (one-level, eq. 4),
  and the next module's input also receives the first module's input: h_{k+1} = r_k + h_0 for k >= 1.
  The network output is r_K + h_0. The ``one-level`` ablation uses h_{k+1} = r_k.
- Table 1 "Model 2" (``bag-dense-bn``) changes only the DenseBlock's normalisation to BatchNorm, "other parts
  are consistent with the BAG" (section 4.2): ``unit_norm`` sets the norm of the module units alone, while
  ``norm`` stays the encoder's and decoder's (InstanceNorm, section 3.2). ``unit_norm=None`` means ``norm``.
- Initialisation: the paper is silent; ``init="normal"`` follows DeblurGAN, on which BAG builds (conv weights
  ~ N(0, 0.02), BatchNorm scales ~ N(1, 0.02), biases 0; ``blocks.reference_init_``), and is used by the
  paper-size presets. The compact presets keep PyTorch's default (``init="default"``), the starting point of
  the bundled ``bag-compact`` weights (no state-dict key changes).
- Image range [0, 1]; the global skip adds the decoder output to the input image. The decoder's last layer starts
  at zero, so an untrained generator returns its input (short CPU runs start from "no change", not from noise).
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import ResBlock, SpatialAttention, conv_norm_act, norm_layer, reference_init_, zero_init_


class DenseBlockUnit(nn.Module):
    """DBU (section 3.1 (1)): 6 densely connected 3x3 convs (norm + ReLU) and a 1x1 transition."""

    def __init__(self, channels: int, growth: int, layers: int = 6, norm: str = "instance"):
        super().__init__()
        self.growth = growth
        self.layers = nn.ModuleList(
            conv_norm_act(channels + i * growth, growth, 3, norm=norm) for i in range(layers))
        self.fuse = nn.Conv2d(channels + layers * growth, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() or x.shape[0] != 1 or not x.is_contiguous():  # see below
            features = [x]
            for layer in self.layers:
                features.append(layer(torch.cat(features, dim=1)))
            return self.fuse(torch.cat(features, dim=1))
        return self._forward_into_one_buffer(x)

    def _forward_into_one_buffer(self, x: torch.Tensor) -> torch.Tensor:
        """The same dense connections without re-concatenating: each layer's output is written once into a
        buffer that holds all the features, and each layer reads the leading channels of it. For one image a
        channel prefix of an NCHW tensor is contiguous, so no layer's input is copied; the concatenations cost
        O(layers^2) copies and 12 % of bag-compact's inference time on a CPU (torch.profiler, 1280x720). Inference
        only: autograd needs the tensors that the in-place writes would overwrite."""
        buffer = x.new_empty(x.shape[0], self.fuse.in_channels, *x.shape[2:])
        filled = x.shape[1]
        buffer[:, :filled] = x
        for layer in self.layers:
            buffer[:, filled:filled + self.growth] = layer(buffer[:, :filled])
            filled += self.growth
        return self.fuse(buffer)


class PlainUnit(nn.Sequential):
    """Table 1 "Model Plain": the DBU replaced by 7 plain 3x3 convs."""

    def __init__(self, channels: int, layers: int = 7, norm: str = "instance"):
        super().__init__(*[conv_norm_act(channels, channels, 3, norm=norm) for _ in range(layers - 1)],
                         nn.Conv2d(channels, channels, 3, padding=1))


class ResBlockUnit(nn.Sequential):
    """Table 1 "Model 1": the DBU replaced by ResBlocks (3 blocks = 6 convs, plus a 3x3 conv = 7)."""

    def __init__(self, channels: int, norm: str = "instance"):
        super().__init__(*[ResBlock(channels, norm=norm, padding_mode="zeros") for _ in range(3)],
                         nn.Conv2d(channels, channels, 3, padding=1))


class BlurAttentionModule(nn.Module):
    """BAM, eq. 2: F_out = SAU(DBU(F_in)) (x) DBU(F_in); without SAU for the Table 1 ablations."""

    def __init__(self, channels: int, growth: int, unit: str, norm: str, attention: bool):
        super().__init__()
        if unit == "dense":
            self.features = DenseBlockUnit(channels, growth, norm=norm)
        elif unit == "plain":
            self.features = PlainUnit(channels, norm=norm)
        elif unit == "resblock":
            self.features = ResBlockUnit(channels, norm=norm)
        else:
            raise ValueError(f"unknown unit {unit!r}")
        self.attention = SpatialAttention(7) if attention else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)
        return self.attention(f) if self.attention is not None else f


class BAGGenerator(nn.Module):
    """Encoder -> 4 blur-attention modules (multi-level residual) -> decoder, plus global skip."""

    def __init__(self, channels: int = 256, growth: int = 72, modules: int = 4, unit: str = "dense",
                 norm: str = "instance", attention: bool = True, residual: str = "multi",
                 unit_norm: str | None = None, init: str = "default"):
        super().__init__()
        if residual not in ("multi", "one"):
            raise ValueError(f"residual must be 'multi' or 'one', not {residual!r}")
        c = channels
        self.residual = residual
        self.encoder = nn.Sequential(  # section 3.2: three convs, IN + ReLU
            nn.Conv2d(3, c // 4, 7, padding=3, padding_mode="reflect", bias=False), norm_layer(norm, c // 4),
            nn.ReLU(inplace=True),
            conv_norm_act(c // 4, c // 2, 3, stride=2, norm=norm),
            conv_norm_act(c // 2, c, 3, stride=2, norm=norm),
        )
        # Table 1 "Model 2" (section 4.2): only the DenseBlock's norm changes; encoder and decoder keep ``norm``
        self.blocks = nn.ModuleList(
            BlurAttentionModule(c, growth, unit, unit_norm or norm, attention) for _ in range(modules))
        self.decoder = nn.Sequential(  # section 3.2: three transposed convs
            nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1, bias=False),
            norm_layer(norm, c // 2), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(c // 2, c // 4, 3, stride=2, padding=1, output_padding=1, bias=False),
            norm_layer(norm, c // 4), nn.ReLU(inplace=True),
            zero_init_(nn.ConvTranspose2d(c // 4, 3, 7, stride=1, padding=3)),
        )
        reference_init_(self, init, skip=(self.decoder[-1],))  # DeblurGAN's N(0, 0.02) when init="normal"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h0 = self.encoder(x)
        h = h0
        for k, block in enumerate(self.blocks):
            r = block(h) + h  # one-level residual, eq. 4
            # Fig. 3(b, c): from the second module on, the first module's input joins every level
            h = r + h0 if (self.residual == "multi" and k >= 1) else r
        return x + self.decoder(h)  # global skip (section 3.2)

    def attention_maps(self) -> list[torch.Tensor]:
        """Spatial attention maps of the last forward pass, one (N, 1, H/4, W/4) map per module."""
        return [b.attention.last_map for b in self.blocks
                if b.attention is not None and b.attention.last_map is not None]

    def keep_attention_maps(self, keep: bool = True) -> None:
        for b in self.blocks:
            if b.attention is not None:
                b.attention.keep_map = keep
                b.attention.last_map = None
