"""The training loop on tiny CPU runs: exact resume, warm start, time budget, perceptual weights, export.

Networks are compact variants shrunk by overrides (a few thousand parameters), images 32x32, a few steps.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, safe_open

from deblur_cli import registry
from deblur_cli.errors import DeblurError
from deblur_cli.train import checkpoint as ckpt
from deblur_cli.train.config import load_config
from deblur_cli.train.loop import RunOptions, train

TINY_BAG = '{ channels = 8, growth = 4, modules = 1 }'


def tiny_config(tmp_path: Path, *, variant: str = "bag-compact", overrides: str = TINY_BAG, losses: str = "",
                extra: str = "", max_steps: int = 4, name: str = "tiny.toml") -> Path:
    losses = losses or '[[losses]]\ntype = "l1"\n'
    model = f'[model]\nvariant = "{variant}"\n' + (f"overrides = {overrides}\n" if overrides else "")
    text = f"""{model}
[data]
kind = "noise"
length = 6
crop = 32
batch = 2
workers = 0
[data.val]
kind = "noise"
count = 2
crop = 32
{losses}
[optim]
lr = 1e-3
[train]
max_steps = {max_steps}
val_every = 2
ckpt_every = 100
log_every = 1
ema = 0.9
{extra}
"""
    path = tmp_path / name
    path.write_text(text)
    return path


def run(cfg_path: Path, run_dir: Path, **options) -> object:
    options.setdefault("progress", False)
    options.setdefault("tensorboard", False)
    options.setdefault("warm_start", False)
    return train(load_config(cfg_path), RunOptions(run_dir=str(run_dir), **options))


def final_state(run_dir: Path) -> dict:
    return load_file(str(ckpt.latest(run_dir / "checkpoints") / "state.safetensors"))


def assert_identical(a: dict, b: dict, prefixes: tuple) -> None:
    keys = [k for k in a if k.startswith(prefixes)]
    assert keys and set(keys) == {k for k in b if k.startswith(prefixes)}
    for k in keys:
        assert torch.equal(a[k], b[k]), k


def _has_discriminators() -> bool:
    try:
        import deblur_cli.models.discriminators  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


ADVERSARIAL = '''
[discriminator]
variant = "patchgan-compact"
overrides = { ndf = 4, layers = 2 }
[[losses]]
type = "l1"
weight = 10.0
[[losses]]
type = "wgan_gp"
weight = 0.1
n_critic = 2
'''


@pytest.mark.parametrize("adversarial", [False, True], ids=["l1", "l1+wgan_gp"])
def test_resume_is_bit_identical_to_a_straight_run(tmp_path, adversarial):
    if adversarial and not _has_discriminators():
        pytest.skip("deblur_cli.models.discriminators not written yet")
    # 6 noise items at batch 2: 3 batches per epoch, so 4 steps cross an epoch boundary; the stop at step 2
    # falls mid-epoch, and validation (EMA weights) runs at steps 2 and 4 in both runs
    cfg = tiny_config(tmp_path, losses=ADVERSARIAL if adversarial else "")
    straight = run(cfg, tmp_path / "straight")
    first = run(cfg, tmp_path / "split", max_steps=2)
    assert first.step == 2 and first.stopped == "max_steps"
    second = run(cfg, tmp_path / "split")
    assert (straight.step, second.step, second.resumed_from) == (4, 4, 2)
    a, b = final_state(tmp_path / "straight"), final_state(tmp_path / "split")
    prefixes = ("generator/", "ema/", "optim_g/", "rng/") + (("discriminator/", "optim_d/") if adversarial else ())
    assert_identical(a, b, prefixes)
    assert straight.last_val == second.last_val  # same weights, same validation numbers


def test_rerunning_a_finished_run_does_nothing(tmp_path):
    cfg = tiny_config(tmp_path, max_steps=2)
    run(cfg, tmp_path / "r")
    before = final_state(tmp_path / "r")
    again = run(cfg, tmp_path / "r")
    assert again.step == 2 and again.resumed_from == 2
    assert_identical(before, final_state(tmp_path / "r"), ("generator/",))


def test_resume_refuses_a_different_recipe(tmp_path):
    run(tiny_config(tmp_path, max_steps=1), tmp_path / "r")
    other = tiny_config(tmp_path, max_steps=1, extra="seed = 5", name="other.toml")
    with pytest.raises(DeblurError, match="different config"):
        run(other, tmp_path / "r")


def test_a_longer_max_steps_in_the_config_continues_the_run(tmp_path):
    run(tiny_config(tmp_path, max_steps=2), tmp_path / "r")
    longer = tiny_config(tmp_path, max_steps=3, name="longer.toml")  # bookkeeping only: same recipe
    result = run(longer, tmp_path / "r")
    assert (result.resumed_from, result.step) == (2, 3)
    assert json.loads((tmp_path / "r" / "run.json").read_text())["config_sha256"] == load_config(longer).sha256


def test_resume_flag_requires_a_checkpoint(tmp_path):
    with pytest.raises(DeblurError, match="--resume: no checkpoint"):
        run(tiny_config(tmp_path), tmp_path / "empty", resume=True)


def test_time_budget_stops_cleanly_with_a_checkpoint(tmp_path):
    result = run(tiny_config(tmp_path, max_steps=100000), tmp_path / "r", time_budget=1.0)
    assert result.stopped == "time_budget" and result.step < 100000
    folder = ckpt.latest(tmp_path / "r" / "checkpoints")
    assert folder is not None and json.loads((folder / "state.json").read_text())["step"] == result.step
    resumed = run(tiny_config(tmp_path, max_steps=100000), tmp_path / "r", max_steps=result.step + 1)
    assert resumed.resumed_from == result.step and resumed.step == result.step + 1


def test_logs_and_best_checkpoint(tmp_path):
    result = run(tiny_config(tmp_path), tmp_path / "r")
    rows = (tmp_path / "r" / "train.csv").read_text().splitlines()
    assert rows[0].split(",")[:6] == ["step", "epoch", "wall_s", "lr", "loss", "l1"] and len(rows) == 5
    val = (tmp_path / "r" / "val.csv").read_text().splitlines()
    assert len(val) == 3  # header + steps 2 and 4
    info = json.loads((tmp_path / "r" / "best" / "info.json").read_text())
    assert info["step"] == result.best["step"] and info["weights"] == "ema"
    lrs = [float(r.split(",")[3]) for r in rows[1:]]
    # constant for the first half, then linearly towards zero after the last step: 1, 1, 1, 1/2
    assert lrs == pytest.approx([1e-3, 1e-3, 1e-3, 5e-4])


def test_perceptual_loss_without_weights_stops_before_training(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    monkeypatch.delenv("DEBLUR_VGG19_WEIGHTS", raising=False)
    cfg = tiny_config(tmp_path, losses='[[losses]]\ntype = "perceptual"\nweight = 100.0\n')
    with pytest.raises(DeblurError) as info:
        run(cfg, tmp_path / "r")
    message = str(info.value)
    assert "VGG19" in message and "--vgg-weights" in message and "l1 or l2" in message and str(cfg) in message
    assert not (tmp_path / "r" / "checkpoints").exists()


def test_perceptual_loss_with_given_weights_trains(tmp_path):
    from deblur_cli.train.vgg import VGG19Features

    # torchvision-named weights as a converted ImageNet file would have them (random values here)
    vgg = VGG19Features("conv3_3")
    weights = tmp_path / "vgg19.safetensors"
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in vgg.state_dict().items()}, str(weights))
    assert "features.14.weight" in vgg.state_dict()  # conv3_3 is index 14 in torchvision's features
    cfg = tiny_config(tmp_path, losses='[[losses]]\ntype = "perceptual"\nweight = 1.0\n', max_steps=1)
    result = run(cfg, tmp_path / "r", vgg_weights=str(weights))
    header = (tmp_path / "r" / "train.csv").read_text().splitlines()[0]
    assert result.step == 1 and "perceptual" in header.split(",")


# --- warm start and export -------------------------------------------------------------------------------

def _bundle(tmp_path: Path, variant: str, steps_total: int, seed: int = 123) -> tuple[Path, dict]:
    """A temporary manifest whose ``variant`` entry has bundled weights (random, from ``seed``)."""
    from deblur_cli.weights.io import save_weights

    torch.manual_seed(seed)
    state = registry.build(variant).state_dict()
    sha = save_weights(state, tmp_path / "weights" / f"{variant}.safetensors", metadata={"variant": variant})
    spec = registry.get(variant)
    manifest = tmp_path / "weights_manifest.json"
    manifest.write_text(json.dumps({"format": 1, "variants": {variant: {
        "architecture": spec.family, "preset": spec.preset, "status": "trained",
        "bundled": f"weights/{variant}.safetensors", "sha256": sha, "bytes": 1, "dtype": "fp32",
        "training": {"steps_total": steps_total}, "metrics": {"psnr": 1.0}}}}))
    return manifest, state


def test_warm_start_then_export_accumulates_steps(tmp_path):
    from deblur_cli.weights.io import sha256_file
    from deblur_cli.weights.manifest import read_raw
    from deblur_cli.train.export import export_run

    variant = "deblurgan-compact"
    manifest, bundled = _bundle(tmp_path, variant, steps_total=500)
    cfg = tiny_config(tmp_path, variant=variant, overrides="", max_steps=2)
    # automatic warm start: nothing to resume, and the variant has bundled weights
    result = run(cfg, tmp_path / "r", warm_start=None, manifest=manifest)
    assert result.warm_start["steps_total"] == 500
    assert result.warm_start["sha256"] == read_raw(manifest)["variants"][variant]["sha256"]
    trained = final_state(tmp_path / "r")
    # after 2 small steps the generator is still near the bundled weights, far from a fresh initialisation
    torch.manual_seed(0)
    fresh = registry.build(variant).state_dict()
    key = next(k for k, v in bundled.items() if v.is_floating_point() and v.dim() == 4)
    near = (trained[f"generator/{key}"] - bundled[key]).abs().max()
    far = (fresh[key] - bundled[key]).abs().max()
    assert near < 0.05 < far

    out = export_run(tmp_path / "r", which="last", weights_dir=tmp_path / "weights", manifest_path=manifest)
    entry = json.loads(manifest.read_text())["variants"][variant]
    assert entry["status"] == "trained" and entry["sha256"] == out.sha256 == sha256_file(out.path)
    assert entry["bundled"] == f"weights/{variant}.safetensors" and entry["bytes"] == out.path.stat().st_size
    assert entry["training"]["steps_total"] == 502 and entry["training"]["steps"] == 2
    assert entry["training"]["recipe"]["config_sha256"] == load_config(cfg).sha256
    assert entry["training"]["validation"]["psnr"] == result.last_val["psnr"]
    assert entry["training"]["hardware"][0]["device"] == "cpu"
    assert "metrics" not in entry  # they measured the file this one replaced
    with safe_open(str(out.path), "pt") as fh:
        assert fh.metadata()["variant"] == variant
        assert set(fh.keys()) == set(bundled)  # a plain generator state dict, loadable by the engine
    assert out.dtype == "fp32"  # under a million parameters


def test_init_from_an_exported_file_continues_its_lineage(tmp_path):
    """A file sent back from another machine (no run folder, no manifest entry) starts a new run; its steps
    travel in the file's metadata, so the next export counts them."""
    from deblur_cli.train.export import export_run
    from deblur_cli.weights.io import sha256_file

    variant = "deblurgan-compact"
    manifest, _ = _bundle(tmp_path, variant, steps_total=500)
    cfg = tiny_config(tmp_path, variant=variant, overrides="", max_steps=2)
    run(cfg, tmp_path / "first", warm_start=None, manifest=manifest)
    sent = export_run(tmp_path / "first", which="last", weights_dir=tmp_path / "weights", manifest_path=manifest).path
    moved = tmp_path / "elsewhere" / "from-gpu.safetensors"
    moved.parent.mkdir()
    moved.write_bytes(sent.read_bytes())
    sent_state = load_file(str(moved))

    result = run(cfg, tmp_path / "second", init_from=str(moved), manifest=manifest)
    assert result.warm_start["steps_total"] == 502 and result.warm_start["sha256"] == sha256_file(moved)
    trained = final_state(tmp_path / "second")
    key = next(k for k, v in sent_state.items() if v.is_floating_point() and v.dim() == 4)
    assert (trained[f"generator/{key}"] - sent_state[key]).abs().max() < 0.05
    entry_steps = export_run(tmp_path / "second", which="last", weights_dir=tmp_path / "weights",
                             manifest_path=manifest).steps_total
    assert entry_steps == 504


def test_init_from_a_file_of_another_variant_is_refused(tmp_path):
    from deblur_cli.weights.io import save_weights

    other = tmp_path / "rir.safetensors"
    save_weights(registry.build("rir-compact"), other, metadata={"variant": "rir-compact"})
    cfg = tiny_config(tmp_path, variant="deblurgan-compact", overrides="", max_steps=2)
    with pytest.raises(DeblurError, match="holds rir-compact weights"):
        run(cfg, tmp_path / "r", init_from=str(other))


def test_export_refuses_weights_that_fit_no_variant(tmp_path):
    from deblur_cli.train.export import export_run

    run(tiny_config(tmp_path, max_steps=2), tmp_path / "r")  # bag-compact shrunk by overrides
    with pytest.raises(DeblurError, match="do not fit bag-compact"):
        export_run(tmp_path / "r", weights_dir=tmp_path / "w", manifest_path=tmp_path / "m.json")


def test_explicit_warm_start_without_bundled_weights_is_an_error(tmp_path):
    with pytest.raises(DeblurError, match="--init-from-bundled"):
        run(tiny_config(tmp_path), tmp_path / "r", warm_start=True)  # overrides: no bundled file can fit


# --- adversarial losses ----------------------------------------------------------------------------------

def test_gradient_penalty_is_zero_for_a_unit_gradient_critic():
    from deblur_cli.train.adversarial import Adversarial

    class Linear(torch.nn.Module):  # D(x) = <w, 2x - 1>: in the critic's [-1, 1] units its gradient is w
        def __init__(self, w):
            super().__init__()
            self.w = w

        def forward(self, x):
            return ((x * 2 - 1).flatten(1) * self.w).sum(1)

    # DeblurGAN's penalty is per pixel (norm over the 3 channels): give every pixel a unit channel vector
    w = torch.randn(3, 4, 4)
    w = (w / w.norm(dim=0, keepdim=True)).flatten()
    real, fake = torch.rand(2, 3, 4, 4), torch.rand(2, 3, 4, 4)
    assert Adversarial.gradient_penalty(Linear(w), real, fake) < 1e-10
    assert Adversarial.gradient_penalty(Linear(3 * w), real, fake) == pytest.approx(4.0, rel=1e-5)


def test_bce_losses_follow_the_report():
    from deblur_cli.train.adversarial import Adversarial

    class Const(torch.nn.Module):
        def forward(self, x):
            return torch.where(x.mean() > 0.5, 2.0, -1.0) * torch.ones(x.shape[0], 1, 2, 2)

    adv = Adversarial("bce")
    real, fake = torch.ones(1, 3, 4, 4), torch.zeros(1, 3, 4, 4)
    d_loss, _ = adv.d_loss(Const(), real, fake)
    sp = torch.nn.functional.softplus
    assert d_loss == pytest.approx(0.5 * (sp(torch.tensor(-2.0)) + sp(torch.tensor(-1.0))).item())
    assert adv.g_loss(Const(), fake) == pytest.approx(sp(torch.tensor(1.0)).item())


# --- every loss and discriminator arrangement the presets use runs ---------------------------------------

@pytest.mark.parametrize("variant, overrides, disc, losses, data", [
    ("multiscale-compact", "{ channels = 4, blocks = 1 }", 'variant = "patchgan-compact"\noverrides = { ndf = 4, layers = 2 }',
     '[[losses]]\ntype = "multiscale_l2"\nscale_weights = [0.2, 0.3, 0.5]\n[[losses]]\ntype = "bce"\nweight = 0.01\n', ""),
    ("pix2pix-sa-sn-compact", "{ ngf = 4, levels = 3 }",
     'variant = "patchgan-sn"\nconditional = true\noverrides = { ndf = 4, layers = 2, norm = "batch" }',
     '[[losses]]\ntype = "hinge"\n[[losses]]\ntype = "l1"\nweight = 100.0\n', ""),
    ("resnet-gan-compact", "{ ngf = 4, blocks = 1 }", 'variant = "report-disc"\noverrides = { ndf = 4 }',
     '[[losses]]\ntype = "bce"\n[[losses]]\ntype = "l1"\nweight = 100.0\n', "crop = 64\nscale = 0.5\n"),
], ids=["multiscale_l2+bce", "conditional-sn+hinge", "report+scaled"])
def test_preset_arrangements_train_a_step(tmp_path, variant, overrides, disc, losses, data):
    pytest.importorskip("deblur_cli.models.discriminators")
    path = tiny_config(tmp_path, variant=variant, overrides=overrides, max_steps=1,
                       losses=f"[discriminator]\n{disc}\n{losses}")
    text = path.read_text().replace("crop = 32\nbatch = 2", f"{data or 'crop = 32'}\nbatch = 2")
    path.write_text(text.replace("[data.val]\nkind = \"noise\"\ncount = 2\ncrop = 32", "[data.val]\nkind = \"noise\"\ncount = 1\ncrop = 32"))
    result = run(path, tmp_path / "r")
    header = (tmp_path / "r" / "train.csv").read_text().splitlines()[0].split(",")
    assert result.step == 1 and "adv" in header and "d_loss" in header
    assert all(torch.isfinite(v).all() for v in final_state(tmp_path / "r").values() if v.is_floating_point())


def test_multiscale_l2_compares_each_scale_with_the_downsampled_target():
    from deblur_cli.train.losses import multiscale_l2

    sharp = torch.rand(1, 3, 8, 8)
    coarse = torch.nn.functional.avg_pool2d(sharp, 2)
    outputs = [coarse, sharp + 0.1]
    # the coarse output equals the 2x box-filtered target: only the fine scale contributes, k * 0.1^2
    assert multiscale_l2(outputs, sharp, [1.0, 2.0]).item() == pytest.approx(2.0 * 0.01, rel=1e-4)
    with pytest.raises(DeblurError, match="one k_i per scale"):
        multiscale_l2(outputs, sharp, [1.0])


def test_psnr_loss_is_minus_the_mean_per_image_psnr():
    from deblur_cli.train.losses import psnr_loss

    sharp = torch.zeros(2, 3, 4, 4)
    image = sharp.clone()
    image[0] += 0.1  # 20 dB
    image[1] += 0.01  # 40 dB
    # the mean of the images' -PSNR; one MSE over the whole batch would give -10 log10(0.00505) = -22.97
    assert psnr_loss(image, sharp).item() == pytest.approx(-30.0, abs=1e-3)


def test_psnr_loss_trains_a_step(tmp_path):
    result = run(tiny_config(tmp_path, losses='[[losses]]\ntype = "psnr"\n', max_steps=2), tmp_path / "r")
    header = (tmp_path / "r" / "train.csv").read_text().splitlines()[0].split(",")
    assert result.step == 2 and "psnr" in header
    assert all(torch.isfinite(v).all() for v in final_state(tmp_path / "r").values() if v.is_floating_point())


def test_keep_every_keeps_milestones_that_export_can_pick(tmp_path):
    from deblur_cli.train.export import export_run

    cfg = tiny_config(tmp_path, variant="deblurgan-compact", overrides="", max_steps=6, extra="keep_every = 2")
    cfg.write_text(cfg.read_text().replace("ckpt_every = 100", "ckpt_every = 1"))
    run(cfg, tmp_path / "r")
    kept = sorted(p.name for p in (tmp_path / "r" / "checkpoints").glob("step-*"))
    assert kept == ["step-00000002", "step-00000004", "step-00000006"]  # 1, 3 and 5 were deleted
    manifest = tmp_path / "m" / "weights_manifest.json"
    manifest.parent.mkdir()
    manifest.write_text('{"format": 1, "variants": {}}')
    mid = export_run(tmp_path / "r", which="step", step=4, weights_dir=tmp_path / "m" / "w", manifest_path=manifest)
    last = export_run(tmp_path / "r", which="last", weights_dir=tmp_path / "m" / "w2", manifest_path=manifest)
    assert (mid.step, last.step) == (4, 6) and mid.sha256 != last.sha256
    with pytest.raises(DeblurError, match="no checkpoint at step 3 .kept: 2, 4, 6"):
        export_run(tmp_path / "r", which="step", step=3, weights_dir=tmp_path / "m" / "w", manifest_path=manifest)


def test_a_lost_run_continues_its_schedule_from_its_exported_weights(tmp_path):
    """--init-from FILE --continue-schedule (start_step N): the step counter, the schedule and the data order pick up at N, the rate
    warms up again from zero, and the exported file counts the lost run's steps once."""
    from deblur_cli.train.export import export_run
    from deblur_cli.train.loop import REWARM_STEPS

    cfg = tiny_config(tmp_path, variant="pix2pix-sa-gr-compact", overrides="", max_steps=8)
    text = cfg.read_text().replace("[optim]\n", '[optim]\nschedule = "cosine"\n').replace("ckpt_every = 100", "ckpt_every = 4")
    cfg.write_text(text)
    run(cfg, tmp_path / "lost", max_steps=4)
    exported = export_run(tmp_path / "lost", which="last", weights_dir=tmp_path / "w",
                          manifest_path=tmp_path / "w" / "m.json")
    result = run(cfg, tmp_path / "continued", init_from=str(exported.path), start_step=4)
    assert result.step == 8 and any("continuing the schedule at step 4" in n for n in result.notes)
    rows = (tmp_path / "continued" / "train.csv").read_text().splitlines()[1:]
    steps = [int(r.split(",")[0]) for r in rows]
    lrs = [float(r.split(",")[3]) for r in rows]
    assert steps == [5, 6, 7, 8]
    from deblur_cli.train.schedule import lr_factor
    assert lrs[0] == pytest.approx(1e-3 * lr_factor(4, 8, "cosine") * 1 / REWARM_STEPS, rel=1e-3)
    again = export_run(tmp_path / "continued", which="last", weights_dir=tmp_path / "w2",
                       manifest_path=tmp_path / "w2" / "m.json")
    assert again.steps_total == 8
    with pytest.raises(DeblurError, match="--init-from"):
        run(cfg, tmp_path / "no-file", start_step=4)


def test_continue_schedule_starts_at_the_steps_the_file_records(tmp_path, capsys):
    from deblur_cli.cli.app import main
    from deblur_cli.train.export import export_run

    cfg = tiny_config(tmp_path, variant="pix2pix-sa-gr-compact", overrides="", max_steps=5)
    run(cfg, tmp_path / "lost", max_steps=3)
    file = export_run(tmp_path / "lost", which="last", weights_dir=tmp_path / "w",
                      manifest_path=tmp_path / "w" / "m.json").path
    args = ["train", "--config", str(cfg), "--run-dir", str(tmp_path / "new"), "--init-from", str(file),
            "--continue-schedule", "--no-progress"]
    with pytest.raises(SystemExit) as exc:
        main(args)
    said = capsys.readouterr()
    assert exc.value.code == 0 and "continuing the schedule at step 3" in said.out + said.err
    assert [int(r.split(",")[0]) for r in (tmp_path / "new" / "train.csv").read_text().splitlines()[1:]] == [4, 5]
    with pytest.raises(SystemExit) as exc:  # the folder now has a checkpoint: it resumes, at its own step
        main(args)
    assert exc.value.code == 0
    file.unlink()  # and the file is not needed to resume: only a lost folder reads it
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 0
    with pytest.raises(SystemExit) as exc:
        main(["train", "--config", str(cfg), "--run-dir", str(tmp_path / "newer"), "--init-from", str(file),
              "--continue-schedule"])
    assert exc.value.code == 1 and "--init-from" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["train", "--config", str(cfg), "--continue-schedule"])
    assert exc.value.code == 2 and "--init-from" in capsys.readouterr().err
