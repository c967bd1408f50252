"""What machine a figure was measured on (for the manifest, eval tables and benchmarks), and how much of it is
free now."""

from __future__ import annotations

import os
import platform


def cpu_name() -> str:
    """The CPU model as the OS names it ("Intel(R) Xeon(R) Processor"), or the architecture as a fallback."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def idle_cores(most: int) -> int:
    """How many of this process's cores other programs leave idle, from the 1-minute load average: at least 1 and
    at most ``most``. Why: threads that wait on each other behind other processes run far slower than fewer
    threads (bag-compact at 96x64 with the load at 10 on 2 cores: 66-166 ms with 2 threads, 16-19 ms with 1;
    benchmarks/README.md)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return max(1, min(most, round(cores - load)))
