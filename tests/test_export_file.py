"""Bundling a file trained elsewhere (``export_file``, ``tools/bundle_file.py``): the record travels with the file,
int8 is chosen when fp16 would pass the file limit, and a record that does not belong to the file is refused."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from deblur_cli import registry
from deblur_cli.errors import DeblurError
from deblur_cli.train import export
from deblur_cli.weights.io import load_weights, read_metadata, save_weights, sha256_file
from deblur_cli.weights.loader import load_generator
from deblur_cli.weights.manifest import load_manifest

ROOT = Path(__file__).resolve().parents[1]
VARIANT = "multiscale-compact"  # small: the test stays fast


def _setup(tmp_path, steps_total=1234):
    manifest = tmp_path / "weights_manifest.json"
    manifest.write_text(json.dumps({"format": 1, "variants": {}}))
    torch.manual_seed(3)
    src = tmp_path / "from-gpu.safetensors"
    save_weights(registry.build(VARIANT), src, dtype="fp16",
                 metadata={"variant": VARIANT, "steps_total": steps_total, "wall_time_total_s": 60.0})
    record = {"recipe": {"config": "gpu/x"}, "steps": steps_total, "steps_total": steps_total,
              "wall_time_total_s": 60.0, "hardware": [{"device": "cuda", "gpu": "test"}], "command": "deblur train"}
    return manifest, src, record


def test_a_file_is_bundled_with_its_training_record_and_loads(tmp_path):
    manifest, src, record = _setup(tmp_path)
    result = export.export_file(src, VARIANT, record, weights_dir=tmp_path / "weights", manifest_path=manifest)
    entry = json.loads(manifest.read_text())["variants"][VARIANT]
    assert entry["status"] == "trained" and entry["training"] == record
    assert entry["sha256"] == result.sha256 == sha256_file(result.path)
    assert entry["bundled"] == f"weights/{VARIANT}.safetensors" and entry["dtype"] == "fp32"  # < 1M parameters
    assert read_metadata(result.path)["steps_total"] == "1234"
    loaded = load_generator(VARIANT, manifest=load_manifest(manifest, root=tmp_path))
    for key, value in load_weights(src).items():
        assert torch.equal(loaded.module.state_dict()[key], value.float()), key
    assert "from a file" in result.summary() and "1234 steps in total" in result.summary()


def test_auto_stores_int8_when_fp16_would_pass_the_file_limit(tmp_path, monkeypatch):
    manifest, src, record = _setup(tmp_path)
    n = sum(v.numel() for v in load_weights(src).values() if v.is_floating_point())
    monkeypatch.setattr(export, "BUNDLED_FILE_LIMIT", 2 * n - 1)
    result = export.export_file(src, VARIANT, record, weights_dir=tmp_path / "weights", manifest_path=manifest)
    assert result.dtype == "int8" and read_metadata(result.path)["dtype"] == "int8"
    assert result.bytes < 0.6 * src.stat().st_size  # fp16 source -> int8 file


def test_a_record_for_other_steps_or_another_variant_is_refused(tmp_path):
    manifest, src, record = _setup(tmp_path)
    kw = dict(weights_dir=tmp_path / "weights", manifest_path=manifest)
    with pytest.raises(DeblurError, match="records 1234 steps, the training record 99"):
        export.export_file(src, VARIANT, {**record, "steps_total": 99}, **kw)
    with pytest.raises(DeblurError, match=f"holds weights for {VARIANT}, not rir-compact"):
        export.export_file(src, "rir-compact", record, **kw)
    assert json.loads(manifest.read_text())["variants"] == {}  # nothing was written


def test_the_tool_bundles_and_reports_errors_in_one_line(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bundle_file", ROOT / "tools" / "bundle_file.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    manifest, src, record = _setup(tmp_path)
    (tmp_path / "record.json").write_text(json.dumps(record))
    args = [str(src), "--variant", VARIANT, "--training", str(tmp_path / "record.json"),
            "--weights-dir", str(tmp_path / "weights"), "--manifest", str(manifest)]
    assert tool.main(args + ["--dtype", "int8"]) == 0
    assert json.loads(manifest.read_text())["variants"][VARIANT]["dtype"] == "int8"
    assert tool.main(args + ["--dtype", "int3"]) == 1
    assert capsys.readouterr().err.strip().startswith("error: --dtype must be auto, fp32, fp16 or int8")


def test_a_bad_dtype_fails_before_the_run_is_looked_up(tmp_path):
    with pytest.raises(DeblurError, match="--dtype must be"):
        export.export_run(tmp_path / "no-such-run", dtype="int3")
    with pytest.raises(DeblurError) as exc:
        export.export_run(tmp_path / "no-such-run", dtype="fp16")
    assert "--dtype" not in str(exc.value)


def test_a_missing_manifest_is_started_so_a_file_can_be_exported_to_a_scratch_folder(tmp_path):
    _, src, record = _setup(tmp_path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = export.export_file(src, VARIANT, record, weights_dir=scratch, manifest_path=scratch / "m.json")
    assert json.loads((scratch / "m.json").read_text())["variants"][VARIANT]["sha256"] == result.sha256
    assert load_manifest(scratch / "m.json", root=scratch).entries[VARIANT].bundled == f"{VARIANT}.safetensors"


def test_an_unreadable_manifest_fails_before_any_weights_file_is_written(tmp_path):
    _, src, record = _setup(tmp_path)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(DeblurError, match="not valid JSON"):
        export.export_file(src, VARIANT, record, weights_dir=tmp_path / "out", manifest_path=broken)
    assert not (tmp_path / "out" / f"{VARIANT}.safetensors").exists()
