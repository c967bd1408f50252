"""Learning-rate schedule as a pure function of the step, so resuming needs no scheduler state.

Papers 004 and DeblurGAN: "300 epochs; in the last 150 the learning rate decays linearly to zero";
pix2pix (the base of paper 001's Table 1 rows) does the same over its second half. ``linear_decay``
keeps the base rate until ``decay_start * max_steps`` and then falls linearly, reaching zero after the
last step; ``constant`` never changes it (report 003 mentions no schedule).
"""

from __future__ import annotations


def lr_factor(step: int, max_steps: int, schedule: str = "linear_decay", decay_start: float = 0.5) -> float:
    """Multiplier of the base rate for the update that takes the model from ``step`` to ``step + 1``."""
    if schedule == "constant":
        return 1.0
    if schedule != "linear_decay":
        raise ValueError(f"unknown schedule {schedule!r}")
    start = int(decay_start * max_steps)
    if step < start:
        return 1.0
    return max(0.0, (max_steps - step) / max(1, max_steps - start))


def set_lr(optimizer, base_lr: float, factor: float) -> float:
    lr = base_lr * factor
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr
