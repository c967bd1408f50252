"""What the self-ensemble (`deblur --ensemble N`) does to each bundled file, measured as the README reports it.

For N in 1, 2, 4: `deblur eval --ensemble N` on the held-out blurred split (seed 999) and the near-sharp pairs
(seed 998) that tools/measure_bundled.py uses, and `tools/check_transfer.py --ensemble N` on `chelsea`. Prints a
markdown table of gains in dB (output PSNR minus input PSNR).

    python tools/measure_ensemble.py -m bag-compact,rir-compact [--sizes 1,2,4]
"""

from __future__ import annotations

import argparse

from check_transfer import run_check, split_gains  # tools/ is on sys.path when a tool runs
from measure_bundled import SETS, run_eval


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
                r = run_eval(variant, [*SETS[name], "--ensemble", str(n)])
                gains.append(r["psnr"] - r["input_psnr"])
            blurred, sharp = split_gains(run_check(variant, ensemble=n))
            print(f"| {variant} | {n} | {gains[0]:+.2f} | {gains[1]:+.2f} | "
                  f"{sum(blurred) / len(blurred):+.2f} ({min(blurred):+.2f}) | {sharp:+.2f} |", flush=True)


if __name__ == "__main__":
    main()
