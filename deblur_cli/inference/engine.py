"""Run a generator on an image of any size: padding, tiling, precision, device and out-of-memory fallback.

``Restorer(network, spec, settings)`` holds configuration: the network, its spec, and a
:class:`.settings.RestoreSettings` (whose defaults are `deblur`'s), resolved to a device, dtype and tile policy;
each call is independent, but for the compiled network, which once compiled serves every later call.

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
  again, down to ``tiling.MIN_TILE``; then a ``DeblurError`` says what to try
  (:func:`.tiling.halving_on_out_of_memory`).
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
- Compiling (``compile``): ``on`` runs the network through ``torch.compile``, ``auto`` does once the eager time
  of the work ahead would pay the compile back (:mod:`.compiling`; ``expect(n)`` tells it how many images are
  coming), ``off`` never. Only the plain passes are compiled: ``global-stats`` tiles and a ``collect`` of maps
  (BAG's attention) change what the network does between calls, so they stay eager.
"""

from __future__ import annotations

import itertools
import logging
import time
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..errors import UsageError
from ..registry import count_parameters
from ..measure.timing import synchronize
from . import compiling, norm_stats, tiling
from .devices import available_memory, resolve_device, resolve_precision
from .settings import RestoreSettings
from .tiling import Progress

log = logging.getLogger(__name__)

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

    def __init__(self, module: nn.Module, spec, settings: RestoreSettings, *, name: str | None = None,
                 weights_path=None):
        if not isinstance(settings, RestoreSettings):
            raise TypeError(f"settings must be a RestoreSettings, not {type(settings).__name__}")
        self.spec = spec
        self.settings = settings
        if settings.ensemble not in ENSEMBLE_SIZES:
            raise UsageError(f"--ensemble must be one of {', '.join(map(str, ENSEMBLE_SIZES))}, "
                             f"not {settings.ensemble}")
        self.ensemble = settings.ensemble
        low, high = STRENGTH_RANGE
        if not low <= settings.strength <= high:  # also refuses NaN
            raise UsageError(f"--strength must be between {low:g} and {high:g}, not {settings.strength:g}")
        self.strength = float(settings.strength)
        self.device = resolve_device(settings.device)
        self.dtype = resolve_precision(settings.precision, spec, self.device, params=count_parameters(module))
        self.tile = parse_tile(settings.tile)
        self.overlap = settings.overlap
        if settings.tile_mode not in TILE_MODES:
            raise UsageError(f"unknown tile mode {settings.tile_mode!r}; use {', '.join(TILE_MODES)}")
        if settings.stats_source not in STATS_SOURCES:
            raise UsageError(f"unknown statistics source {settings.stats_source!r}; "
                             f"use {', '.join(STATS_SOURCES)}")
        self.tile_mode = settings.tile_mode
        channels_last = settings.channels_last
        if channels_last is None:
            channels_last = ((self.device.type == "cuda" and self.dtype != torch.float32)
                             or (self.device.type == "cpu" and spec.channels_last_cpu))
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.module = module.eval().to(device=self.device, dtype=self.dtype, memory_format=self.memory_format)
        self.compile_mode = compiling.parse_compile(settings.compile)
        self.network = compiling.CompiledNetwork(self.module, self.device)
        self.auto_compile = compiling.AutoCompile(self.network) if self.compile_mode == "auto" else None
        if self.compile_mode == "on":
            self.network.compile()
        self.name = name or spec.name
        self.weights_path = weights_path
        self.note: str | None = None  # e.g. why another variant's weights are used
        self._bytes_per_pixel: float | None = None  # measured once, on first need

    # -- public ------------------------------------------------------------------------------------
    def expect(self, images: int) -> None:
        """The caller will restore ``images`` images with this engine from now on: ``compile="auto"`` weighs
        the compile against all of them, not against one."""
        if self.auto_compile is not None:
            self.auto_compile.expect(images)

    @property
    def compiled(self) -> bool:
        """Whether the network has run compiled (``compile`` on, or ``auto`` chose to, and no compile failed)."""
        return self.network.ran_compiled and self.network.compiled is not None

    def warm_up(self, x: torch.Tensor) -> None:
        """Restore ``x`` (1x3xHxW) untimed, and once more if that run chose to compile and no compiled pass
        ran yet, so that the compile time is behind the timed runs that follow."""
        self.restore_tensor(x)
        if self.network.compiled is not None and not self.network.ran_compiled:
            self.restore_tensor(x)

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
        if self.auto_compile is not None:
            ph, pw = self.padded_size(*x.shape[-2:])
            self.auto_compile.begin_image(len(flips) * ph * pw)
        with torch.inference_mode():
            for i, dims in enumerate(flips):
                counted = progress and (lambda done, total, i=i: progress(i * total + done, total * len(flips)))
                # a tile that ran out of memory in one pass is not tried again in the next
                piece = (torch.flip(x, dims) if dims else x).float()
                (y, m), tile = tiling.halving_on_out_of_memory(
                    lambda side: self._run(piece, side, collect, counted), tile, max(x.shape[-2:]),
                    self.spec.multiple_of, self.device)
                y, m = (torch.flip(t, dims) if dims and t is not None else t for t in (y, m))
                image = y if image is None else image.add_(y)
                maps = m if maps is None or m is None else maps.add_(m)
            if len(flips) > 1:
                image = image.div_(len(flips))
                maps = None if maps is None else maps.div_(len(flips))
            if self.strength != 1.0:
                source = x.to(device=image.device, dtype=image.dtype)
                image = image.sub_(source).mul_(self.strength).add_(source).clamp_(0, 1)
        if self.auto_compile is not None:
            self.auto_compile.end_image()
        return image, maps

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
    def _run(self, x: torch.Tensor, tile: int, collect: Collect | None,
             progress: Progress | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One pass over the image: whole, or in tiles of side ``tile`` blended by :func:`.tiling.blend_tiles`."""
        h, w = x.shape[-2:]
        if not tile or tile >= max(h, w):
            y, maps = self._forward(x, collect)
            if progress:
                progress(1, 1)
            return y.to(x.device).clamp_(0, 1), None if maps is None else maps.to(x.device)
        tiles = tiling.plan_tiles(h, w, tile, self._overlap_for(tile), self.spec.multiple_of)
        statistics = None
        if self.tile_mode == "global-stats" and norm_stats.has_global_statistics(self.module):
            statistics, progress = self._image_statistics(x, tiles, tile, progress)
        with norm_stats.shared_statistics(self.module, statistics):
            return tiling.blend_tiles(x, tiles, lambda piece: self._forward(piece, collect), progress)

    def _image_statistics(self, x: torch.Tensor, tiles: list[tiling.Tile], tile: int, progress: Progress | None
                          ) -> tuple[norm_stats.Statistics, Progress | None]:
        """global-stats: the statistics every tile is to share, and the progress callback for the final pass.

        Pooled over a plain pass of the tiles (``stats_source="tiles"``) or recorded on a copy shrunk to a tile's
        area (``"downscaled"``), then refined ``stats_passes`` times. Progress counts these passes and the final
        one as one run of ``len(tiles) * (passes + 1)`` tiles."""
        settings = self.settings
        passes = settings.stats_passes + (settings.stats_source == "tiles")

        def counted(index: int) -> Progress | None:
            return progress and (lambda done, _n: progress(index * len(tiles) + done, len(tiles) * (passes + 1)))

        def visit(index: int, using: norm_stats.Statistics | None) -> norm_stats.Statistics:
            report, done = counted(index), itertools.count(1)

            def run_tile(t: tiling.Tile) -> None:
                self._forward(tiling.crop(x, t), None)
                if report:
                    report(next(done), len(tiles))

            return norm_stats.pooled_statistics(self.module, tiles, run_tile, self.padded_size, using)

        if settings.stats_source == "downscaled":
            h, w = x.shape[-2:]
            scale = min(1.0, tile / (h * w) ** 0.5)
            size = (max(1, round(h * scale)), max(1, round(w * scale)))  # _forward pads a side below min_size
            small = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
            statistics = norm_stats.recorded_statistics(self.module, lambda: self._forward(small, None))
        else:
            statistics = visit(0, None)
        for p in range(settings.stats_passes):
            statistics = visit(passes - settings.stats_passes + p, statistics)
        return statistics, counted(passes)

    def _forward(self, x: torch.Tensor, collect: Collect | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One network pass on a piece of the image: pad, run, take the finest output, crop."""
        x = x.to(device=self.device, dtype=self.dtype)
        padded, (h, w) = self._pad(x)
        y = self._network(padded.contiguous(memory_format=self.memory_format), collect)
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

    def _network(self, x: torch.Tensor, collect: Collect | None):
        """The network's pass on a padded piece: compiled where it may be (plain passes; see the module
        docstring), and timed for ``auto`` while it runs eager."""
        if collect is not None or self.tile_mode != "plain":
            return self.module(x)
        auto = self.auto_compile
        if auto is None or self.network.compiled is not None or self.network.given_up:
            return self.network(x)
        synchronize(self.device)
        start = time.perf_counter()
        y = self.network(x)
        synchronize(self.device)
        auto.timed(time.perf_counter() - start, x.shape[-2] * x.shape[-1])
        return y

    def _pad(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """Pad bottom/right to ``padded_size``: reflect, or replicate where the pad is not shorter than the
        side (reflection cannot reach that far); returns the padded tensor and the original (H, W)."""
        h, w = x.shape[-2:]
        th, tw = self.padded_size(h, w)
        ph, pw = th - h, tw - w
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="reflect" if ph < h and pw < w else "replicate")
        return x, (h, w)
