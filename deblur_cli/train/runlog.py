"""What a run reports: CSV files in the run folder, TensorBoard when installed, progress on stderr.

``train.csv`` gets one row per ``log_every`` steps (losses averaged over those steps, learning rate,
steps per second); ``val.csv`` one row per validation. Columns are fixed when the file is created; a
resumed run appends to the same files. Progress goes to stderr (a rich bar on a terminal, a plain line per
log row otherwise) so stdout stays clean for scripts. Only rank 0 of a multi-process run writes.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path
from typing import Optional

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class CsvLog:
    def __init__(self, path: Path, columns: list[str]):
        self.path, self.columns = path, list(columns)
        if path.is_file() and path.stat().st_size > 0:
            with open(path, newline="", encoding="utf-8") as fh:
                header = next(csv.reader(fh), [])
            self.columns = header + [c for c in columns if c not in header]
        else:
            with open(path, "w", newline="", encoding="utf-8") as fh:
                csv.writer(fh).writerow(self.columns)

    def write(self, row: dict) -> None:
        with open(self.path, "a", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerow([_fmt(row.get(c, "")) for c in self.columns])


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


class RunLog:
    """Rank 0's reporter; every method is a no-op on other ranks (``enabled=False``)."""

    def __init__(self, run_dir: Path, loss_names: list[str], max_steps: int, start_step: int,
                 enabled: bool = True, progress: bool = True, tensorboard: bool = True):
        self.enabled = enabled
        self.max_steps = max_steps
        self.start_time = time.monotonic()
        self.start_step = start_step
        self._bar = None
        self._tb = None
        if not enabled:
            return
        self.train_csv = CsvLog(run_dir / "train.csv",
                                ["step", "epoch", "wall_s", "lr", "loss"] + loss_names + ["steps_per_s"])
        self.val_csv = CsvLog(run_dir / "val.csv", ["step", "psnr", "ssim", "l1", "weights", "best"])
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter  # here: needs the optional tensorboard package

                self._tb = SummaryWriter(str(run_dir / "tensorboard"))
            except Exception:  # tensorboard is optional; CSV is the record
                self._tb = None
        if progress and sys.stderr.isatty():
            self._bar = Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
                                 console=Console(stderr=True), transient=False)
            self._task = self._bar.add_task("train", total=max_steps, completed=start_step, info="")
            self._bar.start()
        self._plain = progress and self._bar is None

    def note(self, message: str) -> None:
        if self.enabled:
            (self._bar.console.print if self._bar else lambda m: print(m, file=sys.stderr))(message)

    def step(self, step: int, row: Optional[dict] = None) -> None:
        if not self.enabled:
            return
        if row is not None:
            self.train_csv.write(row)
            if self._tb:
                for k, v in row.items():
                    if isinstance(v, float) and k not in ("wall_s",):
                        self._tb.add_scalar(f"train/{k}", v, step)
            info = f"loss {row['loss']:.4g}  lr {row['lr']:.3g}  {row.get('steps_per_s', 0):.2f} it/s"
            if self._bar:
                self._bar.update(self._task, info=info)
            elif self._plain:
                print(f"step {step}/{self.max_steps}  {info}", file=sys.stderr, flush=True)
        if self._bar:
            self._bar.update(self._task, completed=step)

    def validation(self, step: int, metrics: dict, weights: str, best: bool) -> None:
        if not self.enabled:
            return
        self.val_csv.write({"step": step, **metrics, "weights": weights, "best": int(best)})
        if self._tb:
            for k, v in metrics.items():
                self._tb.add_scalar(f"val/{k}", v, step)
        self.note(f"step {step}: val psnr {metrics['psnr']:.2f} dB  ssim {metrics['ssim']:.4f}  "
                  f"l1 {metrics['l1']:.4f} ({weights}){'  best' if best else ''}")

    def close(self) -> None:
        if self._bar:
            self._bar.stop()
        if self._tb:
            self._tb.close()
