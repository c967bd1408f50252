"""Honest wall-clock timing and memory figures for model runs (used by `deblur bench` and `deblur eval`).

- GPU work is asynchronous: the clock is read only after ``synchronize`` so a time covers the whole pass.
- The first passes pay for kernel selection, allocator growth and lazy initialisation: callers warm up first.
- On a shared CPU the wall clock also counts time spent waiting for a core. The process's CPU time does not:
  with one thread it is close to what the run takes on an idle machine, so both are recorded.
- Peak memory: on CUDA ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats`` (tensors only,
  not the caching allocator's reserve). On CPU the process's peak resident set: Linux lets a process reset
  its own high-water mark (``echo 5 > /proc/self/clear_refs``), after which ``VmHWM`` in
  ``/proc/self/status`` is the peak of this run alone; elsewhere ``ru_maxrss`` (a lifetime peak) is used and
  the figure is only a lower bound, which ``MemoryPeak.method`` says.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Callable

import torch

from ..hardware import cpu_name


def synchronize(device: torch.device | str) -> None:
    kind = torch.device(device).type
    if kind == "cuda":
        torch.cuda.synchronize(device)
    elif kind == "mps":
        torch.mps.synchronize()



def device_name(device: torch.device | str) -> str:
    """E.g. ``"NVIDIA H200 (cuda:0)"`` or ``"Intel Xeon ... (cpu, 2 threads)"``."""
    dev = torch.device(device)
    if dev.type == "cuda":
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        return f"{torch.cuda.get_device_name(index)} (cuda:{index})"
    if dev.type == "mps":
        return f"Apple GPU (mps), {platform.machine()}"
    threads = torch.get_num_threads()
    return f"{cpu_name()} (cpu, {threads} thread{'s' if threads != 1 else ''})"


@dataclass(frozen=True)
class Timing:
    seconds: list[float]  # wall clock, one entry per timed repetition
    cpu_seconds: list[float]  # this process's CPU time (all its threads) over the same repetitions

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def best(self) -> float:
        return min(self.seconds)


def time_call(fn: Callable[[], object], device: torch.device | str, *, warmup: int = 1,
              repeat: int = 3) -> Timing:
    """Run ``fn`` ``warmup`` times untimed, then ``repeat`` times timed, synchronising around each call."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times, cpu = [], []
    for _ in range(max(1, repeat)):
        synchronize(device)
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return Timing(times, cpu)


@dataclass(frozen=True)
class MemoryPeak:
    bytes: int | None
    method: str


def _rss_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_rss_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="utf-8") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _maxrss_kib() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB elsewhere


def measure_peak_memory(fn: Callable[[], object], device: torch.device | str) -> MemoryPeak:
    """Peak memory that ``fn`` adds above what was in use when it started."""
    dev = torch.device(device)
    if dev.type == "cuda":
        synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        base = torch.cuda.memory_allocated(dev)
        fn()
        synchronize(dev)
        return MemoryPeak(torch.cuda.max_memory_allocated(dev) - base, "cuda max_memory_allocated")
    if dev.type != "cpu":
        fn()
        return MemoryPeak(None, f"not measured on {dev.type}")
    if os.path.exists("/proc/self/status") and _reset_rss_peak():
        base = _rss_kib("VmRSS")
        fn()
        peak = _rss_kib("VmHWM")
        if base is not None and peak is not None:
            return MemoryPeak(max(0, peak - base) * 1024, "process RSS peak (VmHWM reset by clear_refs)")
    base = _maxrss_kib()
    fn()
    return MemoryPeak(max(0, _maxrss_kib() - base) * 1024, "ru_maxrss increase (lower bound)")
