"""A run's learning curve on the held-out real photos: every kept checkpoint scored as a user would get it.

For each checkpoint the run kept at a multiple of ``--every`` steps (``[train] keep_every``) and not scored yet, the
EMA weights are exported to a scratch folder (never into the package) and scored by
`deblur_cli.eval.held_out_photos` with `deblur`'s default settings on every set under ``--sets`` (GoPro-scale shake
and kernels, the mild sets, near-sharp photos) plus the already-sharp `chelsea`. Rows go to ``--curve`` (default
``RUN/curve.json``; the long run keeps its curve in the repository, so that it outlives the run folder), and the
whole curve is printed as a markdown table, then the shipping rules the last row breaks and where it falls short
of the default's recorded scores:

    python tools/learning_curve.py ~/deblur-runs/long --sets ~/deblur-photos/val-sets \
        --curve training/long-run/curve.json [--every 5000] [--last] [--threads 1]

CPU-hours are the run's wall time at that step, plus the wall time of the lost run it continues (recorded with its
warm start), times the cores its sessions held (threads per process times processes, from run.json): the budget
the long run is planned in, not a measurement of utilisation.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch

from deblur_cli.atomic import write_text_atomically
from deblur_cli.eval.held_out_photos import against_default, measure_photo_sets, present_sets, rule_breaks
from deblur_cli.train import checkpoint as ckpt
from deblur_cli.train.export import export_run
from deblur_cli.train.rundir import read_run

SETS_SHOWN = ("gopro-shake", "gopro-kernel", "shake", "kernel", "near-sharp", "near-sharp-random",
              "near-sharp-defocus")


def cores(run: dict) -> int:
    """Cores a session held: the most any session used (threads per process x processes)."""
    held = [max(1, int(h.get("threads") or 1)) * max(1, int(h.get("processes") or 1))
            for h in (s.get("hardware") or {} for s in run.get("sessions", []))]
    return max(held, default=1)


def score_step(run_dir: Path, step: int, sets: Path, only: dict | None = None) -> dict:
    """One row of the curve: the step's EMA weights scored on every set found under ``sets`` (or those of
    ``only``, for a row that lacks a set added after it was scored)."""
    with tempfile.TemporaryDirectory() as tmp:
        exported = export_run(run_dir, which="step", step=step, weights_dir=Path(tmp),
                              manifest_path=Path(tmp) / "manifest.json")
        result = measure_photo_sets(exported.variant, str(exported.path), sets, sets=only)
    run = read_run(run_dir)
    wall = float(ckpt.read_meta(ckpt.step_dir(run_dir / "checkpoints", step) / "state").get("wall_time_s") or 0)
    wall += float((run.get("warm_start") or {}).get("wall_time_total_s") or 0) if run.get("continued_at") else 0.0
    row = {"step": step, "wall_h": wall / 3600, "cpu_h": wall / 3600 * cores(run),
           "sharp chelsea": result["sharp chelsea"]}
    row.update({name: {k: result[name][k] for k in ("input", "gain", "worst", "improved", "n")}
                for name in result if isinstance(result[name], dict) and "gain" in result[name]})
    return row


def markdown(rows: list[dict]) -> str:
    names = [n for n in SETS_SHOWN if any(n in r for r in rows)]
    head = "| step | CPU-hours | " + " | ".join(f"{n} (worst)" for n in names) + " | sharp `chelsea` |"
    lines = [head, "|---:|---:|" + "---:|" * len(names) + "---:|"]
    for r in rows:
        cells = [f"{r[n]['gain']:+.2f} ({r[n]['worst']:+.2f})" if n in r else "-" for n in names]
        lines.append(f"| {r['step']:,} | {r['cpu_h']:.1f} | " + " | ".join(cells) + f" | {r['sharp chelsea']:+.2f} |")
    return "\n".join(lines)


def update_curve(run_dir: Path, sets: Path, every: int, curve: Path | None = None, last: bool = False) -> list[dict]:
    """Score the kept checkpoints not in ``curve`` (default ``RUN/curve.json``) yet, saving after each; returns the
    whole curve. ``last`` scores the run's newest checkpoint too, at whatever step it stopped (runs compared at
    equal time stop at different steps)."""
    path = curve or run_dir / "curve.json"
    rows = json.loads(path.read_text()) if path.exists() else []
    done = {r["step"]: r for r in rows}
    kept = ckpt.kept_steps(run_dir / "checkpoints")
    present = present_sets(sets)
    for step in kept:
        if step in done:  # a set added since the row was scored is scored alone, while the checkpoint is kept
            missing = {name: s for name, s in present.items() if name not in done[step]}
            if missing:
                done[step].update({k: v for k, v in score_step(run_dir, step, sets, missing).items()
                                   if k in missing})
                write_text_atomically(path, json.dumps(rows, indent=1) + "\n")
                print(markdown([done[step]]).splitlines()[-1], flush=True)
            continue
        if step % every and not (last and step == kept[-1]):
            continue
        rows.append(score_step(run_dir, step, sets))
        rows.sort(key=lambda r: r["step"])
        write_text_atomically(path, json.dumps(rows, indent=1) + "\n")
        print(markdown(rows[-1:]).splitlines()[-1], flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="the run folder")
    ap.add_argument("--sets", type=Path, required=True, help="the held-out sets (tools/measure_photos.py --make-sets)")
    ap.add_argument("--every", type=int, default=5000, help="score kept checkpoints at multiples of this step")
    ap.add_argument("--curve", type=Path, help="the curve's JSON file (default RUN/curve.json)")
    ap.add_argument("--last", action="store_true", help="also score the newest checkpoint, at any step")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    if args.every < 1:
        ap.error("--every must be at least 1")
    torch.set_num_threads(args.threads)
    rows = update_curve(args.run.expanduser(), args.sets.expanduser(), args.every, args.curve, args.last)
    if not rows:
        print(f"{args.run}: no kept checkpoint at a multiple of {args.every} yet")
        return
    print(markdown(rows))
    breaks = rule_breaks(rows[-1])
    print(f"step {rows[-1]['step']:,}: shipping rules (measured part) " +
          ("met" if not breaks else "broken: " + "; ".join(breaks)))
    print(f"step {rows[-1]['step']:,}: {against_default(rows[-1])}")


if __name__ == "__main__":
    main()
