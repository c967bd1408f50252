"""Training on photos with the torch pair engine: a resumed run is the straight run, and a run started on the
numpy engine (every run before issue 25) resumes on the torch one, its recipe unchanged; a resumed run whose photo
folder changed says so and records it; a run resumes on a changed mix only when told, and records the change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from photo_run_fixtures import write_tiny_photo_config
from safetensors.torch import load_file

from deblur_cli.data.mix import PhotoMix
from deblur_cli.data.standins import photo_like
from deblur_cli.errors import DeblurError
from deblur_cli.train import checkpoint as ckpt
from deblur_cli.train.config import load_config
from deblur_cli.train.export import changes_before
from deblur_cli.train.loop import RunOptions, train
from deblur_cli.train.rundir import describe_changes
from deblur_cli.train.schema import OptimConfig


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(1)
    for split, count in (("train", 3), ("val", 1)):
        (root / split).mkdir()
        for i in range(count):
            Image.fromarray(photo_like(rng, 120, 160)).save(root / split / f"p{i}.png")
    return root


def config(tmp_path: Path, engine: str | None, workers: int = 0, name: str = "photos.toml", **keys) -> Path:
    return write_tiny_photo_config(tmp_path / name, length=6, max_steps=4, val_every=2, workers=workers, engine=engine,
                                   ckpt_every=100, **keys)


def run(cfg: Path, run_dir: Path, photos: Path, **options):
    return train(load_config(cfg), RunOptions(run_dir=str(run_dir), data_root=str(photos / "train"), progress=False,
                                              tensorboard=False, warm_start=False, **options))


def generator(run_dir: Path) -> dict:
    state = load_file(str(ckpt.latest(run_dir / "checkpoints") / "state.safetensors"))
    return {k: v for k, v in state.items() if k.startswith(("generator/", "optim_g/"))}


def test_a_resumed_torch_engine_run_is_the_straight_run(tmp_path, photos):
    # 6 items at batch 2: the stop at step 2 falls mid-epoch, step 4 is in the next epoch; one loader worker
    # renders the batches, as on the CPU recipes
    cfg = config(tmp_path, None, workers=1)
    straight = run(cfg, tmp_path / "straight", photos)
    run(cfg, tmp_path / "split", photos, max_steps=2)
    second = run(cfg, tmp_path / "split", photos)
    assert (straight.step, second.step, second.resumed_from) == (4, 4, 2)
    a, b = generator(tmp_path / "straight"), generator(tmp_path / "split")
    assert a and all(torch.equal(a[k], b[k]) for k in a)


def test_a_run_started_on_the_numpy_engine_resumes_on_the_torch_engine(tmp_path, photos):
    numpy_cfg, default_cfg = config(tmp_path, "numpy", name="numpy.toml"), config(tmp_path, None)
    assert load_config(numpy_cfg).resume_key == load_config(default_cfg).resume_key
    assert load_config(default_cfg).data.engine == "torch"
    run(numpy_cfg, tmp_path / "r", photos, max_steps=2)
    resumed = run(default_cfg, tmp_path / "r", photos)
    assert (resumed.resumed_from, resumed.step) == (2, 4)
    assert resumed.last_val is not None and np.isfinite(resumed.last_val["psnr"])


def test_a_resumed_run_records_and_names_a_changed_photo_folder(tmp_path, photos):
    folder = tmp_path / "photos"
    shutil.copytree(photos, folder)
    cfg = config(tmp_path, None)
    run(cfg, tmp_path / "r", folder, max_steps=2)
    same = run(cfg, tmp_path / "r", folder, max_steps=3)
    assert not any("training photos differ" in n for n in same.notes)
    Image.fromarray(photo_like(np.random.default_rng(9), 120, 160)).save(folder / "train" / "added.png")
    resumed = run(cfg, tmp_path / "r", folder)
    assert resumed.step == 4
    assert any("training photos differ" in n and "3 -> 4 photos" in n for n in resumed.notes)
    sessions = json.loads((tmp_path / "r" / "run.json").read_text())["sessions"]
    counts = [s["data"]["photos"] for s in sessions]
    assert counts == [3, 3, 4] and sessions[0]["data"]["photos_sha256"] != sessions[2]["data"]["photos_sha256"]


def test_a_changed_mix_resumes_only_when_told_and_is_recorded(tmp_path, photos):
    run(config(tmp_path, None), tmp_path / "r", photos, max_steps=2)
    wider = config(tmp_path, None, name="wider.toml", max_extent=8)
    with pytest.raises(DeblurError, match=r"data\.photos\.max_extent 6 -> 8 \(--change-data"):
        run(wider, tmp_path / "r", photos, max_steps=3)
    faster = config(tmp_path, None, name="faster.toml", max_extent=8, lr=2e-3)
    with pytest.raises(DeblurError, match=r"optim\.lr 0\.001 -> 0\.002.*--run-dir for a new run"):
        run(faster, tmp_path / "r", photos, max_steps=3, change_data=True)

    resumed = run(wider, tmp_path / "r", photos, max_steps=3, change_data=True)
    assert (resumed.resumed_from, resumed.step) == (2, 3)
    assert any("from step 2 on (data.photos.max_extent 6 -> 8)" in n for n in resumed.notes)
    info = json.loads((tmp_path / "r" / "run.json").read_text())
    assert info["sessions"][-1]["recipe_change"] == {"data.photos.max_extent": [6, 8]}
    assert json.loads((tmp_path / "r" / "config.json").read_text())["data"]["photos"]["max_extent"] == 8
    again = run(wider, tmp_path / "r", photos)  # the new mix is now the run's own: no flag, no note
    assert again.step == 4 and not any("made differently" in n for n in again.notes)
    # an export records how its mix changed and from which step, for the weights of steps after the change only
    info = json.loads((tmp_path / "r" / "run.json").read_text())
    assert changes_before(info, 4) == [{"step": 2, "changes": {"data.photos.max_extent": [6, 8]}}]
    assert changes_before(info, 2) == []


def test_a_change_from_a_left_out_key_shows_the_default_it_trained_with():
    changes = {"data.photos.p_defocus": [None, 0.25], "data.photos.defocus_radius": [None, [1.0, 8.0]],
               "optim.lr": [0.001, None], "model.overrides.width": [None, 32]}
    assert describe_changes(changes) == (
        f"data.photos.p_defocus {PhotoMix.p_defocus} (default) -> 0.25, "
        f"data.photos.defocus_radius {list(PhotoMix.defocus_radius)} (default) -> [1.0, 8.0], "
        f"optim.lr 0.001 -> {OptimConfig.lr} (default), model.overrides.width (default) -> 32")
