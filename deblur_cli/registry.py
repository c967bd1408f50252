"""The single door to every network variant: name -> spec -> module.

A ``VariantSpec`` is pure data (no torch import), so ``deblur models`` and ``deblur --help`` stay fast.
``build(name)`` imports the family's module only when a network is actually needed.

Metadata on each spec is read by the rest of the package: the tiler reads ``multiple_of`` and
``tiling``, the engine ``multiple_of`` and ``min_size`` (it pads), the precision logic reads ``supports_half`` /
``supports_bfloat16``, the trainer reads ``multiscale_outputs``. Variants themselves are declared in
:mod:`deblur_cli.variants`; the spec type and the table they fill are in :mod:`deblur_cli.variant_spec`.
"""

from __future__ import annotations

import difflib
from typing import Any

from . import variants  # noqa: F401  (registers every variant on import; pure data, no torch)
from .variant_spec import _REGISTRY, UnknownVariantError, VariantSpec, register  # noqa: F401 (re-exported)


def get(name: str) -> VariantSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, _REGISTRY, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; run `deblur models` to list them"
        raise UnknownVariantError(f"unknown model {name!r}{hint}") from None


def names(kind: str | None = "generator") -> list[str]:
    return [n for n, s in _REGISTRY.items() if kind is None or s.kind == kind]


def specs(kind: str | None = "generator") -> list[VariantSpec]:
    return [get(n) for n in names(kind)]


def compact_names(kind: str = "generator") -> list[str]:
    """The compact presets: the variants this project trains and ships for CPUs."""
    return [s.name for s in specs(kind) if s.preset == "compact"]


def build(name: str, **overrides: Any):
    return get(name).build(**overrides)


def count_parameters(network: Any) -> int:
    """Parameters of a network (a torch module), or of a registered variant given by name: built on the meta
    device, so no memory for weights and no initialisation (imports torch only then)."""
    if isinstance(network, str):
        import torch  # here: the registry stays torch-free, so `deblur models` lists variants without it

        with torch.device("meta"):
            network = build(network)
    return sum(p.numel() for p in network.parameters())
