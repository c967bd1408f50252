"""The held-out photo sets (`deblur_cli.eval.held_out_photos`) and tools/measure_photos.py, which writes them,
scores a file on them and records the scores."""

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import measure_photos  # noqa: E402

from deblur_cli.data.mix import PhotoMix  # noqa: E402
from deblur_cli.eval.held_out_photos import PhotoSet, make_photo_sets, measure_photo_sets  # noqa: E402


def test_sets_are_written_as_jpeg_inputs_and_scored_with_the_default_ensemble(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    for i in range(2):
        (tmp_path / "val").mkdir(exist_ok=True)
        Image.fromarray((rng.random((90, 120, 3)) * 255).astype(np.uint8)).save(tmp_path / "val" / f"v{i}.png")
    sets = {"shake": PhotoSet("shake", 5, 3, 48), "near-sharp": PhotoSet("none", 6, 2, 48)}
    lines = make_photo_sets(tmp_path / "val", tmp_path / "sets", sets, PhotoMix(p_jpeg=1.0, megapixels=(0.005, 0.01)))
    assert len(lines) == 2 and "seed 5" in lines[0]
    assert len(list((tmp_path / "sets" / "shake" / "test").glob("*/blur/*.png"))) == 3

    result = measure_photo_sets("bag-compact", None, tmp_path / "sets", sets=sets)
    assert result["ensemble"] == 2 and result["variant"] == "bag-compact"
    for name, n in (("shake", 3), ("near-sharp", 2)):
        s = result[name]
        assert s["n"] == n and 0 <= s["improved"] <= n
        assert abs(s["gain"] - (s["output"] - s["input"])) < 1e-6 and s["worst"] <= s["gain"]
    near = result["near-sharp"]
    assert near["input"] < 50  # every input went through JPEG: no pixel-identical pair
    assert np.isfinite(result["sharp chelsea"])


def test_record_keeps_the_entrys_other_metrics(monkeypatch):
    import argparse
    from types import SimpleNamespace

    from deblur_cli.weights import manifest

    calls = {}
    entry = SimpleNamespace(trained=True, metrics={"psnr": 31.7, "sets": {"synthetic-blurred": {}}})
    monkeypatch.setattr(manifest, "load_manifest", lambda: {"bag-compact": entry})
    monkeypatch.setattr(manifest, "update_entry", lambda name, **fields: calls.update(name=name, **fields))
    result = {"variant": "bag-compact", "weights": "x", "ensemble": 2, "shake": {"gain": 0.3}}
    args = argparse.Namespace(weights=None, ensemble=2)
    measure_photos.record("bag-compact", result, args)
    assert calls["name"] == "bag-compact" and calls["metrics"]["psnr"] == 31.7
    assert calls["metrics"]["photos"]["shake"] == {"gain": 0.3} and "weights" not in calls["metrics"]["photos"]
    args.weights = "candidate.safetensors"
    with pytest.raises(SystemExit, match="bundled"):
        measure_photos.record("bag-compact", result, args)
