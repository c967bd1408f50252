"""The non-blind reference: how much deconvolution gains when it is *given* the true kernel.

A blind network has to find the blur and undo it; Wiener and Richardson-Lucy deconvolution are handed the kernel
that made the blur. On a set of uniformly blurred photos their gain says how far "the blur is known" lies above a
network's, which makes a network's figure readable (shared/DATA_AND_METRICS.md: +2.5 dB Wiener, +2.7 dB
Richardson-Lucy on the earlier kernel set, against +0.08 dB for the best unsharp mask).

Choices:
- Deconvolution runs in linear light (gamma 2.2), where the photo engine applied the kernel
  (:func:`deblur_cli.data.synth.render.convolve_linear`), on each channel; the result is clipped to [0, 1] and
  scored like a network's output (8-bit PSNR, :func:`deblur_cli.measure.metrics.psnr`).
- Borders: the image is extended by mirroring so that its periodic continuation is continuous (the kernel's size
  mirrored before it, the whole image mirrored after it). Wiener works in the Fourier domain, where a plain reflect
  pad still leaves a jump where the padded image wraps around; on small test crops that jump rang through the
  whole image (-9 dB on one crop at balance 0.003, against +3.9 dB with the continuous extension).
- Wiener's balance depends on the noise and JPEG of a set, so the reference tries 0.003, 0.01, 0.03 and 0.1 and
  reports the balance that gains most on the set: an optimistic reference, tuned on the images it scores.
  Richardson-Lucy runs 10 iterations (more amplified noise and JPEG blocks until one image was destroyed at 40).
- scikit-image implements both and is a test/research extra (``pip install -e .[test]``), imported only here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

WIENER_BALANCES = (0.003, 0.01, 0.03, 0.1)
RL_ITERATIONS = 10
METHODS = ("wiener", "richardson-lucy")


def _periodic_extension(image: np.ndarray, pad: int) -> tuple[np.ndarray, tuple[slice, slice]]:
    h, w = image.shape[:2]
    extended = np.pad(image, ((pad, h + pad), (pad, w + pad), (0, 0)), mode="symmetric")
    return extended, (slice(pad, pad + h), slice(pad, pad + w))


def deconvolve(blurred: np.ndarray, kernel: np.ndarray, method: str, balance: float = 0.01) -> np.ndarray:
    """HxWx3 sRGB in [0, 1] deconvolved by ``kernel`` (which sums to 1) in linear light; ``balance`` is Wiener's."""
    try:
        from skimage import restoration
    except ImportError:  # pragma: no cover - the test extra installs it
        raise RuntimeError("the non-blind reference needs scikit-image: pip install -e '.[test]'") from None
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    import torch

    from ..data.synth.render import to_linear, to_srgb

    linear = to_linear(torch.from_numpy(np.ascontiguousarray(blurred, dtype=np.float64))).numpy()
    padded, inside = _periodic_extension(linear, kernel.shape[0])
    psf = kernel.astype(np.float64)
    channels = []
    for c in range(3):
        if method == "wiener":
            out = restoration.wiener(padded[..., c], psf, balance=balance, clip=False)
        else:
            out = restoration.richardson_lucy(padded[..., c], psf, num_iter=RL_ITERATIONS, clip=False)
        channels.append(out[inside])
    restored = np.clip(np.stack(channels, axis=-1), 0.0, 1.0)
    return to_srgb(torch.from_numpy(restored)).numpy().astype(np.float32)


@dataclass(frozen=True)
class NonBlindResult:
    method: str  # "wiener (balance 0.01)" or "richardson-lucy (10 iterations)"
    gain: float  # mean over images of output PSNR minus input PSNR, dB
    worst: float
    n: int


def kernel_pairs(set_dir: Path) -> list[tuple[Path, Path, Path]]:
    """(blur, sharp, kernel) paths of every pair under a GoPro-layout set (its root or one split's folder) that
    records its true kernel."""
    kernels = sorted(Path(set_dir).glob("*/kernel/*.npy")) or sorted(Path(set_dir).glob("*/*/kernel/*.npy"))
    return [(k.parent.parent / "blur" / f"{k.stem}.png", k.parent.parent / "sharp" / f"{k.stem}.png", k)
            for k in kernels]


def nonblind_reference(set_dir: Path, methods: tuple[str, ...] = METHODS, limit: int | None = None
                       ) -> dict[str, NonBlindResult]:
    """Each method's gain on the pairs of ``set_dir`` that carry their kernel (the first ``limit``); {} when none
    do."""
    import torch

    from ..images import read_image
    from ..measure.metrics import psnr

    pairs = kernel_pairs(set_dir)[:limit]
    if not pairs:
        return {}
    tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None]  # noqa: E731
    settings = {"wiener": [(f"wiener (balance {b:g})", {"balance": b}) for b in WIENER_BALANCES],
                "richardson-lucy": [(f"richardson-lucy ({RL_ITERATIONS} iterations)", {})]}
    gains: dict[str, dict[str, list[float]]] = {m: {name: [] for name, _ in settings[m]} for m in methods}
    for blur_path, sharp_path, kernel_path in pairs:
        blurred, sharp = read_image(blur_path).rgb, read_image(sharp_path).rgb
        kernel = np.load(kernel_path, allow_pickle=False)
        before = float(psnr(tensor(blurred), tensor(sharp)))
        for m in methods:
            for name, extra in settings[m]:
                after = float(psnr(tensor(deconvolve(blurred, kernel, m, **extra)), tensor(sharp)))
                gains[m][name].append(after - before)
    best = {m: max(gains[m].items(), key=lambda item: np.mean(item[1])) for m in methods}
    return {m: NonBlindResult(name, float(np.mean(g)), float(min(g)), len(g)) for m, (name, g) in best.items()}
