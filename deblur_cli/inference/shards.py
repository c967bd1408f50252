"""Share a batch between processes started by torchrun: ``torchrun --nproc-per-node N -m deblur_cli IN -o OUT``.

Every rank plans the same job list (planning is deterministic), takes jobs ``rank::world`` and runs
them on its own device (``devices.device_for_process``: ``cuda:LOCAL_RANK`` when CUDA is used, else the
CPU). Ranks never exchange tensors; they exchange only their outcomes at the end (``all_gather_object``), so
every rank knows every file's result, rank 0 prints the summary, and all ranks exit with the same code. An
error that stops a rank before the end (weights missing, a bad option) is shared the same way, so no rank
waits forever on a peer that has already left.

Process group backend: gloo on CPU, nccl on CUDA.
"""

from __future__ import annotations

import pickle
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence, TypeVar

import torch
import torch.distributed as dist

from ..errors import DeblurError
from ..torchrun import Launch, launch_from_env  # noqa: F401  (one reader of the torchrun environment)
from .devices import resolve_device

T = TypeVar("T")


def shard(items: Sequence[T], launch: Launch) -> list[T]:
    return list(items[launch.rank::launch.world])


def unshard(parts: Sequence[Sequence[T]], total: int) -> list[T]:
    """Inverse of ``shard``: item ``i`` came from rank ``i % world`` at position ``i // world``."""
    world = len(parts)
    return [parts[i % world][i // world] for i in range(total) if i // world < len(parts[i % world])]


@contextmanager
def process_group(launch: Launch, device: str) -> Iterator[None]:
    """Join the torchrun process group for the block (nothing to do for a single process)."""
    if launch.world <= 1:
        yield
        return
    target = resolve_device(device)  # an unusable device is a usage error on every rank, before joining
    backend = "nccl" if target.type == "cuda" else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(target)  # object collectives run on the current device
    dist.init_process_group(backend=backend)
    try:
        yield
    finally:
        dist.destroy_process_group()


def gather(value: T, launch: Launch) -> list[T]:
    """Every rank's ``value``, in rank order, on every rank."""
    if launch.world <= 1:
        return [value]
    out: list = [None] * launch.world
    dist.all_gather_object(out, value)
    return out


def run_sharded(work: Callable[[], T], launch: Launch) -> list[T]:
    """Run ``work`` on every rank and gather the results; an exception on any rank is re-raised on every
    rank (the first failing rank's), after the gather, so all ranks stop together with the same error."""
    try:
        outcome = ("ok", work())
    except BaseException as exc:  # noqa: BLE001 - shared with the peers, then re-raised
        outcome = ("error", exc)
    outcomes = gather(_picklable(outcome), launch)
    for kind, value in outcomes:
        if kind == "error":
            if outcome[0] == "error":
                raise outcome[1]
            raise value
    return [value for _, value in outcomes]


def _picklable(outcome):
    kind, value = outcome
    if kind != "error":
        return outcome
    try:
        pickle.dumps(value)
        return outcome
    except Exception:  # noqa: BLE001 - some exceptions carry unpicklable state
        return kind, DeblurError(str(value))
