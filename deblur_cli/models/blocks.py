"""Building blocks shared by several generator families.

Family-specific modules stay in their family's file; only pieces used by two or more families live here.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def norm_layer(kind: str, channels: int) -> nn.Module:
    """``"instance"`` (affine, no running stats: per-image statistics at train and test time, as in
    DeblurGAN and BAG), ``"batch"`` or ``"none"``."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}")


def conv_norm_act(cin: int, cout: int, kernel: int = 3, stride: int = 1, norm: str = "instance",
                  act: str = "relu", padding_mode: str = "zeros") -> nn.Sequential:
    """Conv -> norm -> activation; a conv followed by a norm needs no bias."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=norm == "none",
                                         padding_mode=padding_mode),
                               norm_layer(norm, cout)]
    layers.append(activation(act))
    return nn.Sequential(*layers)


def activation(kind: str) -> nn.Module:
    return {"relu": nn.ReLU(inplace=True), "lrelu": nn.LeakyReLU(0.2, inplace=True),
            "none": nn.Identity(), "tanh": nn.Tanh(), "sigmoid": nn.Sigmoid()}[kind]


class ResBlock(nn.Module):
    """conv-norm-relu-conv-norm plus identity (He et al. 2016, eq. y = F(x) + x), as in DeblurGAN."""

    def __init__(self, channels: int, norm: str = "instance", dropout: float = 0.0,
                 padding_mode: str = "reflect"):
        super().__init__()
        layers: list[nn.Module] = [conv_norm_act(channels, channels, 3, norm=norm, padding_mode=padding_mode)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers += [nn.Conv2d(channels, channels, 3, 1, 1, bias=norm == "none", padding_mode=padding_mode),
                   norm_layer(norm, channels)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SpatialAttention(nn.Module):
    """BAG's spatial attention unit (paper 004 eq. 3): A = sigmoid(f7x7([MaxPool_c(F'), AvgPool_c(F')])).

    Also the spatial half of CBAM used by the RiR blocks of paper 001. ``last_map`` keeps the most recent
    attention map (N, 1, H, W) so the CLI can save it (paper 004 Fig. 7) without a second forward pass.
    """

    def __init__(self, kernel: int = 7, keep_map: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel, padding=kernel // 2)
        self.keep_map = keep_map
        self.last_map: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)], dim=1)
        attention = torch.sigmoid(self.conv(pooled))
        if self.keep_map:
            self.last_map = attention.detach()
        return x * attention  # eq. 2: F_out = A (x) F'


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation (Hu et al. 2018; paper 001 eq. 3-4): s = sigmoid(W2 relu(W1 avgpool(x)))."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.fc = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True),
                                nn.Conv2d(hidden, channels, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x.mean(dim=(2, 3), keepdim=True))


class SelfAttention(nn.Module):
    """Non-local self-attention (Wang et al. 2018; SAGAN; paper 001 eq. 2): y = gamma * o + x.

    Paper 001 eq. 2: A = softmax(f(X)^T g(X)), O = v(A h(X)), Y = gamma * O + X, with f, g, h, v 1x1 convs
    (f, g: C -> C/8; h: C -> C; v: C -> C, as in the authors' code). ``output_conv=True`` gives that form.
    ``output_conv=False`` (the default) leaves v out, O = A h(X): the form the bundled compact weights
    (``pix2pix-sa-ca-gr-sn-compact``, ``rir-compact``) were trained with, kept so that their files and any
    checkpoint of the compact presets load unchanged. Leaving v out loses no function: each row of A sums
    to 1, so v(A h(X)) = A (W_v W_h X + W_v b_h) + b_v = A h'(X) with h' a single 1x1 conv. What differs is
    the parameterisation (two factors train differently from one) and, under spectral norm, the bound
    (||W_v W_h|| <= 1 for two normalised factors, = 1 for one). The paper-size presets, which reproduce the
    paper's tables, set ``output_conv=True``.
    gamma is learnable and starts at 0, so the block begins as identity. Attention is O((HW)^2) in memory
    (the review, paper 000, warns of this): the variant is marked ``tiling="discouraged"`` and callers
    tile large images.
    """

    def __init__(self, channels: int, reduction: int = 8, output_conv: bool = False):
        super().__init__()
        inner = max(channels // reduction, 1)
        self.query = nn.Conv2d(channels, inner, 1)  # f
        self.key = nn.Conv2d(channels, inner, 1)  # g
        self.value = nn.Conv2d(channels, channels, 1)  # h
        self.out = nn.Conv2d(channels, channels, 1) if output_conv else None  # v of eq. 2 (see docstring)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape

        # scaled_dot_product_attention takes its fused (flash) CPU kernel only for contiguous 4-D
        # (N, heads, L, E) inputs whose query, key and value widths agree; otherwise it materialises the
        # (HW)^2 matrix. Measured at 14,720 tokens, 64 channels, 2 threads: 3.2 s and 2.2 GB peak unfused,
        # 0.8 s and 0.27 GB fused. Zero-padding query and key to the value width leaves q k^T unchanged.
        def tokens(t: torch.Tensor) -> torch.Tensor:
            t = t.flatten(2).transpose(1, 2)
            return F.pad(t, (0, c - t.shape[-1]))[:, None].contiguous()

        q, k, v = tokens(self.query(x)), tokens(self.key(x)), tokens(self.value(x))
        o = F.scaled_dot_product_attention(q, k, v, scale=1.0)[:, 0]  # A h(X), A = softmax(f^T g), eq. 2
        o = o.transpose(1, 2).reshape(n, c, h, w)
        if self.out is not None:
            o = self.out(o)  # O = v(A h(X)), eq. 2
        return x + self.gamma * o  # Y = gamma * O + X, eq. 2


def pad_to_multiple(x: torch.Tensor, multiple: int, mode: str = "reflect") -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad bottom/right so H and W are multiples of ``multiple``; returns the padded tensor and (H, W)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        # reflect needs pad < size; fall back to replicate for tiny inputs
        use = mode if (ph < h and pw < w) else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=use)
    return x, (h, w)


# --- Pieces shared by the DeblurGAN, pix2pix, RiR, multi-scale families and the discriminators. ------------

def apply_spectral_norm(module: nn.Module, skip: tuple[nn.Module, ...] = ()) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018; paper 001 section 4.1.4) on every conv and transposed
    conv inside ``module`` except those in ``skip``.

    Skip a zero-initialised output conv: SN divides the weight by its largest singular value, which is 0
    for a zero weight, and the division would give NaN. State-dict keys of a wrapped conv become
    ``<name>.parametrizations.weight.original`` plus the power-iteration vectors ``..._u`` / ``..._v``.
    """
    skipped = {id(m) for m in skip}
    for m in list(module.modules()):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and id(m) not in skipped:
            nn.utils.parametrizations.spectral_norm(m)
    return module


INITS = ("default", "normal")


def reference_init_(module: nn.Module, init: str, skip: tuple[nn.Module, ...] = (), std: float = 0.02) -> nn.Module:
    """The weight initialisation of the pix2pix and DeblurGAN codes (their ``weights_init`` / ``init_weights``
    "normal", which paper 001's authors' code also uses): every conv and transposed conv weight ~ N(0, 0.02),
    its bias 0; BatchNorm scale ~ N(1, 0.02), shift 0. InstanceNorm is left at scale 1, shift 0 (those codes
    use it without affine parameters, which is the same at the start).

    ``init="default"`` leaves PyTorch's own initialisation (conv weights ~ U(+-1/sqrt(fan_in)), i.e. std
    1/sqrt(3 fan_in): 0.048 for a 16-channel 3x3 conv, 0.012 for a 256-channel one), which the compact presets
    were trained from. Call it before ``zero_init_`` and spectral norm, or pass zero-initialised layers in
    ``skip``; it changes only the starting weights, never the state-dict layout.
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, not {init!r}")
    if init == "default":
        return module
    skipped = {id(m) for m in skip}
    with torch.no_grad():
        for m in module.modules():
            if id(m) in skipped:
                continue
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                m.weight.normal_(0.0, std)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.normal_(1.0, std)
                m.bias.zero_()
    return module


def zero_init_(layer: nn.Module) -> nn.Module:
    """Zero a conv's weight and bias. On the last conv of a global-residual branch this makes an untrained
    generator return its input exactly, so short CPU training runs start from "no change" (PSNR of the
    blurred image) instead of from noise."""
    nn.init.zeros_(layer.weight)
    if getattr(layer, "bias", None) is not None:
        nn.init.zeros_(layer.bias)
    return layer
