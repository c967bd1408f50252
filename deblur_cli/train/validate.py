"""Validation on a fixed held-out set: PSNR, SSIM and L1 of the generator's restorations.

The set is read once and kept in memory (it is small by design: ``[data.val] count``). Images go through
the same path as inference (:func:`adapters.validation_runner`: padding to the variant's multiple,
finest output, clamping), one at a time at full size, so the numbers are those a user would measure.
Under ``torchrun`` each rank scores every world-th image and the sums are combined. Random generators
are left untouched, so validating does not change the training that follows.
"""

from __future__ import annotations

from typing import Optional

import torch

from . import adapters
from .checkpoint import frozen_rng
from .data import centre_crop, rescale
from .distributed import DistContext, all_sum


class Validator:
    def __init__(self, dataset, spec, ctx: DistContext, scale: float = 1.0, crop: Optional[int] = None,
                 channels_last: bool = False):
        self.dataset, self.spec, self.ctx, self.scale, self.crop = dataset, spec, ctx, scale, crop
        self.channels_last = channels_last
        self._items: Optional[list] = None

    def _load(self) -> list:
        if self._items is None:
            items = []
            for i in range(self.ctx.rank, len(self.dataset), self.ctx.world):
                item = self.dataset[i]
                pair = [rescale(centre_crop(item[k][None].float(), self.crop), self.scale) for k in ("blur", "sharp")]
                items.append(pair)
            self._items = items
        return self._items

    @torch.no_grad()
    def run(self, module: torch.nn.Module) -> dict:
        was_training = module.training
        module.eval()
        sums = [0.0, 0.0, 0.0, 0.0]
        try:
            with frozen_rng():
                restore = adapters.validation_runner(module, self.spec, self.ctx.device, self.channels_last)
                for blur, sharp in self._load():
                    out = restore(blur.to(self.ctx.device))
                    out = out.float().clamp(0, 1).cpu()
                    p, s = adapters.psnr_ssim(out, sharp)
                    sums = [sums[0] + p, sums[1] + s, sums[2] + float((out - sharp).abs().mean()), sums[3] + 1]
        finally:
            module.train(was_training)
        p, s, l1, n = all_sum(self.ctx, sums)
        n = max(n, 1)
        return {"psnr": p / n, "ssim": s / n, "l1": l1 / n}
