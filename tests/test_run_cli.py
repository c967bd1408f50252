"""`deblur INPUTS ...` end to end on a temporary folder, with a tiny random-init checkpoint passed via --weights."""

import hashlib
import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from deblur_cli import registry
from deblur_cli.cli.app import main
from deblur_cli.weights.io import save_weights


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "bag-compact.safetensors"
    save_weights(registry.build("bag-compact"), path, metadata={"variant": "bag-compact"})
    return path


@pytest.fixture()
def shots(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "shots"
    (folder / "sub").mkdir(parents=True)
    for name, size in (("a.png", (30, 41)), ("b.jpg", (28, 36)), ("sub/c.png", (24, 24))):
        Image.fromarray((rng.random((*size, 3)) * 255).astype(np.uint8)).save(folder / name)
    return folder


def deblur(capsys, *args):
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_folder_run_writes_expected_names_then_skips_then_overwrites(capsys, shots, checkpoint, tmp_path):
    out = tmp_path / "out"
    common = (shots, "-m", "bag-compact", "--weights", checkpoint, "-o", out, "--recursive")
    code, _, err = deblur(capsys, *common)
    assert code == 0, err
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == \
        ["a.png", "b.jpg", "sub/c.png"]
    assert Image.open(out / "a.png").size == (41, 30)
    assert "3 deblurred" in err

    stamp = (out / "a.png").stat().st_mtime_ns
    code, stdout, _ = deblur(capsys, *common, "--json")
    report = json.loads(stdout)
    assert code == 0
    assert [f["status"] for f in report["files"]] == ["skipped"] * 3
    assert (out / "a.png").stat().st_mtime_ns == stamp

    code, stdout, _ = deblur(capsys, *common, "--json", "--overwrite")
    assert [f["status"] for f in json.loads(stdout)["files"]] == ["ok"] * 3


def test_beside_inputs_with_suffix_compare_and_inputs_untouched(capsys, shots, checkpoint):
    before = {p: digest(p) for p in shots.rglob("*.*")}
    code, _, err = deblur(capsys, shots / "a.png", shots / "b.jpg", "-m", "bag-compact", "--weights", checkpoint,
                          "--compare", "--tile", "0")
    assert code == 0, err
    assert (shots / "a_deblurred.png").is_file() and (shots / "b_deblurred.jpg").is_file()
    side = Image.open(shots / "a_deblurred_compare.png")
    assert side.size == (2 * 41, 30)
    assert {p: digest(p) for p in before} == before  # inputs never overwritten
    # a folder re-run treats our results (and their compare images) as earlier outputs, not new inputs
    code, stdout, _ = deblur(capsys, shots, "-m", "bag-compact", "--weights", checkpoint, "--json")
    files = {f["src"].rsplit("/", 1)[-1]: f["status"] for f in json.loads(stdout)["files"]}
    assert files["a.png"] == "skipped" and files["b.jpg"] == "skipped"
    assert "a_deblurred_compare.png" not in files


def test_bad_file_fails_alone_with_one_line_and_exit_code_1(capsys, shots, checkpoint, tmp_path):
    (shots / "broken.png").write_bytes(b"this is not a png")
    code, stdout, err = deblur(capsys, shots, "-m", "bag-compact", "--weights", checkpoint, "-o", tmp_path / "o",
                               "--json")
    assert code == 1
    report = json.loads(stdout)
    assert report["summary"]["failed"] == 1 and report["summary"]["ok"] == 2
    failed = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(failed) == 1 and "broken.png" in failed[0]
    assert "Traceback" not in err
    assert (tmp_path / "o" / "a.png").is_file()


@pytest.mark.parametrize("mode", ["plain", "global-stats"])
def test_tiled_run_keeps_size(capsys, tmp_path, checkpoint, mode):
    src = tmp_path / "big.png"
    Image.fromarray((np.random.default_rng(1).random((90, 150, 3)) * 255).astype(np.uint8)).save(src)
    code, _, err = deblur(capsys, src, "-m", "bag-compact", "--weights", checkpoint, "--tile", "64",
                          "--tile-mode", mode, "-q")
    assert code == 0, err
    assert err == ""  # --quiet: no summary
    assert Image.open(tmp_path / "big_deblurred.png").size == (150, 90)


def test_save_attention_writes_grid_and_one_png_per_module(capsys, shots, checkpoint, tmp_path):
    code, stdout, err = deblur(capsys, shots / "a.png", "-m", "bag-compact", "--weights", checkpoint,
                               "-o", tmp_path / "r.png", "--save-attention", "--json")
    assert code == 0, err
    extras = json.loads(stdout)["files"][0]["extras"]
    assert [p.rsplit("/", 1)[-1] for p in extras] == ["r_attention.png"] + [f"r_attention_{k}.png" for k in (1, 2, 3, 4)]
    grid = Image.open(tmp_path / "r_attention.png")
    assert grid.mode == "L" and grid.size[0] > 2 * 41 and grid.size[1] > 2 * 30
    assert Image.open(tmp_path / "r_attention_1.png").size == (41, 30)


def test_folder_without_recursive_says_how_many_sub_folders_it_skipped(capsys, shots, checkpoint, tmp_path):
    common = (shots, "-m", "bag-compact", "--weights", checkpoint, "--tile", "0", "--ensemble", "1")
    code, _, err = deblur(capsys, *common, "-o", tmp_path / "flat")
    assert code == 0, err
    assert "note: 1 sub-folder with images skipped" in err and "add --recursive to include them" in err
    assert not (tmp_path / "flat" / "sub").exists()
    code, stdout, _ = deblur(capsys, *common, "-o", tmp_path / "flat", "--json")
    assert json.loads(stdout)["skipped_folders"] == [str(shots / "sub")]
    code, _, err = deblur(capsys, *common, "-o", tmp_path / "deep", "--recursive")
    assert code == 0 and "sub-folder" not in err


@pytest.mark.parametrize("variant", ["bag-compact", "deblurgan-compact"])
def test_images_too_small_for_instance_norm_restore_with_a_note(capsys, tmp_path, variant):
    torch.manual_seed(0)
    weights = tmp_path / f"{variant}.safetensors"
    save_weights(registry.build(variant), weights, metadata={"variant": variant})
    folder = tmp_path / "tiny"
    folder.mkdir()
    sizes = {"dot.png": (1, 1), "row.png": (1, 9), "column.png": (9, 1), "small.png": (3, 2), "ok.png": (8, 8)}
    rng = np.random.default_rng(0)
    for name, (h, w) in sizes.items():
        Image.fromarray((rng.random((h, w, 3)) * 255).astype(np.uint8)).save(folder / name)
    code, stdout, err = deblur(capsys, folder, "-m", variant, "--weights", weights, "-o", tmp_path / "out", "--json")
    assert code == 0, err
    files = {f["src"].rsplit("/", 1)[-1]: f for f in json.loads(stdout)["files"]}
    for name, (h, w) in sizes.items():
        assert files[name]["status"] == "ok"
        assert Image.open(tmp_path / "out" / name).size == (w, h)
        padded = [n for n in files[name]["notes"] if "padded to" in n]
        assert bool(padded) == (name != "ok.png"), files[name]["notes"]
    assert "note: " in err and "dot.png: 1x1 is smaller than the 8 px a side" in err


def test_usage_errors_exit_2(capsys, shots, checkpoint):
    code, _, err = deblur(capsys, shots / "a.png", "-m", "bag-compact", "--weights", checkpoint,
                          "--device", "cpu", "--precision", "fp16")
    assert code == 2 and "fp16 is not supported on CPU" in err
    code, _, err = deblur(capsys, shots / "a.png", "--weights", checkpoint, "-m", "bag-compact", "--tile", "huge")
    assert code == 2 and "--tile" in err
    code, _, err = deblur(capsys, shots / "a.png", "--weights", checkpoint, "-m", "bag-compact", "--tile-mode", "x")
    assert code == 2 and "tile mode" in err
    assert not (shots / "a_deblurred.png").exists()


def test_missing_input_is_reported_and_fails(capsys, tmp_path, checkpoint):
    code, _, err = deblur(capsys, tmp_path / "nope.jpg", "-m", "bag-compact", "--weights", checkpoint)
    assert code == 1 and "nope.jpg" in err


def test_help_does_not_import_torch():
    code = ("import sys\nfrom deblur_cli.cli.app import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "try:\n    main(['run', '--help'])\nexcept SystemExit:\n    pass\n"
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "--save-attention" in out
    assert out.strip().endswith("NO-TORCH")


def test_max_pixels_guards_each_file(capsys, shots, checkpoint, tmp_path):
    code, _, err = deblur(capsys, shots / "a.png", "-m", "bag-compact", "--weights", checkpoint,
                          "-o", tmp_path / "r.png", "--max-pixels", "100")
    assert code == 1 and "a.png" in err and "--max-pixels" in err
    code, _, err = deblur(capsys, shots / "a.png", "-m", "bag-compact", "--weights", checkpoint,
                          "-o", tmp_path / "r.png", "--max-pixels", "2000")
    assert code == 0, err


def test_restore_file_library_call(shots, tmp_path):
    from torch import nn

    from deblur_cli.inference.api import restore_file
    from deblur_cli.inference.engine import Restorer
    from deblur_cli.inference.settings import RestoreSettings

    class Identity(nn.Module):
        def forward(self, x):
            return x

    restorer = Restorer(Identity(), registry.get("bag-compact"), RestoreSettings(device="cpu", tile="0"))
    restore_file(shots / "a.png", tmp_path / "same.png", restorer=restorer)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "same.png")),
                                  np.asarray(Image.open(shots / "a.png")))


def test_pipeline_decodes_ahead_while_the_network_runs(shots, tmp_path, monkeypatch):
    import threading

    from deblur_cli.inference import pipeline
    from deblur_cli.images.paths import Job

    second_read = threading.Event()
    real_read = pipeline.read_image

    def read(path, max_pixels=None):
        if path.name == "b.jpg":
            second_read.set()
        return real_read(path, max_pixels)

    class WaitsForReader:
        name = "test"

        def restore(self, rgb, progress=None):
            # the first image is "in the network" until the reader has decoded the second one
            assert second_read.wait(10), "reader did not run ahead"
            return rgb

    monkeypatch.setattr(pipeline, "read_image", read)
    jobs = [Job(shots / "a.png", tmp_path / "a.png"), Job(shots / "b.jpg", tmp_path / "b.jpg"),
            Job(shots / "missing.png", tmp_path / "m.png")]
    results = pipeline.run_batch(jobs, WaitsForReader())
    assert [r.status for r in results] == ["ok", "ok", "failed"]
    assert "missing.png" in results[2].message()
    assert results[0].size == (41, 30) and results[0].seconds > 0


def test_threads_option_sets_torch_threads_and_rejects_zero(capsys, shots, checkpoint, tmp_path):
    before = torch.get_num_threads()
    try:
        code, _, err = deblur(capsys, shots / "a.png", "-m", "bag-compact", "--weights", checkpoint,
                              "-o", tmp_path / "r.png", "--threads", "2")
        assert code == 0, err
        assert torch.get_num_threads() == 2 and (tmp_path / "r.png").exists()
        code, _, err = deblur(capsys, shots / "a.png", "-m", "bag-compact", "--weights", checkpoint,
                              "-o", tmp_path / "s.png", "--threads", "0")
        assert code == 2 and "--threads" in err and not (tmp_path / "s.png").exists()
    finally:
        torch.set_num_threads(before)


def _perturbed_checkpoint(tmp_path):
    """bag-compact weights that change an image (a fresh network is the identity: zero last conv, global skip)."""
    torch.manual_seed(1)
    net = registry.build("bag-compact")
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    checkpoint = tmp_path / "perturbed.safetensors"
    save_weights(net, checkpoint, metadata={"variant": "bag-compact"})
    return checkpoint


def _restore_with(capsys, shots, checkpoint, out, option, value):
    """a.png restored into ``out`` with ``option value``; the JSON report must echo the value."""
    code, stdout, err = deblur(capsys, shots / "a.png", "-m", "bag-compact", "--weights", checkpoint, "-o", out,
                               option, value, "--json")
    assert code == 0, err
    assert json.loads(stdout)[option.lstrip("-")] == value
    return np.asarray(Image.open(out / "a.png").convert("RGB"), dtype=np.float32)


def _refused_in_one_line(capsys, shots, checkpoint, out, option, value, message):
    code, _, err = deblur(capsys, shots / "a.png", "-m", "bag-compact", "--weights", checkpoint, "-o", out,
                          option, value)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (out / "a.png").exists()


def test_ensemble_option_reaches_the_engine_and_bad_values_fail_in_one_line(capsys, shots, tmp_path):
    checkpoint = _perturbed_checkpoint(tmp_path)
    one, two = (_restore_with(capsys, shots, checkpoint, tmp_path / f"x{n}", "--ensemble", n) for n in (1, 2))
    assert np.abs(one - two).mean() > 0.1  # an untrained network is not mirror-symmetric
    _refused_in_one_line(capsys, shots, checkpoint, tmp_path / "x3", "--ensemble", 3,
                         "--ensemble must be one of 1, 2, 4")


def test_strength_option_reaches_the_engine_and_bad_values_fail_in_one_line(capsys, shots, tmp_path):
    checkpoint = _perturbed_checkpoint(tmp_path)
    source = np.asarray(Image.open(shots / "a.png").convert("RGB"), dtype=np.float32)
    none, full = (_restore_with(capsys, shots, checkpoint, tmp_path / f"s{v:g}", "--strength", v) for v in (0.0, 1.0))
    assert np.abs(none - source).max() <= 1  # strength 0 gives the input back (8-bit rounding aside)
    assert np.abs(full - source).mean() > 1  # and strength 1 does change it: the test can fail
    code, _, err = deblur(capsys, shots / "a.png", "-m", "bag-compact", "--weights", checkpoint, "-o",
                          tmp_path / "s2", "--strength", 2)
    assert code == 0 and "(fp32, strength 2)" in err  # the summary says when the change was scaled
    _refused_in_one_line(capsys, shots, checkpoint, tmp_path / "bad", "--strength", 3.5,
                         "--strength must be between 0 and 3")


def test_without_m_the_long_run_file_runs_and_m_bag_is_the_paper_network(capsys, tmp_path):
    """The default on a CPU is the long run's pix2pix-sa-gr-compact, with its bundled file; `-m bag` has its own
    bundled weights and no fallback note."""
    src = tmp_path / "tiny.png"
    Image.fromarray((np.random.default_rng(1).random((16, 20, 3)) * 255).astype(np.uint8)).save(src)
    code, stdout, err = deblur(capsys, src, "-o", tmp_path / "default.png", "--ensemble", 1, "--json")
    report = json.loads(stdout)
    assert code == 0 and report["model"] == "pix2pix-sa-gr-compact"
    assert report["weights"].endswith("pix2pix-sa-gr-compact.safetensors") and "untrained" not in err
    code, stdout, err = deblur(capsys, src, "-m", "bag", "-o", tmp_path / "bag.png", "--ensemble", 1, "--json")
    report = json.loads(stdout)
    assert code == 0 and report["model"] == "bag" and report["weights"].endswith("bag.safetensors")
    assert "untrained" not in err


def test_the_default_model_is_the_same_on_every_device(monkeypatch):
    """`bag` was the default on CUDA until it was scored on the held-out photos (inference/settings.py); the model
    chosen without -m must not depend on the device the engine resolves."""
    from deblur_cli.inference import api

    seen = []

    def fake_load(name, weights=None, device="cpu"):
        seen.append(name)
        raise RuntimeError("stop here")

    monkeypatch.setattr(api, "load_generator", fake_load)
    for device in ("cpu", "cuda", "mps"):
        monkeypatch.setattr(api, "resolve_device", lambda _, d=device: SimpleNamespace(type=d))
        with pytest.raises(RuntimeError, match="stop here"):
            api.load_model(None)
    assert seen == ["pix2pix-sa-gr-compact"] * 3


def test_without_m_a_weights_file_names_its_own_variant(capsys, shots, checkpoint, tmp_path):
    code, stdout, _ = deblur(capsys, shots / "a.png", "--weights", checkpoint, "-o", tmp_path / "w.png", "--json")
    assert code == 0 and json.loads(stdout)["model"] == "bag-compact"  # recorded in the file's metadata
