"""Issue 14, "one of each": one door per job, no forwarding layers, no look-alike set-ups."""

from __future__ import annotations

import importlib

import pytest


def test_train_adapters_is_gone():
    # training calls weights, the engine and measure.metrics itself; the forwarding layer does not come back
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("deblur_cli.train.adapters")


@pytest.mark.parametrize("env", [
    {},
    {"WORLD_SIZE": "1"},
    {"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1"},
    {"WORLD_SIZE": "4", "RANK": "3"},  # LOCAL_RANK unset: both readers agree (it defaults to RANK)
])
def test_torchrun_readers_agree(monkeypatch, env):
    from deblur_cli.inference import shards
    from deblur_cli.train import distributed

    for key in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    launch = shards.launch_from_env()
    monkeypatch.setattr(distributed.dist, "is_initialized", lambda: True)  # no process group in a unit test
    ctx = distributed.setup("cpu")
    assert (ctx.rank, ctx.world, ctx.local_rank) == (launch.rank, launch.world, launch.local_rank)
    if env.get("WORLD_SIZE", "1") != "1":
        assert launch.local_rank == int(env.get("LOCAL_RANK", env["RANK"]))
