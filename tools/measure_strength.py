"""What `--strength` does to a variant: blurred and already-sharp `chelsea`, held-out blurred and near-sharp pairs.

Strength scales the network's change (``x + strength * (restored - x)``). Each row restores at one strength with
`deblur`'s default two-pass self-ensemble: the `chelsea` check (tools/check_transfer.py), and `deblur eval` on the
held-out procedural split (seed 999, 100 x 256 px, near-sharp pairs left out) and on near-sharp pairs (seed 998,
50 x 256 px), the sets of `tools/measure_bundled.py`; all in this process through the library
(`deblur_cli.eval.held_out`, `deblur_cli.eval.transfer_check`).

    python tools/measure_strength.py -m bag-compact [--strengths 0.5,1,1.5,2] [--ensemble 2]
"""

from __future__ import annotations

import argparse

from deblur_cli.cli.errors import friendly_errors
from deblur_cli.eval.held_out import score_set
from deblur_cli.eval.transfer_check import run_transfer_check, split_gains


def measure(variant: str, strength: float, ensemble: int) -> dict:
    blurred, sharp = split_gains(run_transfer_check(variant, ensemble=ensemble, strength=strength))
    held_out = score_set(variant, "synthetic-blurred", ensemble=ensemble, strength=strength)
    near_sharp = score_set(variant, "synthetic-near-sharp", ensemble=ensemble, strength=strength)
    return {"chelsea_blurred": blurred, "chelsea_sharp": sharp, "held_out": held_out, "near_sharp": near_sharp}


def row(strength: float, m: dict) -> str:
    def gain(r: dict) -> str:
        return f"{r['psnr'] - r['input_psnr']:+.2f} ({r['improved']}/{r['images']})"

    blurred = m["chelsea_blurred"]
    return (f"| {strength:g} | {' / '.join(f'{g:+.2f}' for g in blurred)} | {sum(blurred) / len(blurred):+.2f} | "
            f"{m['chelsea_sharp']:+.2f} | {gain(m['held_out'])} | {gain(m['near_sharp'])} |")


@friendly_errors
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-m", "--model", default="bag-compact")
    ap.add_argument("--strengths", default="0.5,1,1.5,2")
    ap.add_argument("--ensemble", type=int, default=2)
    args = ap.parse_args()
    print("| strength | `chelsea` shake 4 / 8 / 14 / 20 px / kernel | mean | `chelsea` sharp | held-out blurred "
          "(improved) | near-sharp (improved) |\n|---:|---|---:|---:|---|---|")
    for strength in (float(s) for s in args.strengths.split(",")):
        print(row(strength, measure(args.model, strength, args.ensemble)), flush=True)


if __name__ == "__main__":
    main()
