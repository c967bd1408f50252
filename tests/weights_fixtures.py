"""Fixtures for the weights tests: a tiny registered variant pair, private caches, a manifest in tmp_path.

``tinybag`` / ``tinybag-compact`` are BAG generators a few kilobytes large, registered only for the
test that asks for them (``monkeypatch.setitem`` removes them afterwards), so the tests never depend on
real trained weights being present and run in well under a second each.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from deblur_cli import registry
from deblur_cli.registry import VariantSpec
from deblur_cli.weights.io import save_weights
from deblur_cli.weights.manifest import load_manifest

TINY = "tinybag"
TINY_COMPACT = "tinybag-compact"
_BAG = "deblur_cli.models.bag:BAGGenerator"
TINY_SPECS = {
    TINY: VariantSpec(name=TINY, family="bag", preset="paper", builder=_BAG,
                      kwargs=dict(channels=8, growth=4, modules=1), multiple_of=4),
    TINY_COMPACT: VariantSpec(name=TINY_COMPACT, family="bag", preset="compact", builder=_BAG,
                              kwargs=dict(channels=4, growth=2, modules=1), multiple_of=4),
}


@pytest.fixture
def tiny_variants(monkeypatch):
    registry.names()  # load the real registry first, so the tiny ones are added to it, not instead of it
    for name, spec in TINY_SPECS.items():
        monkeypatch.setitem(registry._REGISTRY, name, spec)
    return TINY_SPECS


@pytest.fixture
def private_caches(tmp_path, monkeypatch):
    """DEBLUR_CACHE and the Hub cache inside tmp_path; offline, as conftest sets it."""
    monkeypatch.setenv("DEBLUR_CACHE", str(tmp_path / "deblur-cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path


def tiny_network(name: str, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return registry.build(name).eval()


def write_weights(path: Path, name: str, seed: int = 0, **kwargs) -> tuple[torch.nn.Module, str]:
    """Save a freshly initialised ``name`` network to ``path``; return it and the file's sha256."""
    net = tiny_network(name, seed)
    return net, save_weights(net, path, metadata={"variant": name}, **kwargs)


def write_manifest(root: Path, entries: dict[str, dict]):
    """A manifest in ``root`` whose bundled paths are relative to ``root``; returns the loaded Manifest."""
    path = root / "weights_manifest.json"
    path.write_text(json.dumps({"format": 1, "variants": entries}, indent=2))
    return load_manifest(path, root=root)


def trained(name: str, sha256: str, **fields) -> dict:
    return {"architecture": "bag", "preset": TINY_SPECS[name].preset, "status": "trained", "sha256": sha256,
            **fields}
