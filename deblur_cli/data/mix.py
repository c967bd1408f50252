"""The training mixes: shares of each kind of pair and the degradation levels, for procedural scenes
(``SynthConfig``) and for real photos (``PhotoMix``).

Their own torch-free module so that a training config's ``[data] synth`` and ``[data] photos`` tables can be
checked against these fields without importing the generators (which need torch).
"""

from __future__ import annotations

from dataclasses import dataclass

ANCHORS = ("middle", "mean")  # synth/motion.py: where the sharp target sits on a motion path


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
    anchor: str = "middle"  # the target is the middle sub-frame, as GoPro's (synth/motion.py, ANCHORS)


@dataclass(frozen=True)
class PhotoMix:
    """Real-photo pairs (:mod:`.photo_pairs`): shares of each kind, blur sizes, scale and crop selection."""

    p_sharp: float = 0.3  # near-sharp (< 0.5 px of motion)
    p_kernel: float = 0.25  # uniform random-trajectory kernel (DeblurGAN's synthesis)
    p_objects: float = 0.1  # a region of another photo moving over a (possibly shaking) photo
    max_extent: float = 20.0  # largest blur path in pixels, at the photo's drawn size
    min_extent: float = 2.0  # smallest blur path of a blurred (not near-sharp) pair
    # extents are min + (max - min) * u ** extent_power: 1.5 draws small blurs more often, 1 covers the range evenly
    extent_power: float = 1.5
    megapixels: tuple[float, float] = (0.5, 2.0)  # photos are brought to this size (log-uniform) before cropping
    candidates: int = 4  # each crop is the most detailed of this many random windows
    # share of pairs cut from an out-of-focus scene: a disc PSF of ``defocus_radius`` px on the window, input and
    # target alike (data/defocus.py); 0 draws nothing, so mixes without it make the pairs they always made
    p_defocus: float = 0.0
    defocus_radius: tuple[float, float] = (1.0, 6.0)
    p_noise: float = 0.6
    p_jpeg: float = 0.5
    jpeg_quality: tuple[int, int] = (70, 95)
    frames: tuple[int, int] = (7, 23)
    lens_sigma: tuple[float, float] = (0.0, 0.0)  # a photo's target has its own optics
    # the target is the pose at the time-average of the motion, where the streaks are centred (synth/motion.py)
    anchor: str = "mean"


def synth_config(table: dict) -> SynthConfig:
    """``SynthConfig`` with the defaults overridden by ``table`` (a config's ``[data] synth``); ValueError names
    the first bad key. Pairs are tuples of two numbers, shares lie in [0, 1]."""
    return mix_config(SynthConfig, table)


def photo_mix(table: dict) -> PhotoMix:
    """``PhotoMix`` with the defaults overridden by ``table`` (a config's ``[data] photos``)."""
    mix = mix_config(PhotoMix, table)
    if mix.candidates < 1:
        raise ValueError("candidates: must be >= 1")
    if mix.p_sharp + mix.p_kernel + mix.p_objects > 1:
        raise ValueError("p_sharp + p_kernel + p_objects: must be <= 1 (the rest is camera shake)")
    if not 0 <= mix.min_extent <= mix.max_extent:
        raise ValueError("min_extent: must lie in [0, max_extent]")
    if mix.extent_power <= 0:
        raise ValueError("extent_power: must be > 0")
    if mix.megapixels[0] <= 0:
        raise ValueError("megapixels: must be > 0")
    if not 0 <= mix.defocus_radius[0] <= mix.defocus_radius[1]:
        raise ValueError("defocus_radius: must be [low, high] with 0 <= low <= high")
    return mix


def mix_config(cls, table: dict):
    fields = cls.__dataclass_fields__
    values = {}
    for key, value in table.items():
        if key not in fields:
            raise ValueError(f"unknown key {key!r} (allowed: {', '.join(fields)})")
        default = getattr(cls, key)
        if key == "anchor":
            if value not in ANCHORS:
                raise ValueError(f"anchor: one of {', '.join(ANCHORS)}, got {value!r}")
            values[key] = value
        elif isinstance(default, tuple):
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
            values[key] = _number_type(default)(value)
    return cls(**values)


def _number_type(default):
    return int if isinstance(default, int) and not isinstance(default, bool) else float
