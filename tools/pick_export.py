"""Choose which weights of a CPU run to bundle, and export them.

A short run's EMA and its raw last weights differ, and procedural validation alone picks weights that sharpen too
much: a longer bag-compact run gained 0.6 dB on validation and lost 2.1 dB on a real photo. So each candidate is
scored on both the validation pairs (seed 1000003, never trained on) and the `chelsea` transfer check
(tools/check_transfer.py), and the rule is:

    the best validation PSNR among the candidates that leave the already-sharp photo no worse (gain >= -0.05 dB,
    the size of one 8-bit rounding step there); if none does, the candidate that hurts it least.

Candidates are the EMA and raw weights of the last checkpoint, and of any kept checkpoints named with --steps
(`[train] keep_every` keeps them). They are scored with the self-ensemble `deblur` runs by default (--ensemble 2),
because that is what a user gets.

    python tools/pick_export.py bag-compact [rir-compact ...] [--run-dir-prefix cpu-] [--steps 4000,5000]
                                [--ensemble 2] [--dry-run]
    python tools/pick_export.py bag-compact --run x-bag-fibres-const --steps 5000 --dry-run
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from check_transfer import run_check, split_gains  # tools/ is on sys.path when a tool runs

SHARP_TOLERANCE_DB = -0.05
WEIGHTS = {"ema": ["--ema"], "raw": ["--no-ema"]}


def deblur(*args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "deblur_cli", *args], capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"deblur {' '.join(args)} failed:\n{out.stderr.strip()}")
    return out.stdout


def val_psnr(variant: str, weights: Path, ensemble: int) -> float:
    csv = deblur("eval", "--dataset", "synthetic", "--n", "16", "--seed", "1000003", "--size", "128", "-m", variant,
                 "--weights", str(weights), "--ensemble", str(ensemble), "--no-flops", "--format", "csv")
    header, row = csv.strip().splitlines()[:2]
    return float(row.split(",")[header.split(",").index("psnr")])


def chelsea(variant: str, weights: Path, ensemble: int) -> tuple[float, float]:
    """(mean gain over the blurred cases, gain on the sharp photo)."""
    blurred, sharp = split_gains(run_check(variant, weights, ensemble))
    return sum(blurred) / len(blurred), sharp


def pick(scores: dict[str, dict]) -> str:
    safe = [k for k, s in scores.items() if s["sharp"] >= SHARP_TOLERANCE_DB]
    if safe:
        return max(safe, key=lambda k: scores[k]["val_psnr"])
    return max(scores, key=lambda k: scores[k]["sharp"])


def candidates(steps: list[int]) -> dict[str, list[str]]:
    """{name: `deblur train export` flags}: EMA and raw weights of the last checkpoint and of each kept step."""
    where = {"last": ["--last"], **{str(s): ["--step", str(s)] for s in steps}}
    return {f"{w}@{at}": [*at_flags, *w_flags] for at, at_flags in where.items() for w, w_flags in WEIGHTS.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("variants", nargs="+")
    ap.add_argument("--run-dir-prefix", default="cpu-", help="run folder name = prefix + variant (default cpu-)")
    ap.add_argument("--run", default=None, help="the run folder (name or path) of the one variant given, instead")
    ap.add_argument("--steps", default="", help="kept checkpoint steps to score besides the last, e.g. 4000,5000")
    ap.add_argument("--ensemble", type=int, default=2, help="self-ensemble passes to score with (default 2, as deblur)")
    ap.add_argument("--dry-run", action="store_true", help="score and print; export nothing")
    args = ap.parse_args()
    if args.run and len(args.variants) > 1:
        ap.error("--run names the run of one variant")
    flags_of = candidates([int(s) for s in args.steps.split(",") if s.strip()])
    root = Path(__file__).resolve().parent.parent
    scratch = Path(tempfile.mkdtemp())
    try:
        shutil.copy(root / "weights_manifest.json", scratch / "manifest.json")
        for variant in args.variants:
            run = args.run or args.run_dir_prefix + variant
            scores = {}
            for i, (name, flags) in enumerate(flags_of.items()):
                deblur("train", "export", run, "--name", variant, "--weights-dir", str(scratch / str(i)),
                       "--manifest", str(scratch / "manifest.json"), *flags)
                weights = scratch / str(i) / f"{variant}.safetensors"
                blurred, sharp = chelsea(variant, weights, args.ensemble)
                scores[name] = {"val_psnr": val_psnr(variant, weights, args.ensemble), "chelsea_blurred": blurred,
                                "sharp": sharp}
                print(json.dumps({"variant": variant, "candidate": name, **scores[name]}), flush=True)
            choice = pick(scores)
            print(json.dumps({"variant": variant, "ensemble": args.ensemble, "choice": choice}))
            if not args.dry_run:
                print(deblur("train", "export", run, "--name", variant, *flags_of[choice]).strip())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
