"""Library entry points: a model by name, or one file in and one file out.

    from deblur_cli.inference.api import load_model, restore_file
    from deblur_cli.inference.settings import RestoreSettings
    restorer = load_model("bag")                  # weights resolved as `deblur -m bag` does; `deblur`'s settings
    sharp = restorer.restore(rgb)                 # HxWx3 float32 in [0, 1]
    restore_file("photo.jpg", "photo_sharp.jpg")  # the default model; keeps orientation, alpha, 16 bits, EXIF, ICC
    one_pass = load_model("bag", settings=RestoreSettings(ensemble=1, device="cpu"))

An in-memory network (training's validation, tests) needs no loader: ``Restorer(network, spec, settings)``.
"""

from __future__ import annotations

import os

from ..images import read_image, write_image
from ..weights.loader import load_generator
from .devices import resolve_device
from .engine import Restorer
from .settings import DEFAULT_MODEL, DEFAULTS, RestoreSettings


def load_model(name: str | None, weights: str | os.PathLike | None = None,
               settings: RestoreSettings = DEFAULTS) -> Restorer:
    """The variant ``name`` with its weights (see ``deblur_cli.weights.loader``), ready to restore with ``settings``
    (`deblur`'s by default, :data:`.settings.DEFAULTS`: two ensemble passes, tiles when needed).

    ``name=None`` with ``weights`` uses the variant recorded in the file; without ``weights``, the default model
    (:data:`.settings.DEFAULT_MODEL`, the same on every device). The result's
    ``name`` is the variant actually used (a paper-size name without weights falls back to its compact preset)
    and ``note`` says why.
    """
    resolve_device(settings.device)  # checked before the weights are read
    if name is None and weights is None:
        name = DEFAULT_MODEL
    loaded = load_generator(name, weights=weights, device="cpu")
    restorer = Restorer(loaded.module, loaded.spec, settings, name=loaded.variant, weights_path=loaded.weights_path)
    restorer.note = loaded.note
    return restorer


def restore_file(src: str | os.PathLike, dst: str | os.PathLike, model: str | None = None,
                 weights: str | os.PathLike | None = None, settings: RestoreSettings = DEFAULTS,
                 quality: int = 95, max_pixels: int | None = None, restorer: Restorer | None = None) -> list[str]:
    """Deblur one image file into ``dst``; returns notes on what the output format could not hold.

    ``model=None``: the device's default model (``load_model``). Pass ``restorer`` to reuse a loaded model over many
    files (``model``, ``weights`` and ``settings`` are then its own).
    """
    if restorer is None:
        restorer = load_model(model, weights=weights, settings=settings)
    picture = read_image(src, max_pixels=max_pixels)
    return write_image(dst, picture, rgb=restorer.restore(picture.rgb), quality=quality)
