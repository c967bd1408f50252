"""tools/check_transfer.py and tools/measure_bundled.py, the shipping workflow's `chelsea` check and procedural-set
measurement (docs/weights.md, "Measuring and shipping a file"), run end to end with the networks replaced."""

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import check_transfer  # noqa: E402
import measure_bundled  # noqa: E402

from deblur_cli.eval.held_out import SETS  # noqa: E402

CASES = ["shake 4px", "shake 8px", "shake 14px", "shake 20px", "kernel 12px", "sharp (jpeg q90)"]


class Identity:
    def restore(self, x: np.ndarray) -> np.ndarray:
        return x


def test_check_transfer_prints_every_case_and_writes_the_crop_grid(tmp_path, monkeypatch, capsys):
    seen = {}
    monkeypatch.setattr(check_transfer, "load_model", lambda name, **kw: seen.update(name=name, **kw) or Identity())
    grid = tmp_path / "crops.png"
    monkeypatch.setattr("sys.argv", ["check_transfer.py", "-m", "rir-compact", "--weights", "w.safetensors",
                                     "--ensemble", "2", "--strength", "1.5", "--grid", str(grid),
                                     "--threads", str(torch.get_num_threads())])
    check_transfer.main()
    # keyword arguments, or the fields of a settings object passed as one
    flat = dict(seen, **{f: getattr(v, f) for v in seen.values() for f in getattr(v, "__dataclass_fields__", ())})
    assert (flat["name"], flat["weights"], flat["device"], flat["ensemble"], flat["strength"]) == (
        "rir-compact", "w.safetensors", "cpu", 2, 1.5)
    assert str(flat["tile"]) == "0"  # whole images: the check's numbers do not depend on tiling
    out = capsys.readouterr().out
    for case in CASES:
        assert f"| {case} |" in out
    assert "blurred cases: mean gain +0.00 dB, worst +0.00 dB; sharp photo +0.00 dB" in out
    assert np.asarray(Image.open(grid)).shape == (128 * len(CASES), 3 * 200, 3)  # blurred | restored | sharp


def _fake_rows(variant):
    return {case: {"input_psnr": 30.0, "psnr": 30.1, "gain": 0.1 if not case.startswith("sharp") else -0.02}
            for case in CASES}


def _fake_set(variant, name, ensemble=1):
    assert ensemble == 1  # one pass, as the procedural tables report
    return {"psnr": 31.6, "ssim": 0.894, "input_psnr": 31.5, "input_ssim": 0.8927, "improved": 90, "images": 100,
            "command": f"deblur eval -m {variant} ({name})"}


def _patch(monkeypatch, entry):
    from deblur_cli.weights import manifest

    calls = []
    monkeypatch.setattr(measure_bundled, "score_set", _fake_set)
    monkeypatch.setattr(measure_bundled, "run_transfer_check", _fake_rows)
    monkeypatch.setattr(manifest, "load_manifest", lambda: {"bag-compact": entry} if entry else {})
    monkeypatch.setattr(manifest, "update_entry", lambda name, **fields: calls.append((name, fields)))
    return calls


def test_measure_bundled_prints_both_tables_and_records_keeping_the_photo_scores(monkeypatch, capsys):
    photos = {"shake": {"gain": 0.11}}
    calls = _patch(monkeypatch, SimpleNamespace(trained=True, metrics={"psnr": 1.0, "photos": photos}))
    monkeypatch.setattr("sys.argv", ["measure_bundled.py", "-m", "bag-compact"])
    measure_bundled.main()
    out = capsys.readouterr().out
    assert "| bag-compact | 31.50 -> 31.60 (+0.10; 90/100 better)" in out
    assert out.rstrip().endswith("| bag-compact | 0.8927 -> 0.8940 (+0.0013) | 0.8927 -> 0.8940 (+0.0013) | "
                                 "0.8927 -> 0.8940 (+0.0013) |")
    [(name, fields)] = calls
    metrics = fields["metrics"]
    assert name == "bag-compact" and metrics["photos"] == photos  # tools/measure_photos.py's scores are kept
    assert set(metrics["sets"]) == set(SETS) and metrics["psnr"] == 31.6
    assert metrics["chelsea"]["command"] == "python tools/check_transfer.py -m bag-compact"


def test_measure_bundled_no_record_and_an_untrained_entry(monkeypatch, capsys):
    calls = _patch(monkeypatch, None)
    monkeypatch.setattr("sys.argv", ["measure_bundled.py", "-m", "bag-compact", "--no-record"])
    measure_bundled.main()
    assert calls == [] and "| bag-compact |" in capsys.readouterr().out
    monkeypatch.setattr("sys.argv", ["measure_bundled.py", "-m", "bag-compact"])
    with pytest.raises(SystemExit, match="not trained"):
        measure_bundled.main()
