"""The procedural data engine and the dataset readers."""

from __future__ import annotations

import json
import numpy as np
import pytest
import torch
from PIL import Image

from deblur_cli.data import layouts
from deblur_cli.data.datasets import GoProDataset, PairedFolderDataset, SynthDataset
from deblur_cli.data.synth import MOTIONS, SynthConfig, blur_photo, make_pair
from deblur_cli.data.synth.motion import camera_shake, smooth_path, trajectory_kernel
from deblur_cli.data.synth.motion import CameraShake
from deblur_cli.data.synth.render import camera_grids, gaussian_psf, render_exposure, to_linear, to_srgb
from deblur_cli.data.synth.scenes import power_law_radius, scene
from deblur_cli.data.writer import write_synthetic_gopro
from deblur_cli.errors import DeblurError


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / max(np.mean((a - b) ** 2), 1e-12)))


@pytest.mark.parametrize("motion", MOTIONS)
def test_make_pair_shapes_range_and_determinism(motion):
    b1, s1 = make_pair(np.random.default_rng(3), 64, motion)
    b2, s2 = make_pair(np.random.default_rng(3), 64, motion)
    assert b1.shape == s1.shape == (64, 64, 3) and b1.dtype == np.float32
    assert 0.0 <= b1.min() and b1.max() <= 1.0 and 0.0 <= s1.min() and s1.max() <= 1.0
    np.testing.assert_array_equal(b1, b2)
    np.testing.assert_array_equal(s1, s2)


def test_blur_motions_blur_and_none_stays_close():
    blurred = [psnr(*make_pair(np.random.default_rng(i), 96, "shake")) for i in range(4)]
    sharp = [psnr(*make_pair(np.random.default_rng(i), 96, "none")) for i in range(4)]
    assert np.mean(sharp) > np.mean(blurred) + 5  # "none" pairs differ only by mild noise/JPEG and < 1.5 px motion


def test_blurred_motion_is_the_mix_without_near_sharp_pairs():
    mixed = [psnr(*make_pair(np.random.default_rng(i), 64, "mixed")) for i in range(12)]
    blurred = [psnr(*make_pair(np.random.default_rng(i), 64, "blurred")) for i in range(12)]
    assert max(blurred) < 40 < max(mixed)  # a near-sharp pair differs by grain-free JPEG at most


def test_blur_lowers_high_frequencies():
    b, s = make_pair(np.random.default_rng(11), 128, "shake")
    grad = lambda im: np.abs(np.diff(im, axis=0)).mean() + np.abs(np.diff(im, axis=1)).mean()  # noqa: E731
    assert grad(b) < grad(s)


def test_averaging_happens_in_linear_light():
    # two flat frames 0 and 1: linear-light mean is 0.5**(1/2.2), not 0.5
    x = torch.tensor([0.0, 1.0])
    assert float(to_srgb(to_linear(x).mean())) == pytest.approx(0.5 ** (1 / 2.2), abs=1e-6)


def test_sharp_target_is_middle_subframe_of_static_scene():
    canvas = scene(np.random.default_rng(0), 96, 96)
    shake = camera_shake(np.random.default_rng(1), 9, 64, extent=0.0)
    blurred, sharp = render_exposure(canvas, shake, (64, 64), (16, 16))
    np.testing.assert_allclose(sharp, canvas[16:80, 16:80], atol=2e-3)
    np.testing.assert_allclose(blurred, sharp, atol=2e-3)  # no motion: no blur


def test_lens_psf_softens_input_and_target_alike():
    canvas = scene(np.random.default_rng(0), 96, 96)
    shake = camera_shake(np.random.default_rng(1), 9, 64, extent=0.0)
    _, crisp = render_exposure(canvas, shake, (64, 64), (16, 16))
    soft_b, soft = render_exposure(canvas, shake, (64, 64), (16, 16), lens_sigma=1.0)
    grad = lambda im: np.abs(np.diff(im, axis=1)).mean()  # noqa: E731
    assert grad(soft) < 0.8 * grad(crisp)  # the target is as soft as a photo, not 1-pixel crisp
    np.testing.assert_allclose(soft_b, soft, atol=2e-3)  # no motion: the lens alone does not make a blurred pair
    assert gaussian_psf(0.7).sum() == pytest.approx(1.0) and gaussian_psf(0.0).shape == (1, 1)


def test_power_law_radii_within_bounds_and_heavy_tailed():
    r = power_law_radius(np.random.default_rng(0), 20000, 2.0, 100.0)
    assert r.min() >= 2.0 and r.max() <= 100.0
    assert np.median(r) < 3.5  # density ~ r^-3: median = r_min * sqrt(2) for a wide range


def test_smooth_path_length_and_centre():
    p = smooth_path(np.random.default_rng(0), 21, 10.0)
    assert np.sum(np.linalg.norm(np.diff(p, axis=0), axis=1)) == pytest.approx(10.0, rel=1e-6)
    np.testing.assert_allclose(p[10], 0.0)


def test_smooth_path_mean_anchor_is_the_same_path_moved():
    middle = smooth_path(np.random.default_rng(0), 21, 10.0, anchor="middle")
    mean = smooth_path(np.random.default_rng(0), 21, 10.0, anchor="mean")
    np.testing.assert_allclose(mean.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(mean - middle, np.broadcast_to(mean[10], mean.shape))  # same draws, other origin
    assert np.linalg.norm(mean[10]) > 0.1  # on a curved walk the middle instant is not the mean pose
    with pytest.raises(ValueError, match="anchor"):
        smooth_path(np.random.default_rng(0), 21, 10.0, anchor="start")


def _dot_centroid(image: np.ndarray) -> np.ndarray:
    w = to_linear(torch.from_numpy(image[..., 0])).numpy()
    ys, xs = np.mgrid[: w.shape[0], : w.shape[1]]
    return np.array([(w * xs).sum(), (w * ys).sum()]) / w.sum()


@pytest.mark.parametrize("seed", [2, 5, 9])
def test_mean_anchor_puts_the_target_where_the_streak_is_centred(seed):
    # one bright dot, pure translation: the blurred streak's centre of light is the mean camera pose, so a "mean"
    # target lies under the streak's centre, and a "middle" target (GoPro's) is off it by the path's asymmetry
    canvas = np.zeros((96, 96, 3), np.float32)
    canvas[47:49, 47:49] = 1.0
    off = {}
    for anchor in ("mean", "middle"):
        shake = camera_shake(np.random.default_rng(seed), 15, 64, extent=12.0, rotation_share=0.0, anchor=anchor)
        blurred, sharp = render_exposure(canvas, shake, (64, 64), (16, 16))
        off[anchor] = np.linalg.norm(_dot_centroid(blurred) - _dot_centroid(sharp))
    assert off["mean"] < 0.05 and off["middle"] > 0.3


def test_middle_anchor_target_is_the_middle_subframe():
    canvas = scene(np.random.default_rng(0), 96, 96)
    shake = camera_shake(np.random.default_rng(3), 9, 64, extent=8.0)
    _, sharp = render_exposure(canvas, shake, (64, 64), (16, 16))
    middle = camera_shake(np.random.default_rng(3), 9, 64, extent=8.0)
    middle.translation, middle.rotation = middle.translation[4:5], middle.rotation[4:5]  # the middle sub-frame alone
    _, alone = render_exposure(canvas, middle, (64, 64), (16, 16))
    np.testing.assert_array_equal(sharp, alone)


def test_photo_and_synth_mixes_choose_their_anchor():
    from deblur_cli.data.mix import PhotoMix, photo_mix, synth_config

    assert SynthConfig().anchor == "middle" and PhotoMix().anchor == "mean"
    assert photo_mix({"anchor": "middle"}).anchor == "middle"
    with pytest.raises(ValueError, match="anchor"):
        synth_config({"anchor": "first"})


def test_trajectory_kernel_is_normalised_and_not_a_delta():
    k = trajectory_kernel(np.random.default_rng(4), size=31, length=15.0)
    assert k.shape == (31, 31) and k.sum() == pytest.approx(1.0, abs=1e-5) and (k > 0).sum() > 10


def test_blur_photo_keeps_size():
    photo = np.random.default_rng(0).random((40, 56, 3)).astype(np.float32)
    b, s = blur_photo(np.random.default_rng(1), photo, extent=6.0)
    assert b.shape == s.shape == photo.shape


def test_synth_dataset_crops_consistently_and_cache_matches(tmp_path):
    fresh = SynthDataset(3, seed=5, crop=32, size=48, cache_dir=tmp_path)
    first = fresh[1]  # renders and caches
    again = SynthDataset(3, seed=5, crop=32, size=48, cache_dir=tmp_path)[1]  # reads the cache
    assert first["blur"].shape == (3, 32, 32)
    assert torch.equal(first["blur"], again["blur"]) and torch.equal(first["sharp"], again["sharp"])
    full = SynthDataset(3, seed=5, crop=None, size=48, cache_dir=tmp_path)[1]
    # the crop is a window of the full pair: the same window (and flips) in blur and sharp
    found = False
    for ops in range(8):
        b, s = full["blur"], full["sharp"]
        if ops & 1:
            b, s = b.flip(-1), s.flip(-1)
        if ops & 2:
            b, s = b.flip(-2), s.flip(-2)
        if ops & 4:
            b, s = b.transpose(-1, -2), s.transpose(-1, -2)
        for y in range(17):
            for x in range(17):
                if torch.equal(b[:, y:y + 32, x:x + 32], first["blur"]):
                    found = torch.equal(s[:, y:y + 32, x:x + 32], first["sharp"])
    assert found


def test_epoch_changes_crops():
    ds = SynthDataset(2, seed=1, crop=24, size=48)
    a = ds[0]["blur"]
    ds.set_epoch(1)
    assert not torch.equal(a, ds[0]["blur"])


def _png(path, value, size=(20, 16)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), value, np.uint8)).save(path)


def test_gopro_layouts_are_detected(tmp_path):
    gopro = tmp_path / "GOPRO_Large"
    for seq in ("GOPR0001_11_00", "GOPR0002_07_00"):
        for i in range(2):
            _png(gopro / "test" / seq / "blur" / f"{i:06d}.png", 10)
            _png(gopro / "test" / seq / "blur_gamma" / f"{i:06d}.png", 20)
            _png(gopro / "test" / seq / "sharp" / f"{i:06d}.png", 30)
    ds = GoProDataset(gopro, "test")
    assert len(ds) == 4 and ds[0]["name"] == "GOPR0001_11_00/000000"
    assert float(ds[0]["blur"][0, 0, 0]) == pytest.approx(10 / 255)
    assert float(GoProDataset(gopro, "test", blur_kind="blur_gamma")[0]["blur"][0, 0, 0]) == pytest.approx(20 / 255)
    mimo = tmp_path / "GOPRO"
    _png(mimo / "test" / "blur" / "GOPR0001_000001.png", 1)
    _png(mimo / "test" / "sharp" / "GOPR0001_000001.png", 2)
    assert len(GoProDataset(mimo)) == 1
    mpr = tmp_path / "GoPro"
    _png(mpr / "test" / "input" / "a.png", 1)
    _png(mpr / "test" / "target" / "a.png", 2)
    assert len(GoProDataset(mpr)) == 1
    (gopro / "train").mkdir()
    with pytest.raises(DeblurError, match="no GoPro layout"):
        layouts.find_pairs(gopro, split="train")


def test_paired_folders_and_errors(tmp_path):
    _png(tmp_path / "b" / "x.png", 5)
    _png(tmp_path / "s" / "x.png", 6)
    _png(tmp_path / "s" / "y.png", 6)
    ds = PairedFolderDataset(tmp_path / "b", tmp_path / "s")
    assert len(ds) == 1 and ds[0]["name"] == "x"
    _png(tmp_path / "b2" / "x.png", 5, size=(10, 10))
    with pytest.raises(DeblurError, match="sizes differ"):
        PairedFolderDataset(tmp_path / "b2", tmp_path / "s")[0]
    (tmp_path / "b3").mkdir()
    (tmp_path / "b3" / "x.png").write_bytes(b"not a png")
    with pytest.raises(DeblurError, match="x.png"):
        PairedFolderDataset(tmp_path / "b3", tmp_path / "s")[0]


def test_writer_produces_gopro_layout_readable_and_resumable(tmp_path):
    write_synthetic_gopro(tmp_path, 3, seed=9, size=32, per_sequence=2)
    ds = GoProDataset(tmp_path)
    assert [d["name"] for d in ds] == ["SYNTH_9_00/000000", "SYNTH_9_00/000001", "SYNTH_9_01/000000"]
    ref = SynthDataset(3, seed=9, crop=None, size=32, augment=False)[2]
    assert torch.allclose(ds[2]["sharp"], ref["sharp"], atol=0.5 / 255 + 1e-6)
    stamp = (tmp_path / "test" / "SYNTH_9_00" / "sharp" / "000000.png").stat().st_mtime_ns
    write_synthetic_gopro(tmp_path, 3, seed=9, size=32, per_sequence=2)
    assert (tmp_path / "test" / "SYNTH_9_00" / "sharp" / "000000.png").stat().st_mtime_ns == stamp
    with pytest.raises(DeblurError, match="another mix"):  # resuming with another recipe would mix two datasets
        write_synthetic_gopro(tmp_path, 3, seed=9, size=32, per_sequence=2, config=SynthConfig(p_fibres=0.5))
    write_synthetic_gopro(tmp_path, 1, seed=10, size=32, motion="shake")  # another seed has its own folders
    assert sorted(json.loads((tmp_path / "test" / "synth.json").read_text())) == ["10", "9"]


def test_synth_command_writes_fibre_pairs_and_refuses_to_mix_recipes(tmp_path, capsys):
    from deblur_cli.cli.app import main

    def run(*args):
        try:
            main(["synth", "--out", str(tmp_path), "--n", "2", "--size", "32", *args])
        except SystemExit as e:
            return e.code or 0
        return 0

    assert run("--fibres", "0.5", "--warp", "0.25") == 0
    stamp = json.loads((tmp_path / "test" / "synth.json").read_text())["0"]
    assert stamp["mix"]["p_fibres"] == 0.5 and stamp["mix"]["p_warp"] == 0.25 and stamp["size"] == 32
    assert len(list((tmp_path / "test").glob("*/sharp/*.png"))) == 2
    capsys.readouterr()
    assert run() == 1  # the same seed and folder without fibres would mix two datasets
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(tmp_path / "test") in err and "mix" in err


@pytest.mark.parametrize("per_pose", [False, True])
def test_camera_grids_sample_the_rotated_and_shifted_pixel(per_pose):
    # the grids fold the pose and the pixel -> [-1, 1] conversion into sums of an x term and a y term; check them
    # against the definition, pixel by pixel, in float64: p -> R (p - centre) + centre + translation + offset
    rng = np.random.default_rng(4)
    t, h, w, canvas = 5, 24, 32, (40, 52)
    shake = CameraShake(rng.normal(0, 3, (t, 2)), rng.normal(0, 0.05, t), np.array([7.5, -20.0]))
    offset = rng.normal(0, 5, (t, 2)) if per_pose else (6.0, 9.0)
    grids = camera_grids(shake, h, w, offset, canvas).double().numpy()
    assert grids.shape == (t, h, w, 2)
    shift = np.broadcast_to(np.asarray(offset, float), (t, 2))
    for k in range(t):
        c, s = np.cos(shake.rotation[k]), np.sin(shake.rotation[k])
        for y, x in ((0, 0), (h - 1, w - 1), (11, 3)):
            u, v = x - shake.centre[0], y - shake.centre[1]
            wx = c * u - s * v + shake.centre[0] + shake.translation[k][0] + shift[k][0]
            wy = s * u + c * v + shake.centre[1] + shake.translation[k][1] + shift[k][1]
            expected = ((2 * wx + 1) / canvas[1] - 1, (2 * wy + 1) / canvas[0] - 1)
            assert grids[k, y, x] == pytest.approx(expected, abs=1e-5)
