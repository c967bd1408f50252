"""The training config's schema: one frozen dataclass per TOML table, and the type checks that fill them.

Pure data and no torch. :mod:`config` reads the files, merges ``extends`` chains and checks how the values
fit together; this module only knows what each key is and what type it must have.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..errors import ConfigError, DeblurError  # noqa: F401 (ConfigError re-exported)

PIXEL_LOSSES = ("l1", "l2", "psnr", "perceptual", "multiscale_l2")
ADVERSARIAL_LOSSES = ("wgan_gp", "bce", "hinge")
DATA_KINDS = ("synthetic", "photos", "gopro", "pairs", "noise")


# --- the schema ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelConfig:
    variant: str
    overrides: dict = field(default_factory=dict)  # architecture kwargs passed to the registry builder


@dataclass(frozen=True)
class DiscriminatorConfig:
    variant: str
    overrides: dict = field(default_factory=dict)
    conditional: bool = False  # pix2pix: D sees (blur, image) stacked, 6 channels; DeblurGAN: image only


@dataclass(frozen=True)
class ValConfig:
    kind: str = "synthetic"  # synthetic | gopro | pairs | noise | none
    count: int = 16  # images; for file datasets, evenly spaced over the set
    seed: int = 1_000_003  # procedural sets: must differ from the training seed
    crop: Optional[int] = 128  # procedural sets: image side; file sets: centre crop (none = whole image)
    root: str = ""
    split: str = "test"
    blur_kind: str = "blur"
    blur_dir: str = ""
    sharp_dir: str = ""


@dataclass(frozen=True)
class DataConfig:
    kind: str = "synthetic"
    root: str = ""  # GoPro root, or the folder of sharp photos for kind = "photos"; `--data-root` overrides
    split: str = "train"
    blur_kind: str = "blur"
    blur_dir: str = ""
    sharp_dir: str = ""
    length: int = 10_000  # procedural sets: items per epoch
    size: Optional[int] = None  # procedural sets: rendered image side (none = the crop); crops then vary
    motion: str = "mixed"  # procedural sets: mixed | shake | objects | kernel | none
    cache_dir: str = ""  # procedural sets: keep rendered pairs here ("auto" = ~/.cache/deblur/synth)
    synth: dict = field(default_factory=dict)  # procedural sets: SynthConfig fields to change, e.g. {p_fibres = 0.3}
    photos: dict = field(default_factory=dict)  # photo sets: PhotoMix fields to change, e.g. {max_extent = 16}
    procedural_share: float = 0.0  # photo sets: share of items drawn from procedural scenes instead
    crop: Optional[int] = 256  # random crop side; none = whole images (then every image must share a size)
    augment: bool = True  # random flips and transposes with the crop
    scale: float = 1.0  # resize factor applied to whole batches (report 003 trained at 640x360 = 0.5)
    batch: int = 1  # per process
    workers: int = 2
    # photo sets: "torch" draws pairs in the loader and renders them a batch at a time on the training device
    # (deblur_cli/data/pair_render.py); "numpy" makes each pair whole in the loader. Same distribution (tested),
    # so a run may switch engines between sessions: bookkeeping, not recipe (config.BOOKKEEPING)
    engine: str = "torch"
    seed: int = 0
    val: ValConfig = field(default_factory=ValConfig)


@dataclass(frozen=True)
class LossConfig:
    type: str
    weight: float = 1.0
    layer: str = "conv3_3"  # perceptual: VGG19 layer (torchvision naming, pre-activation)
    scale_weights: tuple = ()  # multiscale_l2: k_i per output scale, coarsest first
    gp_weight: float = 10.0  # wgan_gp: lambda of the gradient penalty
    n_critic: int = 1  # adversarial: discriminator updates per generator update


LOSS_KEYS = {
    "l1": (), "l2": (), "psnr": (), "perceptual": ("layer",), "multiscale_l2": ("scale_weights",),
    "wgan_gp": ("gp_weight", "n_critic"), "bce": ("n_critic",), "hinge": ("n_critic",),
}


@dataclass(frozen=True)
class OptimConfig:
    lr: float = 1e-4  # generator
    lr_d: Optional[float] = None  # discriminator; none = same as the generator
    betas: tuple = (0.9, 0.999)
    schedule: str = "linear_decay"  # linear_decay: constant, then linearly to zero | constant | cosine
    decay_start: float = 0.5  # fraction of max_steps where the linear decay begins
    warmup: int = 0  # steps of linear warm-up from zero (any schedule)
    floor: float = 0.0  # cosine: the rate at max_steps, as a fraction of lr


@dataclass(frozen=True)
class TrainSection:
    max_steps: int = 1000  # generator updates
    val_every: int = 500
    ckpt_every: int = 500
    keep_every: int = 0  # also keep the checkpoints whose step is a multiple of this (0: only the latest)
    log_every: int = 50
    ema: float = 0.0  # EMA decay of the generator weights; 0 = off
    amp: str = "off"  # off | bf16 | fp16 (CUDA only; ignored on CPU)
    channels_last: bool = False  # CUDA only
    seed: int = 0
    best_by: str = "psnr"  # psnr (higher is better) | l1 (lower is better; report 003)
    warm_start: bool = True  # start from the variant's bundled weights when there is nothing to resume
    time_budget: str = ""  # e.g. "90m"; empty = none; `--time-budget` overrides
    # torch.compile the generator: "auto" where it pays back its compile time (train/compiled.py), "on", "off";
    # $DEBLUR_COMPILE (auto|on|off) overrides it. Bookkeeping: compiled and eager steps train the same recipe
    compile: str = "auto"


@dataclass(frozen=True)
class PaperConfig:
    rows: tuple = ()  # e.g. ("004-table1:BAG",)
    source: str = ""  # sections of the paper the recipe comes from
    recipe: str = ""  # what the paper did
    differences: tuple = ()  # what we do differently, and why
    reported: dict = field(default_factory=dict)  # the paper's numbers for this row, e.g. {psnr = 29.41}


@dataclass(frozen=True)
class TrainConfig:
    name: str  # preset name or file stem; the default run folder name
    path: Path
    description: str
    model: ModelConfig
    discriminator: Optional[DiscriminatorConfig]
    data: DataConfig
    losses: tuple
    optim: OptimConfig
    train: TrainSection
    paper: PaperConfig
    resolved: dict  # the merged TOML content, for the recipe hash and the run folder
    sha256: str  # recipe hash: everything that trains (see recipe_hash)
    resume_key: str  # the same without bookkeeping, so a run can continue with a longer max_steps

    @property
    def adversarial(self) -> Optional[LossConfig]:
        return next((l for l in self.losses if l.type in ADVERSARIAL_LOSSES), None)

    @property
    def content_losses(self) -> tuple:
        return tuple(l for l in self.losses if l.type in PIXEL_LOSSES)

    def uses_perceptual(self) -> bool:
        return any(l.type == "perceptual" for l in self.losses)


# --- type checking ---------------------------------------------------------------------------------------

def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None)) + " or none"
    if tp is tuple:
        return "array"
    return getattr(tp, "__name__", str(tp))


def coerce(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value == "none":  # TOML has no null; "none" spells it
            return None
        return coerce(value, args[0], where)
    if tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif tp is str:
        ok = isinstance(value, str)
    elif tp is dict:
        ok = isinstance(value, dict)
    elif tp is tuple:
        ok = isinstance(value, list)
        value = tuple(value) if ok else value
    else:  # pragma: no cover - schema error, not user error
        raise TypeError(f"unsupported schema type {tp!r}")
    if not ok:
        raise ConfigError(f"{where}: expected {_type_name(tp)}, got {type(value).__name__} {value!r}")
    return value


def build_section(cls: type, table: Any, where: str, **extra: Any) -> Any:
    """Validate one TOML table into dataclass ``cls``: unknown keys and wrong types are errors."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, got {type(table).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.name not in extra]
    unknown = sorted(set(table) - set(names))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(names)})")
    kwargs = dict(extra)
    for f in dataclasses.fields(cls):
        if f.name in extra:
            continue
        if f.name in table:
            kwargs[f.name] = coerce(table[f.name], hints[f.name], f"{where} {f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{where}: missing required key {f.name!r}")
    return cls(**kwargs)
