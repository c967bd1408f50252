"""`deblur bench`'s compiled column, without a real compile: the compiler is replaced by one that fails (the
engine's one line becomes the report's note) or by one that hands the network back as is (every field filled,
the runs interleaved with eager ones)."""

from __future__ import annotations

import json
import statistics

import torch
from typer.testing import CliRunner

from deblur_cli.bench.bench_run import BenchOptions, bench_variant
from deblur_cli.cli.app import app

OPTIONS = BenchOptions(height=24, width=32, repeat=2, tile=0, random_weights=True, device="cpu", reference=False)


def test_compiled_column_beside_eager(monkeypatch):
    monkeypatch.setattr(torch, "compile", lambda module, **kwargs: module)  # "compiled" = the network itself
    r = bench_variant("deblurgan-compact", OPTIONS)
    c = r.compiled
    assert len(c.seconds) == len(c.eager_seconds) == 2 and c.compile_seconds > 0 and not c.note
    assert c.speedup == statistics.median(c.eager_seconds) / statistics.median(c.seconds)


def test_failed_compile_is_a_note_not_a_timing(monkeypatch):
    def broken(module, **kwargs):
        raise RuntimeError("no backend today")
    monkeypatch.setattr(torch, "compile", broken)
    r = bench_variant("deblurgan-compact", OPTIONS)
    assert r.status == "ok" and r.seconds  # the eager figures stand
    assert r.compiled.seconds == [] and r.compiled.compile_seconds is None
    assert r.compiled.note == "torch.compile failed (RuntimeError: no backend today); running eager"


def test_cli_reports_both_and_refuses_a_bad_mode(monkeypatch):
    monkeypatch.setattr(torch, "compile", lambda module, **kwargs: module)
    args = ["bench", "-m", "deblurgan-compact", "--random-weights", "--size", "32x24", "--repeat", "1", "--tile", "0",
            "--device", "cpu"]
    out = CliRunner().invoke(app, args + ["--json"])
    assert out.exit_code == 0, out.output
    (r,) = json.loads(out.stdout)["results"]
    assert r["compiled"]["median_seconds"] > 0 and r["compiled"]["gflops_per_s"] > 0
    assert r["compiled"]["speedup"] > 0
    monkeypatch.setenv("COLUMNS", "220")
    table = CliRunner().invoke(app, args).stdout
    assert "compiled" in table and "Compile time (first run): deblurgan-compact" in table
    bad = CliRunner().invoke(app, args + ["--compile", "maybe"])
    assert bad.exit_code == 2 and "--compile must be one of auto, on, off" in bad.output
