"""What the self-ensemble (`deblur --ensemble N`) does to each bundled file, measured as the README reports it.

For N in 1, 2, 4: `deblur eval --ensemble N` on the held-out blurred split (seed 999) and the near-sharp pairs
(seed 998) that tools/measure_bundled.py uses, and the `chelsea` check (tools/check_transfer.py) with N passes,
all in this process through the library (`deblur_cli.eval.held_out`, `deblur_cli.eval.transfer_check`).
Prints a markdown table of gains in dB (output PSNR minus input PSNR).

    python tools/measure_ensemble.py -m bag-compact,rir-compact [--sizes 1,2,4]
"""

from __future__ import annotations

import argparse

from deblur_cli.cli.errors import friendly_errors
from deblur_cli.eval.held_out import score_set
from deblur_cli.eval.transfer_check import run_transfer_check, split_gains


@friendly_errors
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-m", "--models", required=True)
    ap.add_argument("--sizes", default="1,2,4")
    args = ap.parse_args()
    print("| variant | passes | held-out blurred | near-sharp | `chelsea` blurred: mean (worst) | `chelsea` sharp |")
    print("|---|---:|---:|---:|---|---:|")
    for variant in args.models.split(","):
        for n in (int(s) for s in args.sizes.split(",")):
            gains = []
            for name in ("synthetic-blurred", "synthetic-near-sharp"):
                r = score_set(variant, name, ensemble=n)
                gains.append(r["psnr"] - r["input_psnr"])
            blurred, sharp = split_gains(run_transfer_check(variant, ensemble=n))
            print(f"| {variant} | {n} | {gains[0]:+.2f} | {gains[1]:+.2f} | "
                  f"{sum(blurred) / len(blurred):+.2f} ({min(blurred):+.2f}) | {sharp:+.2f} |", flush=True)


if __name__ == "__main__":
    main()
