"""Validation on a fixed held-out set: PSNR, SSIM and L1 of the generator's restorations.

Small sets are read once and kept in memory (up to :data:`CACHE_BYTES`); larger ones (64 whole GoPro frames
are 1.4 GB as float32) are read again at each validation. Images go through
the same path as inference (:class:`~deblur_cli.inference.engine.Restorer`: padding to the variant's multiple,
finest output, clamping), one at a time at full size, so the numbers are those a user would measure.
Under ``torchrun`` each rank scores every world-th image and the sums are combined. Random generators
are left untouched, so validating does not change the training that follows.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

import torch

from ..inference.engine import Restorer
from ..inference.settings import SINGLE_PASS
from ..measure.metrics import psnr_ssim
from .checkpoint import frozen_rng
from .data import centre_crop, rescale
from .distributed import DistContext, all_sum

CACHE_BYTES = 256 * 2**20


class Validator:
    def __init__(self, dataset, spec, ctx: DistContext, scale: float = 1.0, crop: Optional[int] = None,
                 channels_last: bool = False):
        self.dataset, self.spec, self.ctx, self.scale, self.crop = dataset, spec, ctx, scale, crop
        self.channels_last = channels_last
        self._items: Optional[list] = None

    def _pairs(self):
        if self._items is not None:
            yield from self._items
            return
        mine = range(self.ctx.rank, len(self.dataset), self.ctx.world)
        kept: list = []
        for i in mine:
            item = self.dataset[i]
            pair = [rescale(centre_crop(item[k][None].float(), self.crop), self.scale) for k in ("blur", "sharp")]
            if kept is not None:
                kept.append(pair)
                if sum(t.numel() * t.element_size() for p in kept for t in p) * len(mine) / len(kept) > CACHE_BYTES:
                    kept = None  # too large to keep: read again next time
            yield pair
        if kept is not None:
            self._items = kept

    @torch.no_grad()
    def run(self, module: torch.nn.Module) -> dict:
        was_training = module.training
        module.eval()
        sums = [0.0, 0.0, 0.0, 0.0]
        try:
            with frozen_rng():
                # the inference engine: padding to the variant's multiple, finest output, clamping; whole, fp32
                settings = replace(SINGLE_PASS, device=str(self.ctx.device), precision="fp32",
                                   channels_last=self.channels_last)
                restore = Restorer(module, self.spec, settings).restore_tensor
                for blur, sharp in self._pairs():
                    out = restore(blur.to(self.ctx.device))
                    out = out.float().clamp(0, 1).cpu()
                    p, s = (float(x[0]) for x in psnr_ssim(out, sharp))  # as `deblur eval` measures them
                    sums = [sums[0] + p, sums[1] + s, sums[2] + float((out - sharp).abs().mean()), sums[3] + 1]
        finally:
            module.train(was_training)
        p, s, l1, n = all_sum(self.ctx, sums)
        n = max(n, 1)
        return {"psnr": p / n, "ssim": s / n, "l1": l1 / n}
