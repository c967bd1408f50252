"""Reading and writing weight files: safetensors only, checksummed, never pickle.

A pickle checkpoint (``.pth``/``.pt``/``.ckpt``) can run arbitrary code when loaded, so it is refused by
name and by content. ``load_weights`` reads the file once and hashes those very bytes before handing them
to the parser: what was verified is what gets parsed, and a tampered file never reaches the parser.
torch and safetensors are imported inside the functions that need them, so the checksum and metadata
helpers stay cheap for ``deblur models``.

Three storage types: ``fp32``, ``fp16`` and ``int8``. ``int8`` keeps every large weight tensor (at least
``INT8_MIN_ELEMENTS`` values, two or more dimensions: convolution kernels) as signed bytes with one float32
scale per slice of its first dimension (symmetric, round to nearest, |q| <= 127), stored beside it under
``KEY + SCALE_SUFFIX``; the small tensors (biases, norms) are fp16. It exists so that a network with 8M
parameters fits the 10 MB per-file limit of bundled weights: the paper-size ``bag`` stored this way gives outputs
within 89 dB of its fp16 file on ``chelsea`` (the network's own change to the photo is at 46 dB). ``load_weights``
returns the de-quantised float32 tensors under the network's own keys, so nothing above this module knows.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ..atomic import write_bytes_atomically
from .errors import WeightsFormatError, WeightsIntegrityError

if TYPE_CHECKING:
    import torch

DTYPES = ("fp32", "fp16", "int8")
INT8_MIN_ELEMENTS = 1024
SCALE_SUFFIX = "#int8-scale"  # '#' never occurs in a module's state-dict key
PICKLE_SUFFIXES = {".pt", ".pth", ".ckpt", ".bin", ".pkl", ".pickle", ".tar"}
_MAX_HEADER_BYTES = 100 * 1024 * 1024  # safetensors' own limit; a larger "header" means a foreign file


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks so large files do not need to fit in memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def save_weights(module_or_state_dict: Any, path: str | os.PathLike, dtype: str = "fp32",
                 metadata: Mapping[str, Any] | None = None) -> str:
    """Write a safetensors file atomically (temp name, then rename) and return its sha256.

    ``dtype="fp16"`` halves the file by storing floating tensors as float16; integer buffers (e.g.
    BatchNorm's ``num_batches_tracked``) keep their type. ``dtype="int8"`` quarters it (module docstring).
    ``metadata`` values are stored as strings; the trainer records ``{"variant": name}`` so a loader can tell
    which network a file belongs to.
    """
    from safetensors.torch import save  # here: hashing and reading headers (manifest checks) need no torch

    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
    state = module_or_state_dict.state_dict() if hasattr(module_or_state_dict, "state_dict") else module_or_state_dict
    tensors: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        # copy=True gives every entry its own storage: safetensors refuses tensors that share memory.
        tensor = value.detach().to("cpu", copy=True).contiguous()
        if SCALE_SUFFIX in key:
            raise ValueError(f"{key!r}: a state-dict key may not contain {SCALE_SUFFIX!r}")
        if dtype == "int8" and _quantizable(tensor):
            tensors[key], tensors[key + SCALE_SUFFIX] = _quantize_int8(tensor)
            continue
        if dtype in ("fp16", "int8") and tensor.is_floating_point():
            tensor = tensor.half()
        tensors[key] = tensor
    meta = {"format": "pt", "dtype": dtype, **{str(k): str(v) for k, v in (metadata or {}).items()}}
    payload = save(tensors, metadata=meta)

    write_bytes_atomically(path, payload)
    return hashlib.sha256(payload).hexdigest()


def load_weights(path: str | os.PathLike, expected_sha256: str | None = None) -> dict[str, "torch.Tensor"]:
    """Tensors of a safetensors file (CPU, dtype as stored), after checking its sha256 when one is given."""
    # here: hashing and reading headers (manifest checks, `deblur models info`) need no torch
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = Path(path)
    _refuse_by_name(path)
    data = path.read_bytes()
    if expected_sha256 is not None:
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected_sha256.lower():
            raise WeightsIntegrityError(
                f"{path}: sha256 {actual[:12]}... does not match the expected {expected_sha256[:12]}...; "
                "the file is damaged or was replaced, so it was not loaded (delete it and download it again)")
    header = _parse_header(data[:8 + _header_length(data, path)], path)
    try:
        tensors = load(data)
    except SafetensorError as exc:
        raise WeightsFormatError(f"{path}: not a valid safetensors file ({exc})") from None
    return _dequantize(tensors, path) if any(SCALE_SUFFIX in k for k in tensors) or _int8(header) else tensors


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The ``__metadata__`` strings of a safetensors file, read from its header only (no tensors)."""
    path = Path(path)
    _refuse_by_name(path)
    with open(path, "rb") as fh:
        head = fh.read(9)  # the length, and the header's first byte, which tells JSON from a pickle
        length = _header_length(head, path, file_size=os.fstat(fh.fileno()).st_size)
        header = _parse_header(head + fh.read(max(0, length - 1)), path)
    meta = header.get("__metadata__") or {}
    return {str(k): str(v) for k, v in meta.items()}


def _quantizable(tensor: "torch.Tensor") -> bool:
    return tensor.is_floating_point() and tensor.dim() >= 2 and tensor.numel() >= INT8_MIN_ELEMENTS


def _quantize_int8(tensor: "torch.Tensor") -> tuple["torch.Tensor", "torch.Tensor"]:
    import torch

    # one scale per slice of dim 0: per output channel for Conv2d/Linear, per input channel for ConvTranspose2d
    # (its weight is (in, out, kh, kw)); either keeps a channel's error proportional to that channel's range.
    flat = tensor.float().reshape(tensor.shape[0], -1)
    scale = (flat.abs().amax(dim=1) / 127).clamp_min(torch.finfo(torch.float32).tiny)
    q = torch.round(flat / scale[:, None]).clamp(-127, 127).to(torch.int8)
    return q.reshape(tensor.shape).contiguous(), scale.contiguous()


def _int8(header: dict) -> bool:
    return (header.get("__metadata__") or {}).get("dtype") == "int8"


def _dequantize(tensors: dict[str, "torch.Tensor"], path: Path) -> dict[str, "torch.Tensor"]:
    import torch

    for key in tensors:
        if key.endswith(SCALE_SUFFIX) and key[:-len(SCALE_SUFFIX)] not in tensors:
            raise WeightsFormatError(f"{path}: {key} has no quantised tensor beside it")
    out: dict[str, torch.Tensor] = {}
    for key, value in tensors.items():
        if key.endswith(SCALE_SUFFIX):
            continue
        scale = tensors.get(key + SCALE_SUFFIX)
        if value.dtype == torch.int8:
            if scale is None or scale.dim() != 1 or scale.numel() != value.shape[0]:
                raise WeightsFormatError(f"{path}: int8 tensor {key} has no scale of {value.shape[0]} values")
            value = (value.float().reshape(value.shape[0], -1) * scale.float()[:, None]).reshape(value.shape)
        elif scale is not None:
            raise WeightsFormatError(f"{path}: {key} has a scale but is {value.dtype}, not int8")
        out[key] = value
    return out


def _refuse_by_name(path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        raise WeightsFormatError(
            f"{path}: {suffix} files are pickle checkpoints, which can run code when loaded; deblur reads only "
            ".safetensors (convert it where you trust it: torch.load(f, weights_only=True), then "
            "deblur_cli.weights.io.save_weights)")
    if suffix != ".safetensors":
        raise WeightsFormatError(f"{path}: not a .safetensors file; deblur reads weights only in that format")
    if not path.is_file():
        raise WeightsFormatError(f"{path}: no such file")


def _header_length(data: bytes, path: Path, file_size: int | None = None) -> int:
    size = len(data) if file_size is None else file_size
    if data[8:9] != b"{" and _looks_like_pickle(data):
        raise WeightsFormatError(f"{path}: this is a PyTorch pickle checkpoint renamed to .safetensors; refused")
    if len(data) < 8:
        raise WeightsFormatError(f"{path}: too short to be a safetensors file ({size} bytes)")
    (length,) = struct.unpack("<Q", data[:8])
    if length > min(_MAX_HEADER_BYTES, size - 8):
        raise WeightsFormatError(f"{path}: not a safetensors file (its header length is impossible)")
    return length


def _looks_like_pickle(data: bytes) -> bool:
    # torch.save writes a zip archive, or in its legacy format a bare pickle (PROTO opcode, protocol 2-5).
    return data[:4] == b"PK\x03\x04" or data[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


def _parse_header(head: bytes, path: Path) -> dict:
    try:
        header = json.loads(head[8:].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise WeightsFormatError(f"{path}: not a safetensors file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise WeightsFormatError(f"{path}: not a safetensors file (its header is not a JSON object)")
    return header
