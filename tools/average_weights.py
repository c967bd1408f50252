"""Average weights files of one variant into a new one: checkpoint averaging (SWA, Izmailov et al. 2018) or
interpolation between two files (WiSE-FT, Wortsman et al. 2022).

Each input may carry a weight (``FILE:0.25``); weights are normalised to sum to 1, and equal when none is given.
Tensors are summed in float64 and written in fp32. Used to test whether a blend of a run's weights keeps their
strength on blurred photos and drops their harm on sharp ones (docs/weights-research.md); the result is a candidate
for tools/check_transfer.py --weights, not a bundled file.

    python tools/average_weights.py out.safetensors a.safetensors b.safetensors c.safetensors     # SWA
    python tools/average_weights.py out.safetensors bundled.safetensors:0.5 tuned.safetensors:0.5  # WiSE-FT
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deblur_cli.weights.io import load_weights, read_metadata, save_weights


def parse_input(arg: str) -> tuple[Path, float]:
    path, sep, weight = arg.rpartition(":")
    if sep and path and weight.replace(".", "", 1).isdigit():
        return Path(path), float(weight)
    return Path(arg), 1.0


def average(inputs: list[tuple[Path, float]]) -> tuple[dict, str]:
    """(averaged tensors, variant); every file must hold the same variant and the same keys and shapes."""
    total = sum(w for _, w in inputs)
    if total <= 0:
        raise SystemExit("the weights must sum to more than 0")
    acc, variant, keys = {}, None, None
    for path, w in inputs:
        tensors = load_weights(path)
        meta = read_metadata(path)
        if variant is None:
            variant, keys = meta.get("variant"), {k: tuple(t.shape) for k, t in tensors.items()}
        elif meta.get("variant") != variant or {k: tuple(t.shape) for k, t in tensors.items()} != keys:
            raise SystemExit(f"{path}: holds {meta.get('variant')}, not the {variant} of the first file, "
                             "or other tensors")
        for k, t in tensors.items():
            acc[k] = acc.get(k, 0) + t.double() * (w / total)
    return {k: v.float() for k, v in acc.items()}, variant


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("inputs", nargs="+", help="weights files, each optionally FILE:WEIGHT")
    args = ap.parse_args()
    tensors, variant = average([parse_input(a) for a in args.inputs])
    save_weights(tensors, Path(args.out), dtype="fp32", metadata={"variant": variant})
    print(f"{args.out}: {variant}, the average of {len(args.inputs)} files")


if __name__ == "__main__":
    main()
