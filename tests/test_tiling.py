"""The tiler: spans cover the image exactly, blend weights sum to one, tile starts sit on the network's grid."""

import numpy as np
import pytest
import torch
from torch import nn

from deblur_cli.inference import tiling


CASES = [  # length, tile, overlap, multiple_of
    (67, 32, 8, 1), (93, 32, 8, 4), (1000, 256, 64, 4), (37, 16, 4, 1), (1000, 17, 3, 1),
    (500, 64, 60, 32), (101, 100, 10, 4), (20, 8, 0, 4), (1280, 256, 64, 16), (5, 64, 16, 4),
]


@pytest.mark.parametrize("length,tile,overlap,multiple", CASES)
def test_spans_cover_axis_exactly_and_start_on_grid(length, tile, overlap, multiple):
    spans = tiling.split_axis(length, tile, overlap, multiple)
    covered = np.zeros(length, dtype=int)
    for start, stop in spans:
        assert 0 <= start < stop <= length
        assert start % multiple == 0  # same stride-2 sampling grid as the whole image
        covered[start:stop] += 1
    assert (covered >= 1).all()
    assert spans[0][0] == 0 and spans[-1][1] == length
    starts = [s for s, _ in spans]
    assert starts == sorted(set(starts))
    # no pixel is shared by three tiles, and every tile but the last has the (grid-rounded) tile length
    assert covered.max() <= 2
    full = max(2 * multiple, tile - tile % multiple)
    assert all(stop - start == full for start, stop in spans[:-1])


def test_split_spreads_tiles_evenly():
    spans = tiling.split_axis(1000, 256, 64, 4)
    steps = np.diff([s for s, _ in spans])
    assert steps.max() - steps.min() <= 4
    assert len(spans) == 5  # ceil((1000 - 64) / (256 - 64))
    assert tiling.split_axis(200, 256, 64, 4) == [(0, 200)]


def test_half_sine_ramp_is_a_cross_fade_that_ignores_the_edge_quarter():
    ramp = tiling.half_sine_ramp(16)
    np.testing.assert_allclose(ramp + ramp[::-1], 1.0, atol=1e-12)
    assert (ramp[:4] == 0).all() and (ramp[-4:] == 1).all()
    assert (np.diff(ramp) >= 0).all()


@pytest.mark.parametrize("h,w,tile,overlap,multiple", [
    (67, 93, 32, 8, 1), (1000, 37, 64, 16, 4), (67, 93, 24, 12, 4), (130, 70, 64, 32, 8), (40, 40, 64, 16, 4)])
def test_tile_weights_sum_to_one_everywhere(h, w, tile, overlap, multiple):
    tiles = tiling.plan_tiles(h, w, tile, overlap, multiple)
    total = np.zeros((h, w))
    owned = np.zeros((h, w), dtype=int)
    for t in tiles:
        weight = t.weight()
        assert weight.shape == (t.height, t.width)
        assert (weight >= 0).all()
        total[t.top:t.top + t.height, t.left:t.left + t.width] += weight
        (y0, y1), (x0, x1) = t.core_y, t.core_x
        owned[t.top + y0:t.top + y1, t.left + x0:t.left + x1] += 1
    np.testing.assert_allclose(total, 1.0, atol=1e-6)
    assert (owned == 1).all()  # cores partition the image


def test_weights_ignore_the_band_next_to_an_inner_tile_edge():
    tiles = tiling.plan_tiles(64, 200, 64, 32, 4)
    assert len(tiles) > 1
    second = tiles[1]
    assert (second.weight_x[:8] == 0).all()  # a quarter of the 32-pixel overlap
    assert second.weight_x[second.width // 2] == 1


def test_default_overlap_is_larger_where_tiling_is_discouraged():
    assert tiling.default_overlap(256, "discouraged", 4) == 64
    assert tiling.default_overlap(256, "supported", 4) == 32
    assert tiling.default_overlap(256, "supported", 32) % 32 == 0


def test_auto_tile_size_runs_whole_images_that_fit():
    assert tiling.auto_tile_size(720, 1280, bytes_per_pixel=1000, budget_bytes=720 * 1280 * 1000) == 0
    side = tiling.auto_tile_size(720, 1280, bytes_per_pixel=1000, budget_bytes=300 * 300 * 1000, multiple_of=8)
    assert side == 296  # largest multiple of 8 whose square fits
    assert tiling.auto_tile_size(720, 1280, 1000, budget_bytes=10, multiple_of=32) == 64  # floor: MIN_TILE


@pytest.mark.parametrize("h,w,largest,m", [(720, 1280, 644, 4), (1080, 1920, 644, 4), (851, 1280, 1000, 8),
                                            (300, 5000, 256, 4), (3000, 4000, 640, 32)])
def test_smallest_tile_for_count_keeps_the_grid_and_computes_fewer_pixels(h, w, largest, m):
    overlap_of = lambda t: tiling.default_overlap(t, "discouraged", m)  # noqa: E731
    side = tiling.smallest_tile_for_count(h, w, largest, overlap_of, m)
    count = tiling.tile_count(h, w, largest, overlap_of(largest), m)
    assert side % m == 0 and tiling.MIN_TILE <= side <= largest
    assert tiling.tile_count(h, w, side, overlap_of(side), m) == count  # the same number of seams
    if side - m >= tiling.MIN_TILE:  # and it is the smallest such side
        assert tiling.tile_count(h, w, side - m, overlap_of(side - m), m) > count
    computed = lambda t: sum(t.height * t.width for t in tiling.plan_tiles(h, w, t, overlap_of(t), m))  # noqa: E731
    assert computed(side) <= computed(largest)


def test_smallest_tile_for_count_shrinks_the_720p_case_a_lot():
    overlap_of = lambda t: tiling.default_overlap(t, "discouraged", 4)  # noqa: E731
    side = tiling.smallest_tile_for_count(720, 1280, 644, overlap_of, 4)
    assert side == 512  # 3 x 2 tiles either way; 644 px tiles computed 2.7 times the image's pixels


def test_activation_estimate_grows_with_network_width():
    def net(width):
        return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, 3, 3, padding=1))

    narrow = tiling.activation_bytes_per_pixel(net(4), 1, "cpu", torch.float32)
    wide = tiling.activation_bytes_per_pixel(net(32), 1, "cpu", torch.float32)
    assert wide > narrow > 0
    assert wide == pytest.approx(5 * (32 + 32) * 4 + 2 * 3 * 4)  # 5 x largest (in + out) + image in and out
