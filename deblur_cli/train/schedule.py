"""Learning-rate schedule as a pure function of the step, so resuming needs no scheduler state.

Papers 004 and DeblurGAN: "300 epochs; in the last 150 the learning rate decays linearly to zero";
pix2pix (the base of paper 001's Table 1 rows) does the same over its second half. ``linear_decay``
keeps the base rate until ``decay_start * max_steps`` and then falls linearly, reaching zero after the
last step; ``constant`` never changes it (report 003 mentions no schedule).

``cosine`` is for the long CPU run (docs/train.md, "The long run"): a linear warm-up over ``warmup`` steps,
then half a cosine from the base rate down to ``floor`` times it at ``max_steps``. The whole curve is fixed by
the config, so a run resumed any number of times follows the schedule planned on its first day.
"""

from __future__ import annotations

import math

SCHEDULES = ("linear_decay", "constant", "cosine")


def lr_factor(step: int, max_steps: int, schedule: str = "linear_decay", decay_start: float = 0.5,
              warmup: int = 0, floor: float = 0.0) -> float:
    """Multiplier of the base rate for the update that takes the model from ``step`` to ``step + 1``."""
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}")
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        progress = min(1.0, (step - warmup) / max(1, max_steps - warmup))
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
    start = int(decay_start * max_steps)
    if step < start:
        return 1.0
    return max(0.0, (max_steps - step) / max(1, max_steps - start))


def set_lr(optimizer, base_lr: float, factor: float) -> float:
    lr = base_lr * factor
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr
