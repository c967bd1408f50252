"""The torchrun environment, read in one place: ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``.

Both multi-process paths (``deblur`` sharding a batch, ``deblur train`` under DDP) read it here, so they
agree on who is who. No torch import: the CLI reads this before it knows whether it needs torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Optional


@dataclass(frozen=True)
class Launch:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launch_from_env(environ: Optional[Mapping[str, str]] = None) -> Launch:
    """The torchrun environment; a single process (rank 0 of 1) without it.

    torchrun always sets ``LOCAL_RANK``. When another launcher sets only ``RANK`` and ``WORLD_SIZE``, the
    local rank defaults to ``RANK``, not 0: on one machine (the usual case) that is exactly the local rank, and
    with several machines of G devices each, contiguous ranks give ``RANK % G`` == the local rank once the
    device index is taken modulo the device count (as both users do). A default of 0 would put every process
    of a machine on its first GPU.
    """
    env = os.environ if environ is None else environ
    world = int(env.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Launch()
    rank = int(env["RANK"])
    return Launch(rank, world, int(env.get("LOCAL_RANK", rank)))
