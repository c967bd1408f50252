"""Resolution order, the compact fallback, and loading a generator strictly."""

from __future__ import annotations

import pytest
import torch

from deblur_cli.errors import UsageError
from deblur_cli.registry import count_parameters
from deblur_cli.weights.errors import WeightsFormatError, WeightsIntegrityError, WeightsUnavailableError
from deblur_cli.weights.io import save_weights
from deblur_cli.weights.loader import load_generator
from deblur_cli.weights.resolve import availability, resolve_weights
from weights_fixtures import (TINY, TINY_COMPACT, private_caches, tiny_network, tiny_variants,  # noqa: F401
                              trained, write_manifest, write_weights)


@pytest.fixture
def setup(tiny_variants, private_caches):
    return private_caches


def _bundle(root, name, seed=0):
    """A bundled weights file for ``name`` under root/deblur_cli/weights; returns (network, manifest entry)."""
    rel = f"deblur_cli/weights/{name}.safetensors"
    net, sha = write_weights(root / rel, name, seed)
    return net, trained(name, sha, bundled=rel)


def test_order_explicit_then_bundled_then_drop_in_cache(setup):
    root = setup
    _, entry = _bundle(root, TINY)
    dropped = root / "deblur-cache" / "weights" / f"{TINY}.safetensors"
    write_weights(dropped, TINY)
    explicit = root / "mine.safetensors"
    write_weights(explicit, TINY, seed=3)
    manifest = write_manifest(root, {TINY: entry})

    got = resolve_weights(TINY, weights=explicit, manifest=manifest)
    assert (got.path, got.source, got.sha256) == (explicit, "explicit", None)
    got = resolve_weights(TINY, manifest=manifest)
    assert (got.path, got.source, got.sha256, got.note) == (root / entry["bundled"], "bundled", entry["sha256"], None)
    (root / entry["bundled"]).unlink()
    got = resolve_weights(TINY, manifest=manifest)
    assert (got.path, got.source) == (dropped, "cache")
    assert availability(TINY, manifest) == "cached"


def test_paper_variant_falls_back_to_its_compact_weights_and_says_so(setup):
    root = setup
    _, entry = _bundle(root, TINY_COMPACT)
    manifest = write_manifest(root, {TINY: {"architecture": "bag", "preset": "paper", "status": "untrained"},
                                     TINY_COMPACT: entry})
    got = resolve_weights(TINY, manifest=manifest)
    assert (got.requested, got.variant, got.source) == (TINY, TINY_COMPACT, "bundled")
    assert TINY_COMPACT in got.note and "untrained" in got.note

    loaded = load_generator(TINY, manifest=manifest)
    assert loaded.variant == loaded.spec.name == TINY_COMPACT
    assert loaded.note == got.note


def test_own_weights_win_over_the_fallback(setup):
    root = setup
    _, own = _bundle(root, TINY)
    _, compact = _bundle(root, TINY_COMPACT)
    manifest = write_manifest(root, {TINY: own, TINY_COMPACT: compact})
    assert resolve_weights(TINY, manifest=manifest).variant == TINY


def test_no_weights_anywhere_says_how_to_get_them(setup):
    root = setup
    _, other = _bundle(root, TINY_COMPACT)
    untrained = {"architecture": "bag", "preset": "paper", "status": "untrained"}
    manifest = write_manifest(root, {TINY: untrained, TINY_COMPACT: {**untrained, "preset": "compact"},
                                     "bag-compact": other})  # some other variant that has weights
    with pytest.raises(WeightsUnavailableError) as err:
        resolve_weights(TINY, manifest=manifest)
    message = str(err.value)
    assert f"no weights for {TINY} or its compact fallback {TINY_COMPACT}" in message
    assert f"deblur models download {TINY}" in message
    assert "deblur train --config YOUR_CONFIG.toml" in message  # no shipped preset trains the test-only variant
    assert "variants with weights: bag-compact" in message
    with pytest.raises(WeightsUnavailableError, match=f"no weights for {TINY_COMPACT} \\("):
        resolve_weights(TINY_COMPACT, manifest=manifest)  # a compact variant has no further fallback


def test_published_but_not_downloaded_while_offline(setup):
    manifest = write_manifest(setup, {TINY_COMPACT: trained(
        TINY_COMPACT, "ab" * 32, hub={"repo_id": "org/deblur", "filename": f"{TINY_COMPACT}.safetensors"})})
    assert availability(TINY_COMPACT, manifest) == "hub"
    with pytest.raises(WeightsUnavailableError, match="HF_HUB_OFFLINE is set"):
        resolve_weights(TINY_COMPACT, manifest=manifest)


def test_unknown_names_and_missing_explicit_files(setup):
    with pytest.raises(KeyError, match="did you mean"):
        resolve_weights("tinybagg", manifest=write_manifest(setup, {}))
    with pytest.raises(WeightsUnavailableError, match="nope.safetensors: --weights file not found"):
        resolve_weights(TINY, weights=setup / "nope.safetensors")


def test_loaded_generator_reproduces_the_saved_network(setup):
    root = setup
    net, entry = _bundle(root, TINY, seed=7)
    loaded = load_generator(TINY, manifest=write_manifest(root, {TINY: entry}))
    assert not loaded.module.training
    assert (loaded.variant, loaded.source, loaded.weights_path) == (TINY, "bundled", root / entry["bundled"])
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(loaded.module(x), net(x))


def test_fp16_file_is_loaded_as_float32(setup):
    path = setup / "half.safetensors"
    net = tiny_network(TINY, seed=1)
    save_weights(net, path, dtype="fp16", metadata={"variant": TINY})
    loaded = load_generator(TINY, weights=path)
    assert {p.dtype for p in loaded.module.parameters()} == {torch.float32}
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(loaded.module(x), net(x), atol=2e-2)


def test_explicit_file_for_another_variant_is_refused(setup):
    path = setup / "compact.safetensors"
    write_weights(path, TINY_COMPACT)
    with pytest.raises(WeightsFormatError, match=f"holds weights for {TINY_COMPACT}.*use -m {TINY_COMPACT}"):
        load_generator(TINY, weights=path)
    assert load_generator(None, weights=path).variant == TINY_COMPACT  # no -m: the recorded variant


def test_file_that_does_not_fit_the_network_names_file_and_variant(setup):
    path = setup / "unlabelled.safetensors"
    save_weights(tiny_network(TINY_COMPACT), path)  # no variant metadata: only the shapes can tell
    with pytest.raises(WeightsFormatError, match=f"unlabelled.safetensors does not fit the {TINY} network: "
                                                 r"\d+ shape mismatches"):
        load_generator(TINY, weights=path)
    state = tiny_network(TINY).state_dict()
    state.pop("encoder.0.weight")
    state["extra.weight"] = torch.zeros(1)
    save_weights(state, path)
    with pytest.raises(WeightsFormatError, match=r"1 missing keys \(encoder.0.weight\); 1 unexpected keys"):
        load_generator(TINY, weights=path)
    with pytest.raises(UsageError, match="names no variant"):
        load_generator(None, weights=path)


def test_tampered_bundled_file_is_not_loaded(setup, monkeypatch):
    root = setup
    _, entry = _bundle(root, TINY)
    path = root / entry["bundled"]
    save_weights(tiny_network(TINY, seed=99), path, metadata={"variant": TINY})  # same shape, other bytes
    built = []
    monkeypatch.setattr(type(tiny_network(TINY)), "load_state_dict", lambda *a, **k: built.append(1))
    with pytest.raises(WeightsIntegrityError, match=f"{TINY}.safetensors: sha256"):
        load_generator(TINY, manifest=write_manifest(root, {TINY: entry}))
    assert built == []


def test_parameter_count_on_the_meta_device_matches_a_real_build(tiny_variants):
    assert count_parameters(TINY) == sum(p.numel() for p in tiny_network(TINY).parameters())
