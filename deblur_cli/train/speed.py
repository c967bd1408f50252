"""`deblur bench --train` as a library: how fast each compact variant's CPU training step runs on this machine.

For each variant (by default the compact presets with bundled weights, the ones the CPU campaign trains):

- the training step of its CPU recipe (``cpu/<variant>-photos`` where it exists, else ``cpu/<variant>``; both
  extend ``cpu/_base``: batch 8 of 128x128 crops, L1, Adam, EMA 0.999): forward, the recipe's content loss
  (:class:`~deblur_cli.train.losses.ContentLoss`, which reads the finest output of a multi-scale generator, as
  the training loop does), backward, Adam step and the EMA update, on one fixed random batch. ``warmup`` steps
  untimed, then the median of ``repeat`` timed steps (wall clock, and the process's CPU time beside it);
- steps per second, training pixels per second (batch x crop x crop per step) and achieved GFLOP/s. The FLOPs
  of a step are taken as 3 x the forward FLOPs of the batch (:mod:`deblur_cli.measure.flops`, counted at the crop
  size): the backward pass computes the gradients of both the inputs and the weights of every layer, about twice
  the forward's arithmetic. That is the usual convention, not a count; norms, activations and Adam's
  element-wise update are not counted, as for inference;
- the same figures for a plain network of 3x3 convolutions and ReLUs with (about) the same forward FLOPs per
  pixel (:func:`reference_shape`), trained the same way in the same process: the arithmetic a simple, dense
  network gets from this machine. The ratio shows what a variant loses to memory traffic, normalisation,
  concatenation, attention and small layers.

Speed does not depend on trained values, so the networks are built untrained (as the recipe's generator).
The thread count is torch's current setting (``deblur bench --threads N``) and the report names it.

The data side is timed once: one batch of the photo recipe's pairs (``cpu/_photos``,
:func:`deblur_cli.data.photo_pairs.make_photo_pair` through the same dataset class training uses), made on one
core (torch at one thread, as in a data-loader worker), from a folder of photos or from small procedural
stand-in images. With the recipe's loader workers running beside the step, the data keeps up when one worker
makes a batch in no more than ``workers`` steps.
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import default_collate

from .. import registry
from ..data.datasets import PhotoDataset
from ..data.mix import photo_mix
from ..data.standins import photo_like
from ..errors import DeblurError
from ..images import write_pixels
from ..inference.devices import resolve_device
from ..measure.flops import count_flops
from ..measure.timing import device_name, time_call
from ..weights.manifest import load_manifest
from .build import build_generator, build_optimizer
from .config import ConfigError, list_presets, load_config, load_preset
from .ema import EMA
from .losses import ContentLoss
from .timed_step import training_step  # noqa: F401 (re-exported for the bench tests)

PHOTO_RECIPE = "cpu/_photos"  # the shared base of the photo campaign's presets
STANDIN_PHOTOS = 4  # procedural stand-in images for the data timing when no photos folder is given
STANDIN_SIZE = (1200, 1600)  # (H, W): about 2 MP, the largest size the photo recipe keeps


@dataclass(frozen=True)
class TrainBenchOptions:
    batch: int | None = None  # None: the recipe's
    crop: int | None = None  # None: the recipe's
    repeat: int = 10
    warmup: int = 3
    device: str = "cpu"
    reference: bool = True
    data: bool = True
    photos: str | None = None  # a folder of sharp photos for the data timing; None: procedural stand-ins
    end_to_end: bool = True  # also time synthesis alone and steps fed by the loader (speed_e2e)
    compile: bool = True  # and those steps compiled (skipped when $DEBLUR_COMPILE=off)


@dataclass
class StepBench:
    """One network's training step, timed."""

    name: str
    params: int
    forward_flops: float  # one forward pass of the whole batch at the crop size
    pixels: int  # training pixels per step: batch x crop x crop
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_seconds)

    @property
    def step_flops(self) -> float:
        """Forward + backward: 3 x the forward FLOPs (see the module docstring)."""
        return 3.0 * self.forward_flops

    @property
    def steps_per_s(self) -> float:
        return 1.0 / self.median

    @property
    def pixels_per_s(self) -> float:
        return self.pixels / self.median

    @property
    def gflops_per_s(self) -> float:
        return self.step_flops / self.median / 1e9


@dataclass
class VariantTrainBench:
    variant: str
    status: str  # "ok" | "failed"
    message: str = ""
    recipe: str = ""  # the preset whose step was timed
    step: StepBench | None = None
    reference: StepBench | None = None  # the plain-conv network of about the same forward FLOPs

    @property
    def of_reference(self) -> float | None:
        """Achieved GFLOP/s over the reference's (1.0 = as efficient as plain convolutions)."""
        if self.step is None or self.reference is None:
            return None
        return self.step.gflops_per_s / self.reference.gflops_per_s


@dataclass
class DataBench:
    source: str  # the photos folder, or a description of the stand-ins
    batch: int
    crop: int
    seconds: float  # wall clock for one batch
    cpu_seconds: float  # this process's CPU time for the same batch: the work of one core
    workers: int  # the recipe's data-loader workers

    def keeps_up(self, step_seconds: float) -> bool:
        """True when ``workers`` processes of one core each make batches at least as fast as steps use them."""
        return self.cpu_seconds <= max(1, self.workers) * step_seconds


@dataclass
class TrainBenchReport:
    device: str
    torch: str
    python: str
    threads: int
    batch: int
    crop: int
    warmup: int
    repeat: int
    results: list[VariantTrainBench]
    data: DataBench | None = None
    load_average: float | None = None  # 1-minute load when the bench started
    core_cost: list = field(default_factory=list)  # speed_e2e.CoreCost per pair engine
    synthesis: list = field(default_factory=list)  # speed_e2e.SynthRate per engine and worker count
    end_to_end: list = field(default_factory=list)  # speed_e2e.EndToEnd per variant, engine and compile


# --- which variants and which recipe ---------------------------------------------------------------------

def bundled_variants() -> list[str]:
    """The compact presets (:func:`deblur_cli.registry.compact_names`) whose trained weights ship in the package."""
    manifest = load_manifest()
    return [v for v in registry.compact_names()
            if (e := manifest.get(v)) is not None and e.trained and e.bundled]


def recipe_config(variant: str):
    """The variant's CPU training config: ``cpu/<variant>-photos`` where it exists, else ``cpu/<variant>``."""
    presets = set(list_presets())
    for name in (f"cpu/{variant}-photos", f"cpu/{variant}"):
        if name in presets:
            return load_preset(name)
    raise ConfigError(f"{variant} has no CPU recipe (cpu/{variant}.toml); --train times the CPU recipes' step")


def photo_data_config(variant: str = "bag-compact"):
    """The ``[data]`` section of the photo recipe (``cpu/_photos``), which names no variant of its own."""
    with tempfile.TemporaryDirectory(prefix="deblur-bench-") as tmp:
        path = Path(tmp) / "photos.toml"
        path.write_text(f'extends = "{PHOTO_RECIPE}"\n[model]\nvariant = "{variant}"\n', encoding="utf-8")
        return load_config(path).data


# --- the plain-conv reference ----------------------------------------------------------------------------

class PlainConvNet(nn.Module):
    """3 -> width -> (``middle`` x width -> width) -> 3 channels, 3x3 convolutions with ReLUs between."""

    def __init__(self, width: int, middle: int):
        super().__init__()
        sides = [3] + [width] * (middle + 1) + [3]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sides, sides[1:])):
            layers.append(nn.Conv2d(a, b, 3, padding=1))
            if i < len(sides) - 2:
                layers.append(nn.ReLU(inplace=True))
        self.body = nn.Sequential(*layers)
        self.width, self.middle = width, middle

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def plain_flops_per_pixel(width: int, middle: int) -> float:
    return 2.0 * 9 * (3 * width + middle * width * width + width * 3)


def reference_shape(flops_per_pixel: float, tolerance: float = 0.03) -> tuple[int, int]:
    """(width, middle layers) of a :class:`PlainConvNet` within ``tolerance`` of ``flops_per_pixel``.

    Widths are multiples of 4 from 8 to 128 (vector-friendly); among the shapes within tolerance the width
    nearest 64 wins (the inference reference's width), then the shallower one. Without any, the nearest.
    """
    shapes = [(w, m) for w in range(8, 129, 4) for m in range(0, 65)]
    error = {s: abs(plain_flops_per_pixel(*s) / flops_per_pixel - 1) for s in shapes}
    close = [s for s in shapes if error[s] <= tolerance]
    if close:
        return min(close, key=lambda s: (abs(s[0] - 64), s[1]))
    return min(shapes, key=error.__getitem__)


# --- one training step -----------------------------------------------------------------------------------

def time_step(name: str, module: nn.Module, cfg, batch: int, crop: int, device: torch.device,
              warmup: int, repeat: int, forward_flops: float) -> StepBench:
    """Time ``module`` trained with ``cfg``'s content loss, optimizer and EMA on one random batch."""
    module = module.to(device).train()
    content = ContentLoss(cfg.content_losses)
    optimizer = build_optimizer(module, cfg.optim.lr, cfg.optim.betas)
    ema = EMA(module, cfg.train.ema) if cfg.train.ema > 0 else None
    gen = torch.Generator().manual_seed(0)
    sharp = torch.rand(batch, 3, crop, crop, generator=gen)
    blur = (sharp + 0.05 * torch.randn(batch, 3, crop, crop, generator=gen)).clamp(0, 1)
    blur, sharp = blur.to(device), sharp.to(device)
    step = training_step(module, content, optimizer, ema)
    timing = time_call(lambda: step(blur, sharp), device, warmup=warmup, repeat=repeat)
    return StepBench(name, registry.count_parameters(module), forward_flops, batch * crop * crop, timing.seconds,
                     timing.cpu_seconds)


def bench_variant_training(variant: str, options: TrainBenchOptions, device: torch.device) -> VariantTrainBench:
    result = VariantTrainBench(variant, "ok")
    try:
        cfg = recipe_config(variant)
        result.recipe = cfg.name
        if cfg.uses_perceptual():
            raise DeblurError(f"{cfg.name} uses a perceptual loss, which --train does not time")
        spec = registry.get(variant)
        batch, crop = options.batch or cfg.data.batch, options.crop or cfg.data.crop or 128
        if crop % spec.multiple_of:
            raise DeblurError(f"--crop {crop} is not a multiple of {spec.multiple_of}, which {variant} needs")
        torch.manual_seed(cfg.train.seed)
        module = build_generator(cfg)
        flops = count_flops(module, crop, crop, multiple_of=spec.multiple_of).flops * batch
        result.step = time_step(variant, module, cfg, batch, crop, device, options.warmup, options.repeat, flops)
        if cfg.adversarial is not None:
            result.message = f"{cfg.name} also trains a discriminator; its step is not timed here"
        if options.reference:
            width, middle = reference_shape(flops / (batch * crop * crop))
            plain = PlainConvNet(width, middle)
            plain_flops = count_flops(plain, crop, crop).flops * batch
            # the same recipe; a multi-scale loss becomes L2 on the one output the plain network has
            plain_cfg = replace(cfg, losses=tuple(replace(l, type="l2") if l.type == "multiscale_l2" else l
                                                  for l in cfg.losses))
            result.reference = time_step(f"plain 3x3 conv, width {width}, {middle + 2} layers", plain, plain_cfg,
                                         batch, crop, device, options.warmup, options.repeat, plain_flops)
    except (DeblurError, ImportError, RuntimeError) as exc:
        result.status, result.message = "failed", str(exc)
    return result


# --- the data side ---------------------------------------------------------------------------------------

def _write_standins(folder: Path, count: int, size: tuple[int, int]) -> None:

    rng = np.random.default_rng(0)
    for i in range(count):
        write_pixels(folder / f"standin{i}.jpg", photo_like(rng, *size), quality=92)


def time_data_batch(batch: int, crop: int, photos: str | None = None, variant: str = "bag-compact") -> DataBench:
    """Make one batch of the photo recipe's pairs on one core (torch at one thread) and time it."""

    d = photo_data_config(variant)
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory(prefix="deblur-bench-") as tmp:
        folder = photos
        source = str(photos)
        if folder is None:
            folder = tmp
            _write_standins(Path(tmp), STANDIN_PHOTOS, STANDIN_SIZE)
            source = f"{STANDIN_PHOTOS} procedural stand-in images of {STANDIN_SIZE[1]}x{STANDIN_SIZE[0]}"
        dataset = PhotoDataset(folder, batch, d.seed, crop=crop, motion=d.motion, mix=photo_mix(d.photos),
                               augment=d.augment)
        dataset.pool.preload()  # as training does before its workers fork: decoding is not per batch
        torch.set_num_threads(1)
        try:
            start, start_cpu = time.perf_counter(), time.process_time()
            default_collate([dataset[i] for i in range(batch)])
            seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        finally:
            torch.set_num_threads(threads)
    return DataBench(source, batch, crop, seconds, cpu, d.workers)


# --- the whole report ------------------------------------------------------------------------------------

def run_train_bench(variants: list[str], options: TrainBenchOptions, progress=None) -> TrainBenchReport:
    device = resolve_device(options.device)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    results = []
    for name in variants:
        if progress:
            progress(f"{name} training step")
        results.append(bench_variant_training(name, options, device))
    recipe = photo_data_config()  # the CPU recipes' batch and crop (each variant's step read its own, the same)
    batch, crop = options.batch or recipe.batch, options.crop or recipe.crop or 128
    report = TrainBenchReport(device_name(device), torch.__version__, platform.python_version(),
                              torch.get_num_threads(), batch, crop, options.warmup, options.repeat, results, None, load)
    if options.data:
        if progress:
            progress("one batch of photo pairs")
        report.data = time_data_batch(batch, crop, options.photos)
    if options.end_to_end:
        with tempfile.TemporaryDirectory(prefix="deblur-bench-") as tmp:
            folder = options.photos or tmp
            if options.photos is None:
                _write_standins(Path(tmp), STANDIN_PHOTOS, STANDIN_SIZE)
            time_pipeline(report, [r for r in results if r.status == "ok"], options, device, folder, recipe,
                          batch, crop, progress)
    return report


def time_pipeline(report: TrainBenchReport, ran: list[VariantTrainBench], options: TrainBenchOptions,
                  device: torch.device, folder: str, recipe, batch: int, crop: int, progress=None) -> None:
    """Synthesis alone (both engines) and each variant's steps fed by the loader, eager and compiled, the
    configurations of one round interleaved so that a load change on the machine hits them alike."""
    from .compiled import compile_setting, missing_compiler
    from .speed_e2e import photo_dataset, time_core_cost, time_end_to_end, time_synthesis

    batches = max(2, options.repeat)
    engines = ("numpy", "torch")
    length = batch * (2 * batches + 8)
    first = photo_dataset(folder, recipe, crop, engines[0], length)
    datasets = {e: first if e == engines[0] else photo_dataset(folder, recipe, crop, e, length, like=first)
                for e in engines}
    if progress:
        progress("pair synthesis, numpy and torch engines")
    report.core_cost = [time_core_cost(datasets[e], batch, batches, rounds=3) for e in engines]
    cores = os.cpu_count() or 1
    for workers in sorted({max(1, recipe.workers), cores}):
        for e in engines:
            report.synthesis.append(time_synthesis(datasets[e], batch, workers, device, batches, rounds=2))
    compiled = (options.compile and compile_setting("on") == "on" and missing_compiler(device) is None)
    for r in ran:
        cfg = recipe_config(r.variant)
        if crop % registry.get(r.variant).multiple_of:
            continue
        for engine, comp in (("numpy", False), ("torch", False)) + ((("torch", True),) if compiled else ()):
            if progress:
                progress(f"{r.variant} fed by the {engine} engine{', compiled' if comp else ''}")
            report.end_to_end.append(time_end_to_end(r.variant, cfg, datasets[engine], batch,
                                                     max(1, recipe.workers), device, comp, 2 * batches, rounds=2))
