"""Out-of-focus photo pairs (data/defocus.py): the disc PSF, the defocused window in both pair engines, and the
set stamps written before the mix had the field."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from photo_run_fixtures import write_standin_photos

from deblur_cli.data.defocus import defocus_window, disc_psf
from deblur_cli.data.mix import PhotoMix, photo_mix
from deblur_cli.data.pair_plan import plan_photo_pair
from deblur_cli.data.pair_render import render_plans
from deblur_cli.data.photo_pairs import PhotoPool, find_photos, make_photo_pair
from deblur_cli.data.standins import photo_like
from deblur_cli.data.writer import write_photo_gopro
from deblur_cli.errors import DeblurError


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return write_standin_photos(tmp_path_factory.mktemp("photos"), 3)


def detail(x: np.ndarray) -> float:
    return float(np.abs(np.diff(x.astype(np.float32), axis=1)).mean())


def test_the_disc_is_normalised_round_and_as_wide_as_its_radius():
    k = disc_psf(3.0)
    assert k.shape == (7, 7) and abs(k.sum() - 1) < 1e-6
    assert np.allclose(k, k.T) and np.allclose(k, k[::-1]) and np.allclose(k, k[:, ::-1])
    assert k[3, 3] == k.max() and k[0, 0] == 0 and 0 < k[0, 3] < k[3, 3]  # corners out, the rim partly in
    assert np.count_nonzero(disc_psf(6.0)) > 3 * np.count_nonzero(k)
    assert disc_psf(0.0).shape == (1, 1)


def test_a_defocused_window_is_softer_keeps_flat_colour_and_is_the_same_in_both_dtypes():
    u8 = photo_like(np.random.default_rng(1), 64, 64)
    soft = defocus_window(u8, 3.0)
    assert soft.dtype == np.uint8 and soft.shape == u8.shape and detail(soft) < 0.6 * detail(u8)
    as_float = defocus_window(u8.astype(np.float32) / 255.0, 3.0)
    assert as_float.dtype == np.float32 and np.array_equal(np.rint(as_float * 255).astype(np.uint8), soft)
    flat = np.full((32, 32, 3), 97, np.uint8)
    assert np.array_equal(defocus_window(flat, 4.0), flat)


def test_defocused_pairs_share_the_defocus_and_both_engines_render_them_alike(photos):
    pool = PhotoPool(find_photos(photos), 0.08)
    clean = PhotoMix(megapixels=(0.04, 0.08), max_extent=8.0, p_noise=0.0, p_jpeg=0.0)
    defocused = replace(clean, p_defocus=1.0, defocus_radius=(3.0, 4.0))
    plain = [make_photo_pair(np.random.default_rng([2, i]), pool, 48, "none", clean)[1] for i in range(4)]
    soft = [make_photo_pair(np.random.default_rng([2, i]), pool, 48, "none", defocused)[:2] for i in range(4)]
    # the same window, defocused in the target too: a near-sharp pair asks to leave the defocus alone
    assert np.mean([detail(s) for _, s in soft]) < 0.7 * np.mean([detail(s) for s in plain])
    assert all(np.abs(b - s).max() < 0.05 for b, s in soft)
    blurred, sharp = render_plans([plan_photo_pair(np.random.default_rng([2, i]), pool, 48, "none", defocused)
                                   for i in range(4)])
    for (b, s), tb, ts in zip(soft, blurred, sharp):
        assert np.abs(tb.permute(1, 2, 0).numpy() - b).max() < 2e-3
        assert np.abs(ts.permute(1, 2, 0).numpy() - s).max() < 2e-3


def test_the_defocus_fields_are_checked_and_a_mix_without_them_draws_as_before(photos):
    assert photo_mix({"p_defocus": 0.2, "defocus_radius": [1, 5]}).defocus_radius == (1.0, 5.0)
    with pytest.raises(ValueError, match="defocus_radius"):
        photo_mix({"defocus_radius": [5, 1]})
    with pytest.raises(ValueError, match="p_defocus"):
        photo_mix({"p_defocus": 1.5})
    pool = PhotoPool(find_photos(photos), 0.08)
    mix = PhotoMix(megapixels=(0.04, 0.08), max_extent=8.0)
    a = make_photo_pair(np.random.default_rng([3, 0]), pool, 32, "shake", mix)
    b = make_photo_pair(np.random.default_rng([3, 0]), pool, 32, "shake", replace(mix, defocus_radius=(2.0, 3.0)))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])  # p_defocus 0 makes no draw


def test_a_set_stamped_before_the_field_existed_is_continued_and_another_mix_refused(photos, tmp_path):
    mix = PhotoMix(megapixels=(0.04, 0.08), max_extent=8.0)
    write_photo_gopro(tmp_path / "set", photos, 2, 5, 32, mix=mix)
    stamp_file = tmp_path / "set" / "test" / "synth.json"
    stamps = json.loads(stamp_file.read_text())
    for key in ("p_defocus", "defocus_radius"):  # as a set written before the mix had the field
        del stamps["5"]["mix"][key]
    stamp_file.write_text(json.dumps(stamps))
    write_photo_gopro(tmp_path / "set", photos, 3, 5, 32, mix=mix)  # adds the third pair
    assert len(list((tmp_path / "set" / "test").glob("PHOTO_5_00/sharp/*.png"))) == 3
    with pytest.raises(DeblurError, match="another mix"):
        write_photo_gopro(tmp_path / "set", photos, 4, 5, 32, mix=replace(mix, p_defocus=0.5))
