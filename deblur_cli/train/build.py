"""Turn a validated config into networks, losses and optimizers (no training happens here).

Kept apart from the loop so that tests can check that every shipped config builds its generator and
discriminator without running them.
"""

from __future__ import annotations

import random
from typing import Optional

import numpy as np
import torch
from torch import nn

from .. import registry
from ..errors import ConfigError, DeblurError
from .adversarial import Adversarial
from .config import TrainConfig


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def build_generator(cfg: TrainConfig) -> nn.Module:
    spec = registry.get(cfg.model.variant)
    if any(l.type == "multiscale_l2" for l in cfg.losses) and not spec.multiscale_outputs:
        raise DeblurError(f"{cfg.path}: multiscale_l2 needs a generator with multi-scale outputs; "
                          f"{spec.name} has one output (use l2)")
    for where, side in (("[data] crop", cfg.data.crop),
                        ("[data.val] crop", cfg.data.val.crop if cfg.data.val.kind in ("synthetic", "noise") else None)):
        if side and side % spec.multiple_of:
            raise DeblurError(f"{cfg.path}: {where} = {side} is not a multiple of {spec.multiple_of}, "
                              f"which {spec.name} needs")
    try:
        return spec.build(**cfg.model.overrides)
    except (TypeError, ValueError) as exc:  # an unknown key, or a value the network refuses (levels = 1)
        raise ConfigError(f"{cfg.path}: [model] overrides do not fit {spec.name}: {exc}") from None


def build_discriminator(cfg: TrainConfig) -> Optional[nn.Module]:
    if cfg.discriminator is None:
        return None
    spec = registry.get(cfg.discriminator.variant)
    kwargs = dict(cfg.discriminator.overrides)
    if cfg.discriminator.conditional:
        kwargs.setdefault("in_channels", 6)  # pix2pix: blurred input and image, stacked
    try:
        return spec.build(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{cfg.path}: [discriminator] does not fit {spec.name}: {exc}") from None


def build_adversarial(cfg: TrainConfig) -> Optional[Adversarial]:
    a = cfg.adversarial
    if a is None:
        return None
    return Adversarial(a.type, weight=a.weight, n_critic=a.n_critic, gp_weight=a.gp_weight)


def build_optimizer(module: nn.Module, lr: float, betas: tuple) -> torch.optim.Adam:
    return torch.optim.Adam([p for p in module.parameters() if p.requires_grad], lr=lr,
                            betas=(float(betas[0]), float(betas[1])))
