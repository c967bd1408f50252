"""Bundle a finished run of a table's mini-reproduction (`deblur train table`) as its variant's shipped weights.

Issue #15 ships the compact ablation weights so that ``-m bag-plain-compact`` and the others run and `deblur models`
lists them. The file is the one the table exported and scored (``<out>/weights/seed-<N>/<variant>.safetensors``),
and its manifest record is that export's training record plus what the table adds: which table, row and seed, the
data, CPU hours and how to continue. One seed's files are bundled, chosen before any scoring (the tool's caller
names it), never the better of two seeds: that would pick on the held-out photos.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from ..errors import UsageError
from .export import ExportResult, export_file
from .table_runs import RECORD, read_record


def table_record(out: Path) -> dict:
    """The record ``deblur train table`` keeps in its ``--out`` folder (rows, runs, settings)."""
    out = Path(out).expanduser().resolve()
    record_path = out / RECORD
    if not record_path.is_file():
        raise UsageError(f"{out}: no {RECORD}; is this a `deblur train table` --out folder?")
    return read_record(record_path)


def table_variants(out: Path) -> list[str]:
    """The variants of the table's rows, in the record's order."""
    return [row["variant"] for row in table_record(out).get("rows", {}).values()]


def table_training_record(out: Path, seed: int, variant: str) -> tuple[Path, dict]:
    """The exported file of ``variant`` at ``seed`` under the table folder ``out`` and its training record."""
    out = Path(out).expanduser().resolve()
    record = table_record(out)
    run = record.get("runs", {}).get(f"seed-{seed}/{variant}")
    if run is None or run.get("status") != "done":
        state = "not in the record" if run is None else run.get("status")
        raise UsageError(f"{out}: {variant} seed {seed} is {state}; finish it with `deblur train table` first")
    weights = out / run["weights"]
    entries = json.loads((weights.parent / "weights_manifest.json").read_text(encoding="utf-8"))["variants"]
    training = dict(entries[variant]["training"])
    data = json.loads((out / run["run_dir"] / "config.json").read_text(encoding="utf-8"))["data"]  # as it trained
    preset = training.get("recipe", {}).get("config", f"cpu/{record['table']}/{variant}")
    threads = max((h.get("threads", 1) * h.get("processes", 1) for h in training.get("hardware", [])), default=1)
    training.update(
        table={"table": record["table"], "row": run["row"], "seed": seed, "steps": record["steps"]},
        data=(f"real photographs in {record['data_root']} (`deblur photos fetch`: the training photos of "
              "deblur_cli/data/photo_sources.json), blurred on the fly by deblur_cli/data/photo_pairs.py, "
              f"{data['crop']} px crops, batch {data['batch']}; from scratch (seed {seed})"),
        cpu_hours=round(training["wall_time_total_s"] * threads / 3600, 2),
        command=(f"deblur train table {record['table']} --steps {record['steps']} --seeds {seed} "
                 f"--data-root ~/deblur-photos/train --out ~/deblur-{record['table']} --threads {threads}"),
        **{"continue": ("run the command with a larger --steps: it resumes the run folder exactly; when the folder "
                        f"is gone, `deblur train --preset {preset} --init-from-bundled` warm-starts from this "
                        "file (the table's rows are then no longer trained alike)")})
    return weights, training


def bundle_table_run(out: Path, seed: int, variant: str, dtype: str = "fp16", weights_dir: Optional[Path] = None,
                     manifest_path: Optional[Path] = None, replace: bool = False) -> ExportResult:
    """Write the table run's file as ``variant``'s bundled weights, with :func:`table_training_record`.

    A variant whose shipped file was not trained by a table (the BAG row's ``bag-compact``, the default CPU model,
    trained longer on its own recipe) is left alone unless ``replace``."""
    from ..weights.manifest import load_manifest

    entry = load_manifest(manifest_path).get(variant)
    if entry is not None and entry.trained and "table" not in entry.training and not replace:
        recipe = entry.training.get("recipe", {}).get("config", "another recipe")
        raise UsageError(f"{variant} ships weights trained outside the table ({recipe}); not replaced")
    weights, training = table_training_record(out, seed, variant)
    return export_file(weights, variant, training, dtype=dtype, weights_dir=weights_dir, manifest_path=manifest_path)
