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


@pytest.mark.parametrize("cuda, mps, requested", [
    (0, False, "auto"), (0, True, "auto"), (2, True, "auto"), (0, True, "mps"), (2, False, "cuda:1"),
    (2, False, "cuda"), (0, False, "cpu"), (0, False, "cuda:1"), (1, False, "cuda:1"), (0, False, "mps"),
])
def test_training_resolves_devices_like_inference(monkeypatch, cuda, mps, requested):
    """No GPU needed: availability is mocked; training's device is inference's for a single process."""
    import torch

    from deblur_cli.errors import UsageError
    from deblur_cli.inference import devices
    from deblur_cli.train import distributed

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(devices, "_mps_available", lambda: mps)

    def outcome(resolve):
        try:
            return resolve()
        except UsageError as exc:
            return f"UsageError: {exc}"

    monkeypatch.delenv("WORLD_SIZE", raising=False)  # a single process
    want = outcome(lambda: devices.resolve_device(requested))
    assert outcome(lambda: devices.device_for_process(requested)) == want  # the picker of deblur and train
    assert outcome(lambda: distributed.setup(requested).device) == want
    if requested == "cuda:1" and cuda >= 2:
        assert want == torch.device("cuda", 1)  # the index is kept, not replaced by LOCAL_RANK
    if requested == "mps" and mps:
        assert want == torch.device("mps")


def test_a_process_under_torchrun_takes_its_local_gpu_or_the_cpu(monkeypatch):
    import torch

    from deblur_cli.inference import devices
    from deblur_cli.torchrun import Launch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    assert devices.device_for_process("auto", Launch(3, 4, 3)) == torch.device("cuda", 1)
    assert devices.device_for_process("cuda", Launch(1, 2, 1)) == torch.device("cuda", 1)
    assert devices.device_for_process("cuda:0", Launch(1, 2, 1)) == torch.device("cuda", 0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devices, "_mps_available", lambda: True)
    assert devices.device_for_process("auto", Launch(1, 2, 1)) == torch.device("cpu")  # processes share no MPS
    assert devices.device_for_process("auto", Launch()) == torch.device("mps")  # alone: as resolve_device
