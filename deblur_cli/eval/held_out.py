"""The held-out procedural sets on which the tools measure weights, and one variant's scores on one of them.

The README's bundled-weights table and the manifest's ``metrics`` come from these sets
(`tools/measure_bundled.py`); the held-out real photos that judge the bundled files now are in
:mod:`held_out_photos`. Training uses seed 1000 and validation seed 1000003, so none of these pairs was trained or
validated on:

- ``synthetic-blurred``: the training mix without its near-sharp pairs (seed 999, 100 x 256 px);
- ``synthetic-shake``: camera shake only (seed 4242, 50 x 256 px);
- ``synthetic-near-sharp``: motion "none" (seed 998, 50 x 256 px): the network should leave them alone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..inference.settings import SINGLE_PASS
from .eval_report import flat_row
from .eval_run import EvalOptions, Loader, evaluate_variant
from .eval_sets import EvalSet, open_dataset


@dataclass(frozen=True)
class SyntheticSet:
    n: int
    seed: int
    size: int = 256
    motion: str = "mixed"

    def args(self) -> list[str]:
        """The `deblur eval` options that open this set."""
        return ["--dataset", "synthetic", "--n", str(self.n), "--seed", str(self.seed), "--size", str(self.size),
                "--motion", self.motion]

    def open(self) -> EvalSet:
        return open_dataset("synthetic", n=self.n, seed=self.seed, size=self.size, motion=self.motion)


SETS = {
    "synthetic-blurred": SyntheticSet(100, 999, 256, "blurred"),
    "synthetic-shake": SyntheticSet(50, 4242, 256, "shake"),
    "synthetic-near-sharp": SyntheticSet(50, 998, 256, "none"),
}
SCORES = ("psnr", "ssim", "input_psnr", "input_ssim", "improved", "images")


def score_variant(variant: str, evalset: EvalSet | SyntheticSet, options: EvalOptions, *,
                  load: Loader | None = None) -> dict:
    """{psnr, ssim, input_psnr, input_ssim, improved, images} of ``variant`` on ``evalset``, rounded as
    `deblur eval` reports them (PSNR to 0.001 dB, SSIM to 0.0001). ``load`` as :func:`.eval_run.evaluate_target`'s."""
    opened = evalset.open() if isinstance(evalset, SyntheticSet) else evalset
    row = flat_row(evaluate_variant(variant, opened, options, load=load))
    return {key: row[key] for key in SCORES}


def score_set(variant: str, name: str, ensemble: int = SINGLE_PASS.ensemble,
              strength: float = SINGLE_PASS.strength) -> dict:
    """:func:`score_variant` on the held-out set ``name`` (a key of :data:`SETS`), whole images (no tiling), on
    the default device, plus ``command``: the `deblur eval` command line that prints the same numbers.
    One pass by default, as the README's bundled-weights table reports."""
    s = SETS[name]
    options = EvalOptions(restore=replace(SINGLE_PASS, ensemble=ensemble, strength=strength), flops=False)
    passes = ["--ensemble", str(ensemble), *(["--strength", f"{strength:g}"] if strength != 1.0 else [])]
    command = ["deblur", "eval", "-m", variant, *passes, *s.args(), "--format", "csv", "--no-flops", "--tile", "0"]
    return {**score_variant(variant, s, options), "command": " ".join(command)}
