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
    """How to restore: travels as one object from a command to the engine (``load_model(**settings.engine())``)."""

    ensemble: int = 2  # self-ensemble passes (engine.ENSEMBLE_SIZES)
    strength: float = 1.0  # share of the network's change applied (engine.STRENGTH_RANGE)
    tile: str = "auto"  # auto | N pixels | 0 (never)
    tile_mode: str = "plain"  # plain | global-stats (engine.Restorer)
    device: str = "auto"
    precision: str = "auto"

    def engine(self) -> dict:
        """The keyword arguments of ``inference.api.load_model`` and ``engine.Restorer`` that these settings fill."""
        return {"device": self.device, "precision": self.precision, "tile": self.tile, "tile_mode": self.tile_mode,
                "ensemble": self.ensemble, "strength": self.strength}


DEFAULTS = RestoreSettings()
