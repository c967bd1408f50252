"""The end-to-end half of `deblur bench --train` as a library: training speed with the data made as training makes it.

:mod:`.speed` times a step on one ready batch; a real photo run also makes its pairs, in data-loader workers that
share the machine with the step. This times both together, as the training loop runs them:
- **synthesis alone**: photo pairs per second from a ``DataLoader`` over the photo recipe's dataset (its mix,
  crop and batch), with ``workers`` loader processes and nothing else running, for the numpy engine (each pair
  made whole in a worker) and the torch engine (plans drawn in the workers, each batch rendered in the worker on
  a CPU run, on the GPU for a CUDA run);
- **end to end**: steps per second of a variant's training step (forward, L1, backward, Adam, EMA) fed by that
  loader with the recipe's workers, eager and compiled (:mod:`.compiled`); the compile time is the first step's
  wall time, reported beside it, and the steps/s are taken after it.
Photos come from a folder (:func:`.speed.run_train_bench` writes procedural stand-ins when none is given); core
time per pair and per step is given beside the wall clock, being steadier on a shared machine. Timings are wall clock
medians of rounds, so that a load change on a shared machine hits every configuration alike; compare ratios
measured in one run, not absolute numbers across runs.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, field

import torch
from torch.utils.data import DataLoader

from ..data.datasets import PhotoDataset
from ..data.mix import photo_mix
from ..data.photo_batches import finish_batch
from .build import build_generator, build_optimizer
from .compiled import Compiled
from .data import EpochBatches
from .ema import EMA
from .losses import ContentLoss
from .timed_step import training_step


@dataclass
class SynthRate:
    engine: str
    workers: int
    device: str  # where batches were rendered
    pairs_per_s: list[float] = field(default_factory=list)  # one per round

    @property
    def median(self) -> float:
        return statistics.median(self.pairs_per_s)


@dataclass
class CoreCost:
    """Core time per pair, made in this process on one thread: what one loader worker spends on a pair."""

    engine: str
    ms_per_pair: list[float] = field(default_factory=list)  # one per round

    @property
    def median(self) -> float:
        return statistics.median(self.ms_per_pair)


@dataclass
class EndToEnd:
    variant: str
    engine: str
    compiled: bool
    steps_per_s: list[float] = field(default_factory=list)  # one per round
    main_cpu_s: list[float] = field(default_factory=list)  # the training process's CPU seconds per step, per round
    worker_cpu_s: list[float] = field(default_factory=list)  # the loader workers' CPU seconds per step (Linux)
    first_step_s: float = 0.0  # includes the compile when compiled
    note: str = ""  # a failed compile's line

    @property
    def median(self) -> float:
        return statistics.median(self.steps_per_s)


def photo_dataset(folder: str, data_cfg, crop: int, engine: str, length: int, like: PhotoDataset | None = None
                  ) -> PhotoDataset:
    """The photo recipe's training set; ``like``'s decoded photos are shared rather than decoded again."""
    dataset = PhotoDataset(folder, length, data_cfg.seed, crop=crop, motion=data_cfg.motion,
                           mix=photo_mix(data_cfg.photos), augment=data_cfg.augment, engine=engine)
    if like is not None:
        dataset.pool = like.pool
    dataset.pool.preload()  # before the workers fork, as training does
    return dataset


def loader(dataset: PhotoDataset, batch: int, workers: int, device: torch.device, epoch: int = 0) -> DataLoader:
    dataset.render_device = "cpu" if device.type == "cpu" else "later"
    batches = EpochBatches(len(dataset), batch, seed=0)
    batches.set_position(epoch, 0)
    dataset.set_epoch(epoch)
    return DataLoader(dataset, batch_sampler=batches, num_workers=workers, collate_fn=dataset.collate,
                      persistent_workers=False, prefetch_factor=4 if workers else None)


def time_core_cost(dataset: PhotoDataset, batch: int, batches: int, rounds: int) -> CoreCost:
    """CPU time per pair (``time.process_time``, one torch thread) of ``batches`` batches made and collated here,
    as a worker makes them: less sensitive than wall time to other processes on a shared machine."""
    cost = CoreCost(dataset.engine)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    dataset.render_device = "cpu"
    try:
        for r in range(rounds):
            dataset.set_epoch(r)
            start = time.process_time()
            for b in range(batches):
                dataset.collate([dataset[b * batch + i] for i in range(batch)])
            cost.ms_per_pair.append(1000 * (time.process_time() - start) / (batches * batch))
    finally:
        torch.set_num_threads(threads)
    return cost


def time_synthesis(dataset: PhotoDataset, batch: int, workers: int, device: torch.device, batches: int,
                   rounds: int) -> SynthRate:
    """Pairs per second over ``batches`` batches per round (the first batch of a round, while the workers
    start, is not timed)."""
    rate = SynthRate(dataset.engine, workers, str(device))
    for r in range(rounds):
        it = iter(loader(dataset, batch, workers, device, epoch=r))
        finish_batch(next(it), device)
        start = time.perf_counter()
        for _ in range(batches):
            out = finish_batch(next(it), device)
        if device.type == "cuda":
            out["blur"].sum().item()
        rate.pairs_per_s.append(batches * batch / (time.perf_counter() - start))
        del it
    return rate


def workers_cpu(it) -> float | None:
    """CPU seconds the loader iterator's worker processes have used so far (from /proc; None where unknown).
    On a machine shared with other jobs, core time per step is steadier than wall time."""
    try:
        total = 0
        for worker in getattr(it, "_workers", []):
            with open(f"/proc/{worker.pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def time_end_to_end(variant: str, cfg, dataset: PhotoDataset, batch: int, workers: int, device: torch.device,
                    compiled: bool, steps: int, rounds: int) -> EndToEnd:
    """Steps per second of ``variant``'s training step fed by ``dataset`` through ``workers`` loader processes."""
    torch.manual_seed(cfg.train.seed)
    module = build_generator(cfg).to(device).train()
    g = Compiled(module, compiled)
    content = ContentLoss(cfg.content_losses)
    optimizer = build_optimizer(module, cfg.optim.lr, cfg.optim.betas)
    ema = EMA(module, cfg.train.ema) if cfg.train.ema > 0 else None
    result = EndToEnd(variant, dataset.engine, compiled)

    update = training_step(module, content, optimizer, ema, forward=g)

    def step(b: dict) -> None:
        b = finish_batch(b, device)
        blur, sharp = b["blur"].to(device), b["sharp"].to(device)
        if g.pending:
            result.note = g.probe(blur) or ""
        total = update(blur, sharp)
        if device.type == "cuda":
            total.item()

    for r in range(rounds):
        it = iter(loader(dataset, batch, workers, device, epoch=r))
        start = time.perf_counter()
        step(next(it))  # the workers' start, and the compile in the first round
        if r == 0:
            result.first_step_s = time.perf_counter() - start
        start, start_cpu, start_workers = time.perf_counter(), time.process_time(), workers_cpu(it)
        for _ in range(steps):
            step(next(it))
        result.steps_per_s.append(steps / (time.perf_counter() - start))
        result.main_cpu_s.append((time.process_time() - start_cpu) / steps)
        end_workers = workers_cpu(it)
        if start_workers is not None and end_workers is not None:
            # the workers keep the same number of batches in flight at both ends: they made ``steps`` batches
            result.worker_cpu_s.append((end_workers - start_workers) / steps)
        del it
    result.compiled = g.compiled
    return result

