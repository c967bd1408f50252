"""The training loop: one generator update per step, with exact resume, validation and a time budget.

A step (DeblurGAN's order, which paper 004 follows): the generator restores the batch once; the
discriminator is updated ``n_critic`` times on that (sharp, restored) pair; then the generator is updated
on content loss + weight x adversarial loss. Learning rates follow :mod:`schedule` as a function of the
step. Validation every ``val_every`` steps keeps the best weights (by PSNR, or by L1 for report 003);
checkpoints every ``ckpt_every`` steps and whenever the run stops (max steps, time budget, Ctrl-C or
SIGTERM: the first signal stops after the current step, a second one aborts).

Resume restores everything a straight run carries from one step to the next: weights, optimizer and
loss-scaler state, EMA, the python/numpy/torch generators of every rank, the data position and the step.
On CPU a resumed run is bit-identical to a straight one (tested); on CUDA, cuDNN autotuning and atomics
make runs close but not bit-identical.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

import torch
from torch.utils.data import DataLoader

from .. import registry
from ..errors import DeblurError
from ..registry import count_parameters
from ..data.photo_batches import finish_batch
from . import checkpoint as ckpt, distributed as dist_utils
from .compiled import Compiled, compile_setting, decide
from .build import build_adversarial, build_discriminator, build_generator, build_optimizer, seed_everything
from .config import TrainConfig, parse_duration, with_seed
from .data import EpochBatches, build_train_dataset, build_val_dataset, rescale
from .ema import EMA
from .losses import ContentLoss, finest
from .perceptual import PerceptualLoss, load_vgg19
from .runlog import RunLog
from .rundir import (add_session, check_same_config, clear_logs, data_change, describe_changes, hardware, now_iso,
                     read_run, recorded_seed, resolve_run_dir, start_run)
from .schedule import lr_factor, set_lr
from .state import Checkpointing
from .validate import Validator


REWARM_STEPS = 500  # --start-step: steps over which the rate warms up again (Adam's second moment needs ~1/(1-0.999))


@dataclass
class RunOptions:
    run_dir: Optional[str] = None
    data_root: Optional[str] = None
    device: str = "auto"
    max_steps: Optional[int] = None  # stop at this step (the schedule follows the config's max_steps)
    time_budget: Optional[float] = None  # seconds
    resume: bool = False  # True: a checkpoint must exist (otherwise resuming is automatic)
    warm_start: Optional[bool] = None  # None: the config's [train] warm_start; True: must; False: never
    init_from: Optional[str] = None  # a .safetensors file to start from instead of the bundled weights
    # with init_from: continue the config's schedule at this step, as the run whose folder was lost would have
    start_step: Optional[int] = None
    continue_schedule: bool = False  # with init_from: start_step is the steps the file records
    change_data: bool = False  # resume although the training-pair keys of [data] changed (rundir.check_same_config)
    vgg_weights: Optional[str] = None
    workers: Optional[int] = None
    progress: bool = True
    tensorboard: bool = True
    command: Optional[str] = None  # how the run was started, for run.json (default: sys.argv)
    manifest: Optional[Path] = None  # weights manifest to warm-start from (default: the package's)
    seed: Optional[int] = None  # [train] seed for this run (`--seed`); None: the config's, or the one the run recorded
    compile: Optional[str] = None  # auto | on | off (`--compile`); None: $DEBLUR_COMPILE, else the config's


@dataclass
class TrainResult:
    run_dir: Path
    variant: str
    step: int
    stopped: str  # max_steps | time_budget | signal
    is_main: bool  # rank 0 (the process that wrote the run folder)
    last_val: Optional[dict] = None
    best: Optional[dict] = None
    resumed_from: Optional[int] = None
    warm_start: Optional[dict] = None
    notes: list = field(default_factory=list)


class _StopFlag:
    """SIGINT/SIGTERM: the first asks to stop after this step, the second aborts."""

    def __init__(self):
        self.set = False
        self._old: dict = {}

    def __enter__(self):
        if hasattr(signal, "SIGTERM") and threading_is_main():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.set:
            raise KeyboardInterrupt
        self.set = True

    def __exit__(self, *exc):
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def threading_is_main() -> bool:
    return threading.current_thread() is threading.main_thread()


class Trainer(Checkpointing):
    """One training run (one process of it under torchrun): set up in ``__init__``, trained by ``run``."""

    def __init__(self, cfg: TrainConfig, opts: RunOptions, ctx: dist_utils.DistContext):
        self.cfg, self.opts = cfg, opts
        self.t0 = time.monotonic()
        self.ctx = ctx
        self.device = self.ctx.device
        self.notes: list[str] = []
        self.run_dir = resolve_run_dir(cfg, opts.run_dir)
        self.ckpt_root = self.run_dir / "checkpoints"
        # --max-steps ends this session at that step; the schedule keeps the recipe's length (so a run
        # stopped early and resumed matches a straight run) unless --max-steps goes beyond it
        self.max_steps = opts.max_steps or cfg.train.max_steps
        self.horizon = max(cfg.train.max_steps, self.max_steps)
        self.budget = opts.time_budget if opts.time_budget is not None else (
            parse_duration(cfg.train.time_budget) if cfg.train.time_budget else None)
        self.resume_from = ckpt.latest(self.ckpt_root)
        if opts.resume and self.resume_from is None:
            raise DeblurError(f"--resume: no checkpoint in {self.run_dir}")
        self.recipe_change = (check_same_config(self.run_dir, cfg, opts.change_data)
                              if self.resume_from is not None else {})
        cuda = self.device.type == "cuda"
        self.amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(cfg.train.amp) if cuda else None
        self.channels_last = cfg.train.channels_last and cuda
        if cuda:
            torch.backends.cudnn.benchmark = True

        # the perceptual loss's weights come first: a missing file stops the run before any other work
        perceptual = None
        if cfg.uses_perceptual():
            layer = next(l.layer for l in cfg.losses if l.type == "perceptual")
            perceptual = PerceptualLoss(load_vgg19(layer, opts.vgg_weights, str(cfg.path))).to(self.device)
        self.content = ContentLoss(cfg.content_losses, perceptual)
        self.adv = build_adversarial(cfg)
        self.spec = registry.get(cfg.model.variant)
        # data next, so a missing folder is reported before the networks are built
        self.dataset = build_train_dataset(cfg, opts.data_root)
        self.batches = EpochBatches(len(self.dataset), cfg.data.batch, cfg.data.seed, self.ctx.rank, self.ctx.world)
        val_set = build_val_dataset(cfg, opts.data_root)
        v = cfg.data.val
        val_crop = v.crop if v.kind in ("gopro", "pairs") else None
        self.validator = Validator(val_set, self.spec, self.ctx, cfg.data.scale, val_crop,
                                   self.channels_last) if val_set else None

        seed_everything(cfg.train.seed)
        g = build_generator(cfg)
        d = build_discriminator(cfg)
        self.warm = None if self.resume_from is not None else self._warm_start(g)
        g, d = g.to(self.device), (d.to(self.device) if d is not None else None)
        if self.channels_last:
            g = g.to(memory_format=torch.channels_last)
            d = d.to(memory_format=torch.channels_last) if d is not None else None
        self.ema = EMA(g, cfg.train.ema) if cfg.train.ema > 0 else None
        o = cfg.optim
        self.opt_g = build_optimizer(g, o.lr, o.betas)
        self.opt_d = build_optimizer(d, o.lr_d or o.lr, o.betas) if d is not None else None
        fp16 = self.amp_dtype is torch.float16
        self.scaler_g = torch.amp.GradScaler("cuda", enabled=fp16)
        self.scaler_d = torch.amp.GradScaler("cuda", enabled=fp16)

        self.step, self.epoch, self.batch_in_epoch = 0, 0, 0
        self.continued_at = None  # the step a run lost with its folder was continued at (--start-step)
        start = self._start_step() if self.resume_from is None else None
        if start:
            self.continued_at = self.step = start
            self.epoch, self.batch_in_epoch = divmod(self.step, max(1, self.batches.batches_per_epoch()))
            self.notes.append(f"continuing the schedule at step {self.step}; Adam's moments start afresh, so the "
                              f"rate warms up again over {REWARM_STEPS} steps")
        self.wall_before = 0.0  # training seconds of earlier sessions of this run
        self.best: Optional[dict] = None
        self.last_val: Optional[dict] = None
        self.last_val_step = -1
        if self.resume_from is not None:
            self._load(self.resume_from, g, d)
        else:
            seed_everything(cfg.train.seed * 1009 + 1 + self.ctx.rank)  # ranks draw different noise
        self.g_plain, self.d_plain = g, d
        setting = opts.compile or compile_setting(cfg.train.compile)
        enabled, note = decide(setting if self.ctx.world == 1 or setting == "on" else "off", self.device,
                               self.max_steps - self.step, self.budget)
        if note:
            self.notes.append(note)
        self.g = Compiled(dist_utils.wrap(g, self.ctx), enabled)
        self.d = dist_utils.wrap(d, self.ctx) if d is not None else None

        if self.ctx.is_main:
            session = {"started": now_iso(), "from_step": self.step, "hardware": hardware(self.device, self.ctx.world),
                       "command": self.opts.command or " ".join(sys.argv)}
            if hasattr(self.dataset, "describe"):
                session["data"] = self.dataset.describe()
            if self.resume_from is None:
                clear_logs(self.run_dir)  # a run folder without a checkpoint starts over
                seeded = {} if opts.seed is None else {"seed_option": opts.seed}
                continued = {} if self.continued_at is None else {"continued_at": self.continued_at}
                start_run(self.run_dir, cfg, {
                    **seeded, **continued, "warm_start": self.warm, "generator_parameters": count_parameters(g),
                    "multiple_of": self.spec.multiple_of, "validation_set": describe_val_set(cfg),
                    "command": session["command"], "sessions": [session]})
            else:
                changed = data_change(read_run(self.run_dir), session.get("data"))
                if changed:
                    self.notes.append(changed)
                if self.recipe_change:
                    session["recipe_change"] = self.recipe_change
                    self.notes.append(f"the training pairs are made differently from step {self.step} on "
                                      f"({describe_changes(self.recipe_change)}); recorded in run.json")
                add_session(self.run_dir, session, cfg)
            (self.run_dir / "best").mkdir(parents=True, exist_ok=True)
            self.ckpt_root.mkdir(parents=True, exist_ok=True)
        dist_utils.barrier(self.ctx)
        if self.resume_from is not None:
            recorded = read_run(self.run_dir)
            self.warm, self.continued_at = recorded.get("warm_start"), recorded.get("continued_at")

    # --- the loop ----------------------------------------------------------------------------------------

    def wall_time(self) -> float:
        return self.wall_before + (time.monotonic() - self.session_start)

    def _loader(self) -> DataLoader:
        self.batches.set_position(self.epoch, self.batch_in_epoch)
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(self.epoch)
        workers = self.opts.workers if self.opts.workers is not None else self.cfg.data.workers
        # the torch pair engine renders a batch where it is collated: in the loader on a CPU run, on the GPU here
        self.dataset.render_device = "cpu" if self.device.type == "cpu" else "later"
        # a generator of our own: creating an iterator must not draw from the global torch generator
        gen = torch.Generator().manual_seed(self.cfg.data.seed * 7919 + self.epoch)
        return DataLoader(self.dataset, batch_sampler=self.batches, num_workers=workers,
                          pin_memory=self.device.type == "cuda", generator=gen,
                          collate_fn=getattr(self.dataset, "collate", None))

    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.amp_dtype)

    def train_step(self, batch: dict) -> dict:
        cfg = self.cfg
        batch = finish_batch(batch, self.device)
        blur = rescale(batch["blur"].to(self.device, non_blocking=True).float(), cfg.data.scale)
        sharp = rescale(batch["sharp"].to(self.device, non_blocking=True).float(), cfg.data.scale)
        if self.channels_last:
            blur = blur.contiguous(memory_format=torch.channels_last)
            sharp = sharp.contiguous(memory_format=torch.channels_last)
        factor = lr_factor(self.step, self.horizon, cfg.optim.schedule, cfg.optim.decay_start,
                           cfg.optim.warmup, cfg.optim.floor)
        if self.continued_at is not None:  # fresh Adam moments: a full-size first update would jump
            factor *= min(1.0, (self.step - self.continued_at + 1) / REWARM_STEPS)
        lr = set_lr(self.opt_g, cfg.optim.lr, factor)
        logs: dict = {"lr": lr}
        with self._autocast():
            failed = self.g.probe(blur)
            if failed:
                self.notes.append(failed)
                if getattr(self, "_log", None) is not None:
                    self._log.note(failed)
            output = self.g(blur)
        fake = finest(output)
        cond = blur if (cfg.discriminator and cfg.discriminator.conditional) else None

        if self.adv is not None:
            set_lr(self.opt_d, cfg.optim.lr_d or cfg.optim.lr, factor)
            detached = fake.detach()
            for _ in range(self.adv.n_critic):
                self.opt_d.zero_grad(set_to_none=True)
                with self._autocast():
                    d_loss, d_logs = self.adv.d_loss(self.d, sharp, detached, cond)
                self.scaler_d.scale(d_loss).backward()
                self.scaler_d.step(self.opt_d)
                self.scaler_d.update()
            logs.update(d_logs)

        self.opt_g.zero_grad(set_to_none=True)
        with self._autocast():
            total, terms = self.content(output, sharp)
            logs.update(terms)
            if self.adv is not None:
                # the plain module: D's parameters get no gradient here, and its DDP reducer stays idle
                self.d_plain.requires_grad_(False)
                try:
                    g_adv = self.adv.weight * self.adv.g_loss(self.d_plain, fake, cond)
                finally:
                    self.d_plain.requires_grad_(True)
                logs["adv"] = g_adv.detach()
                total = total + g_adv
        logs["loss"] = total.detach()
        self.scaler_g.scale(total).backward()
        self.scaler_g.step(self.opt_g)
        self.scaler_g.update()
        if self.ema is not None:
            self.ema.update(self.g_plain)
        return logs

    def validate(self, log: RunLog) -> None:
        if self.validator is None:
            return
        module = self.ema.module if self.ema is not None else self.g_plain
        weights = "ema" if self.ema is not None else "generator"
        metrics = self.validator.run(module)
        key = self.cfg.train.best_by
        better = (self.best is None or (metrics[key] > self.best["value"] if key == "psnr"
                                        else metrics[key] < self.best["value"]))
        self.last_val, self.last_val_step = {**metrics, "step": self.step, "weights": weights}, self.step
        if better:
            self.best = {"metric": key, "value": metrics[key], "step": self.step, "metrics": metrics}
            if self.ctx.is_main:
                self._save_best(metrics, weights)
        log.validation(self.step, metrics, weights, better)

    def run(self) -> TrainResult:
        cfg = self.cfg
        self.session_start = time.monotonic()
        self.last_ckpt_step = self.step
        resumed_from = self.step if self.resume_from is not None else None
        names = [l.type for l in cfg.content_losses]
        if self.adv is not None:
            names += ["adv", "d_loss"] + (["wdist", "gp"] if self.adv.kind == "wgan_gp" else [])
        log = RunLog(self.run_dir, names, self.max_steps, self.step, enabled=self.ctx.is_main,
                     progress=self.opts.progress, tensorboard=self.opts.tensorboard)
        for note in self.notes:
            log.note(note)
        self._log = log
        sums: dict = {}
        window_start, window_steps, step_time = time.monotonic(), 0, 0.0
        stopped = "max_steps"
        loader_iter = None
        try:
            with _StopFlag() as flag:
                while True:
                    reason = None
                    if self.step >= self.max_steps:
                        reason = "max_steps"
                    elif flag.set:
                        reason = "signal"
                    elif self.budget is not None and (time.monotonic() - self.t0) + step_time > self.budget:
                        reason = "time_budget"
                    if dist_utils.any_true(self.ctx, reason is not None):
                        stopped = reason or "time_budget"
                        break
                    if loader_iter is None:
                        loader_iter = iter(self._loader())
                    try:
                        batch = next(loader_iter)
                    except StopIteration:
                        self.epoch, self.batch_in_epoch, loader_iter = self.epoch + 1, 0, None
                        continue
                    t = time.monotonic()
                    logs = self.train_step(batch)
                    self.batch_in_epoch += 1
                    self.step += 1
                    step_time = time.monotonic() - t
                    for k, v in logs.items():
                        if k != "lr":
                            sums[k] = sums.get(k, 0.0) + v
                    window_steps += 1
                    row = None
                    if self.step % cfg.train.log_every == 0 or self.step == self.max_steps:
                        now = time.monotonic()
                        row = {"step": self.step, "epoch": self.epoch, "wall_s": self.wall_time(),
                               "lr": float(logs["lr"]), "steps_per_s": window_steps / max(now - window_start, 1e-9),
                               **{k: float(v) / window_steps for k, v in sums.items()}}
                        sums, window_start, window_steps = {}, now, 0
                    log.step(self.step, row)
                    if self.step % cfg.train.val_every == 0:
                        self.validate(log)
                    if self.step % cfg.train.ckpt_every == 0:
                        self.save_checkpoint()
            if self.last_val_step != self.step:
                self.validate(log)
            if self.last_ckpt_step != self.step or ckpt.latest(self.ckpt_root) is None:
                self.save_checkpoint()
        finally:
            log.close()
        if stopped == "time_budget":
            log.note(f"time budget reached at step {self.step}; checkpoint saved, run again to continue")
        return TrainResult(self.run_dir, self.cfg.model.variant, self.step, stopped, self.ctx.is_main,
                           self.last_val, self.best, resumed_from, self.warm, self.notes)


def describe_val_set(cfg: TrainConfig) -> str:
    v = cfg.data.val
    if v.kind == "none":
        return "none"
    if v.kind in ("synthetic", "noise"):
        return f"{v.kind}, seed {v.seed}, {v.count} images of {v.crop or 256}x{v.crop or 256}"
    if v.kind == "photos":
        return (f"held-out photos ({v.root or 'the val folder beside the training photos'}) blurred with seed "
                f"{v.seed}: {v.count} images of {v.crop or 256}x{v.crop or 256}")
    where = f"GoPro {v.split} ({v.blur_kind})" if v.kind == "gopro" else f"{v.blur_dir} vs {v.sharp_dir}"
    crop = f", centre {v.crop}x{v.crop}" if v.crop else ", whole images"
    scale = f", scaled x{cfg.data.scale}" if cfg.data.scale != 1 else ""
    return f"{where}: {v.count} images evenly spaced{crop}{scale}"


def seeded(cfg: TrainConfig, opts: RunOptions) -> tuple[TrainConfig, RunOptions]:
    """Apply ``opts.seed`` to ``cfg`` (a run folder of its own by default), or the seed the run folder was started
    with when none is given, so that resuming keeps it; a different seed for a started run is refused."""
    run_dir = resolve_run_dir(cfg, opts.run_dir, opts.seed)
    recorded = recorded_seed(run_dir)
    if opts.seed is not None and recorded is not None and recorded != opts.seed:
        raise DeblurError(f"{run_dir} was started with --seed {recorded}, not {opts.seed}; use another --run-dir")
    seed = opts.seed if opts.seed is not None else recorded
    if seed is None:
        return cfg, opts
    return with_seed(cfg, seed), replace(opts, seed=seed, run_dir=str(run_dir))


def train(cfg: TrainConfig, opts: RunOptions) -> TrainResult:
    """Train (or continue training) the run of ``cfg``; returns where it stopped and its metrics."""
    cfg, opts = seeded(cfg, opts)
    ctx = dist_utils.setup(opts.device)
    try:
        result = Trainer(cfg, opts, ctx).run()
        # No rank may tear the process group down while another is still in a collective or saving: a rank
        # that did aborted its peer at exit ("terminate called without an active exception") in CI.
        dist_utils.barrier(ctx)
        return result
    finally:
        dist_utils.teardown(ctx)
