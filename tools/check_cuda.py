"""Does restoring on CUDA give what restoring on the CPU gives? For each bundled variant, restore the bundled
blurred example on the CPU (fp32, the reference) and on CUDA at each precision, and print how far apart they are.

    python tools/check_cuda.py                 # needs a CUDA device; prints one row per variant and precision

Agreement, not speed: the timings it prints are single runs, with whatever else the machine is doing.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from deblur_cli.inference.api import load_model
from deblur_cli.inference.settings import RestoreSettings
from deblur_cli.images import read_image
from deblur_cli.weights.manifest import load_manifest

EXAMPLE = "examples/blur/chelsea.jpg"


def _restore(name: str, device: str, precision: str, rgb: np.ndarray) -> tuple[np.ndarray, float]:
    restorer = load_model(name, settings=RestoreSettings(device=device, precision=precision))
    restorer.restore(rgb)  # first call: kernel selection and caches
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = restorer.restore(rgb)
    if device == "cuda":
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default=EXAMPLE)
    parser.add_argument("--precisions", default="fp32,auto,bf16,fp16")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("check_cuda: no CUDA device")
    rgb = read_image(args.image).rgb
    print(f"{torch.__version__} on {torch.cuda.get_device_name()}; {args.image} {rgb.shape[1]}x{rgb.shape[0]}")
    print("variant | precision | PSNR vs CPU fp32 (dB) | max abs diff (of 255) | seconds (CPU / CUDA)")
    bundled = [name for name, entry in load_manifest().entries.items() if entry.bundled]
    for name in bundled:
        reference, cpu_s = _restore(name, "cpu", "fp32", rgb)
        for precision in args.precisions.split(","):
            try:
                out, gpu_s = _restore(name, "cuda", precision, rgb)
            except Exception as exc:  # report and go on: one precision that a variant refuses is a finding
                print(f"{name} | {precision} | error: {type(exc).__name__}: {exc}")
                continue
            diff = np.abs(out.astype(np.float64) - reference)
            psnr = 10 * np.log10(1.0 / max(float(np.mean(diff ** 2)), 1e-20))
            print(f"{name} | {precision} | {psnr:.2f} | {diff.max() * 255:.2f} | "
                  f"{cpu_s:.3f} / {gpu_s:.3f}")


if __name__ == "__main__":
    main()
