"""Bundling a table's finished runs as the ablation variants' weights (``train.table_bundle``, tools/bundle_table.py):
the exported file travels with its table record, unfinished runs are refused, and a variant whose shipped file was
trained outside the table (the BAG row's `bag-compact`) is not replaced unless asked."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
import torch

from deblur_cli.errors import UsageError
from deblur_cli.train import table_runs
from deblur_cli.train.loop import RunOptions
from deblur_cli.train.table_bundle import bundle_table_run
from deblur_cli.weights.io import load_weights
from deblur_cli.weights.manifest import load_manifest, manifest_path
from test_table_runs import photos, tiny_rows  # noqa: F401 - photos is a fixture

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def table(tmp_path, photos):  # noqa: F811
    out = tmp_path / "table1"
    table_runs.run_table("004-table1", [1], 2, out, data_root=str(photos), configs=tiny_rows(tmp_path),
                         options=RunOptions(workers=0, progress=False, tensorboard=False), command="test")
    manifest = tmp_path / "manifest.json"
    shutil.copy(manifest_path(), manifest)  # the shipped entries: bag-compact is trained outside any table
    return out, manifest


def test_a_finished_run_is_bundled_with_its_table_record(tmp_path, table):
    out, manifest = table
    result = bundle_table_run(out, 1, "bag-plain-compact", "fp16", tmp_path / "w", manifest)
    entry = load_manifest(manifest).get("bag-plain-compact")
    assert entry.trained and entry.dtype == "fp16" and result.path == tmp_path / "w" / "bag-plain-compact.safetensors"
    training = entry.training
    assert training["table"] == {"table": "004-table1", "row": "Model Plain", "seed": 1, "steps": 2}
    assert training["steps_total"] == 2 and training["cpu_hours"] >= 0
    assert "--seeds 1" in training["command"] and "--init-from-bundled" in training["continue"]
    assert "32 px crops, batch 2" in training["data"]
    exported = load_weights(out / "weights" / "seed-1" / "bag-plain-compact.safetensors")
    bundled = load_weights(result.path)
    assert bundled.keys() == exported.keys()
    assert all(bundled[k].dtype == torch.float16 for k in bundled if bundled[k].is_floating_point())
    assert all(torch.allclose(bundled[k].float(), exported[k].float(), rtol=1e-3, atol=1e-4) for k in bundled)


def test_unfinished_runs_and_a_default_model_are_refused(tmp_path, table):
    out, manifest = table
    with pytest.raises(UsageError, match="seed 2 is not in the record"):
        bundle_table_run(out, 2, "bag-plain-compact", "fp16", tmp_path / "w", manifest)
    with pytest.raises(UsageError, match="trained outside the table"):
        bundle_table_run(out, 1, "bag-compact", "fp16", tmp_path / "w", manifest)
    assert not (tmp_path / "w" / "bag-compact.safetensors").exists()
    bundle_table_run(out, 1, "bag-compact", "fp16", tmp_path / "w", manifest, replace=True)
    assert load_manifest(manifest).get("bag-compact").training["table"]["row"] == "BAG"
    bundle_table_run(out, 1, "bag-compact", "fp16", tmp_path / "w", manifest)  # a table's file may be replaced


def test_the_tool_bundles_what_is_finished_and_names_what_it_skips(tmp_path, table, capsys):
    out, manifest = table
    spec = importlib.util.spec_from_file_location("bundle_table", ROOT / "tools" / "bundle_table.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main([str(out), "--seed", "1", "--weights-dir", str(tmp_path / "w"), "--manifest", str(manifest)]) == 0
    captured = capsys.readouterr()
    assert "bag-plain-compact:" in captured.out and "fp16" in captured.out
    assert "skipped bag-compact:" in captured.err and "not replaced" in captured.err
    assert tool.main([str(tmp_path), "--seed", "1"]) == 1
    assert "is this a `deblur train table` --out folder?" in capsys.readouterr().err
    record = json.loads((out / "table_runs.json").read_text())
    assert set(record["rows"]) == {"Model Plain", "BAG"}
