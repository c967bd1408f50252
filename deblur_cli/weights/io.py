"""Reading and writing weight files: safetensors only, checksummed, never pickle.

A pickle checkpoint (``.pth``/``.pt``/``.ckpt``) can run arbitrary code when loaded, so it is refused by
name and by content. ``load_weights`` reads the file once and hashes those very bytes before handing them
to the parser: what was verified is what gets parsed, and a tampered file never reaches the parser.
torch and safetensors are imported inside the functions that need them, so the checksum and metadata
helpers stay cheap for ``deblur models``.
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

DTYPES = ("fp32", "fp16")
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
    BatchNorm's ``num_batches_tracked``) keep their type. ``metadata`` values are stored as strings; the
    trainer records ``{"variant": name}`` so a loader can tell which network a file belongs to.
    """
    from safetensors.torch import save  # here: hashing and reading headers (manifest checks) need no torch

    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
    state = module_or_state_dict.state_dict() if hasattr(module_or_state_dict, "state_dict") else module_or_state_dict
    tensors: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        # copy=True gives every entry its own storage: safetensors refuses tensors that share memory.
        tensor = value.detach().to("cpu", copy=True).contiguous()
        if dtype == "fp16" and tensor.is_floating_point():
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
    _parse_header(data[:8 + _header_length(data, path)], path)
    try:
        return load(data)
    except SafetensorError as exc:
        raise WeightsFormatError(f"{path}: not a valid safetensors file ({exc})") from None


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
