"""Choose which weights of a CPU run to bundle, and export them.

A short run's EMA and its raw last weights differ, and procedural validation alone picks weights that sharpen too
much: a longer bag-compact run gained 0.6 dB on validation and lost 2.1 dB on a real photo. So each candidate is
scored on both the validation pairs (seed 1000003, never trained on) and the `chelsea` transfer check
(tools/check_transfer.py), and the rule is:

    the best validation PSNR among the candidates that leave the already-sharp photo no worse (gain >= -0.05 dB,
    the size of one 8-bit rounding step there); if none does, the candidate that hurts it least.

Candidates are the EMA and raw weights of the last checkpoint, and of any kept checkpoints named with --steps
(`[train] keep_every` keeps them). They are scored with the self-ensemble `deblur` runs by default (--ensemble 2),
because that is what a user gets. Export, validation and the check run in this process through the library
(`deblur_cli.train.export`, `deblur_cli.eval`).

    python tools/pick_export.py bag-compact [rir-compact ...] [--run-dir-prefix cpu-] [--steps 4000,5000]
                                [--ensemble 2] [--dry-run]
    python tools/pick_export.py bag-compact --run x-bag-fibres-const --steps 5000 --dry-run
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from deblur_cli.cli.errors import friendly_errors
from deblur_cli.eval.eval_run import EvalOptions
from deblur_cli.eval.held_out import SyntheticSet, score_variant
from deblur_cli.eval.transfer_check import run_transfer_check, split_gains
from deblur_cli.inference.settings import DEFAULTS, RestoreSettings

SHARP_TOLERANCE_DB = -0.05
WEIGHTS = {"ema": True, "raw": False}  # export_run's ``ema``
VALIDATION = SyntheticSet(16, 1000003, 128)  # the training runs' validation pairs (never trained on)


def val_psnr(variant: str, weights: Path, ensemble: int) -> float:
    """Mean PSNR on :data:`VALIDATION`, as `deblur eval --weights FILE --ensemble N` reports it (0.001 dB)."""
    options = EvalOptions(restore=RestoreSettings(ensemble=ensemble), weights=str(weights), flops=False)
    return score_variant(variant, VALIDATION, options)["psnr"]


def chelsea(variant: str, weights: Path, ensemble: int) -> tuple[float, float]:
    """(mean gain over the blurred cases, gain on the sharp photo)."""
    blurred, sharp = split_gains(run_transfer_check(variant, str(weights), ensemble))
    return sum(blurred) / len(blurred), sharp


def pick(scores: dict[str, dict]) -> str:
    safe = [k for k, s in scores.items() if s["sharp"] >= SHARP_TOLERANCE_DB]
    if safe:
        return max(safe, key=lambda k: scores[k]["val_psnr"])
    return max(scores, key=lambda k: scores[k]["sharp"])


def candidates(steps: list[int]) -> dict[str, dict]:
    """{name: `export_run` arguments}: EMA and raw weights of the last checkpoint and of each kept step."""
    where = {"last": {"which": "last"}, **{str(s): {"which": "step", "step": s} for s in steps}}
    return {f"{w}@{at}": {**at_args, "ema": ema} for at, at_args in where.items() for w, ema in WEIGHTS.items()}


@friendly_errors
def main() -> None:
    from deblur_cli.train.export import export_run

    ap = argparse.ArgumentParser()
    ap.add_argument("variants", nargs="+")
    ap.add_argument("--run-dir-prefix", default="cpu-", help="run folder name = prefix + variant (default cpu-)")
    ap.add_argument("--run", default=None, help="the run folder (name or path) of the one variant given, instead")
    ap.add_argument("--steps", default="", help="kept checkpoint steps to score besides the last, e.g. 4000,5000")
    ap.add_argument("--ensemble", type=int, default=DEFAULTS.ensemble,
                    help="self-ensemble passes to score with (default: deblur's)")
    ap.add_argument("--dry-run", action="store_true", help="score and print; export nothing")
    args = ap.parse_args()
    if args.run and len(args.variants) > 1:
        ap.error("--run names the run of one variant")
    args_of = candidates([int(s) for s in args.steps.split(",") if s.strip()])
    root = Path(__file__).resolve().parent.parent
    scratch = Path(tempfile.mkdtemp())
    try:
        shutil.copy(root / "weights_manifest.json", scratch / "manifest.json")
        for variant in args.variants:
            run = args.run or args.run_dir_prefix + variant
            scores = {}
            for i, (name, export_args) in enumerate(args_of.items()):
                export_run(run, name=variant, weights_dir=scratch / str(i), manifest_path=scratch / "manifest.json",
                           **export_args)
                weights = scratch / str(i) / f"{variant}.safetensors"
                blurred, sharp = chelsea(variant, weights, args.ensemble)
                scores[name] = {"val_psnr": val_psnr(variant, weights, args.ensemble), "chelsea_blurred": blurred,
                                "sharp": sharp}
                print(json.dumps({"variant": variant, "candidate": name, **scores[name]}), flush=True)
            choice = pick(scores)
            print(json.dumps({"variant": variant, "ensemble": args.ensemble, "choice": choice}))
            if not args.dry_run:
                print(export_run(run, name=variant, **args_of[choice]).summary())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
