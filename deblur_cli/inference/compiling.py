"""torch.compile for inference (``--compile auto|on|off``): the network compiled where the work pays back the compile.

Measured on the 2-core CPU this project is built on (docs/inference.md, "Compiling"): against the engine's eager
path, inductor makes the compact networks 1.03 to 1.6 times faster per image, after 10 to 40 s of compiling on a
quiet machine (1.5 to 4 minutes beside other jobs; 4 to 11 s from inductor's on-disk cache). So a compile is worth it only for work that runs long eager,
and how much a network gains varies. ``auto`` therefore
decides on measured time, not on a size: each eager pass of the network is timed, and once the eager time of the
work still ahead (the rest of this image's passes and tiles, plus the images the caller said are coming,
:meth:`AutoCompile.expect`, each assumed as costly as this one) reaches :data:`AUTO_MIN_SECONDS`, the network is
compiled and stays so. One small image never gets there; a folder of photos, or one very large image, does.

Shapes vary from image to image; ``dynamic=True`` compiles one graph for every size. Measured over a folder of ten
sizes (benchmarks/compile_folder.py): one graph, no recompile. The default (static, then "automatic dynamic")
compiled three times for the same folder, 40 to 90 s each, with no faster code to show for it.

A missing compiler (no C++ compiler for the CPU, no triton for CUDA) or a failed compile never stops a run: the
network runs eager and one line says so (through :mod:`logging`, which prints it on stderr). Out-of-memory errors
pass through untouched: the engine's tile halving handles them as in an eager run.
"""

from __future__ import annotations

import logging
import shutil
import time
from typing import Callable

import torch
from torch import nn

from ..errors import UsageError
from .devices import is_out_of_memory

log = logging.getLogger(__name__)

COMPILE_MODES = ("auto", "on", "off")
# ``auto`` compiles once this much eager network time is still ahead. Measured (docs/inference.md, "Compiling"): a
# cold compile takes 10-40 s on a quiet 2-core CPU; compiled, multiscale-compact saves 3-7 % of its time,
# bag-compact 6-12 %, deblurgan-compact 25 %. 600 s ahead saves 34-74 s with bag-compact and 150 s with
# deblurgan-compact, more than the compile; about break-even for multiscale-compact. Beside other jobs compiling
# and eager work slow down alike.
AUTO_MIN_SECONDS = 600.0
# Devices inductor compiles for; ``on`` elsewhere (MPS) says it is unavailable and runs eager.
COMPILED_DEVICES = ("cpu", "cuda")


def parse_compile(mode: str) -> str:
    """``auto | on | off`` (case-insensitive) or a ``UsageError``."""
    value = str(mode).strip().lower()
    if value not in COMPILE_MODES:
        raise UsageError(f"--compile must be one of {', '.join(COMPILE_MODES)}, not {mode!r}")
    return value


def missing_compiler(device: torch.device) -> str | None:
    """Why inductor cannot compile for ``device`` here, or None."""
    if device.type not in COMPILED_DEVICES:
        return f"torch.compile is not used on {device.type}"
    if device.type == "cuda":
        try:
            import triton  # noqa: F401
        except ImportError:
            return "triton is not installed"
        return None
    if not any(shutil.which(c) for c in ("g++", "c++", "clang++")):
        return "no C++ compiler (g++, c++ or clang++) on PATH"
    return None


def root_cause(exc: BaseException) -> str:
    """The innermost error of a chain (dynamo wraps the backend's error in its own) as one short line."""
    # dynamo's BackendCompilerFailed keeps the backend's error in ``inner_exception`` as well as ``__cause__``
    while exc.__cause__ is not None or getattr(exc, "inner_exception", None) is not None:
        exc = exc.__cause__ or exc.inner_exception
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {first[:160]}".rstrip(": ")


class CompiledNetwork:
    """The network as the engine calls it: eager until :meth:`compile`, then compiled until a compile fails."""

    def __init__(self, module: nn.Module, device: torch.device, compiler: Callable | None = None):
        self.module = module
        self.device = device
        self.compiler = compiler or torch.compile  # looked up when created, so a test can swap torch.compile
        self.compiled: Callable | None = None
        self.given_up = False  # a compile was refused or failed: eager for good, said once
        self.ran_compiled = False  # a compiled pass has completed (its compile time is behind us)

    def compile(self) -> None:
        """Compile from the next call on; or, where that cannot work, say so once and stay eager."""
        if self.compiled is not None or self.given_up:
            return
        missing = missing_compiler(self.device)
        if missing:
            self._give_up(f"torch.compile unavailable ({missing}); running eager")
            return
        try:
            self.compiled = self.compiler(self.module, dynamic=True)
        except Exception as exc:  # noqa: BLE001 - any compiler error: eager
            self._give_up(f"torch.compile failed ({root_cause(exc)}); running eager")

    def __call__(self, x: torch.Tensor):
        if self.compiled is None:
            return self.module(x)
        try:
            y = self.compiled(x)
        except Exception as exc:  # noqa: BLE001 - out of memory re-raised for the tile halving, the rest: eager
            if is_out_of_memory(exc):
                raise
            self.compiled = None
            self._give_up(f"torch.compile failed ({root_cause(exc)}); running eager")
            return self.module(x)
        self.ran_compiled = True
        return y

    def _give_up(self, line: str) -> None:
        self.given_up = True
        log.warning("%s", line)


class AutoCompile:
    """``auto``: times the eager passes and compiles the network once the work ahead would pay it back.

    The engine reports each image it starts (:meth:`begin_image`, its pixels times passes) and each eager pass
    (:meth:`timed`); a caller that restores many images with one engine says how many (:meth:`expect`)."""

    def __init__(self, network: CompiledNetwork, min_seconds: float = AUTO_MIN_SECONDS):
        self.network = network
        self.min_seconds = min_seconds
        self.images_ahead = 1  # this image and the ones after it
        self.image_work = 0  # pixel-passes of the image being restored
        self.done = 0  # pixel-passes of it run so far

    def expect(self, images: int) -> None:
        """The caller will restore ``images`` images from now on (the current one included)."""
        self.images_ahead = max(1, int(images))

    def begin_image(self, pixel_passes: int) -> None:
        self.image_work, self.done = pixel_passes, 0

    def end_image(self) -> None:
        self.images_ahead = max(1, self.images_ahead - 1)

    def seconds_ahead(self, seconds: float, pixels: int) -> float:
        """Eager time of the work left, at the rate of a pass that took ``seconds`` over ``pixels``."""
        left = max(0, self.image_work - self.done) + (self.images_ahead - 1) * self.image_work
        return seconds / max(1, pixels) * left

    def timed(self, seconds: float, pixels: int) -> None:
        """An eager pass over ``pixels`` took ``seconds``; compile if what is left would take long enough."""
        self.done += pixels
        if self.seconds_ahead(seconds, pixels) >= self.min_seconds:
            log.info("compiling the network: about %.0f s of eager work ahead", self.seconds_ahead(seconds, pixels))
            self.network.compile()
