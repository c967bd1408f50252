"""What machine a figure was measured on (for the manifest, eval tables and benchmarks)."""

from __future__ import annotations

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
