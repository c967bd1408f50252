"""The procedural training mix: shares of each kind of pair and the degradation levels.

Its own torch-free module so that a training config's ``[data] synth`` table can be checked against these fields
without importing the generator (which needs torch).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SynthConfig:
    """Shares of each kind of pair and the degradation levels; defaults are the training mix."""

    p_sharp: float = 0.4  # near-zero blur (< 0.5 px): teaches "leave it alone"
    p_kernel: float = 0.15  # uniform random-trajectory kernel instead of rendered motion
    p_objects: float = 0.35  # independently moving objects over a (possibly shaking) background
    max_extent: float = 28.0  # largest blur path in pixels
    p_noise: float = 0.6
    p_jpeg: float = 0.4
    jpeg_quality: tuple[int, int] = (70, 95)
    p_highlights: float = 0.12
    frames: tuple[int, int] = (7, 23)
    lens_sigma: tuple[float, float] = (0.0, 1.2)  # Gaussian lens PSF in px, shared by input and target
    p_fibres: float = 0.0  # share of leaves textured with fur/grass-like strands (scenes.fibre_field); 0 = v4 scenes
    p_warp: float = 0.0  # chance that a scene's leaves are bent by a smooth random warp; 0 = v4 scenes


def synth_config(table: dict) -> SynthConfig:
    """``SynthConfig`` with the defaults overridden by ``table`` (a config's ``[data] synth``); ValueError names
    the first bad key. Pairs are tuples of two numbers, shares lie in [0, 1]."""
    fields = SynthConfig.__dataclass_fields__
    values = {}
    for key, value in table.items():
        if key not in fields:
            raise ValueError(f"unknown key {key!r} (allowed: {', '.join(fields)})")
        default = getattr(SynthConfig, key)
        if isinstance(default, tuple):
            kind = type(default[0])
            if (not isinstance(value, (list, tuple)) or len(value) != 2
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
                    or value[0] > value[1]):
                raise ValueError(f"{key}: give [low, high], two numbers with low <= high")
            values[key] = (kind(value[0]), kind(value[1]))
        else:
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ValueError(f"{key}: expected a number, got {value!r}")
            if key.startswith("p_") and not 0 <= value <= 1:
                raise ValueError(f"{key}: a share in [0, 1], got {value}")
            values[key] = float(value)
    return SynthConfig(**values)
