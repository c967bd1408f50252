"""How well do weights trained on procedural data transfer to a real photo? The `chelsea` check.

Blurs scikit-image's `chelsea` (CC0) with our own generator at several strengths (camera shake, and a uniform
random-trajectory kernel), restores it, and scores input and output against the sharp target (PSNR of the
8-bit images). Also checks that an already-sharp photo is not made worse: the model must leave it alone.
Never used for training. `tools/check_transfer.py` prints it; the other tools (measure_bundled,
pick_export) call :func:`run_transfer_check` and report its gains.

The target of a shake blur is the middle sub-frame, as in GoPro, and that is not always where the blur is
centred: `shake 14px` lines up best with its target 2 px off in x and y. A network cannot know that offset, so
plain PSNR there mostly measures alignment. :attr:`TransferCase.aligned_gain` therefore compares input and
output each at its best integer shift (within 3 px, borders cropped); the plain gain stays the one the tools
and the README use.

scikit-image (a test extra) is imported only by :func:`chelsea`, the one function that needs it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterator

import numpy as np

from ..data.synth import blur_photo
from ..data.synth.degrade import jpeg
from ..data.synth.motion import trajectory_kernel
from ..data.synth.render import convolve_linear
from ..inference.api import load_model
from ..inference.settings import SINGLE_PASS
from ..measure.levels import quantize

REPORTED_DIGITS = 2  # dB: the tools' tables, and the manifest's recorded cases, carry gains to 0.01 dB


def psnr8(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two float images in [0, 1], each quantised to 8-bit levels first (MSE floored at 1e-10)."""
    a8, b8 = quantize(a).astype(np.float64), quantize(b).astype(np.float64)
    return float(10 * np.log10(255 ** 2 / max(np.mean((a8 - b8) ** 2), 1e-10)))


def aligned_psnr(a: np.ndarray, b: np.ndarray, radius: int = 3) -> float:
    """The best PSNR of ``a`` against ``b`` over integer shifts of up to ``radius`` pixels (borders cropped)."""
    r = radius
    core = b[r:-r, r:-r]
    return max(psnr8(a[r + dy:a.shape[0] - r + dy, r + dx:a.shape[1] - r + dx], core)
               for dy in range(-r, r + 1) for dx in range(-r, r + 1))


def chelsea() -> np.ndarray:
    """scikit-image's `chelsea` as float32 RGB in [0, 1] (needs scikit-image: ``pip install -e .[test]``)."""
    from skimage import data  # here: scikit-image is a test extra, needed only for this photo

    return data.chelsea().astype(np.float32) / 255.0


def transfer_cases(photo: np.ndarray) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(label, blurred, sharp) triples: shake at 4 strengths, a kernel blur, and the sharp photo itself."""
    for extent in (4.0, 8.0, 14.0, 20.0):
        b, s = blur_photo(np.random.default_rng(int(extent)), photo, extent=extent, degrade_input=False)
        yield f"shake {extent:.0f}px", b, s
    k = trajectory_kernel(np.random.default_rng(3), size=25, length=12.0)
    yield "kernel 12px", convolve_linear(photo, k), photo
    yield "sharp (jpeg q90)", jpeg(np.random.default_rng(0), photo, (90, 90)), photo


@dataclass(frozen=True)
class TransferCase:
    label: str
    blurred: np.ndarray
    restored: np.ndarray
    sharp: np.ndarray
    input_psnr: float
    psnr: float

    @property
    def gain(self) -> float:
        return self.psnr - self.input_psnr

    @property
    def aligned_gain(self) -> float:
        return aligned_psnr(self.restored, self.sharp) - aligned_psnr(self.blurred, self.sharp)


def check_transfer(restorer, photo: np.ndarray | None = None) -> list[TransferCase]:
    """Restore every case of ``photo`` (default: :func:`chelsea`) with ``restorer`` (anything with
    ``restore(HxWx3 float array)``, such as :func:`deblur_cli.inference.api.load_model`'s) and score it."""
    photo = chelsea() if photo is None else photo
    out = []
    for label, blurred, sharp in transfer_cases(photo):
        restored = restorer.restore(blurred)
        out.append(TransferCase(label, blurred, restored, sharp, psnr8(blurred, sharp), psnr8(restored, sharp)))
    return out


def case_rows(cases: list[TransferCase], digits: int = REPORTED_DIGITS) -> dict[str, dict]:
    """{label: {input_psnr, psnr, gain}} rounded to ``digits``, as the check's table prints them (the gain is
    the rounded difference, not the difference of the rounded PSNRs)."""
    return {c.label: {"input_psnr": round(c.input_psnr, digits), "psnr": round(c.psnr, digits),
                      "gain": round(c.gain, digits)} for c in cases}


def split_gains(rows: dict[str, dict]) -> tuple[list[float], float]:
    """(gains on the blurred cases, gain on the already-sharp photo) from :func:`case_rows`' rows."""
    blurred = [r["gain"] for case, r in rows.items() if not case.startswith("sharp")]
    sharp = next(r["gain"] for case, r in rows.items() if case.startswith("sharp"))
    return blurred, sharp


def run_transfer_check(variant: str, weights: str | None = None, ensemble: int = SINGLE_PASS.ensemble,
                       strength: float = SINGLE_PASS.strength) -> dict[str, dict]:
    """The check for ``variant`` (or the file ``weights``) on the CPU, whole images, no tiling: its
    :func:`case_rows`. ``ensemble`` and ``strength`` as `deblur --ensemble` / `--strength` (one pass by default)."""
    settings = replace(SINGLE_PASS, device="cpu", ensemble=ensemble, strength=strength)
    restorer = load_model(variant, weights=weights, settings=settings)
    return case_rows(check_transfer(restorer))
