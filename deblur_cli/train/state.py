"""What a trainer carries between sessions: warm start, checkpoints, best weights (a mixin of ``Trainer``).

Kept apart from the loop because it is the part that must match it exactly: every piece of state the loop
updates from one step to the next is saved by ``_state`` and put back by ``_load`` (see the layout in
:mod:`checkpoint`). The methods read the trainer's attributes (networks, optimizers, scalers, EMA, step,
data position, best metric) and ``self.ctx`` for the rank.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Optional

import torch

from ..errors import DeblurError
from ..weights.io import load_weights, read_metadata, sha256_file
from ..weights.manifest import ROOT, load_manifest, manifest_path, read_raw
from ..weights.resolve import find_local
from . import checkpoint as ckpt, distributed as dist_utils
from .build import seed_everything
from .rundir import write_json


class Checkpointing:
    def _warm_start(self, g: torch.nn.Module) -> Optional[dict]:
        if self.opts.init_from:
            return self._start_from_file(g, Path(self.opts.init_from))
        want = self.opts.warm_start
        if want is False or (want is None and not self.cfg.train.warm_start):
            return None
        variant = self.cfg.model.variant
        if self.cfg.model.overrides:
            if want:
                raise DeblurError(f"--init-from-bundled: {self.cfg.path} overrides the architecture of "
                                  f"{variant}, so the bundled weights do not fit")
            return None
        found = bundled_generator_state(variant, self.opts.manifest)
        if found is None:
            if want:
                raise DeblurError(f"--init-from-bundled: {variant} has no bundled weights "
                                  "(see `deblur models`); train from scratch without the flag")
            return None
        state, entry = found
        try:
            g.load_state_dict(state)
        except RuntimeError as exc:
            raise DeblurError(f"bundled weights of {variant} do not fit its network: "
                              f"{str(exc).splitlines()[0]}") from None
        self.notes.append(f"warm start from the bundled {variant} weights "
                          f"({(entry.get('training') or {}).get('steps_total', 0)} steps so far); "
                          "--from-scratch to start fresh")
        history = entry.get("training") or {}
        return {"variant": variant, "sha256": entry.get("sha256"),
                "steps_total": int(history.get("steps_total") or 0),
                "wall_time_total_s": float(history.get("wall_time_total_s") or history.get("wall_time_s") or 0.0)}

    def _start_step(self) -> Optional[int]:
        """Where a run lost with its folder continues its schedule: ``start_step``, or with ``continue_schedule``
        the steps its exported file records (``deblur train export`` writes them into the file's metadata)."""
        if not (self.opts.start_step or self.opts.continue_schedule):
            return None
        if not self.opts.init_from:
            raise DeblurError("continuing a schedule needs the run's exported weights: give --init-from FILE")
        if self.opts.start_step:
            return self.opts.start_step
        path = Path(self.opts.init_from)
        steps = int(read_metadata(path).get("steps_total") or 0) if path.is_file() else 0
        if steps < 1:
            raise DeblurError(f"--continue-schedule: {path} records no training steps (export it with "
                              "`deblur train export`)")
        return steps

    def _start_from_file(self, g: torch.nn.Module, path: Path) -> dict:
        """``--init-from FILE``: the generator's weights from an exported file (one that a GPU machine sent back,
        say), which must be a safetensors file of this variant. Its lineage (steps, wall time) is read from
        the file's metadata, where ``deblur train export`` writes it."""
        variant = self.cfg.model.variant
        if not path.is_file():
            raise DeblurError(f"--init-from {path}: no such file")
        meta = read_metadata(path)
        if meta.get("variant") not in (None, variant):
            raise DeblurError(f"--init-from {path}: the file holds {meta['variant']} weights, the config trains "
                              f"{variant}")
        state = load_weights(path)
        try:
            g.load_state_dict(state)
        except RuntimeError as exc:
            raise DeblurError(f"--init-from {path}: the weights do not fit {variant}: "
                              f"{str(exc).splitlines()[0]}") from None
        steps = int(meta.get("steps_total") or 0)
        self.notes.append(f"warm start from {path} ({steps} steps so far)")
        return {"variant": variant, "sha256": sha256_file(path), "file": str(path), "steps_total": steps,
                "wall_time_total_s": float(meta.get("wall_time_total_s") or 0.0)}

    def _state(self) -> tuple[dict, dict]:
        tensors: dict[str, torch.Tensor] = {}
        tensors.update({f"generator/{k}": v for k, v in self.g_plain.state_dict().items()})
        meta: dict = {}
        if self.d_plain is not None:
            tensors.update({f"discriminator/{k}": v for k, v in self.d_plain.state_dict().items()})
            t, meta["optim_d"] = ckpt.flatten_optimizer(self.opt_d, "optim_d")
            tensors.update(t)
        if self.ema is not None:
            tensors.update({f"ema/{k}": v for k, v in self.ema.state_dict().items()})
        t, meta["optim_g"] = ckpt.flatten_optimizer(self.opt_g, "optim_g")
        tensors.update(t)
        rng_t, meta["rng"] = ckpt.capture_rng()
        tensors.update(rng_t)
        meta.update(step=self.step, epoch=self.epoch, batch_in_epoch=self.batch_in_epoch,
                    wall_time_s=self.wall_time(), best=self.best, last_val=self.last_val,
                    last_val_step=self.last_val_step, horizon=self.horizon, world=self.ctx.world,
                    config_sha256=self.cfg.sha256, scaler_g=self.scaler_g.state_dict(),
                    scaler_d=self.scaler_d.state_dict())
        return tensors, meta

    def _load(self, folder: Path, g, d) -> None:
        tensors, meta = ckpt.read_tensors(folder / "state")

        def part(prefix: str) -> dict:
            return {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + "/")}

        g.load_state_dict(part("generator"))
        if d is not None:
            d.load_state_dict(part("discriminator"))
            self.opt_d.load_state_dict(ckpt.unflatten_optimizer(tensors, meta["optim_d"], "optim_d"))
        if self.ema is not None:
            ema_state = part("ema")
            self.ema.load_state_dict(ema_state if ema_state else g.state_dict())
        self.opt_g.load_state_dict(ckpt.unflatten_optimizer(tensors, meta["optim_g"], "optim_g"))
        if meta.get("scaler_g"):
            self.scaler_g.load_state_dict(meta["scaler_g"])
            self.scaler_d.load_state_dict(meta["scaler_d"])
        self.step, self.epoch, self.batch_in_epoch = meta["step"], meta["epoch"], meta["batch_in_epoch"]
        self.wall_before = float(meta.get("wall_time_s", 0.0))
        self.best, self.last_val = meta.get("best"), meta.get("last_val")
        self.last_val_step = meta.get("last_val_step", -1)
        if self.ctx.rank == 0:
            ckpt.restore_rng(tensors, meta["rng"])
        elif (folder / f"rng-rank{self.ctx.rank}.json").is_file() and meta.get("world") == self.ctx.world:
            ckpt.restore_rng(*ckpt.read_tensors(folder / f"rng-rank{self.ctx.rank}"))
        else:  # a different process count: the data order is re-sharded anyway
            seed_everything(self.cfg.train.seed * 1009 + 1 + self.ctx.rank + 7919 * self.step)
        self.notes.append(f"resumed from step {self.step} ({folder})")

    def save_checkpoint(self) -> None:
        folder = ckpt.step_dir(self.ckpt_root, self.step)
        tmp = self.ckpt_root / f".writing-{folder.name}"
        if self.ctx.is_main:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
        dist_utils.barrier(self.ctx)
        if not self.ctx.is_main:
            ckpt.write_tensors(tmp / f"rng-rank{self.ctx.rank}", *ckpt.capture_rng())
        dist_utils.barrier(self.ctx)
        if self.ctx.is_main:
            ckpt.write_tensors(tmp / "state", *self._state())
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(tmp, folder)
            ckpt.publish(self.ckpt_root, folder, keep_every=self.cfg.train.keep_every)
        dist_utils.barrier(self.ctx)
        self.last_ckpt_step = self.step

    def _save_best(self, metrics: dict, weights: str) -> None:
        best_dir = self.run_dir / "best"
        tensors = {f"generator/{k}": v for k, v in self.g_plain.state_dict().items()}
        if self.ema is not None:
            tensors.update({f"ema/{k}": v for k, v in self.ema.state_dict().items()})
        ckpt.write_tensors(best_dir / "weights", tensors, None)
        write_json(best_dir / "info.json", {"step": self.step, "metrics": metrics, "weights": weights,
                                            "best_by": self.cfg.train.best_by, "wall_time_s": self.wall_time()})


def bundled_generator_state(variant: str, manifest: Optional[Path] = None) -> Optional[tuple[dict, dict]]:
    """(state dict, raw manifest entry) of ``variant``'s own weights on this machine (bundled or cached).

    No network, and never another variant's weights (no compact fallback): a warm start must match the
    architecture being trained. Bundled paths are relative to the repository root, or to a test manifest's folder.
    """
    file = Path(manifest) if manifest is not None else manifest_path()
    root = ROOT if manifest is None else file.resolve().parent
    manifest_ = load_manifest(file, root=root)
    entry = manifest_.get(variant)
    found = find_local(variant, manifest_)
    if entry is None or found is None:
        return None
    path, _source = found
    raw = read_raw(file.resolve())["variants"].get(variant) or {}
    return load_weights(path, expected_sha256=entry.sha256), raw
