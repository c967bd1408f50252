"""Float images in [0, 1] to integer levels: the one rounding rule of the package.

``level = round(clip(x, 0, 1) * peak)`` with ``peak = 255`` (8 bits) or ``65535`` (16 bits), where

- clipping comes first, and NaN becomes 0 (``fmax``/``fmin`` skip NaN; a NaN cast to an integer is undefined);
- the product is taken in the image's own precision (float32 stays float32, float64 stays float64, half types
  go to float32), as BasicSR's ``tensor2img`` does: a wider product can land on the other side of a .5;
- halves round to even (``np.rint`` / ``torch.round``), never truncate: 0.6/255 is level 1.

:func:`quantize` is the numpy form (uint8 or uint16 out), used by every file writer; :func:`to_uint8` the torch
form (float64 levels out, which the metrics score and ``eval`` saves). Both give the same levels for the same
values. Core layer: numpy only at import, torch imported by :func:`to_uint8` alone.
"""

from __future__ import annotations

import numpy as np
import torch

PEAKS = {8: 255, 16: 65535}


def _floating(values) -> np.ndarray:
    values = np.asarray(values)
    if values.dtype in (np.float32, np.float64):
        return values
    return values.astype(np.float32 if values.dtype == np.float16 else np.float64)


def clip_unit(values) -> np.ndarray:
    """A float copy of ``values`` clipped to [0, 1], NaN -> 0, in the values' own precision (see module doc)."""
    values = _floating(values)
    clipped = np.fmax(values, values.dtype.type(0))
    return np.fmin(clipped, values.dtype.type(1), out=clipped)


def quantize(values, depth: int = 8) -> np.ndarray:
    """``round(clip(values, 0, 1) * peak)`` as uint8 (``depth=8``) or uint16 (``depth=16``), halves to even."""
    if depth not in PEAKS:
        raise ValueError(f"depth must be 8 or 16, not {depth!r}")
    scaled = clip_unit(values)
    scaled *= scaled.dtype.type(PEAKS[depth])
    np.rint(scaled, out=scaled)
    return scaled.astype(np.uint8 if depth == 8 else np.uint16)


def to_uint8(x):
    """Torch form: images in [0, 1] to 8-bit levels, ``round(clamp(x, 0, 1) * 255)``, as float64.

    The product is taken in the image's own precision (float32 for half types), as :func:`quantize` does.
    ``uint8`` input is returned as float64 unchanged. ``torch.round`` rounds halves to even, like numpy.
    NaN stays NaN here (the metrics then report it) rather than becoming 0 as in :func:`quantize`.
    """
    if x.dtype == torch.uint8:
        return x.to(torch.float64)
    if x.dtype not in (torch.float32, torch.float64):
        x = x.float()
    return torch.round(x.clamp(0.0, 1.0) * 255.0).to(torch.float64)
