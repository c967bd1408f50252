"""Exponential moving average of the generator's weights (off unless ``[train] ema`` > 0).

The average is a second copy of the generator, updated after every generator step:
w_ema <- d * w_ema + (1 - d) * w. Buffers (BatchNorm statistics, spectral-norm vectors) are copied, not
averaged, because they are estimates, not learned weights. Validation and export use the average when it
is on, since that is the model a user would get.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    def __init__(self, module: nn.Module, decay: float):
        self.decay = decay
        self.module = copy.deepcopy(module).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        for avg, live in zip(self.module.parameters(), module.parameters()):
            avg.lerp_(live.detach(), 1.0 - self.decay)
        for avg, live in zip(self.module.buffers(), module.buffers()):
            avg.copy_(live)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.module.load_state_dict(state)
