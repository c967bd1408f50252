"""Split a large image into tiles and blend the restored tiles back: chaiNNer's algorithm as small functions.

How a tile grid is laid out (per axis, the two axes are independent):

- Tiles are spread evenly over the image, the fewest that keep at least ``overlap`` pixels shared
  between neighbours. Context exists only *between* tiles: a tile at the image border simply ends
  there, exactly as the whole image does, so no tile ever sees padding the whole-image run would not see.
- Tile starts are snapped to the variant's ``multiple_of`` so that every stride-2 layer samples the same
  pixel grid as in a whole-image run (a tile starting at an odd pixel would see a shifted grid). Every
  tile but the last has the full tile length, itself a multiple of ``multiple_of``; the last one ends at
  the image border and is padded bottom/right by the engine exactly like the whole image.
- Blending: in the overlap of two tiles each one fades with a half-sine weight that is zero in the
  quarter of the overlap nearest its own edge (where it lacked context), a smooth cross-fade in the
  middle half and one in the far quarter. The per-axis weights of all tiles covering a pixel are
  normalised to sum to 1, and a tile's 2-D weight is the outer product of its row and column weights,
  so the 2-D weights also sum to exactly 1 at every pixel.

Everything here is a plain function of its arguments; nothing is kept between calls. The grid is planned on
integers and numpy vectors. ``activation_bytes_per_pixel`` measures a network once so ``auto_tile_size`` can pick
the largest tile that fits in the memory available; ``smallest_tile_for_count`` then shrinks it to the smallest
side that keeps that grid. The engine hands its one-piece forward pass to ``blend_tiles`` (the tile loop) and its
whole attempt to ``halving_on_out_of_memory`` (a smaller tile after each out-of-memory error).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Callable, Sequence, TypeVar

import numpy as np
import torch

from ..errors import DeblurError
from .devices import empty_cache, is_out_of_memory

log = logging.getLogger(__name__)
T = TypeVar("T")
# A piece of the image (1x3xhxw) -> (its restored pixels, 1x3xhxw; extra maps to blend like them, 1xKxhxw, or None)
Forward = Callable[[torch.Tensor], tuple[torch.Tensor, "torch.Tensor | None"]]
Progress = Callable[[int, int], None]  # (tiles done, tiles in total)

# Smallest tile the auto mode and the out-of-memory fallback will go down to (pixels per side).
MIN_TILE = 64


@dataclass(frozen=True, eq=False)
class Tile:
    """One tile: the region ``[top:top+height, left:left+width]`` of the image, its blend weights
    (``weight_y`` has ``height`` entries, ``weight_x`` has ``width``), and its *core*: the part of the
    region that this tile alone owns (overlaps split at their middle), used to pool statistics without
    counting a pixel twice."""

    top: int
    left: int
    height: int
    width: int
    weight_y: np.ndarray
    weight_x: np.ndarray
    core_y: tuple[int, int]  # owned rows, relative to ``top``
    core_x: tuple[int, int]  # owned columns, relative to ``left``

    def weight(self) -> np.ndarray:
        """The 2-D blend weight, height x width."""
        return np.outer(self.weight_y, self.weight_x)


def split_axis(length: int, tile: int, overlap: int, multiple_of: int = 1) -> list[tuple[int, int]]:
    """Evenly spread ``[start, stop)`` spans covering ``range(length)``.

    ``tile`` is rounded down to ``multiple_of`` (at least two multiples), ``overlap`` is at least one
    multiple (so snapping starts down can never open a gap) and at most half a tile (more would make
    three tiles share a pixel). One span when the whole axis fits in one tile.
    """
    if length <= 0:
        raise ValueError(f"length must be positive, not {length}")
    m = max(1, multiple_of)
    tile = max(2 * m, tile - tile % m)
    if length <= tile:
        return [(0, length)]
    overlap = min(max(overlap, m), tile // 2)
    count = math.ceil((length - overlap) / (tile - overlap))
    step = (length - tile) / (count - 1)
    # Snapping to the grid can merge neighbours; the last span always runs to the border.
    starts = sorted({int(round(i * step)) // m * m for i in range(count)})
    return [(s, s + tile) for s in starts[:-1]] + [(starts[-1], length)]


def half_sine_ramp(n: int) -> np.ndarray:
    """Weights rising from 0 to 1 over ``n`` pixels: 0 in the first quarter, a sine cross-fade over the
    middle half, 1 in the last quarter. ``ramp[i] + ramp[n-1-i] == 1``, so two tiles fading in opposite
    directions over the same ``n`` pixels always sum to one."""
    if n <= 0:
        return np.zeros(0, dtype=np.float64)
    t = (np.arange(n, dtype=np.float64) + 0.5) / n  # pixel centres in (0, 1)
    t = np.clip(t * 2 - 0.5, 0, 1)  # ignore the quarter nearest each end
    return (1 - np.cos(t * math.pi)) / 2


def axis_weights(spans: list[tuple[int, int]], length: int) -> list[np.ndarray]:
    """Blend weight of each span over its own pixels; at every position the covering spans sum to 1."""
    raw = []
    for i, (start, stop) in enumerate(spans):
        w = np.ones(stop - start, dtype=np.float64)
        if i > 0:  # fade in over the overlap with the previous span
            n = max(0, spans[i - 1][1] - start)
            w[:n] *= half_sine_ramp(n)
        if i + 1 < len(spans):  # fade out over the overlap with the next span
            n = max(0, stop - spans[i + 1][0])
            if n:
                w[-n:] *= half_sine_ramp(n)[::-1]
        raw.append(w)
    total = np.zeros(length, dtype=np.float64)
    cover = np.zeros(length, dtype=np.float64)
    for (start, stop), w in zip(spans, raw):
        total[start:stop] += w
        cover[start:stop] += 1
    if (cover == 0).any():
        raise ValueError("spans do not cover the axis")
    # Where every covering ramp is zero (only possible with extreme, capped-away overlaps), share equally.
    flat = total == 0
    total[flat] = cover[flat]
    out = []
    for (start, stop), w in zip(spans, raw):
        w = np.where(flat[start:stop], 1.0, w)
        out.append((w / total[start:stop]).astype(np.float32))
    return out


def _cores(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Split every overlap at its middle: each position belongs to exactly one span's core."""
    cuts = [0] + [(spans[i + 1][0] + spans[i][1]) // 2 for i in range(len(spans) - 1)] + [spans[-1][1]]
    return [(cuts[i] - s, cuts[i + 1] - s) for i, (s, _) in enumerate(spans)]


def plan_tiles(height: int, width: int, tile: int, overlap: int, multiple_of: int = 1) -> list[Tile]:
    """The tile grid for an image, row-major. ``tile`` is the side of a square tile in pixels."""
    ys = split_axis(height, tile, overlap, multiple_of)
    xs = split_axis(width, tile, overlap, multiple_of)
    wys, wxs = axis_weights(ys, height), axis_weights(xs, width)
    cys, cxs = _cores(ys), _cores(xs)
    return [Tile(y0, x0, y1 - y0, x1 - x0, wy, wx, cy, cx)
            for (y0, y1), wy, cy in zip(ys, wys, cys)
            for (x0, x1), wx, cx in zip(xs, wxs, cxs)]


def default_overlap(tile: int, tiling_hint: str, multiple_of: int = 1) -> int:
    """Context shared by neighbouring tiles. A quarter of the tile where tiling is ``discouraged``
    (per-tile statistics: more shared context, measured in the README's tiling table), an eighth
    otherwise; at least 16 pixels and a multiple of ``multiple_of``."""
    share = 4 if tiling_hint == "discouraged" else 8
    m = max(1, multiple_of)
    return max(16, tile // share) // m * m or m


def auto_tile_size(height: int, width: int, bytes_per_pixel: float, budget_bytes: float,
                   multiple_of: int = 1) -> int:
    """0 (no tiling) when the whole image fits in ``budget_bytes``; else the largest square tile that
    fits, a multiple of ``multiple_of`` and at least ``MIN_TILE``."""
    if height * width * bytes_per_pixel <= budget_bytes:
        return 0
    side = int(math.sqrt(max(budget_bytes, 0) / max(bytes_per_pixel, 1e-9)))
    m = max(1, multiple_of)
    return max(side // m * m, -(-MIN_TILE // m) * m)


def tile_count(height: int, width: int, tile: int, overlap: int, multiple_of: int = 1) -> int:
    """How many tiles ``plan_tiles`` makes for this image."""
    return len(split_axis(height, tile, overlap, multiple_of)) * len(split_axis(width, tile, overlap, multiple_of))


def smallest_tile_for_count(height: int, width: int, tile: int, overlap_of: Callable[[int], int],
                            multiple_of: int = 1) -> int:
    """The smallest tile side that still covers the image in as many tiles as ``tile`` does.

    The largest tile that fits in memory can overshoot badly: 1280x720 in 644 px tiles with a quarter overlap
    takes 3 x 2 tiles of 644 px, 2.7 times the image's pixels, where 536 px tiles make the same 3 x 2 grid from
    1.9 times. Fewer computed pixels is less time, and the count, which sets how many seams there are, is kept.
    ``overlap_of(side)`` is the overlap used with a tile of that side.
    """
    m = max(1, multiple_of)
    floor = -(-MIN_TILE // m) * m
    count = tile_count(height, width, tile, overlap_of(tile), m)
    best = tile
    side = tile - m
    while side >= floor and tile_count(height, width, side, overlap_of(side), m) == count:
        best, side = side, side - m
    return best


def crop(x: torch.Tensor, t: Tile) -> torch.Tensor:
    """The region of ``x`` (...xHxW) that tile ``t`` covers."""
    return x[..., t.top:t.top + t.height, t.left:t.left + t.width]


def blend_tiles(x: torch.Tensor, tiles: Sequence[Tile], forward: Forward, progress: Progress | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Run ``forward`` on every tile of ``x`` (1x3xHxW) and blend the results with the tiles' weights: the image
    (clamped to [0, 1]) and the blended maps (or None), on ``x``'s device."""
    h, w = x.shape[-2:]
    out = torch.zeros(1, 3, h, w, device=x.device)
    canvas = None
    for i, t in enumerate(tiles):
        y, maps = forward(crop(x, t))
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


def halved_tile(tile: int, multiple_of: int = 1) -> int | None:
    """Half of ``tile``, rounded down to ``multiple_of``; None below ``MIN_TILE``."""
    m = max(1, multiple_of)
    smaller = tile // 2 // m * m
    return smaller if smaller >= MIN_TILE else None


def halving_on_out_of_memory(attempt: Callable[[int], T], tile: int, longest_side: int, multiple_of: int,
                             device: torch.device) -> tuple[T, int]:
    """``attempt(tile)`` (0: the whole image), retried with half the tile after each out-of-memory error, down to
    ``MIN_TILE``; then a ``DeblurError`` that says what to try. Returns the result and the tile that ran."""
    while True:
        try:
            return attempt(tile), tile
        except Exception as exc:  # noqa: BLE001 - only out-of-memory is handled, the rest re-raised
            if not is_out_of_memory(exc):
                raise
            empty_cache(device)
            smaller = halved_tile(tile or longest_side, multiple_of)
            if smaller is None:
                hint = "close other programs" + ("" if device.type == "cpu" else " or use --device cpu")
                raise DeblurError(f"out of memory on {device} even with {MIN_TILE}px tiles; {hint}") from None
            log.warning("out of memory with %s; retrying with %dpx tiles",
                        f"{tile}px tiles" if tile else "the whole image", smaller)
            tile = smaller


def activation_bytes_per_pixel(module, multiple_of: int, device, dtype) -> float:
    """Peak memory of a forward pass per input pixel, measured on a small probe image.

    CUDA: the allocator's own peak (``max_memory_allocated``) during the probe, plus a fifth for the
    allocator's fragmentation. Elsewhere there is no allocator to ask, so every leaf layer reports its
    input plus output size and the peak is taken as five times the largest of these, plus the image in
    and out. Five is calibrated against the process's peak resident memory at 512x512 on CPU: the
    measured peak was 0.4 to 0.92 times this estimate for every compact variant (README, inference
    section). An underestimate is caught by the engine's out-of-memory fallback, which halves the tile.
    """
    device = torch.device(device)
    side = max(128 if device.type == "cuda" else 64, multiple_of)
    side = -(-side // multiple_of) * multiple_of
    probe = torch.rand(1, 3, side, side, device=device, dtype=dtype)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        with torch.inference_mode():
            module(probe)
        torch.cuda.synchronize(device)
        return 1.2 * (torch.cuda.max_memory_allocated(device) - base) / (side * side)

    largest = 0
    handles = []

    def hook(_m, inputs, output):
        nonlocal largest
        n = sum(t.numel() for t in inputs if torch.is_tensor(t))
        outs = output if isinstance(output, (list, tuple)) else [output]
        n += sum(t.numel() for t in outs if torch.is_tensor(t))
        largest = max(largest, n)

    for m in module.modules():
        if not any(True for _ in m.children()):
            handles.append(m.register_forward_hook(hook))
    try:
        with torch.inference_mode():
            module(probe)
    finally:
        for h in handles:
            h.remove()
    return (5 * largest + 2 * probe.numel()) * probe.element_size() / (side * side)
