"""tools/learning_curve.py: a run's kept checkpoints scored on held-out photo sets, row by row, across sessions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import learning_curve  # noqa: E402

from deblur_cli.data.mix import PhotoMix  # noqa: E402
from deblur_cli.eval.held_out_photos import PhotoSet, make_photo_sets  # noqa: E402
from deblur_cli.train.config import load_config  # noqa: E402
from deblur_cli.train.loop import RunOptions, train  # noqa: E402


def test_kept_checkpoints_are_scored_once_each_and_the_curve_grows(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[model]\nvariant = "pix2pix-sa-gr-compact"\n[data]\nkind = "noise"\nlength = 4\ncrop = 32\n'
                   'batch = 2\nworkers = 0\n[data.val]\nkind = "noise"\ncount = 1\ncrop = 32\n[[losses]]\ntype = "l1"\n'
                   '[train]\nmax_steps = 6\nval_every = 100\nckpt_every = 2\nkeep_every = 2\nema = 0.9\n')
    run_dir = tmp_path / "run"
    options = dict(run_dir=str(run_dir), progress=False, tensorboard=False, warm_start=False)
    train(load_config(cfg), RunOptions(max_steps=4, **options))

    rng = np.random.default_rng(0)
    (tmp_path / "val").mkdir()
    Image.fromarray((rng.random((90, 120, 3)) * 255).astype(np.uint8)).save(tmp_path / "val" / "v.png")
    sets = {"gopro-kernel": PhotoSet("kernel", 5, 2, 48), "near-sharp": PhotoSet("none", 6, 1, 48)}
    make_photo_sets(tmp_path / "val", tmp_path / "sets", sets, PhotoMix(p_jpeg=1.0, megapixels=(0.005, 0.01)))

    rows = learning_curve.update_curve(run_dir, tmp_path / "sets", every=2)
    assert [r["step"] for r in rows] == [2, 4]
    assert set(rows[0]) >= {"gopro-kernel", "near-sharp", "sharp chelsea", "cpu_h"}
    assert rows[0]["gopro-kernel"]["n"] == 2 and rows[1]["cpu_h"] >= rows[0]["cpu_h"] > 0
    assert "| 4 |" in learning_curve.markdown(rows) and "gopro-kernel (worst)" in learning_curve.markdown(rows)

    train(load_config(cfg), RunOptions(max_steps=6, **options))  # the next session; old rows are not re-scored
    before = json.loads((run_dir / "curve.json").read_text())
    rows = learning_curve.update_curve(run_dir, tmp_path / "sets", every=4)
    assert [r["step"] for r in rows] == [2, 4] and rows[:2] == before  # 6 is not a multiple of 4
    with_last = tmp_path / "last.json"  # runs compared at equal time: the newest checkpoint, at any step
    assert [r["step"] for r in learning_curve.update_curve(run_dir, tmp_path / "sets", 4, with_last, last=True)] == [4, 6]
    assert [r["step"] for r in learning_curve.update_curve(run_dir, tmp_path / "sets", every=2)] == [2, 4, 6]
    elsewhere = tmp_path / "kept" / "curve.json"  # a curve kept outside the run folder outlives it
    elsewhere.parent.mkdir()
    elsewhere.write_text(json.dumps(rows[:1]))
    assert [r["step"] for r in learning_curve.update_curve(run_dir, tmp_path / "sets", 2, elsewhere)] == [2, 4, 6]
    assert json.loads(elsewhere.read_text())[0] == rows[0]

    # a set added later is scored alone on the rows whose checkpoints are still kept; their other scores stay
    make_photo_sets(tmp_path / "val", tmp_path / "sets", {"near-sharp-random": PhotoSet("none", 7, 1, 48)},
                    PhotoMix(p_jpeg=1.0, megapixels=(0.005, 0.01), candidates=1))
    before = json.loads((run_dir / "curve.json").read_text())
    rows = learning_curve.update_curve(run_dir, tmp_path / "sets", every=2)
    assert [r["step"] for r in rows] == [2, 4, 6] and all(r["near-sharp-random"]["n"] == 1 for r in rows)
    assert [{k: v for k, v in r.items() if k != "near-sharp-random"} for r in rows] == before
    assert "near-sharp-random (worst)" in learning_curve.markdown(rows)
