"""Score weights on held-out real photos with `deblur`'s default settings: the numbers issue #13 asks of a file.

Three fixed sets made from the validation photos (`deblur photos fetch --split val`) by `deblur synth --photos`
with seeds no training run uses, plus the already-sharp `chelsea` (JPEG q90):

    python tools/measure_photos.py --make-sets --photos ~/deblur-photos/val --sets ~/deblur-photos/val-sets
    python tools/measure_photos.py -m bag-compact [--weights FILE] --sets ~/deblur-photos/val-sets [--json out.json]

For each set it prints the mean gain (output PSNR minus input PSNR), the worst image's gain and how many images
improved. Runs in this process through the library (`deblur_cli.eval`), on the default two-pass self-ensemble
unless --ensemble says otherwise.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from deblur_cli.data.mix import PhotoMix

SETS = {  # name -> (motion, seed, pairs, side)
    "shake": ("shake", 77001, 36, 320),
    "kernel": ("kernel", 77002, 36, 320),
    "near-sharp": ("none", 77003, 18, 320),
}


# Every validation input is a JPEG (quality 70-95), as nearly every photo a user has: without it a fifth of the
# near-sharp pairs were pixel-identical to their targets (flat sky at 70+ dB), where any change at all reads as a
# loss of several dB. Crops are the most detailed of 8 windows, so that the sets measure detail, not sky. Targets
# sit at the mean pose of the motion, as the training pairs' do (synth/motion.py); sets made before 2026-11-29's
# ninth session used the middle sub-frame (scores on the two kinds of set are not comparable for `shake`).
VAL_MIX = PhotoMix(p_jpeg=1.0, candidates=8, anchor="mean")


def make_sets(photos: Path, out: Path) -> None:
    from deblur_cli.data.writer import write_photo_gopro

    for name, (motion, seed, n, side) in SETS.items():
        write_photo_gopro(out / name, photos, n, seed, side, motion=motion, mix=VAL_MIX)
        print(f"{out / name}: {n} pairs, {side}x{side}, motion {motion}, seed {seed}")


def sharp_chelsea_gain(restorer) -> float:
    """PSNR change on scikit-image's `chelsea` as a sharp photo saved at JPEG q90 (the target is the photo): the
    `sharp (jpeg q90)` case of the transfer check, alone."""
    from deblur_cli.data.synth.degrade import jpeg
    from deblur_cli.eval.transfer_check import chelsea, psnr8

    photo = chelsea()
    inp = jpeg(np.random.default_rng(0), photo, (90, 90))
    return psnr8(restorer.restore(inp), photo) - psnr8(inp, photo)


def measure(variant: str, weights: str | None, sets: Path, ensemble: int = 2, strength: float = 1.0) -> dict:
    from deblur_cli.eval.eval_run import EvalOptions, default_load, evaluate_target
    from deblur_cli.eval.eval_sets import open_dataset
    from deblur_cli.eval.targets import Target
    from deblur_cli.inference.settings import RestoreSettings

    restore = RestoreSettings(device="cpu", tile="0", ensemble=ensemble, strength=strength)
    options = EvalOptions(restore=restore, weights=weights, flops=False)
    loaded = default_load(variant, options)
    load = lambda _variant, _options: loaded  # noqa: E731 - one model for every set
    result = {"variant": loaded.variant, "weights": loaded.weights, "ensemble": ensemble, "strength": strength}
    for name in SETS:
        evalset = open_dataset("gopro", root=str(sets / name), split="test", blur_kind="blur")
        line = evaluate_target(Target(variant, variant), evalset, options, load=load)
        gains = [s.psnr - s.input_psnr for s in line.images]
        result[name] = {"input": line.input_psnr, "output": line.psnr, "gain": float(np.mean(gains)),
                        "worst": float(min(gains)), "improved": sum(g > 0 for g in gains), "n": len(gains),
                        "ssim_gain": line.ssim - line.input_ssim}
    result["sharp chelsea"] = sharp_chelsea_gain(loaded.restorer)
    return result


def print_result(r: dict) -> None:
    print(f"{r['variant']} ({r['weights']}), {r['ensemble']} pass(es), strength {r['strength']:g}")
    print("| set | input -> output PSNR | gain | worst | improved |\n|---|---|---:|---:|---:|")
    for name in SETS:
        s = r[name]
        print(f"| {name} | {s['input']:.2f} -> {s['output']:.2f} | {s['gain']:+.2f} | {s['worst']:+.2f} | "
              f"{s['improved']}/{s['n']} |")
    print(f"| sharp `chelsea` (JPEG q90) | | {r['sharp chelsea']:+.3f} | | |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-m", "--model", default="bag")
    ap.add_argument("--weights", default=None, help="a .safetensors file (default: the variant's resolved weights)")
    ap.add_argument("--sets", type=Path, required=True, help="folder holding the shake, kernel, near-sharp sets")
    ap.add_argument("--make-sets", action="store_true", help="write the sets from --photos into --sets first")
    ap.add_argument("--photos", type=Path, help="the validation photos (with --make-sets)")
    ap.add_argument("--ensemble", type=int, default=2)
    ap.add_argument("--strength", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, help="also write the result here")
    ap.add_argument("--record", action="store_true",
                    help="store the result under metrics.photos of the variant's manifest entry (bundled weights only)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.make_sets:
        if args.photos is None:
            ap.error("--make-sets needs --photos")
        make_sets(args.photos, args.sets)
        return
    result = measure(args.model, args.weights, args.sets, args.ensemble, args.strength)
    print_result(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    if args.record:
        record(args.model, result, args)


def record(variant: str, result: dict, args: argparse.Namespace) -> None:
    """Keep the other metrics of the entry; the photo sets' numbers go under ``metrics.photos``."""
    from deblur_cli.weights.manifest import load_manifest, update_entry

    if args.weights:
        raise SystemExit("--record stores the bundled file's numbers; drop --weights")
    entry = load_manifest().get(variant)
    if entry is None or not entry.trained:
        raise SystemExit(f"{variant}: not trained in the manifest; export it first")
    command = f"python tools/measure_photos.py -m {variant} --sets VAL_SETS --ensemble {args.ensemble}"
    photos = {k: v for k, v in result.items() if k not in ("weights", "variant")}
    photos["targets"] = f"{VAL_MIX.anchor} pose (the sets' `anchor`)"
    update_entry(variant, metrics={**dict(entry.metrics), "photos": {**photos, "command": command}})


if __name__ == "__main__":
    main()
