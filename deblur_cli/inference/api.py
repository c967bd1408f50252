"""Library entry points: a model by name, an in-memory network, or one file in and one file out.

    from deblur_cli.inference.api import load_model, restore_file
    restorer = load_model("bag")                  # weights resolved as `deblur -m bag` does
    sharp = restorer.restore(rgb)                 # HxWx3 float32 in [0, 1]
    restore_file("photo.jpg", "photo_sharp.jpg")  # the default model; keeps orientation, alpha, 16 bits, EXIF, ICC
"""

from __future__ import annotations

import os

from ..weights.loader import load_generator
from .devices import resolve_device
from .engine import Restorer
from ..images import read_image, write_image
from .settings import DEFAULTS, default_model


def load_model(name: str | None, weights: str | os.PathLike | None = None, device: str = "auto",
               precision: str = "auto", tile: str | int = DEFAULTS.tile, **engine_options) -> Restorer:
    """The variant ``name`` with its weights (see ``deblur_cli.weights.loader``), ready to restore.

    ``name=None`` with ``weights`` uses the variant recorded in the file; without ``weights``, the default model of
    the device (``settings.default_model``: ``bag`` on a CUDA GPU, ``bag-compact`` elsewhere). ``engine_options`` go to
    :class:`Restorer` (``overlap``, ``tile_mode``, ``stats_passes``, ``channels_last``, ``ensemble``,
    ``strength``; the defaults are `deblur`'s, :data:`.settings.DEFAULTS`: two ensemble passes). The result's
    ``name`` is the variant actually used (a paper-size name without weights falls back to its compact preset)
    and ``note`` says why.
    """
    engine_options.setdefault("ensemble", DEFAULTS.ensemble)
    engine_options.setdefault("strength", DEFAULTS.strength)
    target = resolve_device(device)  # checked before the weights are read
    if name is None and weights is None:
        name = default_model(target.type)
    loaded = load_generator(name, weights=weights, device="cpu")
    restorer = Restorer(loaded.module, loaded.spec, device=target, precision=precision, tile=tile,
                        name=loaded.variant, weights_path=loaded.weights_path, **engine_options)
    restorer.note = loaded.note
    return restorer


def build_restorer(module, spec, device: str = "cpu", precision: str = "fp32", tile: str | int = "0",
                   **engine_options) -> Restorer:
    """Wrap an in-memory network (training validation, tests): no weights are read.

    Like every ``Restorer``, it puts ``module`` in eval mode and moves/casts it in place: a trainer that
    validates with it calls ``module.train()`` again afterwards.
    """
    return Restorer(module, spec, device=device, precision=precision, tile=tile, **engine_options)


def restore_file(src: str | os.PathLike, dst: str | os.PathLike, model: str | None = None,
                 weights: str | os.PathLike | None = None, device: str = "auto", precision: str = "auto",
                 tile: str | int = DEFAULTS.tile, quality: int = 95, max_pixels: int | None = None,
                 restorer: Restorer | None = None, ensemble: int = DEFAULTS.ensemble,
                 strength: float = DEFAULTS.strength) -> list[str]:
    """Deblur one image file into ``dst``; returns notes on what the output format could not hold.

    ``model=None``: the device's default model (``load_model``). Pass ``restorer`` to reuse a loaded model over many
    files.
    """
    if restorer is None:
        restorer = load_model(model, weights=weights, device=device, precision=precision, tile=tile,
                              ensemble=ensemble, strength=strength)
    picture = read_image(src, max_pixels=max_pixels)
    return write_image(dst, picture, rgb=restorer.restore(picture.rgb), quality=quality)
