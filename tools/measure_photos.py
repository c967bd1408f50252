"""Score weights on held-out real photos with `deblur`'s default settings: the numbers issue #13 asks of a file.

Three fixed sets made from the validation photos (`deblur photos fetch --split val`) by `deblur synth --photos`
with seeds no training run uses, plus the already-sharp `chelsea` (JPEG q90):

    python tools/measure_photos.py --make-sets --photos ~/deblur-photos/val --sets ~/deblur-photos/val-sets
    python tools/measure_photos.py -m bag-compact [--weights FILE] --sets ~/deblur-photos/val-sets [--json out.json]

For each set it prints the mean gain (output PSNR minus input PSNR), the worst image's gain and how many images
improved. Runs in this process through the library (`deblur_cli.eval.held_out_photos` holds the sets and the
measurement), on the default two-pass self-ensemble unless --ensemble says otherwise.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from deblur_cli.eval.held_out_photos import PHOTO_SETS, VAL_MIX, make_photo_sets, measure_photo_sets


def print_result(r: dict) -> None:
    print(f"{r['variant']} ({r['weights']}), {r['ensemble']} pass(es), strength {r['strength']:g}")
    print("| set | input -> output PSNR | gain | worst | improved |\n|---|---|---:|---:|---:|")
    for name in PHOTO_SETS:
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
        print("\n".join(make_photo_sets(args.photos, args.sets)))
        return
    result = measure_photo_sets(args.model, args.weights, args.sets, args.ensemble, args.strength)
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
