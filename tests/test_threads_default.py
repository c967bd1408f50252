"""`deblur`'s default thread count: torch's, lowered to the cores that other programs leave idle."""

from __future__ import annotations

import os

import pytest
import torch

from deblur_cli import hardware
from deblur_cli.cli.options import apply_threads


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("load, expected", [(0.0, 2), (0.9, 1), (1.2, 1), (7.5, 1), (0.4, 2)])
def test_idle_cores_follow_the_load(monkeypatch, two_cores, load, expected):
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    assert hardware.idle_cores(most=8) == expected


def test_idle_cores_never_exceed_torchs_own_default(monkeypatch, two_cores):
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert hardware.idle_cores(most=1) == 1  # e.g. torch counts physical cores, the affinity mask logical ones


def test_deblur_lowers_threads_on_a_busy_machine_unless_told(monkeypatch, two_cores):
    monkeypatch.setattr(os, "getloadavg", lambda: (1.0, 1.0, 1.0))
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    torch.set_num_threads(2)
    apply_threads(None, idle_only=True)
    assert torch.get_num_threads() == 1
    apply_threads(2, idle_only=True)  # --threads wins
    assert torch.get_num_threads() == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # so does the user's environment
    apply_threads(None, idle_only=True)
    assert torch.get_num_threads() == 2
    apply_threads(None)  # the other commands keep torch's default
    assert torch.get_num_threads() == 2
