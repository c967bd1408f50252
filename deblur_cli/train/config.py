"""Training configs: one TOML file per experiment, validated into dataclasses.

A paper table is a list of configs (BasicSR's lesson), but unlike BasicSR the file is checked before any
work starts: an unknown key, a wrong type or an unknown variant stops with one line naming the file and
the key. A config may ``extends = "<preset>"`` (or ``"./other.toml"``): tables merge key by key, arrays
(such as ``[[losses]]``) replace the parent's. The recipe hash is taken over the merged result, so two
files that resolve to the same experiment hash the same.

Presets are the ``.toml`` files under ``deblur_cli/configs``; a preset's name is its path there without
the suffix (``004-table1-bag``, ``cpu/bag-compact``). Files whose name starts with ``_`` are shared bases,
not presets. The recipe hash leaves out ``description`` and ``[paper]`` (notes, not training). This module
imports no torch.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from .. import registry
from ..data.mix import photo_mix, synth_config
from ..presets import (CONFIG_DIR, list_presets, merge_tables, preset_path,  # noqa: F401 (re-exported)
                       presets_for_variant, resolve_file)
from .schedule import SCHEDULES
from .vgg_layers import VGG19_LAYERS
from .schema import (ADVERSARIAL_LOSSES, DATA_KINDS, LOSS_KEYS, PIXEL_LOSSES, ConfigError,  # noqa: F401 (re-exported)
                     DataConfig, DiscriminatorConfig, LossConfig, ModelConfig, OptimConfig, PaperConfig,
                     TrainConfig, TrainSection, ValConfig, build_section, coerce)

# --- loading ---------------------------------------------------------------------------------------------

def config_name(path: Path) -> str:
    try:
        return path.resolve().relative_to(CONFIG_DIR).with_suffix("").as_posix()
    except ValueError:
        return path.stem


def load_config(path: str | Path) -> TrainConfig:
    path = Path(path)
    resolved = resolve_file(path)
    return parse_config(resolved, path=path, name=config_name(path))


def load_preset(name: str) -> TrainConfig:
    return load_config(preset_path(name))


def recipe_hash(resolved: dict) -> str:
    """sha256 of what trains: the merged config without its description and [paper] notes."""
    recipe = {k: v for k, v in resolved.items() if k not in ("description", "paper")}
    canonical = json.dumps(recipe, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# Keys a run may change between sessions: how long and how often, not what is trained.
# The pair engine and compiling change how fast, not what: a run started on one may resume on the other.
BOOKKEEPING = {"train": ("max_steps", "val_every", "ckpt_every", "keep_every", "log_every", "time_budget",
                         "compile"),
               "data": ("workers", "engine")}


def resume_hash(resolved: dict) -> str:
    """:func:`recipe_hash` without the :data:`BOOKKEEPING` keys: equal means a run can resume."""
    trimmed = {k: ({kk: vv for kk, vv in v.items() if kk not in BOOKKEEPING.get(k, ())} if isinstance(v, dict) else v)
               for k, v in resolved.items()}
    return recipe_hash(trimmed)


def parse_config(resolved: dict, path: Path, name: str) -> TrainConfig:
    """Validate a merged TOML document; every error names ``path`` and the offending key."""
    top = ("description", "model", "discriminator", "data", "losses", "optim", "train", "paper")
    unknown = sorted(set(resolved) - set(top))
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r} (allowed: extends, {', '.join(top)})")
    if "model" not in resolved:
        raise ConfigError(f"{path}: missing required table [model]")
    model = build_section(ModelConfig, resolved["model"], f"{path}: [model]")
    disc = (build_section(DiscriminatorConfig, resolved["discriminator"], f"{path}: [discriminator]")
            if "discriminator" in resolved else None)
    data_table = dict(resolved.get("data", {}))
    val = build_section(ValConfig, data_table.pop("val", {}), f"{path}: [data.val]")
    data = build_section(DataConfig, data_table, f"{path}: [data]", val=val)
    raw_losses = resolved.get("losses", [])
    if not isinstance(raw_losses, list) or not raw_losses:
        raise ConfigError(f"{path}: [[losses]]: give at least one loss as an array of tables")
    losses = tuple(_loss(item, f"{path}: [[losses]] #{i + 1}") for i, item in enumerate(raw_losses))
    optim = build_section(OptimConfig, resolved.get("optim", {}), f"{path}: [optim]")
    train = build_section(TrainSection, resolved.get("train", {}), f"{path}: [train]")
    paper = build_section(PaperConfig, resolved.get("paper", {}), f"{path}: [paper]")
    description = coerce(resolved.get("description", ""), str, f"{path}: description")
    cfg = TrainConfig(name=name, path=path, description=description, model=model, discriminator=disc,
                      data=data, losses=losses, optim=optim, train=train, paper=paper,
                      resolved=resolved, sha256=recipe_hash(resolved), resume_key=resume_hash(resolved))
    _check_semantics(cfg)
    return cfg


def with_seed(cfg: TrainConfig, seed: int) -> TrainConfig:
    """``cfg`` with ``[train] seed = seed`` (`deblur train --seed`): a recipe of its own, with its own hash, so
    runs of two seeds never resume each other."""
    return parse_config(merge_tables(cfg.resolved, {"train": {"seed": seed}}), cfg.path, cfg.name)


def _loss(item: Any, where: str) -> LossConfig:
    if not isinstance(item, dict) or "type" not in item:
        raise ConfigError(f"{where}: each loss needs a `type` ({', '.join(LOSS_KEYS)})")
    kind = item["type"]
    if kind not in LOSS_KEYS:
        raise ConfigError(f"{where} type: unknown loss {kind!r} (known: {', '.join(LOSS_KEYS)})")
    allowed = {"type", "weight", *LOSS_KEYS[kind]}
    extra = sorted(set(item) - allowed)
    if extra:
        raise ConfigError(f"{where}: key {extra[0]!r} does not apply to a {kind} loss "
                          f"(allowed: {', '.join(sorted(allowed))})")
    return build_section(LossConfig, item, where)


def _check_semantics(cfg: TrainConfig) -> None:
    p = cfg.path

    def need(ok: bool, message: str) -> None:
        if not ok:
            raise ConfigError(f"{p}: {message}")

    for section, variant, kind in (("model", cfg.model.variant, "generator"),
                                   ("discriminator", cfg.discriminator and cfg.discriminator.variant,
                                    "discriminator")):
        if variant is None:
            continue
        try:
            spec = registry.get(variant)
        except registry.UnknownVariantError as exc:
            raise ConfigError(f"{p}: [{section}] variant: {exc}") from None
        need(spec.kind == kind, f"[{section}] variant: {variant!r} is a {spec.kind}, not a {kind}")

    adversarial = [l for l in cfg.losses if l.type in ADVERSARIAL_LOSSES]
    need(len(adversarial) <= 1, "[[losses]]: at most one adversarial loss (wgan_gp, bce or hinge)")
    need(bool(cfg.content_losses), "[[losses]]: give at least one content loss (" + ", ".join(PIXEL_LOSSES) + ")")
    need(not adversarial or cfg.discriminator is not None,
         f"[[losses]] {adversarial[0].type if adversarial else ''}: an adversarial loss needs a [discriminator]")
    need(adversarial or cfg.discriminator is None,
         "[discriminator] is given but no adversarial loss uses it (add wgan_gp, bce or hinge to [[losses]])")
    for loss in cfg.losses:
        need(loss.weight > 0, f"[[losses]] {loss.type} weight: must be > 0 (remove the entry to turn it off)")
        need(loss.n_critic >= 1, f"[[losses]] {loss.type} n_critic: must be >= 1")
        if loss.type == "multiscale_l2":
            need(len(loss.scale_weights) > 0 and all(isinstance(k, (int, float)) for k in loss.scale_weights),
                 "[[losses]] multiscale_l2 scale_weights: give one number k_i per output scale")
        if loss.type == "perceptual":
            need(loss.layer in VGG19_LAYERS,
                 f"[[losses]] perceptual layer: unknown VGG19 layer {loss.layer!r} (e.g. conv3_3, relu3_3)")

    d = cfg.data
    need(d.kind in DATA_KINDS, f"[data] kind: {d.kind!r} is not one of {', '.join(DATA_KINDS)}")
    need(d.kind != "pairs" or (d.blur_dir and d.sharp_dir), "[data] kind = 'pairs' needs blur_dir and sharp_dir")
    need(d.batch >= 1, "[data] batch: must be >= 1")
    need(d.workers >= 0, "[data] workers: must be >= 0")
    need(d.engine in ("torch", "numpy"), f"[data] engine: {d.engine!r} is not one of torch, numpy")
    need(cfg.train.compile in ("auto", "on", "off"),
         f"[train] compile: {cfg.train.compile!r} is not one of auto, on, off")
    need(d.crop is None or d.crop >= 8, "[data] crop: must be >= 8 (or \"none\")")
    need(d.size is None or d.crop is None or d.size >= d.crop, "[data] size: must be >= crop")
    motions = ("mixed", "blurred", "shake", "objects", "kernel", "none")  # deblur_cli.data.synth.MOTIONS
    need(d.motion in motions, f"[data] motion: {d.motion!r} is not one of {', '.join(motions)}")
    need(0 < d.scale <= 1, "[data] scale: must be in (0, 1]")
    need(0 <= d.procedural_share <= 1, "[data] procedural_share: a share in [0, 1]")
    for table, check in (("synth", synth_config), ("photos", photo_mix)):
        try:
            check(getattr(d, table))
        except ValueError as e:
            need(False, f"[data] {table}: {e}")
    v = d.val
    need(v.kind in DATA_KINDS + ("none",), f"[data.val] kind: {v.kind!r} is not one of "
         f"{', '.join(DATA_KINDS + ('none',))}")
    need(v.kind == "none" or v.count >= 1, "[data.val] count: must be >= 1")
    need(not (v.kind == d.kind and d.kind in ("synthetic", "photos", "noise") and v.seed == d.seed),
         "[data.val] seed: must differ from [data] seed, or validation would repeat training images")

    o = cfg.optim
    need(len(o.betas) == 2 and all(isinstance(b, (int, float)) and 0 <= b < 1 for b in o.betas),
         "[optim] betas: give two numbers in [0, 1)")
    need(o.lr > 0 and (o.lr_d is None or o.lr_d > 0), "[optim] lr: must be > 0")
    need(o.schedule in SCHEDULES, f"[optim] schedule: one of {', '.join(SCHEDULES)}")
    need(0 <= o.decay_start < 1, "[optim] decay_start: a fraction in [0, 1)")
    need(isinstance(o.warmup, int) and 0 <= o.warmup, "[optim] warmup: a number of steps >= 0")
    need(0 <= o.floor <= 1, "[optim] floor: a fraction of lr in [0, 1]")

    t = cfg.train
    need(t.max_steps >= 1, "[train] max_steps: must be >= 1")
    need(min(t.val_every, t.ckpt_every, t.log_every) >= 1, "[train] val_every/ckpt_every/log_every: must be >= 1")
    need(t.keep_every >= 0, "[train] keep_every: must be >= 0 (0 keeps only the latest checkpoint)")
    need(0 <= t.ema < 1, "[train] ema: a decay in [0, 1) (0 turns EMA off)")
    need(t.amp in ("off", "bf16", "fp16"), "[train] amp: off, bf16 or fp16")
    need(t.best_by in ("psnr", "l1"), "[train] best_by: psnr or l1")
    if t.time_budget:
        try:
            parse_duration(t.time_budget)
        except ValueError as exc:
            raise ConfigError(f"{p}: [train] time_budget: {exc}") from None


def parse_duration(text: str | float | int) -> float:
    """Seconds from ``3600``, ``"90m"``, ``"1.5h"``, ``"45s"`` or ``"1h30m"``."""
    if isinstance(text, (int, float)):
        return float(text)
    s = text.strip().lower()
    try:
        return float(s)
    except ValueError:
        pass
    parts = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?", s)
    if not s or parts is None:
        raise ValueError(f"cannot read duration {text!r} (use seconds, or e.g. 90m, 1.5h, 1h30m)")
    h, m, sec = (float(g) if g else 0.0 for g in parts.groups())
    return h * 3600 + m * 60 + sec
