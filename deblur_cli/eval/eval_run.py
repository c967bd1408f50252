"""`deblur eval` as a library: run each target over an evaluation set and score every image.

Per target (one line of the report):
1. get a model: ``load`` resolves the variant's weights (``deblur_cli.weights.loader``) and wraps the network
   in the engine's ``Restorer`` (padding, tiling, precision, device). No weights -> the line says so and the
   run goes on. Tests pass their own ``load`` to use in-memory networks.
2. for each image: move the blurred input to the device, restore it (timed: device synchronised before and
   after, the first image run once untimed as warm-up), quantise to 8 bits and score against the sharp image
   (:mod:`.metrics`). The blurred input is scored too, once per image, as the "input" baseline.
3. parameters and GFLOPs per 1280x720 image come from the architecture (:mod:`.flops`), also for lines
   without weights: they describe the network, not the training.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import torch

from .. import registry
from ..errors import DeblurError, UsageError
from ..inference.api import load_model
from ..inference.engine import Restorer
from ..inference.devices import resolve_device
from ..inference.settings import DEFAULTS, RestoreSettings
from ..measure.flops import FULL_HD_720, count_flops
from ..measure.metrics import psnr_ssim
from ..measure.timing import device_name, synchronize
from ..registry import count_parameters
from ..weights.errors import WeightsUnavailableError
from .eval_sets import EvalSet
from .targets import Target


@dataclass(frozen=True)
class EvalOptions:
    """How `deblur eval` runs. ``restore`` is the object `deblur` restores with, so that both commands take their
    defaults (ensemble, strength, tiling, device, precision) from one place: :data:`.settings.DEFAULTS`."""

    restore: RestoreSettings = DEFAULTS
    weights: str | None = None  # explicit file; only with a single -m
    random_weights: bool = False  # untrained networks: checks the pipeline, numbers mean nothing
    limit: int | None = None
    crop_border: int = 0
    y_channel: bool = False
    flops: bool = True


@dataclass
class ModelUnderTest:
    restorer: object  # deblur_cli.inference.engine.Restorer (or anything with restore_tensor/module/spec)
    variant: str  # variant actually run
    weights: str  # file, or "random init"
    note: str | None = None  # e.g. "bag has no weights; using bag-compact"


@dataclass(frozen=True)
class ImageScore:
    name: str
    psnr: float
    ssim: float
    input_psnr: float
    input_ssim: float
    seconds: float


@dataclass
class TargetResult:
    target: Target
    status: str  # "ok" | "no weights" | "not in deblur" | "failed"
    message: str = ""
    variant: str | None = None  # what ran (after a compact fallback)
    weights: str = ""
    device: str = ""
    precision: str = ""
    params: int | None = None
    flops: float | None = None  # per 1280x720 image
    flops_method: str = ""
    images: list[ImageScore] = field(default_factory=list)

    def _mean(self, attr: str) -> float | None:
        return _mean([getattr(s, attr) for s in self.images]) if self.images else None

    @property
    def psnr(self) -> float | None:
        return self._mean("psnr")

    @property
    def ssim(self) -> float | None:
        return self._mean("ssim")

    @property
    def input_psnr(self) -> float | None:
        return self._mean("input_psnr")

    @property
    def input_ssim(self) -> float | None:
        return self._mean("input_ssim")

    @property
    def seconds(self) -> float | None:
        return self._mean("seconds")

    @property
    def improved(self) -> int | None:
        """Images whose PSNR rose over their blurred input's: a mean gain can hide a few images made worse."""
        return sum(s.psnr > s.input_psnr for s in self.images) if self.images else None


@dataclass
class EvalReport:
    dataset: str
    n_images: int
    metric: str
    device: str
    results: list[TargetResult]
    input_psnr: float | None = None  # blurred vs sharp over the evaluated images
    input_ssim: float | None = None
    # deconvolution given the true kernel, on sets that record their kernels (eval/nonblind.py)
    references: list = field(default_factory=list)


def _mean(values: list[float]) -> float:
    return math.fsum(values) / len(values)


def metric_description(crop_border: int, y_channel: bool, restore: RestoreSettings) -> str:
    """How the numbers were made, for the report: colour space, the restore settings that change the outputs
    (ensemble passes, strength), border crop and the SSIM window."""
    space = "Y (BT.601, as BasicSR)" if y_channel else "RGB"
    default = " (deblur's default)" if restore.ensemble == DEFAULTS.ensemble else ""
    space += (f", outputs self-ensembled over {restore.ensemble} mirrored passes{default}" if restore.ensemble > 1
              else ", one network pass (no self-ensemble)")
    if restore.strength != 1.0:
        space += f", the networks' change applied at strength {restore.strength:g}"
    crop = f", {crop_border}px border cropped" if crop_border else ""
    return (f"PSNR/SSIM on 8-bit rounded {space}{crop}; SSIM 11x11 Gaussian sigma 1.5, per channel, "
            "valid region (= scikit-image gaussian_weights=True / BasicSR); mean over images")


def default_load(variant: str, options: EvalOptions) -> ModelUnderTest:
    """Weights through the resolver (with its compact fallback), network through the engine."""
    if options.random_weights:
        spec = registry.get(variant)
        restorer = Restorer(spec.build(), spec, options.restore)
        return ModelUnderTest(restorer, variant, "random init (untrained)")
    restorer = load_model(variant, options.weights, options.restore)
    return ModelUnderTest(restorer, restorer.name, str(restorer.weights_path), getattr(restorer, "note", None))


Loader = Callable[[str, EvalOptions], ModelUnderTest]
Progress = Callable[[str, int, int], None]  # (line label, images done, images in total)
ImageSink = Callable[[str, str, torch.Tensor, torch.Tensor, torch.Tensor], None]  # variant, name, blur, out, sharp


def architecture_cost(variant: str, module=None) -> tuple[int | None, float | None, str]:
    """(parameters, FLOPs per 1280x720 image, how counted); built on the meta device when no module is given."""
    try:
        spec = registry.get(variant)
        if module is None:
            with torch.device("meta"):
                module = spec.build()
        count = count_flops(module, *FULL_HD_720, multiple_of=spec.multiple_of)
        padded = "" if count.padded == FULL_HD_720 else f", run padded to {count.padded[1]}x{count.padded[0]}"
        return count_parameters(module), count.flops, count.method + padded
    except Exception as exc:  # noqa: BLE001 - a variant whose module is missing still gets its line
        return None, None, f"not counted ({type(exc).__name__}: {exc})"


def _is_weights_missing(exc: Exception) -> bool:
    return isinstance(exc, WeightsUnavailableError)


def evaluate_target(target: Target, evalset: EvalSet, options: EvalOptions, *, load: Loader | None = None,
                    input_cache: dict[str, tuple[float, float]] | None = None,
                    progress: Progress | None = None, sink: ImageSink | None = None) -> TargetResult:
    result = TargetResult(target, "ok")
    if target.variant is None:
        result.status, result.message = "not in deblur", "paper's number only"
        return result
    if target.weights is not None:  # this line's own file (--weights-dir)
        options = replace(options, weights=target.weights)
    try:
        if target.weights is not None and not Path(target.weights).is_file():
            raise WeightsUnavailableError(f"{target.weights}: not in the weights set {target.weights_set}")
        loaded = (load or default_load)(target.variant, options)
    except UsageError:
        raise  # a bad option (device, precision, tile) is wrong for every line: stop with it
    except (DeblurError, ImportError) as exc:
        result.status = "no weights" if _is_weights_missing(exc) else "failed"
        result.message = str(exc)
        if options.flops:
            result.params, result.flops, result.flops_method = architecture_cost(target.variant)
        return result
    restorer = loaded.restorer
    result.variant, result.weights = loaded.variant, loaded.weights
    result.message = "; ".join(x for x in (target.note, loaded.note) if x)
    device = getattr(restorer, "device", torch.device("cpu"))
    result.device = str(device)
    result.precision = str(getattr(restorer, "dtype", "")).replace("torch.", "")
    if options.flops:
        result.params, result.flops, result.flops_method = architecture_cost(
            loaded.variant, getattr(restorer, "module", None))
    cache = input_cache if input_cache is not None else {}
    n = len(evalset) if options.limit is None else min(options.limit, len(evalset))
    try:
        _score_images(restorer, loaded.variant, evalset, n, options, cache, result, progress, sink)
    except DeblurError as exc:  # e.g. out of memory even with the smallest tiles: this line only
        result.status, result.message = "failed", f"{exc} (after {len(result.images)} images)"
    return result


def evaluate_variant(variant: str, evalset: EvalSet, options: EvalOptions, *,
                     load: Loader | None = None) -> TargetResult:
    """One variant on one set, in this process: the numbers of the line `deblur eval -m VARIANT` prints, for the
    tools that measure weights. Raises :class:`DeblurError` where that line would have no scores (no weights,
    failed)."""
    result = evaluate_target(Target(variant, variant), evalset, options, load=load)
    if result.status != "ok" or not result.images:
        raise DeblurError(f"{variant}: {result.status}" + (f" ({result.message})" if result.message else ""))
    return result


def _score_images(restorer, variant: str, evalset: EvalSet, n: int, options: EvalOptions,
                  cache: dict[str, tuple[float, float]], result: TargetResult, progress: Progress | None,
                  sink: ImageSink | None) -> None:
    device = getattr(restorer, "device", torch.device("cpu"))
    if hasattr(restorer, "expect"):  # compile="auto" weighs the compile against the whole set, warm-up included
        restorer.expect(n + 1)
    for i in range(n):
        item = evalset.items[i]
        blur = item["blur"].unsqueeze(0).to(device)
        sharp = item["sharp"].unsqueeze(0).to(device)
        if i == 0:  # warm-up: kernel choice, allocator growth, lazy init, and a compile if one is chosen
            (restorer.warm_up if hasattr(restorer, "warm_up") else restorer.restore_tensor)(blur)
        synchronize(device)
        start = time.perf_counter()
        out = restorer.restore_tensor(blur)
        synchronize(device)
        seconds = time.perf_counter() - start
        p, s = psnr_ssim(out, sharp, crop_border=options.crop_border, y_channel=options.y_channel)
        name = item["name"]
        if name not in cache:
            ip, iss = psnr_ssim(blur, sharp, crop_border=options.crop_border, y_channel=options.y_channel)
            cache[name] = (float(ip[0]), float(iss[0]))
        result.images.append(ImageScore(name, float(p[0]), float(s[0]), *cache[name], seconds))
        if sink is not None:
            sink(variant, name, blur, out, sharp)
        if progress is not None:
            progress(result.target.line, i + 1, n)


def input_baseline(evalset: EvalSet, options: EvalOptions, cache: dict[str, tuple[float, float]]) -> None:
    """Score every blurred input against its sharp image (used when no line ran a model)."""
    n = len(evalset) if options.limit is None else min(options.limit, len(evalset))
    for i in range(n):
        item = evalset.items[i]
        if item["name"] not in cache:
            p, s = psnr_ssim(item["blur"], item["sharp"], crop_border=options.crop_border,
                             y_channel=options.y_channel)
            cache[item["name"]] = (float(p[0]), float(s[0]))


def run_eval(targets: list[Target], evalset: EvalSet, options: EvalOptions, *, load: Loader | None = None,
             progress: Progress | None = None, sink: ImageSink | None = None) -> EvalReport:
    if len(evalset) == 0:
        raise DeblurError(f"{evalset.description}: no image pairs to evaluate")
    cache: dict[str, tuple[float, float]] = {}
    results = [evaluate_target(t, evalset, options, load=load, input_cache=cache, progress=progress, sink=sink)
               for t in targets]
    if not cache:  # no line ran a model: still report how blurred the set is
        input_baseline(evalset, options, cache)
    ran = next((r for r in results if r.device), None)
    device = device_name(ran.device if ran else resolve_device(options.restore.device))
    n = len(cache)
    metric = metric_description(options.crop_border, options.y_channel, options.restore)
    return EvalReport(evalset.description, n, metric, device, results,
                      _mean([v[0] for v in cache.values()]), _mean([v[1] for v in cache.values()]))
