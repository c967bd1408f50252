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

# The model when none is named depends on where it runs. On a CPU `bag-compact`: the paper-size `bag` gains 0.06-0.12
# dB more on held-out real photos (README "Bundled weights"), invisible at 100 %, for 11 times the CPU time per
# pixel. On a CUDA GPU `bag`: 70 ms per 1080p frame on an H200 (README "Speed"), so its better numbers cost nothing
# a user would notice. Other devices (MPS) keep the CPU's choice: `bag` has not been timed there.
DEFAULT_MODEL = "bag-compact"
DEFAULT_MODEL_CUDA = "bag"


def default_model(device_type: str) -> str:
    """The variant `deblur` and ``load_model(None)`` use on a device of this type ("cpu", "cuda", "mps")."""
    return DEFAULT_MODEL_CUDA if device_type == "cuda" else DEFAULT_MODEL
