"""`deblur train table`: a paper table's rows at compact size, every row and seed trained to the same step budget.

The rows are the shipped configs under ``configs/cpu/<table>/`` (e.g. ``cpu/004-table1/bag-plain-compact``): one
per row, each naming its row in ``[paper] rows``, all with one recipe (:func:`check_same_recipe`). For each seed,
then each row in the paper's order (so the first seed gives a whole table first):

1. train with the seed (:func:`.loop.train`, ``RunOptions.seed``) to ``steps`` in ``<out>/runs/<variant>-seed<N>``;
   a run that stopped (time budget, Ctrl-C) resumes exactly where it was the next time;
2. export the EMA weights of its last checkpoint (:func:`.export.export_run`) to
   ``<out>/weights/seed-<N>/<variant>.safetensors``, with the training record in that folder's
   ``weights_manifest.json``;
3. write what was done to ``<out>/table_runs.json``: the settings, each config's recipe hash, and per run its
   step, status, wall time, weights file and sha256, and validation at the exported step.

Runs already at ``steps`` and exported are skipped, so the same command finishes an interrupted campaign; a larger
``steps`` continues every run (the photo recipe's constant learning rate makes the first steps the same). The
last checkpoint's weights are exported, not the best validated ones: every row is compared at the same step, and
no checkpoint is picked on photos related to the test set. `deblur eval --table <table> --weights-dir
<out>/weights` scores them.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Optional

from .. import paper_tables
from ..errors import DeblurError, UsageError
from . import checkpoint as ckpt
from .config import TrainConfig, list_presets, load_preset
from .export import export_run
from .loop import RunOptions, train
from .rundir import now_iso, write_json

RECORD = "table_runs.json"


def table_configs(table: str) -> list[TrainConfig]:
    """The shipped configs of ``table``'s mini-reproduction, in the paper's row order."""
    t = paper_tables.table(table)
    prefix = f"cpu/{table}/"
    configs = [load_preset(name) for name in list_presets() if name.startswith(prefix)]
    if not configs:
        raise UsageError(f"no mini-reproduction configs for {table} (none under configs/{prefix})")
    return sorted(configs, key=lambda c: [r.key for r in t.rows].index(row_of(c, table)))


def row_of(cfg: TrainConfig, table: str) -> str:
    """The key of the one row of ``table`` that ``cfg`` names in ``[paper] rows``."""
    keys = [paper_tables.split_ref(ref)[1] for ref in cfg.paper.rows if paper_tables.split_ref(ref)[0] == table]
    if len(keys) != 1 or paper_tables.table(table).row(keys[0]) is None:
        raise DeblurError(f"{cfg.path}: [paper] rows must name exactly one row of {table}, "
                          f"not {list(cfg.paper.rows)}")
    return keys[0]


def recipe_of(cfg: TrainConfig) -> dict:
    """What trains, without the network's name: the merged config less ``[model] variant`` and the notes."""
    resolved = {k: v for k, v in cfg.resolved.items() if k not in ("description", "paper")}
    return {**resolved, "model": {k: v for k, v in resolved.get("model", {}).items() if k != "variant"}}


def check_same_recipe(configs: list[TrainConfig]) -> None:
    """The rows must differ in their network only; raises naming the first config that differs otherwise."""
    first = recipe_of(configs[0])
    for cfg in configs[1:]:
        other = recipe_of(cfg)
        if other != first:
            keys = sorted(k for k in set(first) | set(other) if first.get(k) != other.get(k))
            raise DeblurError(f"{cfg.path} trains with another recipe than {configs[0].path} (differs in "
                              f"{', '.join(keys)}); the rows of a table must differ in [model] variant only")


def chosen_rows(only: Optional[list[str]], variants: dict[str, str]) -> set[str]:
    """The row keys that ``only`` names, by row key or variant (``variants``: row key -> variant); every row when it
    is None. Used by :func:`run_table` and by the CLI's summary of what a call trained."""
    if only is None:
        return set(variants)
    by_name = {**{row: row for row in variants}, **{variant: row for row, variant in variants.items()}}
    unknown = [name for name in only if name not in by_name]
    if unknown or not only:
        raise UsageError(f"--rows: {', '.join(unknown) or 'none given'}; the rows are "
                         + ", ".join(f"{row} ({variant})" for row, variant in variants.items()))
    return {by_name[name] for name in only}


def read_record(path: Path) -> dict:
    """The ``table_runs.json`` at ``path``; ``{}`` when there is none yet."""
    if not path.is_file():
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not valid JSON ({exc})") from None


def _step_of(run_dir: Path) -> int:
    latest = ckpt.latest(run_dir / "checkpoints")
    return 0 if latest is None else ckpt.step_of(latest)


def _manifest(folder: Path) -> Path:
    """The weights folder's own manifest (created empty): the export's training record lands there."""
    path = folder / "weights_manifest.json"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        write_json(path, {"format": 1, "variants": {}})
    return path


def run_table(table: str, seeds: list[int], steps: int, out: str | Path, *, data_root: Optional[str] = None,
              configs: Optional[list[TrainConfig]] = None, only: Optional[list[str]] = None,
              time_budget: Optional[float] = None,
              options: Optional[RunOptions] = None, command: Optional[str] = None,
              log: Optional[Callable[[str], None]] = None) -> dict:
    """Train and export every (row, seed) of ``table`` to ``steps`` (module doc); returns the record written.

    ``configs``: the rows to run (default :func:`table_configs`; tests pass small ones). ``only``: train just these
    rows (row keys or variant names), so that two processes can share one seed's rows, each with its own ``out``
    (docs/train.md); the record still lists every row. ``time_budget``: seconds
    for this whole call; a run it cuts short resumes next time. ``options``: the rest of :class:`RunOptions`
    (device, workers, progress); the run folder, steps, seed, budget and data root are set here. ``log``: gets a
    line as each run starts and ends.
    """
    log = log or (lambda line: None)
    if steps < 1 or not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise UsageError("give a step budget of at least 1 and distinct seeds of 0 or more")
    configs = configs if configs is not None else table_configs(table)
    check_same_recipe(configs)
    rows = [row_of(cfg, table) for cfg in configs]
    chosen = chosen_rows(only, {row: cfg.model.variant for row, cfg in zip(rows, configs)})
    out = Path(out).expanduser().resolve()
    data_root = str(Path(data_root).expanduser().resolve()) if data_root else None
    record_path = out / RECORD
    record = read_record(record_path)
    if record and (record.get("table"), record.get("data_root")) != (table, data_root):
        raise UsageError(f"{out} holds {record.get('table')} trained on {record.get('data_root')}; use another --out "
                         f"for {table} on {data_root}")
    session = {"started": now_iso(), "command": command or " ".join(sys.argv), "steps": steps, "seeds": seeds}
    record.update({
        "table": table, "steps": steps, "data_root": data_root,
        "seeds": sorted(set(record.get("seeds", [])) | set(seeds)),
        "rows": {row: {"config": cfg.name, "variant": cfg.model.variant, "recipe_sha256": cfg.sha256}
                 for row, cfg in zip(rows, configs)},
        "evaluate": f"deblur eval --table {table} --weights-dir {out / 'weights'} "
                    "--blur <held-out blurred> --sharp <held-out sharp>"})
    record.setdefault("sessions", []).append(session)
    runs = record.setdefault("runs", {})
    start = time.monotonic()
    stopped = None
    for seed, (row, cfg) in ((s, rc) for s in seeds for rc in zip(rows, configs) if rc[0] in chosen):  # seed-major
        variant = cfg.model.variant
        key = f"seed-{seed}/{variant}"
        run_dir, weights_dir = out / "runs" / f"{variant}-seed{seed}", out / "weights" / f"seed-{seed}"
        reached = _step_of(run_dir)
        if reached > steps:
            raise DeblurError(f"{run_dir} is at step {reached}, beyond --steps {steps}; use another --out")
        if reached == steps and runs.get(key, {}).get("status") == "done" and runs[key].get("step") == steps:
            continue  # trained and exported
        runs[key] = {"row": row, "variant": variant, "seed": seed, "run_dir": str(run_dir.relative_to(out)),
                     "step": reached, "status": "not started"}
        if reached < steps:
            left = None if time_budget is None else time_budget - (time.monotonic() - start)
            if left is not None and left <= 0:
                stopped = "time_budget"
                break
            log(f"{table} {row} ({variant}), seed {seed}: training from step {reached} to {steps}")
            result = train(cfg, replace(options or RunOptions(), run_dir=str(run_dir), max_steps=steps, seed=seed,
                                        time_budget=left, warm_start=False, data_root=data_root,
                                        command=session["command"]))
            runs[key]["step"] = result.step
            if result.step < steps:
                runs[key]["status"] = f"stopped ({result.stopped.replace('_', ' ')})"
                stopped = result.stopped
                break
        exported = export_run(run_dir, which="last", ema=True, weights_dir=weights_dir,
                              manifest_path=_manifest(weights_dir))
        runs[key].update(status="done", step=exported.step, weights=exported.path.relative_to(out).as_posix(),
                         sha256=exported.sha256, validation=exported.validation)
        write_json(record_path, record)
        log(f"{table} {row} ({variant}), seed {seed}: done, EMA weights of step {exported.step} in {exported.path}")
    session.update(ended=now_iso(), stopped=stopped or "done")
    write_json(record_path, record)
    return record
