"""`--compile`: off is today's eager path to the bit; a missing compiler or a failed compile runs eager with one
line; ``auto`` compiles only when the eager work ahead is long enough. Nothing here compiles for real
(tests/test_compile_real.py does, once); the compiler is replaced where a test needs it to fail or to be counted."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest
import torch
from PIL import Image

from deblur_cli import registry
from deblur_cli.cli.app import main
from deblur_cli.errors import UsageError
from deblur_cli.inference import compiling
from deblur_cli.inference.engine import Restorer
from deblur_cli.inference.settings import DEFAULTS, SINGLE_PASS
from deblur_cli.weights.io import save_weights

SPEC = registry.get("deblurgan-compact")


def network():
    torch.manual_seed(0)
    return SPEC.build()


def image(h=21, w=30):
    return torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(1))


def settings(mode):
    return dataclasses.replace(SINGLE_PASS, device="cpu", precision="fp32", compile=mode)


def compile_failing_at(when, calls=None):
    """A torch.compile that raises when called ("compile") or returns a function that raises ("run"), as
    inductor does when its C++ build fails on the first call."""
    def fake(module, **kwargs):
        if calls is not None:
            calls.append(kwargs)
        if when == "compile":
            raise RuntimeError("backend exploded\nsecond line of a long report")

        def run(x):
            raise RuntimeError("C++ compile error: g++ returned 1") from ValueError("the root of it")
        return run
    return fake


def test_off_is_the_eager_network_to_the_bit():
    net = network()
    x = image()
    out = Restorer(net, SPEC, settings("off")).restore_tensor(x)
    padded = torch.nn.functional.pad(x, (0, 2, 0, 3), mode="reflect")
    with torch.inference_mode():
        expected = net(padded)[..., :21, :30].clamp(0, 1)
    assert torch.equal(out, expected)


def test_the_scoring_tools_stay_eager_and_deblur_decides():
    assert SINGLE_PASS.compile == "off" and DEFAULTS.compile == "auto"


def test_unknown_mode_is_a_usage_error():
    with pytest.raises(UsageError, match="--compile must be one of auto, on, off"):
        Restorer(network(), SPEC, settings("yes"))


@pytest.mark.parametrize("when", ["compile", "run"])
def test_failed_compile_runs_eager_and_says_so_once(monkeypatch, caplog, when):
    monkeypatch.setattr(torch, "compile", compile_failing_at(when))
    x = image()
    expected = Restorer(network(), SPEC, settings("off")).restore_tensor(x)
    restorer = Restorer(network(), SPEC, settings("on"))
    with caplog.at_level(logging.WARNING):
        first, second = restorer.restore_tensor(x), restorer.restore_tensor(x)
    assert torch.equal(first, expected) and torch.equal(second, expected)
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and lines[0].exc_info is None
    assert lines[0].getMessage().startswith("torch.compile failed (")
    assert lines[0].getMessage().endswith("); running eager") and "\n" not in lines[0].getMessage()
    if when == "run":
        assert "ValueError: the root of it" in lines[0].getMessage()


def test_missing_compiler_runs_eager_and_says_so(monkeypatch, caplog):
    monkeypatch.setattr(compiling.shutil, "which", lambda name: None)
    calls = []
    monkeypatch.setattr(torch, "compile", compile_failing_at("compile", calls))
    with caplog.at_level(logging.WARNING):
        restorer = Restorer(network(), SPEC, settings("on"))
        restorer.restore_tensor(image())
    assert calls == []
    assert [r.getMessage() for r in caplog.records] == [
        "torch.compile unavailable (no C++ compiler (g++, c++ or clang++) on PATH); running eager"]


def test_out_of_memory_in_a_compiled_pass_reaches_the_tile_halving():
    def compiled(x):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 bytes")
    network = compiling.CompiledNetwork(torch.nn.Identity(), torch.device("cpu"), compiler=lambda m, **kw: compiled)
    network.compile()
    with pytest.raises(RuntimeError, match="can't allocate memory"):
        network(image())
    assert network.compiled is compiled and not network.given_up


def test_compile_is_asked_for_shapes_that_vary(monkeypatch):
    calls = []
    monkeypatch.setattr(torch, "compile", compile_failing_at("compile", calls))
    Restorer(network(), SPEC, settings("on"))
    assert calls == [{"dynamic": True}]


# --- auto -----------------------------------------------------------------------------------------------------

def counting_network():
    calls = []
    net = compiling.CompiledNetwork(torch.nn.Identity(), torch.device("cpu"),
                                    compiler=lambda module, **kw: calls.append(kw) or module)
    return net, calls


def test_auto_compiles_when_the_work_ahead_pays_back_and_not_before():
    net, calls = counting_network()
    auto = compiling.AutoCompile(net, min_seconds=300)
    auto.begin_image(2 * 1_000_000)  # two passes of a megapixel
    auto.timed(2.0, 1_000_000)  # the first pass: 2 s; one more left
    assert calls == []
    auto.end_image()
    auto.expect(200)  # a folder: 200 images of 4 s each are ahead
    auto.begin_image(2 * 1_000_000)
    auto.timed(2.0, 1_000_000)
    assert calls == [{"dynamic": True}] and net.compiled is not None


def test_auto_compiles_one_large_image_from_its_first_tile():
    net, calls = counting_network()
    auto = compiling.AutoCompile(net, min_seconds=300)
    auto.begin_image(2 * 100_000_000)  # 100 MP, two passes
    auto.timed(4.0, 1_000_000)  # a 1 MP tile in 4 s: about 800 s ahead
    assert calls == [{"dynamic": True}]


def test_auto_counts_down_the_images_it_was_told_of():
    net, calls = counting_network()
    auto = compiling.AutoCompile(net, min_seconds=300)
    auto.expect(3)
    for _ in range(3):
        auto.begin_image(1000)
        assert auto.seconds_ahead(1.0, 1000) == auto.images_ahead  # this image and the rest, at 1 s each
        auto.timed(1.0, 1000)
        auto.end_image()
    assert auto.images_ahead == 1 and calls == []


def test_auto_never_compiles_one_small_image(monkeypatch):
    calls = []
    monkeypatch.setattr(torch, "compile", compile_failing_at("compile", calls))
    restorer = Restorer(network(), SPEC, dataclasses.replace(DEFAULTS, device="cpu", precision="fp32"))
    restorer.restore_tensor(image(64, 96))
    assert calls == [] and restorer.network.compiled is None


def test_a_folder_tells_auto_how_many_images_are_coming(monkeypatch, tmp_path):
    from deblur_cli.images.paths import collect_inputs, plan_outputs
    from deblur_cli.inference.pipeline import run_batch

    for i in range(4):
        Image.fromarray(np.full((20, 24, 3), 40 * i, np.uint8)).save(tmp_path / f"{i}.png")
    restorer = Restorer(network(), SPEC, dataclasses.replace(DEFAULTS, device="cpu", precision="fp32", ensemble=1))
    seen = []
    monkeypatch.setattr(restorer.auto_compile, "expect", seen.append)
    jobs = plan_outputs(collect_inputs([str(tmp_path)]), tmp_path / "out")
    assert [r.status for r in run_batch(jobs, restorer)] == ["ok"] * 4
    assert seen == [4]


def test_cli_failed_compile_is_one_line_and_the_files_are_written(monkeypatch, capsys, caplog, tmp_path):
    monkeypatch.setattr(torch, "compile", compile_failing_at("run"))
    weights = tmp_path / "deblurgan-compact.safetensors"
    save_weights(network(), weights, metadata={"variant": "deblurgan-compact"})
    Image.fromarray(np.zeros((20, 24, 3), np.uint8)).save(tmp_path / "a.png")
    try:
        main(["run", str(tmp_path / "a.png"), "-m", "deblurgan-compact", "--weights", str(weights), "--compile", "on",
              "-o", str(tmp_path / "out.png"), "--device", "cpu"])
    except SystemExit as exc:
        assert exc.code in (0, None)
    err = capsys.readouterr().err  # the line itself goes through logging, which pytest captures instead of stderr
    assert (tmp_path / "out.png").is_file() and "Traceback" not in err
    assert [r.getMessage().split(" (")[0] for r in caplog.records if r.levelno >= logging.WARNING] == [
        "torch.compile failed"]


def test_eval_tells_auto_the_set_size_warm_up_included(monkeypatch):
    from deblur_cli.eval import eval_run
    from deblur_cli.eval.eval_run import EvalOptions, ModelUnderTest
    from deblur_cli.eval.eval_sets import open_dataset

    compiles = []
    monkeypatch.setattr(torch, "compile", lambda module, **kw: compiles.append(kw) or module)  # "compiled" as is
    restorer = Restorer(network(), SPEC, dataclasses.replace(DEFAULTS, device="cpu", precision="fp32", ensemble=1))
    restorer.auto_compile.min_seconds = 0.0  # any work ahead pays: the warm-up's first pass decides to compile
    seen = []
    expect = restorer.auto_compile.expect
    monkeypatch.setattr(restorer.auto_compile, "expect", lambda n: seen.append(n) or expect(n))
    evalset = open_dataset("synthetic", n=3, seed=0, size=32, motion="none")
    options = EvalOptions(restorer.settings, flops=False)
    result = eval_run.evaluate_variant("deblurgan-compact", evalset, options,
                                       load=lambda variant, opts: ModelUnderTest(restorer, variant, "random init"))
    assert seen == [4]  # three images and the warm-up
    assert compiles == [{"dynamic": True}] and restorer.compiled
    assert len(result.images) == 3


def test_warm_up_runs_again_when_it_decided_to_compile(monkeypatch):
    monkeypatch.setattr(torch, "compile", lambda module, **kw: module)
    restorer = Restorer(network(), SPEC, dataclasses.replace(DEFAULTS, device="cpu", precision="fp32", ensemble=1))
    restorer.auto_compile.min_seconds = 0.0
    restorer.restore_tensor(image())  # one pass: eager, timed; it decides to compile, nothing compiled has run
    assert restorer.network.compiled is not None and not restorer.compiled
    fresh = Restorer(network(), SPEC, dataclasses.replace(DEFAULTS, device="cpu", precision="fp32", ensemble=1))
    fresh.auto_compile.min_seconds = 0.0
    fresh.warm_up(image())
    assert fresh.compiled  # the compile is behind whatever is timed next
