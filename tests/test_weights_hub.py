"""Downloads with the real huggingface_hub client from a Hub stand-in on 127.0.0.1 (tests/hub_server.py)."""

from __future__ import annotations

from pathlib import Path

import huggingface_hub.constants
import pytest
import torch

from deblur_cli.weights import hub
from deblur_cli.weights import loader as loader_mod
from deblur_cli.weights.errors import WeightsIntegrityError, WeightsUnavailableError
from deblur_cli.weights.loader import load_generator
from deblur_cli.weights.resolve import availability
from hub_server import FakeHub
from weights_fixtures import (TINY, TINY_COMPACT, private_caches, tiny_variants,  # noqa: F401 (fixtures)
                              trained, write_manifest, write_weights)

REPO = "deblur-test/weights"


@pytest.fixture
def online(tiny_variants, private_caches, monkeypatch):
    """A running fake hub, HF_ENDPOINT pointing at it, network allowed, caches in tmp_path."""
    with FakeHub(lifetime=60) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setenv("HF_HUB_OFFLINE", "0")
        # huggingface_hub read HF_HUB_OFFLINE=1 (set by conftest) when it was imported; refresh that copy.
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
        yield server, private_caches


def _publish(server: FakeHub, root: Path, name: str, seed: int = 0, tamper: bool = False):
    """Put ``name``'s weights on the fake hub and return (network, manifest entry). ``tamper`` serves
    other bytes than the ones the manifest's sha256 describes."""
    local = root / "published" / f"{name}.safetensors"
    net, sha = write_weights(local, name, seed)
    served = local.read_bytes()
    if tamper:
        served = served[:-4] + bytes(b ^ 0xFF for b in served[-4:])
    server.add(REPO, f"{name}.safetensors", served)
    return net, trained(name, sha, hub={"repo_id": REPO, "filename": f"{name}.safetensors", "revision": "main"})


def test_download_fills_the_hub_cache_then_skips_and_works_offline(online, monkeypatch):
    server, root = online
    net, entry = _publish(server, root, TINY, seed=5)
    manifest = write_manifest(root, {TINY: entry})
    assert availability(TINY, manifest) == "hub"

    first = hub.download(TINY, manifest)
    assert first.action == "downloaded"
    assert root / "hf-home" / "hub" in first.path.parents  # HF_HOME respected
    resolve_url = f"/{REPO}/resolve/main/{TINY}.safetensors"
    assert server.requests == [("HEAD", resolve_url), ("GET", resolve_url)]

    again = hub.download(TINY, manifest)
    assert (again.action, again.path) == ("present", first.path)
    assert len(server.requests) == 2  # a verified cached copy needs no network at all

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaded = load_generator(TINY, manifest=manifest)
    assert (loaded.source, loaded.weights_path) == ("cache", first.path)
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(loaded.module(x), net(x))


def test_loading_an_uncached_published_variant_downloads_it(online):
    server, root = online
    _, entry = _publish(server, root, TINY_COMPACT)
    loaded = load_generator(TINY, manifest=write_manifest(root, {TINY_COMPACT: entry}))
    assert (loaded.variant, loaded.source) == (TINY_COMPACT, "hub")
    assert [method for method, _ in server.requests] == ["HEAD", "GET"]


def test_tampered_download_is_deleted_and_never_loaded(online, monkeypatch):
    server, root = online
    _, entry = _publish(server, root, TINY, tamper=True)
    manifest = write_manifest(root, {TINY: entry})
    with pytest.raises(WeightsIntegrityError, match=f"{REPO}/{TINY}.safetensors@main: downloaded file has sha256"):
        hub.download(TINY, manifest)
    assert hub.cached_file(manifest.get(TINY).hub) is None
    assert not any(p.is_file() for p in (root / "hf-home" / "hub").rglob("*") if p.name != "main"
                   and "blobs" in p.parts), "the bad blob must not stay in the cache"
    assert availability(TINY, manifest) == "hub"

    parsed = []
    monkeypatch.setattr(loader_mod, "load_weights", lambda *a, **k: parsed.append(a))
    with pytest.raises(WeightsIntegrityError):
        load_generator(TINY, manifest=manifest)  # tried the hub again, refused again, no fallback
    assert parsed == []


def test_damaged_cached_copy_is_downloaded_again(online):
    server, root = online
    _, entry = _publish(server, root, TINY)
    manifest = write_manifest(root, {TINY: entry})
    path = hub.download(TINY, manifest).path
    blob = path.resolve()
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes()[:-1] + b"\0")
    result = hub.download(TINY, manifest)
    assert result.action == "downloaded"
    assert [m for m, _ in server.requests].count("GET") == 2


def test_missing_file_on_the_hub_is_a_clear_error(online):
    server, root = online
    _, entry = _publish(server, root, TINY)
    entry["hub"]["filename"] = "renamed.safetensors"
    manifest = write_manifest(root, {TINY: entry})
    with pytest.raises(WeightsUnavailableError, match=f"could not download {REPO}/renamed.safetensors@main: "
                                                      ".*Entry Not Found"):
        hub.download(TINY, manifest)


def test_untrained_and_bundled_variants_need_no_download(tiny_variants, private_caches):
    root = private_caches
    rel = f"deblur_cli/weights/{TINY_COMPACT}.safetensors"
    _, sha = write_weights(root / rel, TINY_COMPACT)
    manifest = write_manifest(root, {TINY: {"architecture": "bag", "preset": "paper", "status": "untrained"},
                                     TINY_COMPACT: trained(TINY_COMPACT, sha, bundled=rel)})
    assert hub.download(TINY_COMPACT, manifest).action == "bundled"
    with pytest.raises(WeightsUnavailableError, match="train them with `deblur train --config YOUR_CONFIG.toml`"):
        hub.download(TINY, manifest)


def test_environment_is_read_at_call_time(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "c"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "h"))
    assert hub.hub_cache_dir() == str(tmp_path / "c")
    monkeypatch.delenv("HF_HUB_CACHE")
    assert hub.hub_cache_dir() == str(tmp_path / "h" / "hub")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9/")
    assert hub.endpoint() == "http://127.0.0.1:9"
    monkeypatch.setenv("HF_HUB_OFFLINE", "true")
    assert hub.offline()
