"""Statistics-aware tiling ("global-stats"): every tile uses the whole image's statistics.

Why: BAG and DeblurGAN normalise every feature map by its own mean and variance (InstanceNorm without
running statistics), and the channel attention of RiR and pix2pix (squeeze-and-excitation, paper 001
eq. 3-4) weighs channels by their spatial mean. Cut the image into tiles and each tile gets its own
statistics, so a dark tile and a bright tile are pushed toward the same contrast: the tiled result
differs from the whole-image result and seams appear where the statistics jump.

What: a context manager that takes over every ``nn.InstanceNorm2d`` (mean and variance) and every
``ChannelAttention`` (mean) of a network and can

- ``pool()``: let the layers run normally (each tile with its own statistics) and sum what each layer
  sees over the tile's *core* (the pixels the tile alone owns); ``commit()`` turns the sums into
  statistics of the whole image as plain tiling sees it;
- ``record()``: let the layers run normally and keep each one's statistics of its whole input (for one
  pass over a downscaled copy of the image, which fits in memory when the full image does not);
- ``apply()``: use the kept statistics instead of the input's own, so all tiles share them; with
  ``accumulate`` it also pools again, to refine the statistics pass by pass.

Statistics are keyed by layer *and* call order within a forward pass, so networks that reuse a layer
(a multi-scale generator sharing weights across scales, a feedback loop) keep one entry per use.
Self-attention (non-local blocks) relates every position to every other one; no shared statistic can
make a tile see the rest of the image, so variants with it stay "discouraged" for tiling.

The engine's ``tile_mode="global-stats"`` pools over a plain pass of the tiles (``stats_source="tiles"``)
or records on a downscaled copy (``"downscaled"``), refines ``stats_passes`` times (default 0), then
produces the output. What each step buys, measured with ``benchmarks/tiling_agreement.py`` (README,
"Tiling"): pooling brings BAG and RiR closer to their whole-image output than plain tiling, DeblurGAN
mostly further; the downscaled copy's statistics are further off than plain tiling for both InstanceNorm
networks (statistics depend on scale); refinement in theory reaches the whole-image statistics (one pass
per stacked normalisation) but drifted away through BAG's ~30 stacked InstanceNorm layers.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

from ..models.blocks import ChannelAttention


def _shared_layers(module: nn.Module) -> list[tuple[str, nn.Module]]:
    found = []
    for m in module.modules():
        if isinstance(m, nn.InstanceNorm2d) and not m.track_running_stats:
            found.append(("norm", m))
        elif isinstance(m, ChannelAttention):
            found.append(("pool", m))
    return found


def has_global_statistics(module: nn.Module) -> bool:
    """True when the network computes per-image statistics that tiling would make per-tile."""
    return bool(_shared_layers(module))


class SharedStats:
    """Takes over a network's statistics layers for the duration of a ``with`` block."""

    def __init__(self, module: nn.Module):
        self.module = module
        self.layers = _shared_layers(module)
        self.stats: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] = {}
        self._sums: dict[tuple[int, int], list] = {}
        self._calls = [0] * len(self.layers)
        self._mode = "off"
        self._core: tuple[int, int, int, int, int, int] | None = None
        self._handles: list = []

    def __enter__(self) -> "SharedStats":
        # The layers' forward is replaced (not hooked) for the block: a hook would compute the per-input
        # normalisation first only to throw it away, and InstanceNorm is a sizeable share of CPU time.
        self._handles.append(self.module.register_forward_pre_hook(self._reset_calls))
        for index, (kind, layer) in enumerate(self.layers):
            layer.forward = self._make_forward(index, kind, layer)
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()
        for _kind, layer in self.layers:
            del layer.forward  # back to the class's own forward

    @contextmanager
    def record(self) -> Iterator[None]:
        """Forward passes inside run normally and keep every layer's statistics of its whole input
        (the last pass wins): for one pass over a downscaled copy of the image."""
        with self._in_mode("record"):
            yield

    @contextmanager
    def pool(self) -> Iterator[None]:
        """Forward passes inside run normally (each tile with its own statistics, as in plain tiling) and
        sum what every layer sees over the core set by ``set_core``; ``commit`` afterwards."""
        self._sums = {}
        with self._in_mode("pool"):
            yield

    @contextmanager
    def apply(self, accumulate: bool = False) -> Iterator[None]:
        """Forward passes inside use the kept statistics; with ``accumulate``, also sum what each layer
        sees over the core set by ``set_core`` (call ``commit`` afterwards)."""
        if not self.stats and self.layers:
            raise RuntimeError("no statistics recorded")
        if accumulate:
            self._sums = {}
        with self._in_mode("accumulate" if accumulate else "apply"):
            yield

    @contextmanager
    def _in_mode(self, mode: str) -> Iterator[None]:
        self._mode = mode
        try:
            yield
        finally:
            self._mode = "off"

    def set_core(self, core_y: tuple[int, int], core_x: tuple[int, int], padded_hw: tuple[int, int]) -> None:
        """The owned region of the tile about to run, in its input pixels, and its padded input size."""
        self._core = (*core_y, *core_x, *padded_hw)

    def commit(self) -> None:
        """Replace the kept statistics with those accumulated over all tile cores."""
        for key, (total, squares, count) in self._sums.items():
            mean = total / count
            var = (squares / count - mean * mean).clamp_min(0)
            self.stats[key] = (mean.float(), var.float())
        self._sums = {}

    # -- the replaced forwards ---------------------------------------------------------------------
    def _reset_calls(self, *_args) -> None:
        self._calls = [0] * len(self.layers)

    def _make_forward(self, index: int, kind: str, layer: nn.Module):
        def forward(x: torch.Tensor) -> torch.Tensor:
            key = (index, self._calls[index])
            self._calls[index] += 1
            if self._mode == "record":
                xf = x.float()
                self.stats[key] = (xf.mean(dim=(2, 3)), xf.var(dim=(2, 3), unbiased=False))
            elif self._mode == "pool":
                self._accumulate(key, x)
            elif self._mode in ("apply", "accumulate"):
                if self._mode == "accumulate":
                    self._accumulate(key, x)
                mean, var = self.stats[key]
                if kind == "norm":
                    return _instance_norm(layer, x, mean, var)
                return _channel_attention(layer, x, mean)
            return type(layer).forward(layer, x)

        return forward

    def _accumulate(self, key: tuple[int, int], x: torch.Tensor) -> None:
        if self._core is None:
            raise RuntimeError("set_core() before an accumulating pass")
        y0, y1, x0, x1, ph, pw = self._core
        h, w = x.shape[-2:]
        ry, rx = h / ph, w / pw  # feature maps of strided layers are smaller than the input
        region = x[..., int(y0 * ry):max(int(y0 * ry) + 1, int(round(y1 * ry))),
                   int(x0 * rx):max(int(x0 * rx) + 1, int(round(x1 * rx)))].double()
        total = region.sum(dim=(2, 3))
        squares = (region * region).sum(dim=(2, 3))
        count = region.shape[-2] * region.shape[-1]
        if key in self._sums:
            t, s, c = self._sums[key]
            self._sums[key] = [t + total, s + squares, c + count]
        else:
            self._sums[key] = [total, squares, count]


def _instance_norm(layer: nn.InstanceNorm2d, x: torch.Tensor, mean: torch.Tensor,
                   var: torch.Tensor) -> torch.Tensor:
    """InstanceNorm's y = (x - mean) / sqrt(var + eps) * weight + bias, with given statistics."""
    mean = mean.to(x.device)[:, :, None, None]
    scale = torch.rsqrt(var.to(x.device)[:, :, None, None] + layer.eps)
    y = (x.float() - mean) * scale
    if layer.affine:
        y = y * layer.weight.float()[None, :, None, None] + layer.bias.float()[None, :, None, None]
    return y.to(x.dtype)


def _channel_attention(layer: ChannelAttention, x: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """Squeeze-and-excitation (paper 001 eq. 3-4) with a given spatial mean: x * fc(mean)."""
    return x * layer.fc(mean.to(device=x.device, dtype=x.dtype)[:, :, None, None])
