"""The weights that ship with the package: present, verified, loadable, and better than their input.

Parametrized over the manifest, so every newly bundled file is covered. The quality check restores the two
examples (chelsea blurred by our camera-shake generator, and a procedural scene) and requires a PSNR gain on
each; a regressed retrain fails here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from deblur_cli.inference.settings import DEFAULT_MODEL
from deblur_cli.weights.manifest import BUNDLED_FILE_LIMIT, load_manifest

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = sorted(n for n, e in load_manifest().entries.items() if e.trained and e.bundled)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    a8, b8 = np.round(np.clip(a, 0, 1) * 255), np.round(np.clip(b, 0, 1) * 255)
    return float(10 * np.log10(255 ** 2 / np.mean((a8 - b8) ** 2)))


def test_something_is_bundled():
    assert BUNDLED, "no bundled weights: the README's quick start would fail"


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_file_matches_manifest(name):
    entry = load_manifest().get(name)
    path = ROOT / entry.bundled
    data = path.read_bytes()
    assert len(data) == entry.bytes and hashlib.sha256(data).hexdigest() == entry.sha256
    assert len(data) <= BUNDLED_FILE_LIMIT  # 10 MB per file
    training = load_manifest().get(name).training
    assert training.get("steps_total", 0) > 0 and training.get("hardware")


def test_bundled_total_size_within_budget():
    total = sum(load_manifest().get(n).bytes for n in BUNDLED)
    assert total <= 60 * 1024 * 1024


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_weights_improve_the_examples(name):
    """No bundled model makes an example worse. Every file but the default also improves one of them by more than
    rounding: those files were judged on procedural sets and `chelsea`. The default was
    chosen on held-out real photos (the next test) and gains little on these two, a small crisp photo whose target is
    the middle frame of its shake and a procedural scene (docs/results.md). How much each gains is measured there."""
    from deblur_cli.images import read_image
    from deblur_cli.inference.api import load_model
    from deblur_cli.inference.settings import RestoreSettings

    restorer = load_model(name, settings=RestoreSettings(device="cpu", precision="fp32", tile="0"))
    gains = {}
    for blurred_path in sorted((ROOT / "examples" / "blur").iterdir()):
        sharp = read_image(next((ROOT / "examples" / "sharp").glob(blurred_path.stem + ".*"))).rgb
        blurred = read_image(blurred_path).rgb
        restored = restorer.restore(blurred)
        assert restored.shape == blurred.shape and np.isfinite(restored).all()
        gains[blurred_path.name] = psnr(restored, sharp) - psnr(blurred, sharp)
    assert min(gains.values()) > 0.0, gains
    if name != DEFAULT_MODEL:
        assert max(gains.values()) > 0.05, gains


def test_the_default_is_the_file_the_shipping_rule_picks():
    """Issue #24's rule (docs/weights.md, "Measuring and shipping a file"): the default's recorded scores on the
    held-out real photos cover every set and break no measured rule, and no other bundled file scored on every set
    would replace it."""
    from deblur_cli.eval.held_out_photos import ALL_SETS, against_shipped, rule_breaks, shipped_photo_scores

    default = shipped_photo_scores(DEFAULT_MODEL)
    assert default is not None and set(ALL_SETS) <= set(default), "the default has no score on some set"
    assert rule_breaks(default) == []
    others = {n: shipped_photo_scores(n) for n in BUNDLED if n != DEFAULT_MODEL}
    scored = {n: v for n, v in others.items() if v is not None and set(ALL_SETS) <= set(v)}
    assert scored, "no other bundled file to compare with"
    for name, scores in scored.items():
        assert against_shipped(scores, default), f"{name} beats the default on every measured rule"
