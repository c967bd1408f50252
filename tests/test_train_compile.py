"""Compiling the training step's generator: when `auto` compiles, and that a failed compile trains on eagerly.

No test here runs inductor (a compile takes 30 s and more on a small CPU): the fallback is exercised with a
backend that fails, the happy path with dynamo's ``eager`` backend, which traces but generates no code.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deblur_cli.errors import DeblurError
from deblur_cli.train import compiled
from deblur_cli.train.compiled import PAYBACK_STEPS, Compiled, compile_setting, decide


def small_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 3, 3, padding=1))


def failing_backend(gm, example_inputs):
    raise RuntimeError("no C++ compiler today\nsecond line of a long report")


def test_a_failed_compile_trains_on_eagerly_and_leaves_no_trace():
    net = small_net().train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    g = Compiled(net, True, backend=failing_backend)
    x = torch.rand(2, 3, 8, 8)
    rng = torch.get_rng_state()
    note = g.probe(x)
    assert note is not None and note.startswith("torch.compile failed") and "\n" not in note
    assert "no C++ compiler today" in note and note.endswith("training eager")
    # the probe's forward in train mode moved BatchNorm's running statistics; they are put back, with the RNG
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters()) and torch.equal(rng, torch.get_rng_state())
    assert not g.compiled and g(x).shape == x.shape
    assert g.probe(x) is None  # probed once


def test_a_working_compile_gives_the_eager_result():
    net = small_net().train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    g = Compiled(net, True, backend="eager")
    x = torch.rand(2, 3, 8, 8)
    assert g.probe(x) is None and g.compiled
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # the probe ran, and left no trace
    net.eval()
    assert torch.allclose(g(x), net(x))


def test_auto_compiles_only_a_session_long_enough_to_pay_back(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(compiled, "missing_compiler", lambda device: None)
    assert decide("auto", cpu, PAYBACK_STEPS, None)[0]
    assert not decide("auto", cpu, PAYBACK_STEPS - 1, None)[0]
    assert not decide("auto", cpu, 10 * PAYBACK_STEPS, 600.0)[0]  # a 10-minute session: compiling would eat it
    assert decide("on", cpu, 10, 60.0)[0]
    assert decide("off", cpu, 10 * PAYBACK_STEPS, None) == (False, "")
    monkeypatch.setattr(compiled, "missing_compiler", lambda device: "no C++ compiler")
    on, note = decide("on", cpu, 10, None)
    assert not on and "no C++ compiler" in note and "training eager" in note


def test_the_environment_overrides_the_config(monkeypatch):
    monkeypatch.setenv("DEBLUR_COMPILE", "on")
    assert compile_setting("off") == "on"
    monkeypatch.delenv("DEBLUR_COMPILE")
    assert compile_setting("auto") == "auto"
    monkeypatch.setenv("DEBLUR_COMPILE", "sometimes")
    with pytest.raises(DeblurError, match="DEBLUR_COMPILE"):
        compile_setting("auto")
