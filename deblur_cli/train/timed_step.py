"""The training step that `deblur bench --train` times (on a ready batch, and fed by the loader): one place, so
that both timings measure the same work."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn


def training_step(module: nn.Module, content: nn.Module, optimizer: torch.optim.Optimizer, ema=None,
                  forward: Callable[[torch.Tensor], torch.Tensor] | None = None
                  ) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The generator update of ``train.loop.Trainer.train_step`` without adversarial terms, schedule or logs;
    ``forward`` runs the network (a compiled wrapper of ``module``, say), ``module`` owns the weights."""
    forward = forward or module

    def step(blur: torch.Tensor, sharp: torch.Tensor) -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        total, _terms = content(forward(blur), sharp)
        total.backward()
        optimizer.step()
        if ema is not None:
            ema.update(module)
        return total.detach()

    return step
