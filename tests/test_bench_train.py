"""`deblur bench --train` on tiny batches and crops: what is timed is a real training step, the plain-conv
reference matches the variant's FLOPs, and the report carries every field. No assertion reads a timing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from typer.testing import CliRunner

from deblur_cli import registry
from deblur_cli.bench.bench_run import default_variants
from deblur_cli.cli.app import app
from deblur_cli.measure.flops import count_flops
from deblur_cli.train.losses import ContentLoss
from deblur_cli.train.speed import (DataBench, PlainConvNet, TrainBenchOptions, bench_variant_training,
                                    bundled_variants, plain_flops_per_pixel, recipe_config, reference_shape,
                                    training_step)
from deblur_cli.weights.manifest import load_manifest


@pytest.fixture
def keep_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_bundled_variants_are_the_compact_presets_with_shipped_weights_and_a_cpu_recipe():
    found = bundled_variants()
    manifest = load_manifest()
    assert found and set(found) <= set(default_variants())
    assert all(manifest.get(v).trained and manifest.get(v).bundled for v in found)
    for v in found:
        cfg = recipe_config(v)
        assert cfg.model.variant == v and cfg.data.batch == 8 and cfg.data.crop == 128
        assert [l.type for l in cfg.content_losses] == ["l1"]


@pytest.mark.parametrize("variant", bundled_variants())
def test_reference_network_has_the_variants_forward_flops(variant):
    spec = registry.get(variant)
    per_pixel = count_flops(spec.build(), 128, 128, multiple_of=spec.multiple_of).flops / 128**2
    width, middle = reference_shape(per_pixel)
    plain = count_flops(PlainConvNet(width, middle), 128, 128).flops / 128**2
    assert plain == plain_flops_per_pixel(width, middle)  # the formula is what FlopCounterMode counts
    assert plain == pytest.approx(per_pixel, rel=0.03)
    assert width % 4 == 0 and 8 <= width <= 128


def test_training_step_updates_the_weights_and_the_average_from_the_finest_output():
    from torch.nn import functional as F

    from deblur_cli.train.ema import EMA

    cfg = recipe_config("multiscale-compact")
    torch.manual_seed(0)
    net = registry.get("multiscale-compact").build().train()
    before = [p.detach().clone() for p in net.parameters()]
    ema = EMA(net, 0.5)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    sharp = torch.rand(2, 3, 32, 32)
    blur = (sharp + 0.1 * torch.randn_like(sharp)).clamp(0, 1)
    with torch.no_grad():
        outputs = net(blur)
    assert isinstance(outputs, (list, tuple)) and len(outputs) > 1
    step = training_step(net, ContentLoss(cfg.content_losses), opt, ema)
    assert step(blur, sharp) == pytest.approx(F.l1_loss(outputs[-1], sharp).item(), rel=1e-5)  # the finest
    for _ in range(3):  # zero-initialised last layers (one per pyramid level) pass gradients back a level a step
        step(blur, sharp)
    assert all(not torch.equal(a, p) for a, p in zip(before, net.parameters()))
    assert not all(torch.equal(a, p) for a, p in zip(before, ema.module.parameters()))


def test_bench_variant_training_counts_three_forwards_per_step():
    r = bench_variant_training("deblurgan-compact", TrainBenchOptions(batch=2, crop=32, repeat=2, warmup=1),
                               torch.device("cpu"))
    assert r.status == "ok", r.message
    assert r.recipe.startswith("cpu/deblurgan-compact")
    spec = registry.get("deblurgan-compact")
    assert r.step.forward_flops == 2 * count_flops(spec.build(), 32, 32, multiple_of=spec.multiple_of).flops
    assert r.step.step_flops == 3 * r.step.forward_flops and r.step.pixels == 2 * 32 * 32
    assert len(r.step.seconds) == 2 and r.step.pixels_per_s == pytest.approx(r.step.pixels / r.step.median)
    assert r.reference.forward_flops == pytest.approx(r.step.forward_flops, rel=0.03)
    assert r.of_reference == pytest.approx(r.step.gflops_per_s / r.reference.gflops_per_s)


def test_a_crop_the_variant_cannot_take_is_reported_not_raised():
    r = bench_variant_training("pix2pix-sa-ca-gr-sn-compact", TrainBenchOptions(batch=1, crop=40, repeat=1),
                               torch.device("cpu"))
    assert r.status == "failed" and "multiple of 32" in r.message and r.step is None


def test_data_keeps_up_when_the_workers_make_batches_as_fast_as_steps_use_them():
    data = DataBench("x", 8, 128, seconds=1.0, cpu_seconds=1.0, workers=1)
    assert data.keeps_up(1.0) and not data.keeps_up(0.5)
    assert DataBench("x", 8, 128, 1.0, 1.0, workers=2).keeps_up(0.5)


def test_cli_train_json_has_every_field_and_names_the_threads(keep_threads, monkeypatch):
    args = ["bench", "--train", "-m", "multiscale-compact", "--batch", "1", "--crop", "32", "--repeat", "1",
            "--threads", "1", "--device", "cpu"]
    out = CliRunner().invoke(app, args + ["--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["threads"] == 1 and "1 thread" in doc["device"]
    assert (doc["batch"], doc["crop"], doc["repeat"]) == (1, 32, 1) and "3 x forward" in doc["flops_convention"]
    (r,) = doc["results"]
    assert r["variant"] == "multiscale-compact" and r["status"] == "ok" and r["of_reference"] > 0
    for key in ("step", "reference"):
        s = r[key]
        assert s["steps_per_s"] == pytest.approx(1 / s["median_seconds"])
        assert s["gflops_per_s"] == pytest.approx(3 * s["forward_flops"] / s["median_seconds"] / 1e9)
        assert s["pixels_per_s"] > 0 and s["params"] > 0
    d = doc["data"]
    assert d["batch"] == 1 and d["crop"] == 32 and d["cpu_seconds"] > 0 and d["workers"] >= 1
    assert "stand-in" in d["source"] and isinstance(d["keeps_up_with"], list)
    # pair synthesis alone for both engines, and steps fed by the loader (eager: the tests set DEBLUR_COMPILE=off)
    assert {c["engine"] for c in doc["core_cost"]} == {"numpy", "torch"} and all(c["median"] > 0
                                                                                 for c in doc["core_cost"])
    assert {(s["engine"], s["workers"]) for s in doc["synthesis"]} >= {("numpy", 1), ("torch", 1)}
    runs = {(e["variant"], e["engine"], e["compiled"]): e for e in doc["end_to_end"]}
    assert set(runs) == {("multiscale-compact", "numpy", False), ("multiscale-compact", "torch", False)}
    assert all(e["median"] > 0 and e["first_step_s"] > 0 for e in runs.values())

    monkeypatch.setenv("COLUMNS", "200")
    out = CliRunner().invoke(app, args + ["--no-reference"])
    assert out.exit_code == 0, out.output
    assert "multiscale-compact" in out.stdout and "1 thread (--threads)" in out.stdout
    assert "Data: one batch of 1 32x32 photo pairs" in out.stdout
    assert "Pairs, torch engine" in out.stdout and "End to end, multiscale-compact, torch engine, eager" in out.stdout


@pytest.mark.parametrize("extra", [["--batch", "4"], ["--crop", "64"]])
def test_train_options_without_train_are_a_usage_error(extra):
    out = CliRunner().invoke(app, ["bench", "-m", "bag-compact", "--random-weights"] + extra)
    assert out.exit_code == 2 and "--train" in out.output


def test_bench_help_does_not_import_torch():
    code = ("import sys\nfrom deblur_cli.cli.app import main\n"
            "try:\n    main(['bench', '--help'])\nexcept SystemExit:\n    pass\n"
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "--train" in out and out.strip().endswith("NO-TORCH")
