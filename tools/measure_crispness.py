"""How crisp are a photo and the generator's sharp targets? The share of gradient energy a Gaussian blur of sigma
0.7 px removes: near 1 for 1-pixel detail, near 0 for an image that is already soft.

Compares scikit-image's `chelsea` with the sharp targets of near-sharp procedural pairs at fixed lens PSF widths
(`SynthConfig.lens_sigma`), to see whether the training targets are as crisp as a photo (docs/weights-research.md).

    python tools/measure_crispness.py [--n 12] [--sigmas 0,0.4,0.8,1.2]
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.ndimage import gaussian_filter

from deblur_cli.data.synth import SynthConfig, make_pair


def crispness(image: np.ndarray, sigma: float = 0.7) -> float:
    gray = image.mean(-1)

    def energy(x):
        return np.mean(np.diff(x, axis=0) ** 2) + np.mean(np.diff(x, axis=1) ** 2)

    return float(1 - energy(gaussian_filter(gray, sigma)) / energy(gray))


def main() -> None:
    from skimage import data

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=12, help="procedural targets per lens width")
    ap.add_argument("--sigmas", default="0,0.4,0.8,1.2")
    args = ap.parse_args()
    print(f"chelsea: {crispness(data.chelsea().astype(np.float32) / 255):.3f}")
    for s in (float(v) for v in args.sigmas.split(",")):
        cfg = SynthConfig(lens_sigma=(s, s))
        values = [crispness(make_pair(np.random.default_rng(i), 192, "none", cfg)[1]) for i in range(args.n)]
        q1, med, q3 = np.percentile(values, [25, 50, 75])
        print(f"procedural target, lens sigma {s}: median {med:.3f} (quartiles {q1:.3f} to {q3:.3f})")


if __name__ == "__main__":
    main()
