"""Measure bundled weights the way the README and the manifest report them, and record the numbers.

For each variant: `deblur eval` on a held-out procedural test split (the training mix without its near-sharp pairs,
seed 999; training uses seed 1000, validation 1000003), on camera-shake-only pairs (seed 4242) and on near-sharp
pairs (motion "none", seed 998: the network should leave them alone), plus the transfer check on `chelsea`
(tools/check_transfer.py). Results go into the manifest entry's ``metrics`` (with the commands), and a markdown
table is printed for the README.

    python tools/measure_bundled.py -m bag-compact,deblurgan-compact [--no-record]
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys

from check_transfer import run_check, split_gains  # tools/ is on sys.path when a tool runs

SETS = {  # name -> eval arguments
    "synthetic-blurred": ["--dataset", "synthetic", "--n", "100", "--seed", "999", "--size", "256",
                          "--motion", "blurred"],
    "synthetic-shake": ["--dataset", "synthetic", "--n", "50", "--seed", "4242", "--size", "256", "--motion", "shake"],
    "synthetic-near-sharp": ["--dataset", "synthetic", "--n", "50", "--seed", "998", "--size", "256",
                             "--motion", "none"],
}


def run_eval(variant: str, args: list[str]) -> dict:
    # one pass, as the README's bundled-weights table reports; a caller's own --ensemble in args comes later and wins
    cmd = ["deblur", "eval", "-m", variant, "--ensemble", "1", *args, "--format", "csv", "--no-flops", "--tile", "0"]
    out = subprocess.run([sys.executable, "-m", "deblur_cli", *cmd[1:]], capture_output=True, text=True, check=True)
    row = next(csv.DictReader(io.StringIO(out.stdout)))
    return {"psnr": round(float(row["psnr"]), 3), "ssim": round(float(row["ssim"]), 4),
            "input_psnr": round(float(row["input_psnr"]), 3), "input_ssim": round(float(row["input_ssim"]), 4),
            "improved": int(row["improved"]), "images": int(row["images"]), "command": " ".join(cmd)}


def run_transfer(variant: str) -> dict:
    return {"cases": run_check(variant), "command": f"python tools/check_transfer.py -m {variant}"}


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
        sets = {name: run_eval(variant, a) for name, a in SETS.items()}
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
            metrics = {"dataset": "synthetic-blurred (seed 999, 100 x 256px)", **{k: v for k, v in m.items()},
                       "sets": sets, "chelsea": transfer}
            entry = load_manifest().get(variant)
            if entry is None or not entry.trained:
                raise SystemExit(f"{variant}: not trained in the manifest; export it first")
            update_entry(variant, metrics=metrics)
    print("\n| variant | held-out blurred: input -> output SSIM (gain) | shake only | near-sharp |\n|---|---|---|---|")
    print("\n".join(ssim_rows))


if __name__ == "__main__":
    main()
