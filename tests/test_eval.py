"""`deblur eval` on a tiny GoPro-layout fixture, with in-memory networks whose scores we can predict."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from torch import nn
from typer.testing import CliRunner

from deblur_cli import registry
from deblur_cli.cli.app import app
from deblur_cli.eval import eval_report as rep
from deblur_cli.eval import eval_run
from deblur_cli.eval.eval_run import EvalOptions, ModelUnderTest, run_eval
from deblur_cli.eval.eval_sets import open_dataset
from deblur_cli.eval.targets import targets_for_models, targets_for_table
from deblur_cli.inference.engine import Restorer
from deblur_cli.inference.settings import DEFAULTS, RestoreSettings
from deblur_cli.paper_tables import TABLES, paper_row
from deblur_cli.weights.errors import WeightsUnavailableError

SEQS = {"GOPR0001_11_00": 2, "GOPR0002_07_00": 1}
H, W = 30, 42  # not a multiple of 4: the engine pads and crops back


def _write(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)


@pytest.fixture(scope="module")
def gopro(tmp_path_factory) -> Path:
    """GOPRO_Large/test/<seq>/{blur,sharp,blur_gamma}/NNNNNN.png with small images."""
    root = tmp_path_factory.mktemp("data") / "GOPRO_Large"
    rng = np.random.default_rng(0)
    for seq, frames in SEQS.items():
        for k in range(1, frames + 1):
            sharp = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
            blur = ((sharp.astype(np.float32) + np.roll(sharp, 2, axis=1)) / 2).round().astype(np.uint8)
            for kind, img in (("sharp", sharp), ("blur", blur), ("blur_gamma", 255 - blur)):
                _write(root / "test" / seq / kind / f"{k:06d}.png", img)
    return root


def _read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _sk(pred8: np.ndarray, sharp8: np.ndarray) -> tuple[float, float]:
    return (peak_signal_noise_ratio(sharp8, pred8, data_range=255),
            structural_similarity(pred8, sharp8, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                  data_range=255, channel_axis=-1))


def _expected(root: Path, transform=lambda x: x, kind: str = "blur") -> tuple[float, float]:
    """Mean skimage PSNR/SSIM of transform(blurred) against sharp, over the fixture's pairs."""
    scores = []
    for blur_path in sorted(root.glob(f"test/*/{kind}/*.png")):
        sharp8 = _read(blur_path.parent.parent / "sharp" / blur_path.name)
        pred = transform(_read(blur_path).astype(np.float32) / 255)
        scores.append(_sk(np.round(np.clip(pred, 0, 1) * 255).astype(np.uint8), sharp8))
    return float(np.mean([s[0] for s in scores])), float(np.mean([s[1] for s in scores]))


class Scale(nn.Module):
    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x * self.factor + self.dummy


def _loader(module: nn.Module):
    def load(variant: str, options: EvalOptions) -> ModelUnderTest:
        settings = RestoreSettings(device="cpu", precision="fp32", tile="0", ensemble=1)
        restorer = Restorer(module, registry.get(variant), settings)
        return ModelUnderTest(restorer, variant, "in-memory test network")
    return load


def test_identity_network_scores_the_input(gopro):
    evalset = open_dataset("gopro", root=gopro)
    assert len(evalset) == 3 and "GOPRO_Large" in evalset.description and "blur (" in evalset.description
    report = run_eval(targets_for_models(["bag-compact"]), evalset, EvalOptions(flops=False),
                      load=_loader(nn.Identity()))
    (result,) = report.results
    exp_psnr, exp_ssim = _expected(gopro)
    assert result.status == "ok" and len(result.images) == 3
    assert result.psnr == pytest.approx(exp_psnr, abs=1e-3)
    assert result.ssim == pytest.approx(exp_ssim, abs=1e-4)
    assert result.input_psnr == pytest.approx(exp_psnr, abs=1e-3)
    assert report.input_psnr == pytest.approx(exp_psnr, abs=1e-3)
    assert all(s.seconds > 0 for s in result.images)


def test_scores_follow_the_network_output_and_blur_kind(gopro):
    evalset = open_dataset("gopro", root=gopro, blur_kind="blur_gamma")
    assert "blur_gamma" in evalset.description
    report = run_eval(targets_for_models(["bag-compact"]), evalset, EvalOptions(flops=False, limit=2),
                      load=_loader(Scale(0.9)))
    (result,) = report.results
    assert len(result.images) == 2 and report.n_images == 2
    # the two first pairs in the dataset's order are the first sequence's frames
    first_two = sorted(gopro.glob("test/*/blur_gamma/*.png"))[:2]
    scores = [_sk(np.round(np.clip(_read(p) / 255 * 0.9, 0, 1) * 255).astype(np.uint8),
                  _read(p.parent.parent / "sharp" / p.name)) for p in first_two]
    assert result.psnr == pytest.approx(np.mean([s[0] for s in scores]), abs=1e-3)
    assert result.ssim == pytest.approx(np.mean([s[1] for s in scores]), abs=1e-4)


def test_rows_without_weights_are_listed_and_reference_rows_kept(gopro):
    def no_weights(variant, options):
        raise WeightsUnavailableError(f"no weights for {variant}")

    evalset = open_dataset("gopro", root=gopro)
    report = run_eval(targets_for_table("004-table2"), evalset, EvalOptions(), load=no_weights)
    status = {r.target.label: r.status for r in report.results}
    assert status["Our method (BAG)"] == "no weights" and status["DeblurGAN [20]"] == "no weights"
    assert status["DeepDeblur [18]"] == "not in deblur"
    bag = next(r for r in report.results if r.target.variant == "bag")
    assert bag.params == sum(p.numel() for p in registry.get("bag").build().parameters())
    assert bag.flops > 1e11  # the paper-size network at 1280x720, counted without weights
    assert report.input_psnr == pytest.approx(_expected(gopro)[0], abs=1e-3)  # input baseline still scored
    md = rep.to_markdown(report)
    assert "bag: no weights" in md and "GTX 1080 Ti" in md and "| 29.4 | 0.89 | 1.13 |" in md


def test_every_variant_table_row_has_paper_numbers():
    for spec in registry.specs(None):
        for ref in spec.table_rows:
            table, row = paper_row(ref)
            assert row.psnr is not None, ref
    for name in TABLES:
        labels = [t.label for t in targets_for_table(name)]
        assert labels and len(labels) >= len(TABLES[name].rows)


def test_cli_outputs_parse(gopro, tmp_path, monkeypatch):
    monkeypatch.setattr(eval_run, "default_load", _loader(nn.Identity()))
    cli = CliRunner()
    exp_psnr, _ = _expected(gopro)
    base = ["eval", "--root", str(gopro), "-m", "bag-compact", "--no-flops", "--device", "cpu"]

    out = cli.invoke(app, base + ["--format", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["rows"][0]["psnr"] == pytest.approx(exp_psnr, abs=2e-3)
    assert doc["input"]["psnr"] == pytest.approx(exp_psnr, abs=2e-3) and doc["n_images"] == 3

    csv_file, per_image, plot = tmp_path / "t.csv", tmp_path / "per.csv", tmp_path / "p.png"
    out = cli.invoke(app, base + ["--out", str(csv_file), "--per-image", str(per_image), "--plot", str(plot),
                                  "--save-images", str(tmp_path / "imgs")])
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(csv_file.read_text())))
    assert rows[0]["variant"] == "bag-compact" and float(rows[0]["psnr"]) == pytest.approx(exp_psnr, abs=2e-3)
    per = list(csv.DictReader(io.StringIO(per_image.read_text())))
    assert len(per) == 3 and {p["image"].split("/")[0] for p in per} == set(SEQS)
    assert Image.open(plot).size[0] > 100
    saved = tmp_path / "imgs" / "bag-compact" / "GOPR0001_11_00" / "000001.png"
    blur = _read(gopro / "test" / "GOPR0001_11_00" / "blur" / "000001.png")
    assert np.array_equal(_read(saved), blur)  # identity network: the saved output is the input
    compare = _read(tmp_path / "imgs" / "bag-compact" / "compare" / "GOPR0001_11_00" / "000001.png")
    assert compare.shape == (H, 3 * W + 16, 3)

    md_file = tmp_path / "t.md"
    out = cli.invoke(app, base + ["--out", str(md_file)])
    lines = md_file.read_text().splitlines()
    assert lines[0].startswith("| line | model | PSNR") and lines[2].startswith("| bag-compact |")


def test_cli_table_lists_rows_without_weights(gopro, monkeypatch):
    def no_weights(variant, options):
        raise WeightsUnavailableError(f"no weights for {variant}")

    monkeypatch.setattr(eval_run, "default_load", no_weights)
    out = CliRunner().invoke(app, ["eval", "--root", str(gopro), "--table", "001-table3", "--format", "csv"])
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["status"] for r in rows] == ["no weights"] * 3
    assert [float(r["paper_psnr"]) for r in rows] == [28.70, 25.27, 27.20]


def test_cli_usage_errors(gopro):
    cli = CliRunner()
    assert cli.invoke(app, ["eval", "--root", str(gopro)]).exit_code == 2  # neither -m nor --table
    out = cli.invoke(app, ["eval", "--root", str(gopro), "--table", "009-table9"])
    assert out.exit_code == 2 and "known" in out.output
    out = cli.invoke(app, ["eval", "--root", str(gopro / "nope"), "-m", "bag"])
    assert out.exit_code == 2 and "nope" in out.output
    out = cli.invoke(app, ["eval", "--root", str(gopro), "-m", "bag", "--threads", "0"])
    assert out.exit_code == 2 and "--threads" in out.output


def test_repackaged_layouts_are_recognised(tmp_path):
    img = np.zeros((12, 12, 3), np.uint8)
    for folders, expected in (((("blur", "a_1.png"), ("sharp", "a_1.png")), "MIMO-UNet"),
                              ((("input", "a.png"), ("target", "a.png")), "MPRNet"),
                              ((("blur", "seq/1.png"), ("sharp", "seq/1.png")), "DeblurGAN-v2")):
        root = tmp_path / expected
        for sub, name in folders:
            _write(root / "test" / sub / name, img)
        evalset = open_dataset("gopro", root=root)
        assert expected in evalset.description and "re-packaged" in evalset.description


def test_a_line_that_fails_midway_does_not_stop_the_others(gopro):
    from deblur_cli.errors import DeblurError

    class FailsOnSecondImage(nn.Module):
        def __init__(self):
            super().__init__()
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            if self.calls > 2:  # warm-up and the first timed image succeed
                raise DeblurError("out of memory on cpu even with 64px tiles")
            return x

    loaders = {"bag-compact": _loader(FailsOnSecondImage()), "deblurgan-compact": _loader(nn.Identity())}
    report = run_eval(targets_for_models(["bag-compact", "deblurgan-compact"]), open_dataset("gopro", root=gopro),
                      EvalOptions(flops=False), load=lambda v, o: loaders[v](v, o))
    failed, ok = report.results
    assert failed.status == "failed" and "after 1 images" in failed.message and len(failed.images) == 1
    assert ok.status == "ok" and len(ok.images) == 3
    assert "bag-compact: failed" in rep.to_markdown(report)


def test_narrow_terminal_tables_keep_numbers_whole():
    from rich.console import Console

    from deblur_cli.rich_table import print_fitted

    rows = [["pix2pix-sa-ca-gr-sn-compact", "1,032.9", "2,920", "0.44"], ["bag", "80.1", "12.5", "3.91"]]
    for width, dropped in ((80, False), (34, False), (28, True)):
        console = Console(width=width, record=True)
        print_fitted(console, "t", ["variant", "GFLOP", "ms\n/img", "MP/s"], rows, text={0}, drop_order=(3,),
                     hint="--json")
        out = console.export_text()
        assert max(len(line) for line in out.splitlines()) <= width
        assert "1,032.9" in out and "2,920" in out
        assert ("left out MP/s" in " ".join(out.split())) == dropped and ("0.44" in out) != dropped


def test_synthetic_dataset_motion_option_selects_the_blur():
    from deblur_cli.errors import UsageError
    from deblur_cli.eval.eval_sets import open_dataset

    def input_psnr(motion):
        items = open_dataset("synthetic", n=2, seed=4, size=48, motion=motion).items
        return sum(float(10 * torch.log10(1 / ((d["blur"] - d["sharp"]) ** 2).mean())) for d in items) / 2

    assert input_psnr("none") > input_psnr("shake") + 5
    with pytest.raises(UsageError, match="--motion"):
        open_dataset("synthetic", n=1, motion="wobble")


def test_improved_counts_images_made_better_not_the_mean_gain():
    from deblur_cli.eval.eval_run import EvalReport, ImageScore, TargetResult
    from deblur_cli.eval.targets import Target

    # mean gain +0.75 dB, yet one image of four lost and one is unchanged: the count shows what the mean hides
    scores = [ImageScore("a", 32.0, 0.9, 30.0, 0.9, 0.1), ImageScore("b", 32.0, 0.9, 30.0, 0.9, 0.1),
              ImageScore("c", 29.0, 0.9, 30.0, 0.9, 0.1), ImageScore("d", 30.0, 0.9, 30.0, 0.9, 0.1)]
    result = TargetResult(Target("bag-compact", "bag-compact"), "ok", variant="bag-compact", images=scores)
    assert result.improved == 2  # an unchanged image is not an improvement
    report = EvalReport(dataset="t", n_images=4, metric="m", device="cpu", results=[result])
    assert rep.flat_rows(report)[0]["improved"] == 2
    assert "| 0.75 | 2/4 |" in rep.to_markdown(report)
    assert TargetResult(Target("x", "x"), "no weights").improved is None


def test_strength_option_reaches_the_networks_and_is_stated(gopro, tmp_path):
    from deblur_cli.weights.io import save_weights

    torch.manual_seed(0)
    net = registry.build("bag-compact")  # the identity when fresh: perturb it so that it changes images
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    save_weights(net, tmp_path / "w.safetensors", metadata={"variant": "bag-compact"})
    base = ["eval", "--root", str(gopro), "-m", "bag-compact", "--weights", str(tmp_path / "w.safetensors"),
            "--no-flops", "--device", "cpu", "--format", "json"]
    changed = json.loads(CliRunner().invoke(app, base).stdout)["rows"][0]
    assert abs(changed["gain_db"]) > 0.01  # the network changes the images: the test can fail
    out = CliRunner().invoke(app, base + ["--strength", "0"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["rows"][0]["gain_db"] == 0 and "strength 0" in doc["metric"]


def test_eval_restores_with_deblurs_settings_object_and_reports_them(gopro, monkeypatch):
    seen = []

    def recording_load(variant, options):
        seen.append(options.restore)
        return _loader(nn.Identity())(variant, options)

    monkeypatch.setattr(eval_run, "default_load", recording_load)
    base = ["eval", "--root", str(gopro), "-m", "bag-compact", "--no-flops", "--format", "json"]
    out = CliRunner().invoke(app, base)
    assert out.exit_code == 0, out.output
    assert seen.pop() == DEFAULTS and "over 2 mirrored passes (deblur's default)" in json.loads(out.stdout)["metric"]
    out = CliRunner().invoke(app, base + ["--ensemble", "4"])
    assert seen.pop() == RestoreSettings(ensemble=4)
    assert "over 4 mirrored passes;" in json.loads(out.stdout)["metric"]  # not deblur's default: not called so

    flags = ["--ensemble", "1", "--strength", "0.5", "--tile", "64", "--device", "cpu", "--precision", "fp32"]
    out = CliRunner().invoke(app, base + flags)
    assert out.exit_code == 0, out.output
    assert seen.pop() == RestoreSettings(ensemble=1, strength=0.5, tile="64", device="cpu", precision="fp32")
    metric = json.loads(out.stdout)["metric"]
    assert "one network pass" in metric and "strength 0.5" in metric


def test_the_default_loader_builds_the_engine_from_the_settings_object():
    restore = RestoreSettings(ensemble=4, strength=1.5, tile="0", tile_mode="global-stats", device="cpu",
                              precision="fp32")
    loaded = eval_run.default_load("bag-compact", EvalOptions(restore, random_weights=True))
    restorer = loaded.restorer
    assert (restorer.ensemble, restorer.strength, restorer.tile_mode, str(restorer.device)) == (
        4, 1.5, "global-stats", "cpu")

