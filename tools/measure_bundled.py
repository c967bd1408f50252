"""Measure a bundled file on the procedural sets and `chelsea`, as docs/results.md and the manifest report them.

For each variant: `deblur eval` on a held-out procedural test split (the training mix without its near-sharp pairs,
seed 999; training uses seed 1000, validation 1000003), on camera-shake-only pairs (seed 4242) and on near-sharp
pairs (motion "none", seed 998: the network should leave them alone), plus the transfer check on `chelsea`
(tools/check_transfer.py). Results go into the manifest entry's ``metrics`` with their commands (`deblur models
info` shows them), and the markdown tables of docs/results.md ("Quality on procedural sets and `chelsea`") are
printed. Runs in this process through the library (`deblur_cli.eval.held_out` and `deblur_cli.eval.transfer_check`),
one pass (no self-ensemble), as those tables report. The real-photo scores come from tools/measure_photos.py.

    python tools/measure_bundled.py -m bag-compact,deblurgan-compact [--no-record]
"""

from __future__ import annotations

import argparse

from deblur_cli.cli.errors import friendly_errors
from deblur_cli.eval.held_out import SETS, score_set
from deblur_cli.eval.transfer_check import run_transfer_check, split_gains


def run_transfer(variant: str) -> dict:
    return {"cases": run_transfer_check(variant), "command": f"python tools/check_transfer.py -m {variant}"}


@friendly_errors
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-m", "--models", required=True)
    ap.add_argument("--no-record", action="store_true", help="print only; leave the manifest alone")
    args = ap.parse_args()
    from deblur_cli.weights.manifest import load_manifest, update_entry

    print("| variant | held-out blurred: input -> output PSNR (gain; images improved) | shake only: input -> output "
          "(gain; improved) | near-sharp: input -> output (gain; improved) | chelsea, blurred cases: mean gain "
          "(worst) | chelsea, sharp photo |")
    print("|---|---|---|---|---|---|")
    ssim_rows = []
    for variant in args.models.split(","):
        sets = {name: score_set(variant, name, ensemble=1) for name in SETS}  # one pass, as the README's table
        ssim_rows.append(f"| {variant} | " + " | ".join(
            f"{r['input_ssim']:.4f} -> {r['ssim']:.4f} ({r['ssim'] - r['input_ssim']:+.4f})"
            for r in sets.values()) + " |")
        transfer = run_transfer(variant)
        blurred, sharp = split_gains(transfer["cases"])
        cells = " | ".join(f"{r['input_psnr']:.2f} -> {r['psnr']:.2f} ({r['psnr'] - r['input_psnr']:+.2f}; "
                           f"{r['improved']}/{r['images']} better)" for r in sets.values())
        print(f"| {variant} | {cells} | {sum(blurred) / len(blurred):+.2f} ({min(blurred):+.2f}) | {sharp:+.2f} |")
        m = sets["synthetic-blurred"]
        if not args.no_record:
            entry = load_manifest().get(variant)
            if entry is None or not entry.trained:
                raise SystemExit(f"{variant}: not trained in the manifest; export it first")
            # the real-photo scores come from tools/measure_photos.py --record: keep them
            kept = {k: v for k, v in (entry.metrics or {}).items() if k == "photos"}
            metrics = {"dataset": "synthetic-blurred (seed 999, 100 x 256px)", **{k: v for k, v in m.items()},
                       "sets": sets, "chelsea": transfer, **kept}
            update_entry(variant, metrics=metrics)
    print("\n| variant | held-out blurred: input -> output SSIM (gain) | shake only | near-sharp |\n|---|---|---|---|")
    print("\n".join(ssim_rows))


if __name__ == "__main__":
    main()
