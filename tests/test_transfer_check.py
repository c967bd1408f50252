"""The library side of the measuring tools: the `chelsea` transfer check and the held-out eval sets."""

from __future__ import annotations

import numpy as np
import pytest
from torch import nn

from deblur_cli import registry
from deblur_cli.errors import DeblurError
from deblur_cli.eval import held_out, transfer_check as tc
from deblur_cli.eval.eval_run import EvalOptions, ModelUnderTest
from deblur_cli.inference.engine import Restorer
from deblur_cli.inference.settings import RestoreSettings


class Identity:
    def restore(self, x: np.ndarray) -> np.ndarray:
        return x


def _photo() -> np.ndarray:
    rng = np.random.default_rng(5)
    return np.clip(rng.random((72, 96, 3)).astype(np.float32), 0, 1)


def test_psnr8_quantises_and_aligned_psnr_finds_a_shift():
    a = _photo()
    same = 10 * np.log10(255**2 / 1e-10)  # MSE floored at 1e-10
    assert tc.psnr8(a, a) == pytest.approx(same)
    levels = np.round(a * 255) / 255
    assert tc.psnr8(levels + 0.4 / 255, levels) == pytest.approx(same)  # under half a level: the same 8-bit image
    shifted = np.roll(a, (2, -1), axis=(0, 1))
    assert tc.psnr8(shifted, a) < 20
    assert tc.aligned_psnr(shifted, a) == pytest.approx(same)


def test_an_identity_restorer_gains_nothing_on_every_case():
    cases = tc.check_transfer(Identity(), _photo())
    assert [c.label for c in cases] == ["shake 4px", "shake 8px", "shake 14px", "shake 20px", "kernel 12px",
                                        "sharp (jpeg q90)"]
    assert all(c.gain == 0.0 and c.aligned_gain == 0.0 for c in cases)
    assert all(c.restored.shape == c.blurred.shape == c.sharp.shape for c in cases)


def test_case_rows_round_as_the_table_prints_and_split_gains_separates_the_sharp_photo():
    photo = _photo()
    cases = [tc.TransferCase("shake 4px", photo, photo, photo, 30.004, 30.516),
             tc.TransferCase("kernel 12px", photo, photo, photo, 25.0, 24.9849),
             tc.TransferCase("sharp (jpeg q90)", photo, photo, photo, 39.07, 39.0)]
    rows = tc.case_rows(cases)
    assert rows["shake 4px"] == {"input_psnr": 30.0, "psnr": 30.52, "gain": 0.51}  # round(0.512), not 30.52 - 30.0
    blurred, sharp = tc.split_gains(rows)
    assert blurred == [0.51, -0.02] and sharp == -0.07


def _loader(module: nn.Module):
    def load(variant: str, options: EvalOptions) -> ModelUnderTest:
        settings = RestoreSettings(device="cpu", precision="fp32", tile="0", ensemble=1)
        return ModelUnderTest(Restorer(module, registry.get(variant), settings), variant, "in-memory")
    return load


def test_score_variant_reports_the_numbers_of_an_eval_line():
    small = held_out.SyntheticSet(2, 999, 32, "blurred")
    scores = held_out.score_variant("bag-compact", small, EvalOptions(flops=False), load=_loader(nn.Identity()))
    assert set(scores) == set(held_out.SCORES)
    assert scores["images"] == 2 and scores["improved"] == 0
    assert scores["psnr"] == scores["input_psnr"] and scores["ssim"] == scores["input_ssim"]


def test_score_variant_without_weights_is_an_error_not_a_missing_number():
    def no_weights(variant, options):
        from deblur_cli.weights.errors import WeightsUnavailableError

        raise WeightsUnavailableError(f"no weights for {variant}")

    with pytest.raises(DeblurError, match="no weights"):
        held_out.score_variant("bag-compact", held_out.SyntheticSet(1, 1, 32), EvalOptions(flops=False),
                               load=no_weights)


def test_held_out_sets_and_the_command_that_reproduces_them(monkeypatch):
    assert {k: (s.n, s.seed, s.size, s.motion) for k, s in held_out.SETS.items()} == {
        "synthetic-blurred": (100, 999, 256, "blurred"), "synthetic-shake": (50, 4242, 256, "shake"),
        "synthetic-near-sharp": (50, 998, 256, "none")}
    seen = []
    monkeypatch.setattr(held_out, "score_variant", lambda v, s, o, load=None: seen.append((v, s, o)) or {})
    out = held_out.score_set("bag-compact", "synthetic-blurred")
    assert out["command"] == ("deblur eval -m bag-compact --ensemble 1 --dataset synthetic --n 100 --seed 999 "
                              "--size 256 --motion blurred --format csv --no-flops --tile 0")
    ((_, s, options),) = seen
    assert s is held_out.SETS["synthetic-blurred"]
    assert (options.restore.ensemble, options.restore.strength, options.restore.tile, options.flops) == (
        1, 1.0, "0", False)


def test_tools_call_the_library_in_process_and_import_no_other_tool():
    import ast
    from pathlib import Path

    tools = Path(__file__).resolve().parent.parent / "tools"
    names = {p.stem for p in tools.glob("*.py")}
    found = []
    for path in sorted(tools.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                       else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.name} imports {m}" for m in modules if m.split(".")[0] in names | {"subprocess"}]
            if isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", "") == "sys":
                found.append(f"{path.name}:{node.lineno} touches sys.path")
    assert not found, "\n".join(found)
