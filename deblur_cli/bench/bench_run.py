"""`deblur bench` as a library: how fast each variant restores an image, and how that compares with the machine.

For each variant, on a random image of the bench size (1280x720 by default, a GoPro frame):

- whole-image time through the engine (``Restorer.restore_tensor``, tile 0): warm-up, then ``repeat`` timed
  runs with the device synchronised; the median is reported, with megapixels per second;
- achieved GFLOP/s: the network's FLOPs at that size (:mod:`deblur_cli.measure.flops`, counted on the meta
  device) over the median time;
- the same figure for a plain 3x3 convolution, 64 -> 64 channels at the bench size, run in the same process,
  dtype and device: the arithmetic a well-tuned network could reach on this machine. The ratio shows how
  much of it each network gets (depthwise convs, norms and attention get less);
- peak memory of one run (:func:`.timing.measure_peak_memory`);
- tiled time: the same image in ``tile``-pixel tiles (as `deblur --tile N` runs it), to show what tiling
  costs (overlap is computed twice; InstanceNorm variants add statistics passes);
- compiled time (unless ``compile`` is off): the whole image through ``torch.compile``, runs interleaved with
  eager ones (:mod:`.compiled`), so that the same report has both.

Speed does not depend on trained values, so ``random_weights`` builds the network untrained; results say
which weights ran. Without it a variant's own trained weights are used, and a variant without them is
reported as such (a compact fallback would time a different network).
"""

from __future__ import annotations

import os
import platform
import statistics
from dataclasses import dataclass, field, replace

import torch
from torch import nn

from .. import registry
from .compiled import CompiledBench, bench_compiled
from ..errors import DeblurError
from ..inference import tiling
from ..inference.compiling import parse_compile
from ..inference.devices import precision_name, resolve_device, resolve_precision
from ..inference.engine import Restorer
from ..inference.settings import DEFAULTS, SINGLE_PASS, RestoreSettings
from ..measure.flops import count_flops
from ..measure.timing import device_name, measure_peak_memory, time_call
from ..paper_tables import paper_time
from ..registry import count_parameters
from ..weights.errors import WeightsUnavailableError
from ..weights.loader import load_generator

REFERENCE_CHANNELS = 64


@dataclass(frozen=True)
class BenchOptions:
    height: int = 720
    width: int = 1280
    repeat: int = 3
    warmup: int = 1
    device: str = DEFAULTS.device
    precision: str = DEFAULTS.precision
    tile: int = 512  # tiled comparison; 0 skips it
    random_weights: bool = False
    weights: str | None = None  # explicit file (a single variant)
    reference: bool = True
    compile: str = DEFAULTS.compile  # off: eager only; auto or on: the compiled column too


@dataclass
class ConvReference:
    channels: int
    height: int
    width: int
    seconds: float
    flops: float
    cpu_seconds: float | None = None

    @property
    def gflops_per_s(self) -> float:
        return self.flops / self.seconds / 1e9


@dataclass
class PaperTime:
    seconds: float
    where: str  # e.g. "NVIDIA GeForce GTX 1080 Ti, 004-table2, Our method (BAG)"
    same_network: bool  # False when the paper's figure is for the paper-size sibling of a compact preset


@dataclass
class VariantBench:
    variant: str
    status: str  # "ok" | "no weights" | "failed"
    message: str = ""
    weights: str = ""
    precision: str = ""
    params: int | None = None
    flops: float | None = None  # per image at the bench size (padded as the engine runs it)
    seconds: list[float] = field(default_factory=list)  # whole-image timed runs, wall clock
    cpu_seconds: list[float] = field(default_factory=list)  # process CPU time of the same runs
    peak_memory: int | None = None
    memory_method: str = ""
    tile: int = 0
    tiled_seconds: float | None = None  # median of the tiled runs, wall clock
    tiled_cpu_seconds: float | None = None  # and their process CPU time
    tiles: int = 0
    paper: PaperTime | None = None
    compiled: CompiledBench | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None

    @property
    def best(self) -> float | None:
        return min(self.seconds) if self.seconds else None

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpu_seconds) if self.cpu_seconds else None

    @property
    def gflops_per_s(self) -> float | None:
        return self.flops / self.median / 1e9 if self.flops and self.median else None


@dataclass
class BenchReport:
    device: str
    torch: str
    python: str
    height: int
    width: int
    precision: str
    repeat: int
    reference: ConvReference | None
    results: list[VariantBench]
    threads: int = 1
    load_average: float | None = None  # 1-minute load when the bench started: a busy machine reads slower
    folder: dict | None = None  # folder-run throughput, when measured


def default_variants() -> list[str]:
    """All compact generator presets: the ones this project trains and ships for CPUs."""
    return registry.compact_names()


def find_paper_time(variant: str) -> PaperTime | None:
    spec = registry.get(variant)
    found, same = paper_time(spec.table_rows), True
    if found is None and spec.preset == "compact" and spec.name.endswith("-compact"):
        sibling = spec.name[: -len("-compact")]
        if sibling in registry.names(spec.kind):
            found, same = paper_time(registry.get(sibling).table_rows), False
    if found is None:
        return None
    t, row = found
    return PaperTime(row.seconds, f"{t.hardware or 'hardware not stated'}, {t.name}, {row.label}", same)


def conv_reference(height: int, width: int, device: torch.device, dtype: torch.dtype, repeat: int,
                   channels: int = REFERENCE_CHANNELS) -> ConvReference:
    conv = nn.Conv2d(channels, channels, 3, padding=1, bias=False).to(device=device, dtype=dtype).eval()
    x = torch.randn(1, channels, height, width, device=device, dtype=dtype)
    if device.type == "cuda" and dtype != torch.float32:  # as the engine lays out half precision on CUDA
        conv, x = conv.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        timing = time_call(lambda: conv(x), device, warmup=1, repeat=repeat)
    flops = 2.0 * 9 * channels * channels * height * width
    return ConvReference(channels, height, width, timing.median, flops, statistics.median(timing.cpu_seconds))


def _settings(options: BenchOptions, tile: int) -> RestoreSettings:
    """One network pass (the speed of the network, not of the self-ensemble's repeats) with ``tile``."""
    return replace(SINGLE_PASS, device=options.device, precision=options.precision, tile=tile)


def _restorer(variant: str, options: BenchOptions, tile: int):
    spec = registry.get(variant)
    if options.random_weights:
        return Restorer(spec.build(), spec, _settings(options, tile)), "random init"
    loaded = load_generator(variant, options.weights, device="cpu")
    if loaded.variant != variant:
        raise WeightsUnavailableError(
            f"{variant} has no trained weights (only {loaded.variant}); speed does not depend on trained values: "
            "use --random-weights")
    return Restorer(loaded.module, spec, _settings(options, tile)), str(loaded.weights_path)


def bench_variant(variant: str, options: BenchOptions) -> VariantBench:
    result = VariantBench(variant, "ok", paper=find_paper_time(variant))
    try:
        restorer, result.weights = _restorer(variant, options, tile=0)
    except (DeblurError, ImportError) as exc:
        result.status = "no weights" if isinstance(exc, WeightsUnavailableError) else "failed"
        result.message = str(exc)
        if result.status == "no weights" and "--random-weights" not in result.message:
            result.message += " (speed does not depend on trained values: --random-weights times it untrained)"
        return result
    spec, device = restorer.spec, restorer.device
    result.precision = str(restorer.dtype).replace("torch.", "")
    h, w = options.height, options.width
    count = count_flops(restorer.module, h, w, multiple_of=spec.multiple_of)
    result.params, result.flops = count_parameters(restorer.module), count.flops
    x = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(0)).to(device)
    run = lambda: restorer.restore_tensor(x)  # noqa: E731
    timing = time_call(run, device, warmup=options.warmup, repeat=options.repeat)
    result.seconds, result.cpu_seconds = timing.seconds, timing.cpu_seconds
    peak = measure_peak_memory(run, device)
    result.peak_memory, result.memory_method = peak.bytes, peak.method
    if options.tile and options.tile < max(h, w):
        # the same network and weights, run in tiles as `deblur --tile N` runs it
        tiled = Restorer(restorer.module, spec, _settings(options, options.tile))
        result.tile, result.tiles = options.tile, _count_tiles(tiled, h, w)
        tiled_timing = time_call(lambda: tiled.restore_tensor(x), device, warmup=1, repeat=options.repeat)
        result.tiled_seconds = tiled_timing.median
        result.tiled_cpu_seconds = statistics.median(tiled_timing.cpu_seconds)
    if parse_compile(options.compile) != "off":
        result.compiled = bench_compiled(restorer, x, options.repeat)
    return result


def _count_tiles(restorer, h: int, w: int) -> int:
    tile = restorer.plan_tile(h, w)
    overlap = restorer.overlap if restorer.overlap is not None else tiling.default_overlap(
        tile, restorer.spec.tiling, restorer.spec.multiple_of)
    return len(tiling.plan_tiles(h, w, tile, overlap, restorer.spec.multiple_of))


def _reference_dtype(precision: str, variants: list[str], device: torch.device) -> torch.dtype:
    """The precision the first variant runs in (``auto`` depends on its size), so that its share of the
    reference compares like with like."""
    if not variants:
        return torch.float32
    return resolve_precision(precision, registry.get(variants[0]), device,
                             params=registry.count_parameters(variants[0]))


def run_bench(variants: list[str], options: BenchOptions, progress=None) -> BenchReport:
    device = resolve_device(options.device)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    dtype = _reference_dtype(options.precision, variants, device)
    reference = None
    if options.reference:
        if progress:
            progress("3x3 conv reference")
        reference = conv_reference(options.height, options.width, device, dtype, options.repeat)
    results = []
    for name in variants:
        if progress:
            progress(name)
        results.append(bench_variant(name, options))
    return BenchReport(device_name(device), torch.__version__, platform.python_version(), options.height,
                       options.width, precision_name(dtype), options.repeat, reference, results,
                       torch.get_num_threads(), load)
