"""The torch pair engine (plans drawn per item, rendered a batch at a time) against the numpy reference engine.

Training renders photo pairs with the torch engine; `deblur synth`, the validation sets and the held-out
measurements keep the numpy one. These tests hold the two to the same pairs where their draws are the same (the
window, the path, the sprites), and to the same distribution where they are not (the trajectory kernel's random
numbers, the noise realisation, the JPEG draws after it): histograms of the input PSNR and of the blur (the loss
of fine detail) over a few hundred pairs from the same photos.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from photo_run_fixtures import write_standin_photos

from deblur_cli.data import pair_plan
from deblur_cli.data.datasets import PhotoDataset
from deblur_cli.data.mix import PhotoMix
from deblur_cli.data.pair_plan import fast_trajectory_kernel, plan_photo_pair
from deblur_cli.data.pair_render import render_plans
from deblur_cli.data.photo_batches import collate_pairs, finish_batch
from deblur_cli.data.photo_pairs import PhotoPool, find_photos, make_photo_pair
from deblur_cli.data.synth.motion import trajectory_kernel


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    return PhotoPool(find_photos(write_standin_photos(tmp_path_factory.mktemp("photos"), 4)), 0.08)


MIX = PhotoMix(megapixels=(0.04, 0.08), max_extent=12.0)
CLEAN = replace(MIX, p_noise=0.0, p_jpeg=0.0)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1 / max(float(np.mean((a - b) ** 2)), 1e-12)))


def as_hwc(t: torch.Tensor) -> np.ndarray:
    return t.permute(1, 2, 0).numpy()


@pytest.mark.parametrize("motion", ["none", "shake", "objects", "kernel"])
def test_the_same_draws_render_the_same_pair(pool, motion, monkeypatch):
    # with the numpy engine's kernel generator, the plan makes every draw the numpy engine makes
    monkeypatch.setattr(pair_plan, "fast_trajectory_kernel",
                        lambda rng, size, length: trajectory_kernel(rng, size=size, length=length))
    plans, reference = [], []
    for i in range(6):
        reference.append(make_photo_pair(np.random.default_rng([3, i]), pool, 48, motion, CLEAN)[:2])
        plans.append(plan_photo_pair(np.random.default_rng([3, i]), pool, 48, motion, CLEAN))
    blurred, sharp = render_plans(plans)
    for (b, s), tb, ts in zip(reference, blurred, sharp):
        assert psnr(as_hwc(tb), b) > 60 and psnr(as_hwc(ts), s) > 60
    if motion != "none":  # and some pairs are blurred: the check above compares something
        assert min(psnr(b, s) for b, s in reference) < 40


def test_the_fast_kernel_has_the_reference_kernels_length_and_spread():
    def spread(k):  # standard deviation of the PSF's mass, in pixels
        yy, xx = np.mgrid[:k.shape[0], :k.shape[1]]
        my, mx = (k * yy).sum(), (k * xx).sum()
        return float(np.sqrt((k * ((yy - my) ** 2 + (xx - mx) ** 2)).sum()))

    for length in (6.0, 30.0):  # 150 kernels each: the means' sampling error is about 3 %
        size = 2 * (int(length) // 2) + 9
        ref = [spread(trajectory_kernel(np.random.default_rng(i), size, length)) for i in range(150)]
        fast = [spread(fast_trajectory_kernel(np.random.default_rng(1000 + i), size, length)) for i in range(150)]
        assert abs(np.mean(fast) / np.mean(ref) - 1) < 0.1, (length, np.mean(fast), np.mean(ref))
        k = fast_trajectory_kernel(np.random.default_rng(1), size, length)
        assert k.shape == (size, size) and abs(k.sum() - 1) < 1e-5 and k.min() >= 0


def ks_distance(a, b) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical CDFs."""
    grid = np.sort(np.concatenate([a, b]))
    cdf = lambda x: np.searchsorted(np.sort(x), grid, side="right") / len(x)  # noqa: E731
    return float(np.abs(cdf(a) - cdf(b)).max())


def histogram_distance(a, b, edges) -> float:
    """Total variation distance of two samples' histograms (0 equal, 1 disjoint)."""
    ha, _ = np.histogram(np.clip(a, edges[0], edges[-1]), edges)
    hb, _ = np.histogram(np.clip(b, edges[0], edges[-1]), edges)
    return 0.5 * float(np.abs(ha / ha.sum() - hb / hb.sum()).sum())


def blur_of(blurred: np.ndarray, sharp: np.ndarray) -> float:
    """How much fine detail the input lost: 1 - its mean gradient over the target's."""
    def grad(x):
        return np.abs(np.diff(x, axis=0)).mean() + np.abs(np.diff(x, axis=1)).mean()
    return 1 - grad(blurred) / max(grad(sharp), 1e-6)


@pytest.mark.parametrize("motion", ["mixed", "kernel"])
def test_both_engines_draw_the_same_distribution(pool, motion):
    """Input PSNR and blur of 240 pairs from the same photos: histograms within 0.15 total variation and the
    Kolmogorov-Smirnov distance under 0.15 (about the 1 % critical value for two independent samples of 240;
    the JPEG draws alone move a near-sharp pair between 33 and 58 dB). The tolerance of docs/data.md."""
    n, size = 240, 40
    numpy_pairs = [make_photo_pair(np.random.default_rng([11, i]), pool, size, motion, MIX)[:2] for i in range(n)]
    plans = [plan_photo_pair(np.random.default_rng([11, i]), pool, size, motion, MIX) for i in range(n)]
    torch_pairs = []
    for start in range(0, n, 8):
        blurred, sharp = render_plans(plans[start:start + 8])
        torch_pairs += [(as_hwc(b), as_hwc(s)) for b, s in zip(blurred, sharp)]
    for measure, edges in ((psnr, np.linspace(15, 60, 10)), (blur_of, np.linspace(-0.2, 1, 13))):
        a = np.array([measure(b, s) for b, s in numpy_pairs])
        b = np.array([measure(b, s) for b, s in torch_pairs])
        assert histogram_distance(a, b, edges) < 0.15, (measure.__name__, motion)
        assert ks_distance(a, b) < 0.15, (measure.__name__, motion)


def test_a_torch_engine_batch_is_a_function_of_its_items_wherever_it_is_rendered(pool, tmp_path):
    folder = pool.paths[0].parent
    ds = PhotoDataset(folder, 8, seed=5, crop=32, mix=MIX, engine="torch")
    items = [ds[i] for i in range(4)]
    now = collate_pairs(items, "cpu")
    assert now["blur"].shape == (4, 3, 32, 32) and now["name"][1].endswith("-000001")
    later = collate_pairs([ds[i] for i in range(4)], "later")  # a GPU run renders in the training process
    assert "plans" in later
    rendered = finish_batch(later, "cpu")
    assert torch.equal(rendered["blur"], now["blur"]) and torch.equal(rendered["sharp"], now["sharp"])
    alone = collate_pairs([ds[2]], "cpu")  # another batch around it moves it in the atlas, not in value
    assert torch.allclose(alone["blur"][0], now["blur"][2], atol=1e-5)
    ds.set_epoch(1)
    assert not torch.equal(collate_pairs([ds[i] for i in range(4)], "cpu")["blur"], now["blur"])
    assert 0 <= now["blur"].min() and now["blur"].max() <= 1


def test_procedural_items_keep_their_place_in_a_torch_engine_batch(pool):
    folder = pool.paths[0].parent
    ds = PhotoDataset(folder, 8, seed=5, crop=32, mix=MIX, engine="torch")
    ready = {"blur": torch.zeros(3, 32, 32), "sharp": torch.ones(3, 32, 32), "name": "procedural"}
    batch = collate_pairs([ds[0], ready, ds[1]], "cpu")
    assert batch["name"][1] == "procedural" and batch["blur"][1].eq(0).all() and batch["sharp"][1].eq(1).all()
    assert not batch["blur"][0].eq(0).all()


def test_an_unknown_engine_is_one_line(pool):
    from deblur_cli.errors import DeblurError

    with pytest.raises(DeblurError, match="torch, numpy"):
        PhotoDataset(pool.paths[0].parent, 8, seed=5, crop=32, engine="jax")


def test_a_lens_psf_is_the_numpy_engines_away_from_the_border(pool, monkeypatch):
    # the numpy engine pads the crop by reflection before the lens; the torch engine renders the lens's reach
    # around the crop, so only a border as wide as the PSF's radius (4 px at sigma 1.2) differs
    monkeypatch.setattr(pair_plan, "fast_trajectory_kernel",
                        lambda rng, size, length: trajectory_kernel(rng, size=size, length=length))
    mix = replace(CLEAN, lens_sigma=(0.5, 1.2))
    for motion in ("kernel", "shake"):
        reference = [make_photo_pair(np.random.default_rng([4, i]), pool, 48, motion, mix)[:2] for i in range(3)]
        blurred, sharp = render_plans([plan_photo_pair(np.random.default_rng([4, i]), pool, 48, motion, mix)
                                       for i in range(3)])
        for (b, s), tb, ts in zip(reference, blurred, sharp):
            assert psnr(as_hwc(tb)[4:-4, 4:-4], b[4:-4, 4:-4]) > 60 and psnr(as_hwc(ts)[4:-4, 4:-4], s[4:-4, 4:-4]) > 60
