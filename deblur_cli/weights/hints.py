"""How to train a variant's weights, as one command users can paste."""

from __future__ import annotations

from ..presets import presets_for_variant


def train_command(name: str) -> str:
    """`deblur train --preset P` for the shipped config that trains ``name`` (compact presets first: they
    are the ones that train on a CPU; of those, the ones directly under cpu/, which train the bundled weights,
    before experiments in sub-folders such as cpu/004-table1/), or the general form when none ships."""
    presets = sorted(presets_for_variant(name), key=lambda p: (not p.startswith("cpu/"), p.count("/")))
    return f"deblur train --preset {presets[0]}" if presets else "deblur train --config YOUR_CONFIG.toml"
