"""`deblur bench` at a tiny size with random weights: every field is reported and consistent."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from deblur_cli import registry
from deblur_cli.bench import bench_run
from deblur_cli.bench.bench_run import BenchOptions, bench_variant, conv_reference, find_paper_time
from deblur_cli.cli.app import app
from deblur_cli.cli.bench_cmd import parse_size
from deblur_cli.measure.flops import count_flops
from deblur_cli.measure.timing import measure_peak_memory, time_call


def test_cli_json_reports_every_field():
    out = CliRunner().invoke(app, ["bench", "-m", "bag-compact", "--random-weights", "--size", "72x40",
                                   "--repeat", "2", "--tile", "64", "--device", "cpu", "--compile", "off", "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert (doc["width"], doc["height"]) == (72, 40) and "cpu" in doc["device"]
    ref = doc["reference"]
    assert ref["flops"] == 2 * 9 * 64 * 64 * 72 * 40 and ref["gflops_per_s"] > 0
    (r,) = doc["results"]
    assert r["status"] == "ok" and r["weights"].startswith("random")
    assert len(r["seconds"]) == 2 and r["median_seconds"] > 0
    assert r["megapixels_per_s"] == pytest.approx(72 * 40 / 1e6 / r["median_seconds"])
    spec = registry.get("bag-compact")
    expected_flops = count_flops(spec.build(), 40, 72, multiple_of=spec.multiple_of).flops
    assert r["flops"] == expected_flops and r["gflops_per_s"] == pytest.approx(expected_flops / 1e9 / r["median_seconds"])
    assert r["params"] == sum(p.numel() for p in spec.build().parameters())
    assert r["peak_memory"] is not None and r["memory_method"]
    assert r["tile"] == 64 and r["tiles"] >= 2 and r["tiled_seconds"] > 0
    assert r["paper"]["seconds"] == 1.13 and not r["paper"]["same_network"]  # paper BAG, GTX 1080 Ti
    assert r["compiled"] is None  # --compile off: eager only (tests/test_compile_bench.py has the compiled column)


def test_variants_without_their_own_weights_are_reported_not_timed(monkeypatch):
    from deblur_cli.weights import loader
    from deblur_cli.weights.errors import WeightsUnavailableError

    def fallback_only(name, weights=None, device="cpu", manifest=None):
        if name == "bag":  # the resolver would hand over bag-compact's weights: a different network
            spec = registry.get("bag-compact")
            return loader.LoadedGenerator(spec.build(), spec, "x.safetensors", "bag-compact", "bag")
        raise WeightsUnavailableError(f"no weights for {name}")

    monkeypatch.setattr(bench_run, "load_generator", fallback_only)
    args = ["bench", "-m", "bag,bag-compact", "--size", "48x32", "--repeat", "1", "--tile", "0", "--no-reference",
            "--compile", "off"]
    out = CliRunner().invoke(app, args + ["--json"])
    assert out.exit_code == 0, out.output
    results = json.loads(out.stdout)["results"]
    assert [r["status"] for r in results] == ["no weights", "no weights"]
    assert all("--random-weights" in r["message"] and not r["seconds"] for r in results)
    monkeypatch.setenv("COLUMNS", "160")
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0 and "bag (no weights)" in out.stdout and "bag-compact (no weights)" in out.stdout


def test_paper_time_for_bag_and_its_compact_preset():
    assert find_paper_time("bag").seconds == 1.13 and find_paper_time("bag").same_network
    assert "1080 Ti" in find_paper_time("bag-compact").where and not find_paper_time("bag-compact").same_network
    assert find_paper_time("multiscale-compact") is None


def test_bench_variant_counts_flops_at_the_padded_size():
    r = bench_variant("bag-compact", BenchOptions(height=30, width=42, repeat=1, tile=0, random_weights=True,
                                                  device="cpu", compile="off"))
    spec = registry.get("bag-compact")
    assert r.flops == count_flops(spec.build(), 32, 44).flops  # padded to multiple_of 4 as the engine runs it
    assert r.tiled_seconds is None


def test_reference_conv_and_timing_helpers():
    ref = conv_reference(16, 24, torch.device("cpu"), torch.float32, repeat=2, channels=8)
    assert ref.flops == 2 * 9 * 8 * 8 * 16 * 24 and ref.seconds > 0
    calls = []
    timing = time_call(lambda: calls.append(1), "cpu", warmup=2, repeat=3)
    assert len(calls) == 5 and len(timing.seconds) == 3 and timing.best <= timing.median
    # 64 MB: above glibc's largest mmap threshold (32 MB), so fresh pages are mapped whatever earlier tests freed
    peak = measure_peak_memory(lambda: torch.ones(16_000_000).sum(), "cpu")
    assert peak.bytes is None or peak.bytes >= 48 * 2**20 or "lower bound" in peak.method


@pytest.mark.parametrize("text,expected", [("1280x720", (720, 1280)), ("512", (512, 512)), ("64X48", (48, 64))])
def test_parse_size(text, expected):
    assert parse_size(text) == expected


def test_bad_size_is_a_usage_error():
    out = CliRunner().invoke(app, ["bench", "--size", "big", "--random-weights"])
    assert out.exit_code == 2 and "--size" in out.output


def test_folder_run_throughput_is_reported():
    out = CliRunner().invoke(app, ["bench", "-m", "bag-compact", "--random-weights", "--size", "40x32",
                                   "--repeat", "1", "--tile", "0", "--no-reference", "--folder", "2", "--compile", "off",
                                   "--json"])
    assert out.exit_code == 0, out.output
    folder = json.loads(out.stdout)["folder"]
    assert folder["images"] == 2 and folder["seconds_per_image"] > 0 and folder["model_only_seconds_per_image"] > 0
    assert folder["images_per_s"] == pytest.approx(1 / folder["seconds_per_image"])
