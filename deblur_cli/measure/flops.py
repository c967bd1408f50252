"""Parameter count and floating-point operations per image of a generator.

FLOPs come from ``torch.utils.flop_counter.FlopCounterMode``: it counts 2 FLOPs per multiply-add of
convolutions (also transposed), matrix products and attention; element-wise work (norms, activations,
additions) is not counted, which is the usual convention for network GFLOPs.

The count runs on the ``meta`` device first: shapes only, no arithmetic and no memory, so a full
1280x720 pass of a paper-size network costs milliseconds even where the real pass would not fit in memory
(self-attention at full resolution). If a network cannot run on ``meta``, the count runs for real on the
CPU on a smaller input and is scaled by the pixel ratio; ``FlopCount.method`` says which was done (the
scaling is exact for convolutions and an under-estimate for global self-attention, whose cost grows
with the square of the pixel count).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

FULL_HD_720 = (720, 1280)  # (H, W) of a GoPro frame


@dataclass(frozen=True)
class FlopCount:
    flops: float  # per image at (height, width)
    height: int
    width: int
    padded: tuple[int, int]  # the input size actually run (padded to the variant's multiple_of)
    method: str  # "meta device, exact shapes" or "CPU at WxH, scaled by pixel ratio"

    @property
    def gflops(self) -> float:
        return self.flops / 1e9


def padded_size(height: int, width: int, multiple_of: int) -> tuple[int, int]:
    """The size the engine runs: each side rounded up to ``multiple_of`` (the engine pads, then crops back)."""
    m = max(1, multiple_of)
    return -(-height // m) * m, -(-width // m) * m


def _count(module: nn.Module, x: torch.Tensor) -> float:
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        module(x)
    return float(counter.get_total_flops())


def count_flops(module: nn.Module, height: int = FULL_HD_720[0], width: int = FULL_HD_720[1],
                multiple_of: int = 1, fallback_side: int = 256) -> FlopCount:
    """FLOPs of one forward pass of ``module`` on a 1x3x``height``x``width`` image (padded as the engine does)."""
    ph, pw = padded_size(height, width, multiple_of)
    try:
        meta = copy.deepcopy(module).to("meta").eval()
        flops = _count(meta, torch.empty(1, 3, ph, pw, device="meta"))
        return FlopCount(flops, height, width, (ph, pw), "meta device, exact shapes")
    except Exception:  # noqa: BLE001 - an op without a meta kernel; fall back to a real, smaller pass
        pass
    scale = min(1.0, fallback_side / max(ph, pw))
    sh, sw = padded_size(max(1, round(ph * scale)), max(1, round(pw * scale)), multiple_of)
    cpu = copy.deepcopy(module)
    if any(t.is_meta for t in (*cpu.parameters(), *cpu.buffers())):
        cpu = cpu.to_empty(device="cpu")  # values do not change the count, only shapes do
    cpu = cpu.to("cpu", torch.float32).eval()
    flops = _count(cpu, torch.rand(1, 3, sh, sw))
    return FlopCount(flops * (ph * pw) / (sh * sw), height, width, (ph, pw),
                     f"CPU at {sw}x{sh}, scaled by pixel ratio")
