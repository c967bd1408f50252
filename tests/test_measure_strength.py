"""tools/measure_strength.py: every measurement of a row runs at that row's strength and ensemble."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import measure_strength


def test_each_measurement_gets_the_strength_and_the_row_reports_it(monkeypatch):
    calls = []

    def fake_check(variant, weights=None, ensemble=1, strength=1.0):
        calls.append(("chelsea", ensemble, strength))
        cases = {"shake 4px": 0.3, "shake 8px": 0.2, "kernel 12px": 0.4, "sharp (jpeg q90)": -0.1}
        return {case: {"gain": g} for case, g in cases.items()}

    def fake_score(variant, name, ensemble=1, strength=1.0):
        calls.append((name, ensemble, strength))
        return {"psnr": 31.0, "input_psnr": 30.5, "improved": 9, "images": 10}

    monkeypatch.setattr(measure_strength, "run_transfer_check", fake_check)
    monkeypatch.setattr(measure_strength, "score_set", fake_score)
    m = measure_strength.measure("bag-compact", 1.5, 2)
    # chelsea, then the held-out blurred and the near-sharp sets, each in this process
    assert calls == [("chelsea", 2, 1.5), ("synthetic-blurred", 2, 1.5), ("synthetic-near-sharp", 2, 1.5)]
    line = measure_strength.row(1.5, m)
    assert line == "| 1.5 | +0.30 / +0.20 / +0.40 | +0.30 | -0.10 | +0.50 (9/10) | +0.50 (9/10) |"
