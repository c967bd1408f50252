"""Device and precision choice: ``auto | cpu | cuda[:N] | mps`` and ``auto | fp32 | fp16 | bf16``.

Precision rules (prior art: Real-ESRGAN forces fp16 and fails on CPU, #710, or gives black images on
GTX 16xx cards, #330; spandrel marks per model whether half precision works):

- ``auto`` is fp32 on CPU and MPS. On CUDA it is fp32 for networks of at most a million parameters (the
  compact presets), else fp16 where the variant ``supports_half`` (except on GTX 16xx cards), else bf16 where
  the variant and the GPU support it, else fp32. Why small networks stay in fp32: on an H200 (torch 2.11,
  1920x1080, `deblur bench --device cuda`) fp16 took 22.5 ms for `bag-compact` against 14.1 ms in fp32 and
  15.5 against 8.8 ms for `deblurgan-compact`, while the paper-size `bag` (8.2 M) went from 70.1 to 53.5 ms:
  with 16 to 64 channels the half-precision kernels do not pay for their casts and layout changes.
- An explicit ``fp16`` or ``bf16`` the variant does not support is a usage error, as is ``fp16`` on CPU
  (PyTorch's CPU half-precision convolutions are missing or very slow); ``bf16`` is allowed on CPU.
"""

from __future__ import annotations

import os
import re

import torch

from ..errors import UsageError
from ..torchrun import Launch

PRECISIONS = ("auto", "fp32", "fp16", "bf16")
HALF_ABOVE_PARAMS = 1_000_000  # ``auto`` on CUDA: networks this small or smaller run in fp32 (module docstring)
_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_device(text: str | torch.device = "auto") -> torch.device:
    """Parse and check a device name; unavailable devices are a ``UsageError`` that says why."""
    if isinstance(text, torch.device):
        text = str(text)
    name = (text or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not _mps_available():
            raise UsageError("device 'mps' is not available (needs Apple silicon and a PyTorch built with MPS)")
        return torch.device("mps")
    match = re.fullmatch(r"cuda(?::(\d+))?", name)
    if match:
        if not torch.cuda.is_available():
            why = "this PyTorch was built without CUDA" if torch.version.cuda is None else "no CUDA GPU was found"
            raise UsageError(f"device {text!r} is not available: {why}; use --device cpu")
        index = int(match.group(1) or 0)
        count = torch.cuda.device_count()
        if index >= count:
            raise UsageError(f"device {text!r} does not exist: {count} CUDA device(s), numbered 0 to {count - 1}")
        return torch.device("cuda", index)
    raise UsageError(f"unknown device {text!r}; use auto, cpu, cuda, cuda:N or mps")


def device_for_process(requested: str | torch.device, launch: Launch = Launch()) -> torch.device:
    """The device this process runs on: the one picker of `deblur` (a batch shared under torchrun) and `deblur train`
    (DDP). Alone, it is :func:`resolve_device`. Under torchrun (``launch.world > 1``), ``auto`` or a bare ``cuda``
    on a CUDA machine means this process's own GPU, ``cuda:LOCAL_RANK`` (modulo the device count: see
    ``torchrun.launch_from_env``), and ``auto`` without CUDA means the CPU, since processes cannot share the one MPS
    device (and gloo has no MPS tensors). An explicit ``cuda:N``, ``mps`` or ``cpu`` is kept as given."""
    name = (str(requested) if requested else "auto").strip().lower()
    if launch.world > 1 and name in ("auto", "cuda"):
        if torch.cuda.is_available():
            return torch.device("cuda", launch.local_rank % torch.cuda.device_count())
        if name == "auto":
            return torch.device("cpu")
    return resolve_device(name)


def resolve_precision(precision: str, spec, device: torch.device, params: int | None = None) -> torch.dtype:
    """The dtype to run ``spec``'s network in on ``device`` (rules in the module docstring). ``params``: the
    network's parameter count, when known; without it ``auto`` goes by the spec alone."""
    name = (precision or "auto").strip().lower()
    if name not in PRECISIONS:
        raise UsageError(f"unknown precision {precision!r}; use {', '.join(PRECISIONS)}")
    if name == "auto":
        if device.type != "cuda" or (params is not None and params <= HALF_ABOVE_PARAMS):
            return torch.float32
        if spec.supports_half and not _half_is_broken(device):
            return torch.float16
        if spec.supports_bfloat16 and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    if name == "fp16":
        if device.type == "cpu":
            raise UsageError("fp16 is not supported on CPU; use --precision fp32 (or bf16), or a GPU device")
        if not spec.supports_half:
            raise UsageError(f"model {spec.name!r} does not support fp16; use --precision fp32")
    if name == "bf16" and not spec.supports_bfloat16:
        raise UsageError(f"model {spec.name!r} does not support bf16; use --precision fp32")
    return _DTYPES[name]


def precision_name(dtype: torch.dtype) -> str:
    return {v: k for k, v in _DTYPES.items()}[dtype]


def available_memory(device: torch.device) -> int:
    """Bytes a restoration may use now: free GPU memory (plus what PyTorch's cache holds), or the
    RAM the OS reports available."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        cached = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        return int(free + cached)
    if device.type == "mps":
        return int(torch.mps.recommended_max_memory() - torch.mps.current_allocated_memory())
    return _available_ram()


def empty_cache(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA/MPS out-of-memory errors and CPU allocation failures."""
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def _available_ram() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 4 * 1024 ** 3  # no way to ask (Windows without psutil): assume 4 GiB


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def _half_is_broken(device: torch.device) -> bool:
    # GTX 16xx (Turing without tensor cores) produce NaN / black images in fp16 (Real-ESRGAN #330).
    return "GTX 16" in torch.cuda.get_device_name(device)
