"""Multi-process training: two gloo processes under torchrun on CPU, WGAN-GP included, then a resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

CONFIG = """
[model]
variant = "bag-compact"
overrides = { channels = 8, growth = 4, modules = 1 }
[discriminator]
variant = "patchgan-compact"
overrides = { ndf = 4, layers = 2 }
[data]
kind = "noise"
length = 8
crop = 32
batch = 1
workers = 0
[data.val]
kind = "noise"
count = 3
crop = 32
[[losses]]
type = "l1"
weight = 10.0
[[losses]]
type = "wgan_gp"
weight = 0.1
n_critic = 2
[train]
max_steps = 4
val_every = 2
ckpt_every = 2
log_every = 1
"""


def torchrun(*args: str, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "deblur_cli", "train", *args, "--no-progress", "--threads", "1", "--from-scratch"]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)


def test_two_gloo_processes_train_checkpoint_and_resume(tmp_path):
    pytest.importorskip("deblur_cli.models.discriminators")
    cfg = tmp_path / "ddp.toml"
    cfg.write_text(CONFIG)
    run_dir = tmp_path / "run"
    first = torchrun("--config", str(cfg), "--run-dir", str(run_dir), "--max-steps", "2", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stdout.count("stopped at step 2") == 1  # only rank 0 reports
    folder = run_dir / "checkpoints" / "step-00000002"
    assert (folder / "state.safetensors").is_file() and (folder / "rng-rank1.safetensors").is_file()
    assert json.loads((folder / "state.json").read_text())["world"] == 2

    second = torchrun("--config", str(cfg), "--run-dir", str(run_dir), cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "stopped at step 4" in second.stdout and "resumed from step 2" in second.stderr
    sessions = json.loads((run_dir / "run.json").read_text())["sessions"]
    assert [s["hardware"]["processes"] for s in sessions] == [2, 2]
    assert len((run_dir / "val.csv").read_text().splitlines()) == 3  # header, steps 2 and 4
