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
    """How to restore: one object from a command (or a library caller) to the engine, ``Restorer(network, spec,
    settings)``. Every default of the restoring path is here; a caller that wants another value says so with
    ``RestoreSettings(...)`` or ``dataclasses.replace``, never with a default of its own."""

    ensemble: int = 2  # self-ensemble passes (engine.ENSEMBLE_SIZES)
    strength: float = 1.0  # share of the network's change applied (engine.STRENGTH_RANGE)
    tile: str | int = "auto"  # auto | N pixels | 0 (never)
    tile_mode: str = "plain"  # plain | global-stats (engine.TILE_MODES)
    device: str = "auto"  # auto | cpu | cuda[:N] | mps (devices.resolve_device)
    precision: str = "auto"  # auto | fp32 | fp16 | bf16 (devices.resolve_precision)
    overlap: int | None = None  # pixels neighbouring tiles share; None: tiling.default_overlap for the tile
    stats_source: str = "tiles"  # global-stats: pooled over a plain pass of the tiles, or "downscaled"
    stats_passes: int = 0  # global-stats: full-resolution refinements (measured: they hurt, norm_stats)
    channels_last: bool | None = None  # None: as the device and variant run fastest (engine docstring)
    compile: str = "auto"  # auto | on | off: torch.compile the network (compiling.AUTO_MIN_SECONDS: when auto does)


DEFAULTS = RestoreSettings()

# The network alone, as the tools that score weights measure it: one pass (what the weights do, without the
# self-ensemble's averaging; the README's bundled-weights table and the manifest's metrics) over the whole image
# (no tiling seams in a score), eager (a score reproducible to the bit, whatever the size of the set; these tools
# restore an image per call). Training's validation and `deblur bench` start from it too.
SINGLE_PASS = RestoreSettings(ensemble=1, tile="0", compile="off")

# The model when none is named, on every device: `pix2pix-sa-gr-compact`, the long run's EMA at 135,000 steps
# (docs/train.md, "The long run"). On the held-out real photos it meets every measured shipping rule and gains five
# to thirteen times what `bag-compact` gained at GoPro's scale of blur (README "How good is it"), at the same speed
# (1.46 against 1.43 CPU-seconds per 1280x720 image on one thread, docs/bench.md). The paper-size `bag` was the
# default on CUDA for its speed there (70 ms per 1080p frame on an H200) until it was scored on the same sets: it
# gains less at GoPro's scale (+0.11 / +0.09 dB against +0.31 / +0.52) and sharpens out-of-focus content (-1.53 dB
# on average, worst -4.20, against -0.00 / -0.05), so a faster device is no reason to run it by default.
DEFAULT_MODEL = "pix2pix-sa-gr-compact"
