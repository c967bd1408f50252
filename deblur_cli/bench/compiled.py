"""The compiled column of `deblur bench`: the same network and image through ``torch.compile``, beside eager.

The first compiled run is the compile (timed on its own: what a user waits for once per shape family; inductor
keeps its output in an on-disk cache, so a second process compiles faster). Then eager and compiled runs are
interleaved, ``repeat`` of each, so that both meet the same load on a shared machine and their ratio is fair; the
eager figures of this step are kept beside the compiled ones for that ratio. A compile that fails or cannot run
here is reported with the engine's one line, not timed.
"""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import dataclass, field, replace

import torch

from ..inference.engine import Restorer
from ..measure.timing import synchronize


@dataclass
class CompiledBench:
    compile_seconds: float | None = None  # wall clock of the first compiled run, compile included
    seconds: list[float] = field(default_factory=list)  # compiled runs, wall clock
    cpu_seconds: list[float] = field(default_factory=list)
    eager_seconds: list[float] = field(default_factory=list)  # eager runs interleaved with them
    eager_cpu_seconds: list[float] = field(default_factory=list)
    note: str = ""  # why nothing was timed: the engine's fallback line

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpu_seconds) if self.cpu_seconds else None

    @property
    def speedup(self) -> float | None:
        """Eager over compiled: medians of the interleaved runs, wall clock."""
        return statistics.median(self.eager_seconds) / self.median if self.seconds else None

    @property
    def cpu_speedup(self) -> float | None:
        """The same on the process's CPU time (on a shared CPU, less disturbed by other jobs)."""
        if not self.cpu_seconds or min(self.cpu_seconds) <= 0:
            return None
        return statistics.median(self.eager_cpu_seconds) / self.cpu_median


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _timed(fn, device) -> tuple[float, float]:
    synchronize(device)
    start, start_cpu = time.perf_counter(), time.process_time()
    fn()
    synchronize(device)
    return time.perf_counter() - start, time.process_time() - start_cpu


def bench_compiled(eager: Restorer, x: torch.Tensor, repeat: int) -> CompiledBench:
    """Compile ``eager``'s network (its own settings, compile on) and time it against ``eager`` on ``x``."""
    result = CompiledBench()
    lines = _Lines()  # the engine's fallback line becomes the report's note
    logger = logging.getLogger("deblur_cli.inference.compiling")
    logger.addHandler(lines)
    try:
        compiled = Restorer(eager.module, eager.spec, replace(eager.settings, compile="on"))
        result.compile_seconds, _ = _timed(lambda: compiled.restore_tensor(x), compiled.device)
    finally:
        logger.removeHandler(lines)
    if not compiled.compiled:
        result.compile_seconds = None
        result.note = lines.lines[0] if lines.lines else "the network did not run compiled"
        return result
    for _ in range(max(1, repeat)):
        for restorer, wall, cpu in ((eager, result.eager_seconds, result.eager_cpu_seconds),
                                    (compiled, result.seconds, result.cpu_seconds)):
            w, c = _timed(lambda: restorer.restore_tensor(x), restorer.device)
            wall.append(w)
            cpu.append(c)
    return result
