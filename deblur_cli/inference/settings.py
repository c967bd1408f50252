"""How an image is restored by default: one set of settings for `deblur`, `deblur eval` and the library.

`deblur eval` exists to measure what users get, so it restores with the same defaults as `deblur` and
``load_model``: two passes of the self-ensemble (the photo and its mirror image, averaged; README
"Self-ensemble": safer on sharp photos, as strong on blurred ones), the network's change applied once, and tiles
chosen automatically. Each command's options override them one by one; eval's report prints what ran.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RestoreSettings:
    ensemble: int = 2  # self-ensemble passes (engine.ENSEMBLE_SIZES)
    strength: float = 1.0  # share of the network's change applied (engine.STRENGTH_RANGE)
    tile: str = "auto"  # auto | N pixels | 0 (never)


DEFAULTS = RestoreSettings()
