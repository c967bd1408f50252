"""Score weights on held-out real photos with `deblur`'s default settings: the numbers issue #13 asks of a file.

Fixed sets made from the validation photos (`deblur photos fetch`) by the photo engine with seeds no training run
uses: GoPro-scale camera shake and kernels (paths of 10-40 px on 1 MP photos), mild shake and kernels, near-sharp
photos; plus the already-sharp `chelsea` (JPEG q90):

    python tools/measure_photos.py --make-sets --photos ~/deblur-photos/val --sets ~/deblur-photos/val-sets
    python tools/measure_photos.py -m bag-compact [--weights FILE] --sets ~/deblur-photos/val-sets [--json out.json]
    python tools/measure_photos.py -m bag-compact,rir-compact --ensemble 1,2,4 --sets ...     # a sweep
    python tools/measure_photos.py -m bag-compact --strength 0.5,1,1.5,2 --sets ...
    python tools/measure_photos.py --make-sets --confirmation --photos ~/deblur-photos/val --sets ~/deblur-photos/val-sets-2
    python tools/measure_photos.py -m pix2pix-sa-gr-compact --weights CANDIDATE --confirmation --sets ~/deblur-photos/val-sets-2

For each set it prints the mean gain (output PSNR minus input PSNR), the worst image's gain and how many images
improved; on a set that records its true kernels, also what Wiener and Richardson-Lucy deconvolution gain when
given them (the non-blind reference, `deblur_cli.eval.nonblind`). Several models, pass counts (`--ensemble`) or strengths give a sweep: one table row per combination, with
the same columns. Runs in this process through the library (`deblur_cli.eval.held_out_photos` holds the sets and
the measurement), on the default two-pass self-ensemble and strength 1 unless told otherwise. It prints which
measured shipping rules the file breaks and, for any file but the default's own, where it falls short of the
default's recorded scores (`held_out_photos.against_shipped`). With `--confirmation` the folder is the
confirmation draw (the same sets with other seeds, never used to choose a file): `--make-sets` writes it, and a
file scored on it is compared with the default's bundled file scored on it in the same run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from deblur_cli.eval.held_out_photos import (ALL_SETS, VAL_MIX, against_default, confirmation_sets, make_photo_sets,
                                             measure_photo_sets, present_sets, rule_breaks)
from deblur_cli.eval.nonblind import nonblind_reference
from deblur_cli.inference.settings import DEFAULT_MODEL, DEFAULTS


def set_names(r: dict) -> list[str]:
    return [k for k in r if isinstance(r[k], dict) and "gain" in r[k]]


def print_result(r: dict, compare: bool = False, default_scores: dict | None = None) -> None:
    print(f"{r['variant']} ({r['weights']}), {r['ensemble']} pass(es), strength {r['strength']:g}")
    print("| set | input -> output PSNR | gain | worst | improved |\n|---|---|---:|---:|---:|")
    for name in set_names(r):
        s = r[name]
        print(f"| {name} | {s['input']:.2f} -> {s['output']:.2f} | {s['gain']:+.2f} | {s['worst']:+.2f} | "
              f"{s['improved']}/{s['n']} |")
    print(f"| sharp `chelsea` (JPEG q90) | | {r['sharp chelsea']:+.3f} | | |")
    breaks = rule_breaks(r)
    print("shipping rules (measured part; crops and file size apart): " +
          ("met" if not breaks else "broken: " + "; ".join(breaks)))
    if compare:
        print(against_default(r, default_scores))


def print_references(sets_dir: Path) -> None:
    """What deconvolution given the true kernel gains on each set that records its kernels."""
    for name in present_sets(sets_dir):
        for ref in nonblind_reference(sets_dir / name).values():
            print(f"| {name}: {ref.method} given the true kernel (non-blind) | | {ref.gain:+.2f} | {ref.worst:+.2f} | "
                  f"{ref.n} images |")


def sweep_header(names: list[str]) -> str:
    return ("| variant | passes | strength | " + " | ".join(names) + " | sharp `chelsea` |\n"
            "|---|---:|---:|" + "---|" * len(names) + "---:|")


def sweep_row(r: dict) -> str:
    """One row of a sweep: each set's mean gain (worst image; images improved), then the sharp `chelsea`."""
    cells = [f"{r[n]['gain']:+.2f} (worst {r[n]['worst']:+.2f}; {r[n]['improved']}/{r[n]['n']})" for n in set_names(r)]
    return (f"| {r['variant']} | {r['ensemble']} | {r['strength']:g} | " + " | ".join(cells) +
            f" | {r['sharp chelsea']:+.2f} |")


def numbers(text: str, kind: type) -> list:
    try:
        return [kind(v) for v in text.split(",")]
    except ValueError:
        raise SystemExit(f"error: {text!r}: expected comma-separated numbers") from None


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-m", "--model", default="bag", help="a variant, or several separated by commas (a sweep)")
    ap.add_argument("--weights", default=None, help="a .safetensors file (default: the variant's resolved weights)")
    ap.add_argument("--sets", type=Path, required=True, help="folder holding the sets (gopro-shake, gopro-kernel, "
                    "shake, kernel, near-sharp; those present are scored)")
    ap.add_argument("--reference", action="store_true",
                    help="also print the non-blind reference (deconvolution given the true kernels)")
    ap.add_argument("--make-sets", action="store_true", help="write the sets from --photos into --sets first")
    ap.add_argument("--confirmation", action="store_true",
                    help="--sets is the confirmation draw (other seeds): --make-sets writes it; a file scored on it is "
                    "compared with the default scored on it too")
    ap.add_argument("--photos", type=Path, help="the validation photos (with --make-sets)")
    ap.add_argument("--ensemble", default=str(DEFAULTS.ensemble),
                    help="passes, or several separated by commas (a sweep)")
    ap.add_argument("--strength", default=f"{DEFAULTS.strength:g}",
                    help="strength, or several separated by commas (a sweep)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, help="also write the result here (a list for a sweep)")
    ap.add_argument("--record", action="store_true",
                    help="store the result under metrics.photos of the variant's manifest entry (bundled weights only)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.make_sets:
        if args.photos is None:
            ap.error("--make-sets needs --photos")
        sets = confirmation_sets() if args.confirmation else ALL_SETS
        print("\n".join(make_photo_sets(args.photos, args.sets, sets)))
        return
    runs = [(m, e, s) for m in args.model.split(",") for e in numbers(args.ensemble, int)
            for s in numbers(args.strength, float)]
    if args.record and args.confirmation:
        ap.error("--record stores the first draw's scores, which the shipping rules compare; not the confirmation draw's")
    if args.record and (args.weights or any(strength != 1.0 for _, _, strength in runs)):
        ap.error("--record stores the bundled file's numbers at strength 1; drop --weights and --strength")
    if len(runs) > 1 and (args.record or args.weights):
        ap.error("--record and --weights take one model at one setting, not a sweep")
    if len(runs) == 1:
        (model, ensemble, strength), = runs
        result = measure_photo_sets(model, args.weights, args.sets, ensemble, strength)
        compare = bool(args.weights) or model != DEFAULT_MODEL  # not the default against itself
        default_scores = None
        if compare and args.confirmation:
            default_scores = measure_photo_sets(DEFAULT_MODEL, None, args.sets, ensemble, strength)
            print_result(default_scores)
        print_result(result, compare, default_scores)
        if args.reference:
            print_references(args.sets)
        if args.record:
            record(model, result, ensemble)
        results = result
    else:
        results = []
        for model, ensemble, strength in runs:
            results.append(measure_photo_sets(model, None, args.sets, ensemble, strength))
            if len(results) == 1:
                print(sweep_header(set_names(results[0])))
            print(sweep_row(results[-1]), flush=True)
        if args.reference:
            print_references(args.sets)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


def record(variant: str, result: dict, ensemble: int) -> None:
    """Keep the other metrics of the entry; the photo sets' numbers go under ``metrics.photos``."""
    from deblur_cli.weights.manifest import load_manifest, update_entry

    entry = load_manifest().get(variant)
    if entry is None or not entry.trained:
        raise SystemExit(f"{variant}: not trained in the manifest; export it first")
    command = f"python tools/measure_photos.py -m {variant} --sets VAL_SETS --ensemble {ensemble}"
    photos = {k: v for k, v in result.items() if k not in ("weights", "variant")}
    photos["targets"] = f"{VAL_MIX.anchor} pose (the sets' `anchor`)"
    update_entry(variant, metrics={**dict(entry.metrics), "photos": {**photos, "command": command}})


if __name__ == "__main__":
    main()
