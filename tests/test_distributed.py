"""Sharding a batch across torchrun processes: two gloo processes on CPU, a tiny checkpoint via --weights."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from deblur_cli import registry
from deblur_cli.errors import DeblurError
from deblur_cli.inference import shards
from deblur_cli.inference.shards import Launch
from deblur_cli.weights.io import save_weights


def test_shard_and_unshard_are_inverse():
    jobs = list(range(11))
    for world in (1, 2, 3, 5):
        parts = [shards.shard(jobs, Launch(r, world, r)) for r in range(world)]
        assert sorted(sum(parts, [])) == jobs
        assert shards.unshard(parts, len(jobs)) == jobs


def test_launch_from_env(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert shards.launch_from_env() == Launch(0, 1, 0)
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    launch = shards.launch_from_env()
    assert launch == Launch(3, 4, 1) and not launch.is_main


def test_device_for_rank():
    from deblur_cli.inference.devices import device_for_process, resolve_device

    assert device_for_process("auto", Launch()) == resolve_device("auto")
    assert device_for_process("cpu", Launch(1, 2, 1)) == torch.device("cpu")
    if not torch.cuda.is_available():
        assert device_for_process("auto", Launch(1, 2, 1)) == torch.device("cpu")


def test_run_sharded_single_process_reraises():
    assert shards.run_sharded(lambda: 7, Launch()) == [7]
    with pytest.raises(DeblurError, match="boom"):
        shards.run_sharded(lambda: (_ for _ in ()).throw(DeblurError("boom")), Launch())


def test_torchrun_two_gloo_processes_share_the_batch(tmp_path):
    torch.manual_seed(0)
    weights = tmp_path / "w.safetensors"
    save_weights(registry.build("bag-compact"), weights, metadata={"variant": "bag-compact"})
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(0)
    for k in range(5):
        Image.fromarray((rng.random((20, 28, 3)) * 255).astype(np.uint8)).save(src / f"img{k}.png")
    (src / "zz_bad.png").write_bytes(b"broken")
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # two processes on a small shared CPU
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "deblur_cli", str(src), "-o", str(out), "-m", "bag-compact", "--weights", str(weights),
           "--device", "cpu", "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    # the bad file makes the batch fail: every rank exits 1, so torchrun does too
    assert proc.returncode == 1, proc.stderr[-3000:]
    report = json.loads(proc.stdout)  # only rank 0 prints
    assert report["processes"] == 2
    assert [f["src"].rsplit("/", 1)[-1] for f in report["files"]] == [f"img{k}.png" for k in range(5)] + ["zz_bad.png"]
    assert [f["status"] for f in report["files"]] == ["ok"] * 5 + ["failed"]
    assert sorted(p.name for p in out.iterdir()) == [f"img{k}.png" for k in range(5)]
    assert proc.stderr.count("zz_bad.png: ") == 1  # reported once, by the rank that ran it
