"""Name -> network with its weights loaded: the one door that inference, eval and bench go through.

``load_generator`` resolves the weights (``resolve.py``), verifies and reads them (``io.py``), builds the
variant from the registry and loads the state dict strictly, so a file that does not fit the network is
an error naming both, never a half-loaded model. Parameters are cast to float32 (fp16 files are a storage
format; the engine chooses the compute precision) and the module is put in eval mode.

A file given with ``--weights`` may record its variant in the safetensors metadata (``save_weights(...,
metadata={"variant": name})`` does). A file saved for another variant is refused, with the ``-m`` to use;
without ``-m`` (``name=None``) that recorded variant is used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from .. import registry
from ..errors import UsageError
from ..registry import VariantSpec
from .errors import WeightsFormatError
from .io import load_weights, read_metadata
from .manifest import Manifest
from .resolve import resolve_weights

if TYPE_CHECKING:
    import torch
    from torch import nn


@dataclass
class LoadedGenerator:
    module: "nn.Module"  # eval mode, float32, on the requested device
    spec: VariantSpec  # of ``variant``
    weights_path: Path
    variant: str  # the variant actually used: ``deblurgan`` falls back to ``deblurgan-compact`` when only that has weights
    requested: str = ""  # the name asked for
    source: str = ""  # "explicit" | "bundled" | "cache" | "hub"
    note: str | None = None  # why ``variant`` differs from ``requested``; show it to the user


def load_generator(name: str | None, weights: str | os.PathLike | None = None, device: str = "cpu",
                   manifest: Manifest | None = None) -> LoadedGenerator:
    """Build the generator ``name`` and load its weights (see the module docstring for the rules)."""
    if weights is not None:
        recorded = read_metadata(weights).get("variant")
        if name is None:
            if recorded is None:
                raise UsageError(f"{weights}: its metadata names no variant; pass -m NAME")
            name = recorded
        elif recorded is not None and recorded != name:
            raise WeightsFormatError(
                f"{weights} holds weights for {recorded} (recorded in the file), not {name}; use -m {recorded}")
    elif name is None:
        raise UsageError("name a model with -m NAME (see `deblur models`) or give --weights FILE")
    resolved = resolve_weights(name, weights, manifest=manifest)
    spec = registry.get(resolved.variant)
    state = load_weights(resolved.path, expected_sha256=resolved.sha256)
    module = spec.build()
    _check_fits(module.state_dict(), state, resolved.path, spec.name)
    module.load_state_dict(state, strict=True)
    module = module.float().eval().to(device)
    return LoadedGenerator(module, spec, resolved.path, resolved.variant, resolved.requested, resolved.source,
                       resolved.note)


def _check_fits(expected: Mapping[str, "torch.Tensor"], found: Mapping[str, "torch.Tensor"], path: Path,
                variant: str) -> None:
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    shapes = [f"{k} {tuple(found[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items()
              if k in found and found[k].shape != v.shape]
    if not (missing or unexpected or shapes):
        return
    parts = [f"{len(items)} {label} ({', '.join(items[:3])}{', ...' if len(items) > 3 else ''})"
             for label, items in (("missing keys", missing), ("unexpected keys", unexpected),
                                  ("shape mismatches, file vs network", shapes)) if items]
    raise WeightsFormatError(f"{path} does not fit the {variant} network: {'; '.join(parts)}")
