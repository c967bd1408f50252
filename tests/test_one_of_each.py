"""Issue 14, "one of each": one door per job, no forwarding layers, no look-alike set-ups."""

from __future__ import annotations

import importlib

import pytest


def test_train_adapters_is_gone():
    # training calls weights, the engine and measure.metrics itself; the forwarding layer does not come back
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("deblur_cli.train.adapters")
