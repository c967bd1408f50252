"""weights_manifest.json: the repository's file is honest and complete; updates are atomic and validated."""

from __future__ import annotations

import json
import shutil

import pytest

from deblur_cli import registry
from deblur_cli.weights import manifest as manifest_mod
from deblur_cli.weights.errors import ManifestError
from deblur_cli.weights.io import DTYPES, read_metadata, sha256_file
from deblur_cli.weights.manifest import HubRef, load_manifest, update_entry, weights_file_fields
from deblur_cli.weights.sync import sync
from weights_fixtures import TINY, tiny_variants, write_weights  # noqa: F401 (fixture)


def test_repository_manifest_lists_every_generator_in_registry_order():
    manifest = load_manifest()
    generators = registry.names("generator")
    assert list(manifest.entries)[:len(generators)] == generators, \
        "out of date: run `python -m deblur_cli.weights.sync`"
    for name in generators:
        spec, entry = registry.get(name), manifest.get(name)
        assert (entry.architecture, entry.preset) == (spec.family, spec.preset), name


def test_repository_manifest_claims_only_weights_that_exist():
    manifest = load_manifest()
    for name, entry in manifest.entries.items():
        if not entry.trained:
            assert entry.sha256 is None and entry.bundled is None, f"{name} is untrained but names a file"
            continue
        assert entry.dtype in DTYPES and entry.training, name
        path = manifest.bundled_path(entry)
        if path is not None:
            assert path.is_file(), f"{name}: {entry.bundled} is missing"
            assert read_metadata(path)["dtype"] == entry.dtype, f"{name}: the file is stored otherwise"
            assert sha256_file(path) == entry.sha256, f"{name}: sha256 differs from {entry.bundled}"
            assert path.stat().st_size == entry.bytes, name


def test_package_copy_is_a_symlink_to_the_top_level_file():
    packaged = manifest_mod.PACKAGE_DIR / "weights_manifest.json"
    if not packaged.is_symlink():
        pytest.skip("installed copy, not a checkout")
    assert packaged.resolve() == (manifest_mod.ROOT / "weights_manifest.json").resolve()


@pytest.fixture
def manifest_copy(tmp_path):
    """The repository manifest copied to tmp_path, reached through a symlink as in the package."""
    real = tmp_path / "weights_manifest.json"
    shutil.copy(manifest_mod.ROOT / "weights_manifest.json", real)
    link = tmp_path / "pkg" / "weights_manifest.json"
    link.parent.mkdir()
    link.symlink_to(real)
    return real, link


def test_update_entry_writes_through_the_symlink_and_keeps_key_order(manifest_copy):
    real, link = manifest_copy
    before = json.loads(real.read_text())
    update_entry("bag-compact", path=link, status="trained", bundled="deblur_cli/weights/bag-compact.safetensors",
                 sha256="ab" * 32, bytes=10, dtype="fp32", hub=HubRef("org/deblur", "bag-compact.safetensors"),
                 training={"steps": 5}, metrics={"psnr": 25.0})
    assert link.is_symlink()
    after = json.loads(real.read_text())
    assert list(after["variants"]) == list(before["variants"])
    entry = after["variants"]["bag-compact"]
    assert list(entry)[:3] == ["architecture", "preset", "status"]
    assert entry["hub"] == {"repo_id": "org/deblur", "filename": "bag-compact.safetensors", "revision": "main"}
    assert load_manifest(real).get("bag-compact").metrics == {"psnr": 25.0}
    update_entry("bag-compact", path=link, hub=None)
    assert "hub" not in json.loads(real.read_text())["variants"]["bag-compact"]


def test_concurrent_updates_all_land(manifest_copy):
    """Two processes updating different entries at once: with a read-modify-write race one would lose some."""
    import subprocess
    import sys

    real, _ = manifest_copy
    names = registry.names("generator")
    script = ("import sys\nfrom deblur_cli.weights.manifest import update_entry\n"
              "for name in sys.argv[2:] * 3:\n    update_entry(name, path=sys.argv[1], metrics={'psnr': 1.0})\n")
    workers = [subprocess.Popen([sys.executable, "-c", script, str(real), *names[i::2]]) for i in range(2)]
    assert [w.wait(timeout=120) for w in workers] == [0, 0]
    variants = json.loads(real.read_text())["variants"]
    assert [n for n in names if variants[n].get("metrics") != {"psnr": 1.0}] == []


def test_invalid_update_is_refused_and_the_file_is_untouched(manifest_copy):
    real, _ = manifest_copy
    before = real.read_bytes()
    with pytest.raises(ManifestError, match="needs sha256"):
        update_entry("deblurgan", path=real, status="trained", bundled="x.safetensors")
    with pytest.raises(ManifestError, match="status must be"):
        update_entry("bag", path=real, status="done")
    with pytest.raises(KeyError, match="unknown model"):
        update_entry("no-such-variant", path=real, status="untrained")
    assert real.read_bytes() == before


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ('{"format": 2, "variants": {}}', "expected"),
    ('{"format": 1, "variants": {"bag": {"preset": "paper"}}}', "missing architecture, status"),
    ('{"format": 1, "variants": {"bag": {"architecture": "bag", "preset": "paper", "status": "trained", '
     '"sha256": "00"}}}', "needs bundled and/or hub"),
])
def test_malformed_manifests_name_the_file(tmp_path, text, message):
    path = tmp_path / "m.json"
    path.write_text(text)
    with pytest.raises(ManifestError, match=f"m.json.*{message}"):
        load_manifest(path)


def test_sync_adds_missing_generators_and_keeps_recorded_weights(tmp_path):
    path = tmp_path / "m.json"
    kept = {"architecture": "old", "preset": "paper", "status": "trained", "sha256": "cd" * 32,
            "hub": {"repo_id": "a/b", "filename": "bag.safetensors"}, "training": {"steps": 3}}
    path.write_text(json.dumps({"format": 1, "variants": {"gone": {"architecture": "x", "preset": "paper",
                                                                    "status": "untrained"}, "bag": kept}}))
    notes = sync(path)
    variants = json.loads(path.read_text())["variants"]
    assert list(variants) == registry.names("generator") + ["gone"]
    assert variants["bag"] == {**kept, "architecture": "bag"}
    assert any("gone" in n for n in notes) and any("added bag-compact" == n for n in notes)
    text = path.read_text()
    assert sync(path) == ["gone: not a registered generator any more (entry kept)"]
    assert path.read_text() == text


def test_weights_file_fields_describe_a_bundled_file(tmp_path, tiny_variants):
    file = tmp_path / "deblur_cli" / "weights" / f"{TINY}.safetensors"
    _, sha = write_weights(file, TINY, dtype="fp16")
    fields = weights_file_fields(file, root=tmp_path)
    assert fields == {"bundled": f"deblur_cli/weights/{TINY}.safetensors", "sha256": sha,
                      "bytes": file.stat().st_size, "dtype": "fp16"}
    with pytest.raises(ManifestError, match="must lie inside"):
        weights_file_fields(file, root=tmp_path / "elsewhere")
