"""The rule that chooses which weights of a run are bundled (tools/pick_export.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

from pick_export import candidates, pick


def test_pick_prefers_validation_among_those_that_leave_a_sharp_photo_alone():
    scores = {
        "ema@last": {"val_psnr": 31.0, "sharp": -0.02},
        "raw@last": {"val_psnr": 32.5, "sharp": -0.40},  # best on validation, but over-sharpens
        "ema@4000": {"val_psnr": 31.4, "sharp": -0.05},  # exactly at the tolerance counts as safe
    }
    assert pick(scores) == "ema@4000"


def test_pick_falls_back_to_the_least_harmful_when_none_is_safe():
    scores = {"a": {"val_psnr": 33.0, "sharp": -0.30}, "b": {"val_psnr": 30.0, "sharp": -0.10}}
    assert pick(scores) == "b"


def test_candidates_pair_each_checkpoint_with_ema_and_raw_export_flags():
    flags = candidates([4000])
    assert flags == {
        "ema@last": ["--last", "--ema"], "raw@last": ["--last", "--no-ema"],
        "ema@4000": ["--step", "4000", "--ema"], "raw@4000": ["--step", "4000", "--no-ema"],
    }
