"""Statistics-aware tiling ("global-stats"): every tile uses the whole image's statistics.

Why: BAG and DeblurGAN normalise every feature map by its own mean and variance (InstanceNorm without
running statistics), and the channel attention of RiR and pix2pix (squeeze-and-excitation, paper 001
eq. 3-4) weighs channels by their spatial mean. Cut the image into tiles and each tile gets its own
statistics, so a dark tile and a bright tile are pushed toward the same contrast: the tiled result
differs from the whole-image result and seams appear where the statistics jump.

What: three plain functions over a network's ``nn.InstanceNorm2d`` layers (mean and variance) and
``ChannelAttention`` layers (mean). Statistics go in and come out as values (:data:`Statistics`); nothing is kept
between calls:

- :func:`pooled_statistics`: run the tiles and sum what each layer sees over each tile's *core* (the pixels the
  tile alone owns), giving the whole image's statistics as plain tiling sees them; with ``using``, the layers
  normalise with those statistics meanwhile (a refinement pass);
- :func:`recorded_statistics`: each layer's statistics of its whole input during one pass (over a downscaled copy
  of the image, which fits in memory when the full image does not);
- :func:`shared_statistics`: a ``with`` block in which every layer uses the given statistics instead of its
  input's own, so all tiles share them.

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
from typing import Callable, Iterator, Sequence

import torch
from torch import nn

from ..models.blocks import ChannelAttention

# (layer index, use within one forward pass) -> (mean, variance), each 1 x channels: a layer used twice in a pass
# (weights shared across scales, a feedback loop) has one entry per use.
Statistics = dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]]


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


def pooled_statistics(module: nn.Module, tiles: Sequence, run_tile: Callable[[object], object],
                      padded_size: Callable[[int, int], tuple[int, int]], using: Statistics | None = None
                      ) -> Statistics:
    """Run ``run_tile(t)`` for every tile ``t`` (a ``tiling.Tile``) and return each layer's mean and variance over
    the tiles' cores. ``padded_size(h, w)`` is the size the network sees for a tile (the engine pads it), to map a
    core onto the smaller feature maps of strided layers. With ``using`` the layers normalise with it meanwhile;
    without, each tile with its own statistics, as in plain tiling."""
    sums: dict[tuple[int, int], list] = {}
    core: tuple[int, ...] = ()

    def observe(key: tuple[int, int], x: torch.Tensor) -> None:
        _accumulate(sums, key, x, core)

    with _taken_over(module, observe, using):
        for t in tiles:
            core = (*t.core_y, *t.core_x, *padded_size(t.height, t.width))
            run_tile(t)
    return {key: _mean_and_variance(*totals) for key, totals in sums.items()}


def recorded_statistics(module: nn.Module, run: Callable[[], object]) -> Statistics:
    """Each layer's mean and variance of its whole input during ``run()`` (one forward pass; a layer used twice
    keeps one entry per use)."""
    recorded: Statistics = {}

    def observe(key: tuple[int, int], x: torch.Tensor) -> None:
        xf = x.float()
        recorded[key] = (xf.mean(dim=(2, 3)), xf.var(dim=(2, 3), unbiased=False))

    with _taken_over(module, observe, None):
        run()
    return recorded


@contextmanager
def shared_statistics(module: nn.Module, statistics: Statistics | None) -> Iterator[None]:
    """Forward passes inside use ``statistics`` instead of their input's own; ``None`` changes nothing."""
    if statistics is None:
        yield
        return
    if not statistics and _shared_layers(module):
        raise RuntimeError("no statistics recorded")
    with _taken_over(module, None, statistics):
        yield


@contextmanager
def _taken_over(module: nn.Module, observe: Callable[[tuple[int, int], torch.Tensor], None] | None,
                using: Statistics | None) -> Iterator[None]:
    """Within the block, every statistics layer shows its input to ``observe`` and normalises with ``using``
    (else as usual). The layers' forward is replaced (not hooked): a hook would compute the per-input
    normalisation first only to throw it away, and InstanceNorm is a sizeable share of CPU time."""
    layers = _shared_layers(module)
    calls = [0] * len(layers)  # uses of each layer within the current forward pass: the second key

    def reset_calls(*_args) -> None:
        calls[:] = [0] * len(layers)

    def replaced(index: int, kind: str, layer: nn.Module):
        def forward(x: torch.Tensor) -> torch.Tensor:
            key = (index, calls[index])
            calls[index] += 1
            if observe is not None:
                observe(key, x)
            if using is None:
                return type(layer).forward(layer, x)
            mean, var = using[key]
            return _instance_norm(layer, x, mean, var) if kind == "norm" else _channel_attention(layer, x, mean)

        return forward

    handle = module.register_forward_pre_hook(reset_calls)
    for index, (kind, layer) in enumerate(layers):
        layer.forward = replaced(index, kind, layer)
    try:
        yield
    finally:
        handle.remove()
        for _kind, layer in layers:
            del layer.forward  # back to the class's own forward


def _accumulate(sums: dict, key: tuple[int, int], x: torch.Tensor, core: tuple[int, ...]) -> None:
    """Add the sum, the sum of squares and the count of ``x`` over the tile's core to ``sums[key]``."""
    y0, y1, x0, x1, ph, pw = core
    h, w = x.shape[-2:]
    ry, rx = h / ph, w / pw  # feature maps of strided layers are smaller than the input
    region = x[..., int(y0 * ry):max(int(y0 * ry) + 1, int(round(y1 * ry))),
               int(x0 * rx):max(int(x0 * rx) + 1, int(round(x1 * rx)))].double()
    total = region.sum(dim=(2, 3))
    squares = (region * region).sum(dim=(2, 3))
    count = region.shape[-2] * region.shape[-1]
    if key in sums:
        t, s, c = sums[key]
        sums[key] = [t + total, s + squares, c + count]
    else:
        sums[key] = [total, squares, count]


def _mean_and_variance(total: torch.Tensor, squares: torch.Tensor, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    mean = total / count
    var = (squares / count - mean * mean).clamp_min(0)
    return mean.float(), var.float()


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
