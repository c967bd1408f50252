"""The rule that chooses which weights of a run are bundled (tools/pick_export.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

from pick_export import candidates, pick

from deblur_cli.inference.settings import RestoreSettings


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


def test_candidates_pair_each_checkpoint_with_ema_and_raw_export_arguments():
    assert candidates([4000]) == {
        "ema@last": {"which": "last", "ema": True}, "raw@last": {"which": "last", "ema": False},
        "ema@4000": {"which": "step", "step": 4000, "ema": True},
        "raw@4000": {"which": "step", "step": 4000, "ema": False},
    }


def test_a_candidate_is_scored_in_this_process_on_validation_and_chelsea(monkeypatch):
    import pick_export

    seen = []

    def fake_score(variant, evalset, options):
        seen.append((variant, evalset, options.weights, options.restore, options.flops))
        return {"psnr": 30.123}

    def fake_check(variant, weights=None, ensemble=1, strength=1.0):
        seen.append((variant, weights, ensemble))
        return {"shake 4px": {"gain": 0.3}, "kernel 12px": {"gain": 0.1}, "sharp (jpeg q90)": {"gain": -0.02}}

    monkeypatch.setattr(pick_export, "score_variant", fake_score)
    monkeypatch.setattr(pick_export, "run_transfer_check", fake_check)
    weights = Path("w/bag-compact.safetensors")
    assert pick_export.val_psnr("bag-compact", weights, 4) == 30.123  # not the default 2, so it must travel
    assert pick_export.chelsea("bag-compact", weights, 2) == (0.2, -0.02)
    # scored as `deblur` restores (its defaults otherwise), with the ensemble asked for
    assert seen == [("bag-compact", pick_export.VALIDATION, str(weights), RestoreSettings(ensemble=4), False),
                    ("bag-compact", str(weights), 2)]
    v = pick_export.VALIDATION
    assert (v.n, v.seed, v.size, v.motion) == (16, 1000003, 128, "mixed")  # `deblur eval`'s default motion


def test_a_dry_run_exports_every_candidate_in_this_process_and_picks_one(tmp_path, monkeypatch, capsys):
    import json

    import pick_export
    from test_train_loop import run, tiny_config

    cfg = tiny_config(tmp_path, variant="deblurgan-compact", overrides="", max_steps=2, extra="keep_every = 1")
    cfg.write_text(cfg.read_text().replace("ckpt_every = 100", "ckpt_every = 1"))
    run(cfg, tmp_path / "r")
    scored, val = [], iter([30.0, 31.0, 29.0, 29.5])  # ema@last, raw@last, ema@1, raw@1

    def fake_val(variant, weights, ensemble):
        assert weights.is_file()  # exported to the scratch folder by export_run
        scored.append(weights)
        return next(val)

    monkeypatch.setattr(pick_export, "val_psnr", fake_val)
    monkeypatch.setattr(pick_export, "chelsea", lambda variant, weights, ensemble: (0.2, -0.01))
    monkeypatch.setattr("sys.argv", ["pick_export.py", "deblurgan-compact", "--run", str(tmp_path / "r"),
                                     "--steps", "1", "--dry-run"])
    pick_export.main()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [l.get("candidate") for l in lines[:4]] == ["ema@last", "raw@last", "ema@1", "raw@1"]
    assert lines[-1] == {"variant": "deblurgan-compact", "ensemble": 2, "choice": "raw@last"}
    assert len({w.parent for w in scored}) == 4
