"""Multi-process training under ``torchrun``: process group, devices, and the few collectives we need.

``torchrun --nproc-per-node N -m deblur_cli train ...`` sets RANK / WORLD_SIZE / LOCAL_RANK; without them
training is a single process and every helper here is a no-op. NCCL on CUDA, gloo on CPU (which is how
the tests run two processes). Rank 0 writes logs, checkpoints and the run folder; every rank restores
its own random generators so a resumed multi-process run continues as it would have.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from ..inference.devices import device_for_process
from ..torchrun import launch_from_env


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(requested_device: str = "auto") -> DistContext:
    launch = launch_from_env()  # the one reader of RANK / WORLD_SIZE / LOCAL_RANK (deblur_cli/torchrun.py)
    device = device_for_process(requested_device, launch)  # the same picker as `deblur`'s
    if launch.world <= 1:
        return DistContext(device=device)
    rank, world, local_rank = launch.rank, launch.world, launch.local_rank
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistContext(rank=rank, world=world, local_rank=local_rank, device=device)


def teardown(ctx: DistContext) -> None:
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        dist.barrier()


def all_sum(ctx: DistContext, values: list[float]) -> list[float]:
    if not ctx.enabled:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=ctx.device)
    dist.all_reduce(t)
    return t.tolist()


def any_true(ctx: DistContext, flag: bool) -> bool:
    """True on every rank when any rank says so (used to stop all ranks at the same step)."""
    if not ctx.enabled:
        return flag
    return all_sum(ctx, [1.0 if flag else 0.0])[0] > 0


def wrap(module: torch.nn.Module, ctx: DistContext) -> torch.nn.Module:
    if not ctx.enabled or not any(p.requires_grad for p in module.parameters()):
        return module
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return DDP(module, device_ids=ids)
