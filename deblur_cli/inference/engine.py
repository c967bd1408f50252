"""Run a generator on an image of any size: padding, tiling, precision, device and out-of-memory fallback.

``Restorer`` holds only configuration (network, device, dtype, tile policy); each call is independent.

- Padding: the input is reflect-padded bottom/right to the variant's ``multiple_of`` and cropped back;
  the output is clamped to [0, 1] (networks are not clamped). A side shorter than the variant's ``min_size``
  (a 1x1 image, a 1-pixel strip) is padded up to it, replicating the border where reflection cannot reach,
  so every valid image restores; ``size_note`` says when that happened, and the batch pipeline prints it.
  Multi-scale variants return a list of images; the finest (last) one is the result.
- Tiling (``tile``): ``0`` never tiles, ``N`` tiles with N-pixel squares when the image is larger,
  ``auto`` runs the whole image when it fits in the memory available and otherwise the smallest tile
  that makes the same grid as the largest one that fits (:mod:`.tiling`). Tiles are blended in ``plain``
  mode: each tile is normalised by its own statistics. ``tile_mode="global-stats"`` (:mod:`.norm_stats`)
  makes InstanceNorm and channel-attention variants share statistics pooled over a first pass of all tiles;
  measured, it brings BAG and RiR closer to their whole-image output and DeblurGAN mostly further, at twice
  the cost (README, "Tiling"), so it is an option, not the default.
- Out of memory (CUDA, MPS, or a failed CPU allocation): the tile side is halved and the image is run
  again, down to ``tiling.MIN_TILE``; then a ``DeblurError`` says what to try.
- Memory layout: channels_last on CUDA in half precision (what tensor cores want); on a CPU only for the
  variants whose spec says ``channels_last_cpu`` (measured faster there), contiguous NCHW for the rest
  (docs/inference.md, "Memory layout").
- Self-ensemble (``ensemble``): the geometric self-ensemble of EDSR (Lim et al., CVPR 2017 workshops, section
  3.3), restricted to flips: the image is restored as is and mirrored (2: left-right; 4: also upside down and
  both), each result is mirrored back, and the results are averaged. Motion blur has no preferred side, so the
  passes make different errors on the same content and the mean has less of them. Transposes (EDSR's other
  four) are left out: in a one-off measurement on `chelsea` they lowered the gain of `bag-compact` and
  `rir-compact` (README, "Self-ensemble").
- Strength (``strength``): the result is ``x + strength * (restored - x)``, applied to the ensemble's mean and
  clamped to [0, 1]. 1 is the network as trained; below 1 tones its change down, above 1 amplifies it. Not in
  any of the papers: a user's control, because how much deblurring a photo wants is a matter of taste and of how
  blurred it is, and because the bundled compact networks under-correct: on `chelsea` and on procedural pairs their
  gain grows up to a strength of 2, and so does their loss on an already-sharp photo (README, "Strength").
"""

from __future__ import annotations

import logging
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..errors import DeblurError, UsageError
from ..registry import count_parameters
from . import tiling
from .devices import available_memory, empty_cache, is_out_of_memory, resolve_device, resolve_precision
from .norm_stats import SharedStats, has_global_statistics

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (tiles done, tiles in total)
# Extra per-pixel outputs to blend like the image, e.g. BAG's attention maps: module -> list of N1HW maps.
Collect = Callable[[nn.Module], Sequence[torch.Tensor]]

TILE_MODES = ("plain", "global-stats")
STATS_SOURCES = ("tiles", "downscaled")
# Self-ensemble passes: the dimensions of a 1x3xHxW tensor to mirror, as is first.
ENSEMBLE_FLIPS = ((), (-1,), (-2,), (-2, -1))
ENSEMBLE_SIZES = (1, 2, 4)
# 0 gives the input back. The top is a guard against typos (15 for 1.5), not a measured limit: the bundled
# weights were measured up to 2 (README, "Strength").
STRENGTH_RANGE = (0.0, 3.0)
# Fraction of the free memory a run may plan to use: the rest is the output canvas, the allocator's
# fragmentation and other processes. The out-of-memory fallback catches what the estimate misses.
MEMORY_SHARE = {"cuda": 0.7, "mps": 0.5, "cpu": 0.4}
# On a CPU the network's activations are also capped in bytes, whatever is free: a CPU is usually shared with
# other programs, and a 24-megapixel photo run whole by bag-compact peaked at 5.4 GB of RSS (issue #16 asks
# for 3 GiB). Tiles of the capped size cost little time: the per-pixel work is the same.
CPU_ACTIVATION_CAP = 1 << 30


def parse_tile(tile: str | int | None) -> int | None:
    """``"auto"``/None -> None (decide per image), ``"0"`` -> 0 (never tile), ``"N"`` -> N."""
    if tile is None or (isinstance(tile, str) and tile.strip().lower() == "auto"):
        return None
    try:
        value = int(tile)
    except (TypeError, ValueError):
        raise UsageError(f"--tile must be auto, 0 or a number of pixels, not {tile!r}") from None
    if value < 0 or 0 < value < tiling.MIN_TILE:
        raise UsageError(f"--tile must be 0 (never tile) or at least {tiling.MIN_TILE} pixels, not {value}")
    return value


class Restorer:
    """A generator ready to restore images: ``restore(rgb)`` for numpy HxWx3, ``restore_tensor(x)`` for 1x3xHxW."""

    def __init__(self, module: nn.Module, spec, device: str | torch.device = "cpu", precision: str = "fp32",
                 tile: str | int | None = "0", overlap: int | None = None, tile_mode: str = "plain",
                 stats_source: str = "tiles", stats_passes: int = 0, channels_last: bool | None = None,
                 ensemble: int = 1, strength: float = 1.0, name: str | None = None, weights_path=None):
        self.spec = spec
        if ensemble not in ENSEMBLE_SIZES:
            raise UsageError(f"--ensemble must be one of {', '.join(map(str, ENSEMBLE_SIZES))}, not {ensemble}")
        self.ensemble = ensemble
        low, high = STRENGTH_RANGE
        if not low <= strength <= high:  # also refuses NaN
            raise UsageError(f"--strength must be between {low:g} and {high:g}, not {strength:g}")
        self.strength = float(strength)
        self.device = resolve_device(device)
        self.dtype = resolve_precision(precision, spec, self.device,
                                       params=count_parameters(module))
        self.tile = parse_tile(tile)
        self.overlap = overlap
        if tile_mode not in TILE_MODES:
            raise UsageError(f"unknown tile mode {tile_mode!r}; use {', '.join(TILE_MODES)}")
        if stats_source not in STATS_SOURCES:
            raise UsageError(f"unknown statistics source {stats_source!r}; use {', '.join(STATS_SOURCES)}")
        self.tile_mode = tile_mode
        self.stats_source = stats_source  # global-stats: pooled over a plain pass of the tiles, or downscaled
        self.stats_passes = stats_passes  # global-stats: full-resolution refinements (measured: they hurt)
        if channels_last is None:
            channels_last = ((self.device.type == "cuda" and self.dtype != torch.float32)
                             or (self.device.type == "cpu" and spec.channels_last_cpu))
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.module = module.eval().to(device=self.device, dtype=self.dtype, memory_format=self.memory_format)
        self.name = name or spec.name
        self.weights_path = weights_path
        self.note: str | None = None  # e.g. why another variant's weights are used
        self._bytes_per_pixel: float | None = None  # measured once, on first need

    # -- public ------------------------------------------------------------------------------------
    def restore(self, rgb: np.ndarray, progress: Progress | None = None) -> np.ndarray:
        """HxWx3 float32 in [0, 1] -> restored HxWx3 float32 in [0, 1]."""
        x = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]
        return self.restore_tensor(x, progress)[0].permute(1, 2, 0).numpy()

    def restore_tensor(self, x: torch.Tensor, progress: Progress | None = None) -> torch.Tensor:
        """1x3xHxW in [0, 1] -> 1x3xHxW float32 in [0, 1], on the device ``x`` is on."""
        return self.restore_with_maps(x, progress=progress)[0]

    def restore_with_maps(self, x: torch.Tensor, collect: Collect | None = None,
                          progress: Progress | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Like ``restore_tensor``, and also the maps ``collect`` returns after each forward pass, each
        resized to the input's size and blended across tiles like the image (1xKxHxW, or None).
        With ``ensemble`` > 1 both are the means over the mirrored passes."""
        if x.dim() != 4 or x.shape[:2] != (1, 3):
            raise ValueError(f"expected a 1x3xHxW tensor, got {tuple(x.shape)}")
        flips = ENSEMBLE_FLIPS[:self.ensemble]
        note = self.size_note(*x.shape[-2:])
        if note:
            log.info("%s", note)
        image, maps = None, None
        tile = self.plan_tile(*x.shape[-2:])
        with torch.inference_mode():
            for i, dims in enumerate(flips):
                counted = progress and (lambda done, total, i=i: progress(i * total + done, total * len(flips)))
                # a tile that ran out of memory in one pass is not tried again in the next
                y, m, tile = self._restore_once(torch.flip(x, dims) if dims else x, tile, collect, counted)
                y, m = (torch.flip(t, dims) if dims and t is not None else t for t in (y, m))
                image = y if image is None else image.add_(y)
                maps = m if maps is None or m is None else maps.add_(m)
            if len(flips) > 1:
                image = image.div_(len(flips))
                maps = None if maps is None else maps.div_(len(flips))
            if self.strength != 1.0:
                source = x.to(device=image.device, dtype=image.dtype)
                image = image.sub_(source).mul_(self.strength).add_(source).clamp_(0, 1)
        return image, maps

    def _restore_once(self, x: torch.Tensor, tile: int, collect: Collect | None, progress: Progress | None
                      ) -> tuple[torch.Tensor, torch.Tensor | None, int]:
        """One pass of the network over the image with ``tile`` (0: whole), halving it on out-of-memory; returns
        the image, the maps and the tile that ran."""
        h, w = x.shape[-2:]
        while True:
            try:
                return (*self._run(x.float(), tile, collect, progress), tile)
            except Exception as exc:  # noqa: BLE001 - only out-of-memory is handled, the rest re-raised
                if not is_out_of_memory(exc):
                    raise
                empty_cache(self.device)
                smaller = self._halve(tile or max(h, w))
                if smaller is None:
                    hint = "close other programs" + ("" if self.device.type == "cpu" else " or use --device cpu")
                    raise DeblurError(
                        f"out of memory on {self.device} even with {tiling.MIN_TILE}px tiles; {hint}") from None
                log.warning("out of memory with %s; retrying with %dpx tiles",
                            f"{tile}px tiles" if tile else "the whole image", smaller)
                tile = smaller

    def padded_size(self, height: int, width: int) -> tuple[int, int]:
        """The size the network sees for a (piece of an) image of this size: each side rounded up to
        ``multiple_of`` and at least ``min_size``."""
        m = max(1, self.spec.multiple_of)
        low = max(1, self.spec.min_size or 1)
        return tuple(max(-(-side // m), -(-low // m)) * m for side in (height, width))

    def size_note(self, height: int, width: int) -> str | None:
        """A line for the user when an image is too small for the network as it is, else None."""
        ph, pw = self.padded_size(height, width)
        m = max(1, self.spec.multiple_of)
        if ph <= -(-height // m) * m and pw <= -(-width // m) * m:
            return None
        return (f"{width}x{height} is smaller than the {self.spec.min_size} px a side {self.name} needs: "
                f"padded to {pw}x{ph} for the network, the result cropped back")

    def plan_tile(self, height: int, width: int) -> int:
        """Tile side for an image of this size (0 = whole image)."""
        if self.tile is not None:
            return 0 if self.tile >= max(height, width) else self.tile
        if self._bytes_per_pixel is None:
            self._bytes_per_pixel = tiling.activation_bytes_per_pixel(
                self.module, self.spec.multiple_of, self.device, self.dtype)
        budget = available_memory(self.device) * MEMORY_SHARE.get(self.device.type, 0.5)
        if self.device.type == "cpu":
            budget = min(budget, CPU_ACTIVATION_CAP)
        side = tiling.auto_tile_size(height, width, self._bytes_per_pixel, budget, self.spec.multiple_of)
        if not side:
            return 0
        return tiling.smallest_tile_for_count(height, width, side, self._overlap_for, self.spec.multiple_of)

    def _overlap_for(self, tile: int) -> int:
        return self.overlap if self.overlap is not None else tiling.default_overlap(
            tile, self.spec.tiling, self.spec.multiple_of)

    # -- internals ---------------------------------------------------------------------------------
    def _halve(self, tile: int) -> int | None:
        m = max(1, self.spec.multiple_of)
        smaller = tile // 2 // m * m
        return smaller if smaller >= tiling.MIN_TILE else None

    def _run(self, x: torch.Tensor, tile: int, collect: Collect | None,
             progress: Progress | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        h, w = x.shape[-2:]
        if not tile or tile >= max(h, w):
            y, maps = self._forward(x, collect)
            if progress:
                progress(1, 1)
            return y.to(x.device).clamp_(0, 1), None if maps is None else maps.to(x.device)
        tiles = tiling.plan_tiles(h, w, tile, self._overlap_for(tile), self.spec.multiple_of)
        if self.tile_mode == "global-stats" and has_global_statistics(self.module):
            passes = self.stats_passes + (self.stats_source == "tiles")
            counted = _offset_progress(progress, len(tiles), passes)
            with SharedStats(self.module) as stats:
                if self.stats_source == "downscaled":
                    self._record_downscaled(x, tile, stats)
                else:
                    with stats.pool():  # a plain pass whose statistics are pooled over the tile cores
                        self._visit(x, tiles, stats, counted, 0)
                    stats.commit()
                for p in range(self.stats_passes):
                    with stats.apply(accumulate=True):  # the same, with the shared statistics in place
                        self._visit(x, tiles, stats, counted, passes - self.stats_passes + p)
                    stats.commit()
                with stats.apply():
                    return self._blend(x, tiles, collect, counted and (lambda d, n: counted(passes, d)))
        return self._blend(x, tiles, collect, progress)

    def _visit(self, x: torch.Tensor, tiles: list[tiling.Tile], stats: SharedStats, progress, index: int) -> None:
        """Run every tile for its statistics only."""
        for i, t in enumerate(tiles):
            self._forward(self._crop(x, t), None, stats, t)
            if progress:
                progress(index, i + 1)

    def _blend(self, x: torch.Tensor, tiles: list[tiling.Tile], collect: Collect | None,
               progress: Progress | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        h, w = x.shape[-2:]
        out = torch.zeros(1, 3, h, w, device=x.device)
        canvas = None
        for i, t in enumerate(tiles):
            y, maps = self._forward(self._crop(x, t), collect)
            weight = torch.from_numpy(t.weight()).to(x.device)
            region = (..., slice(t.top, t.top + t.height), slice(t.left, t.left + t.width))
            out[region] += y.to(x.device) * weight
            if maps is not None:
                if canvas is None:
                    canvas = torch.zeros(1, maps.shape[1], h, w, device=x.device)
                canvas[region] += maps.to(x.device) * weight
            if progress:
                progress(i + 1, len(tiles))
        return out.clamp_(0, 1), canvas

    @staticmethod
    def _crop(x: torch.Tensor, t: tiling.Tile) -> torch.Tensor:
        return x[..., t.top:t.top + t.height, t.left:t.left + t.width]

    def _record_downscaled(self, x: torch.Tensor, tile: int, stats: SharedStats) -> None:
        """First estimate of the whole image's statistics: one pass over a copy shrunk to a tile's area."""
        h, w = x.shape[-2:]
        scale = min(1.0, tile / (h * w) ** 0.5)
        size = (max(1, round(h * scale)), max(1, round(w * scale)))  # _forward pads a side below min_size
        small = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
        with stats.record():
            self._forward(small, None)

    def _forward(self, x: torch.Tensor, collect: Collect | None, stats: SharedStats | None = None,
                 t: tiling.Tile | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One network pass on a piece of the image: pad, run, take the finest output, crop."""
        x = x.to(device=self.device, dtype=self.dtype)
        padded, (h, w) = self._pad(x)
        if stats is not None and t is not None:
            stats.set_core(t.core_y, t.core_x, tuple(padded.shape[-2:]))
        y = self.module(padded.contiguous(memory_format=self.memory_format))
        if isinstance(y, (list, tuple)):
            y = y[-1]
        y = y[..., :h, :w].float()
        maps = None
        if collect is not None:
            found = [m.float() for m in collect(self.module)]
            if found:
                size = padded.shape[-2:]
                maps = torch.cat([F.interpolate(m, size=size, mode="bilinear", align_corners=False)
                                  for m in found], dim=1)[..., :h, :w]
        return y, maps


    def _pad(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """Pad bottom/right to ``padded_size``: reflect, or replicate where the pad is not shorter than the
        side (reflection cannot reach that far); returns the padded tensor and the original (H, W)."""
        h, w = x.shape[-2:]
        th, tw = self.padded_size(h, w)
        ph, pw = th - h, tw - w
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="reflect" if ph < h and pw < w else "replicate")
        return x, (h, w)


def _offset_progress(progress: Progress | None, per_pass: int, passes: int):
    """Report statistics passes and the final pass as one run of ``per_pass * (passes + 1)`` tiles."""
    if progress is None:
        return None
    total = per_pass * (passes + 1)
    return lambda pass_index, done: progress(pass_index * per_pass + done, total)
