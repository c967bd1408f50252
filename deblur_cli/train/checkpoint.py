"""Checkpoints without pickle: tensors in one safetensors file, everything else in JSON beside it.

Layout of a run folder's ``checkpoints/``::

    step-00001200/state.safetensors   generator/*, discriminator/*, ema/*, optim_g/*, optim_d/*, rng/*
    step-00001200/state.json          step, data position, optimizer hyper-parameters, scalar state,
                                      python/numpy RNG states, loss-scaler state, timers, best metric
    step-00001200/rng-rank<r>.*       the RNG states of the other ranks of a multi-process run
    LATEST                            "step-00001200", replaced atomically once the folder is complete

A crash while writing leaves LATEST on the previous, complete checkpoint. Optimizer state is flattened
as ``optim_g/state/<param index>/<name>`` tensors, non-tensor entries and ``param_groups`` go to JSON.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from ..atomic import atomic_path, write_text_atomically

LATEST = "LATEST"


# --- optimizer state -------------------------------------------------------------------------------------

def flatten_optimizer(optimizer: torch.optim.Optimizer, prefix: str) -> tuple[dict, dict]:
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for pid, state in sd["state"].items():
        for name, value in state.items():
            key = f"{pid}/{name}"
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}/state/{key}"] = value
            else:
                scalars[key] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def unflatten_optimizer(tensors: dict, meta: dict, prefix: str) -> dict:
    state: dict[int, dict[str, Any]] = {}
    head = f"{prefix}/state/"
    for key, value in tensors.items():
        if key.startswith(head):
            pid, name = key[len(head):].split("/", 1)
            state.setdefault(int(pid), {})[name] = value
    for key, value in meta["scalars"].items():
        pid, name = key.split("/", 1)
        state.setdefault(int(pid), {})[name] = value
    return {"state": state, "param_groups": meta["param_groups"]}


# --- random number generators ----------------------------------------------------------------------------

def capture_rng() -> tuple[dict, dict]:
    """(tensors, json) holding the python, numpy, torch CPU and CUDA generator states of this process."""
    tensors = {"rng/torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda/{i}"] = s
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    meta = {"python": [version, list(internal), gauss],
            "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)]}
    return tensors, meta


def restore_rng(tensors: dict, meta: dict) -> None:
    torch.set_rng_state(tensors["rng/torch"])
    cuda = sorted((k for k in tensors if k.startswith("rng/cuda/")), key=lambda k: int(k.rsplit("/", 1)[1]))
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([tensors[k] for k in cuda])
    version, internal, gauss = meta["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = meta["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))


# --- files -----------------------------------------------------------------------------------------------

def _plain(tensors: dict) -> dict:
    # safetensors refuses shared or non-contiguous storage; checkpoints are small next to a step's cost
    return {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}


def write_tensors(path: Path, tensors: dict, meta: dict | None) -> None:
    """``<path>.safetensors`` and, unless ``meta`` is None, ``<path>.json``; each replaced atomically."""
    with atomic_path(path.with_suffix(".safetensors")) as tmp:
        save_file(_plain(tensors), str(tmp))
    if meta is not None:
        write_text_atomically(path.with_suffix(".json"), json.dumps(meta, indent=1))


def read_tensors(path: Path) -> tuple[dict, dict]:
    return load_file(str(path.with_suffix(".safetensors"))), read_meta(path)


def read_meta(path: Path) -> dict:
    """The ``<path>.json`` half alone (step, wall time, data position) without loading a tensor."""
    with open(path.with_suffix(".json"), encoding="utf-8") as fh:
        return json.load(fh)


def step_dir(root: Path, step: int) -> Path:
    return root / f"step-{step:08d}"


def step_of(folder: Path) -> int:
    """The step a ``step-00001234`` folder holds (see :func:`step_dir`)."""
    return int(folder.name.split("-")[1])


def kept_steps(root: Path) -> list[int]:
    """The steps of every complete checkpoint under ``root``, oldest first."""
    return sorted(step_of(p) for p in root.glob("step-*") if (p / "state.json").is_file())


def latest(root: Path) -> Optional[Path]:
    """The newest complete checkpoint folder, or None."""
    pointer = root / LATEST
    if not pointer.is_file():
        return None
    folder = root / pointer.read_text(encoding="utf-8").strip()
    return folder if (folder / "state.json").is_file() else None


def publish(root: Path, folder: Path, keep: int = 1, keep_every: int = 0) -> None:
    """Point LATEST at ``folder`` (atomic rename) and delete older checkpoints beyond ``keep``, except those whose
    step is a multiple of ``keep_every``: a run's best weights for real photos may lie mid-run (docs/research.md,
    "Judging a file"), so they must still be there to score and export afterwards."""
    write_text_atomically(root / LATEST, folder.name)
    older = sorted(p for p in root.glob("step-*") if p.is_dir() and p.name < folder.name)
    for old in older[: max(0, len(older) - (keep - 1))]:
        if keep_every and step_of(old) % keep_every == 0:
            continue
        shutil.rmtree(old, ignore_errors=True)


class frozen_rng:
    """Context manager: whatever runs inside (validation) leaves every random generator as it found it."""

    def __enter__(self) -> "frozen_rng":
        self._saved = capture_rng()
        return self

    def __exit__(self, *exc) -> None:
        restore_rng(*self._saved)
