"""What a network variant is, and the table variants are registered in: pure data, no torch, no variant.

:mod:`deblur_cli.variants` declares every variant with :func:`register`; :mod:`deblur_cli.registry` imports
both and is the door the rest of the package uses (so the arrows point one way: spec <- variants <- registry).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Mapping

from .errors import UsageError


class UnknownVariantError(UsageError, KeyError):
    """Raised for a model name that is not registered (a usage error: exit code 2); the message suggests
    close names."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0])


@dataclass(frozen=True)
class VariantSpec:
    """Everything known about one registered network variant, without building it."""

    name: str
    family: str
    preset: str  # "paper" (exactly as the paper describes) or "compact" (trainable on a 2-core CPU)
    builder: str  # "module:callable", imported lazily
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    paper: str = ""  # citation, e.g. "004 (BAG) section 3.1"
    description: str = ""
    table_rows: tuple[str, ...] = ()  # e.g. ("004-table1:BAG",)
    multiple_of: int = 1  # input height/width must be a multiple of this (the engine pads)
    # Smallest height and width the network runs on; the engine pads a smaller input up to it and crops back.
    # None: two multiples of ``multiple_of``, so the deepest level of an encoder that halves the image
    # log2(multiple_of) times is at least 2x2: InstanceNorm needs more than one value per channel, and a
    # 1-pixel reflection pad more than one pixel (DeblurGAN's residual blocks, the multi-scale generator).
    min_size: int | None = None
    supports_half: bool = True
    supports_bfloat16: bool = True
    # Run in channels_last on a CPU: only where it measured faster there (docs/inference.md, "Memory layout").
    channels_last_cpu: bool = False
    # "supported": tile freely; "discouraged": per-tile statistics (InstanceNorm) or global context
    # (self-attention) make tiled output differ from whole-image output; the engine prefers whole images.
    tiling: str = "supported"
    multiscale_outputs: bool = False  # forward() returns a list of images, finest last
    kind: str = "generator"  # or "discriminator"

    def __post_init__(self) -> None:
        if self.min_size is None:
            object.__setattr__(self, "min_size", 2 * max(1, self.multiple_of))

    def build(self, **overrides: Any):
        """Instantiate the network (imports torch and the family module)."""
        module_name, _, attr = self.builder.partition(":")
        factory = getattr(importlib.import_module(module_name), attr)
        return factory(**{**dict(self.kwargs), **overrides})


_REGISTRY: dict[str, VariantSpec] = {}


def register(spec: VariantSpec) -> VariantSpec:
    if spec.name in _REGISTRY:
        raise ValueError(f"variant {spec.name!r} registered twice")
    _REGISTRY[spec.name] = spec
    return spec
