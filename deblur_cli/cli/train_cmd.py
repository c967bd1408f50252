"""`deblur train`: train a generator from a config; `deblur train export`: bundle a run's weights.

Thin: options are read here, the work is :func:`deblur_cli.train.loop.train` and
:func:`deblur_cli.train.export.export_run`. torch is imported only inside the commands.
Multi-GPU: ``torchrun --nproc-per-node N -m deblur_cli train --preset NAME``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import UsageError, friendly_errors, set_debug
from .options import DebugOpt, DeviceOpt, ThreadsOpt, apply_threads

app = typer.Typer(
    help="Train a generator from a config (one TOML file per experiment), export a run's weights, or train a "
    "paper table's rows at compact size.\n\n"
    "Examples:  deblur train --list   |   deblur train --preset cpu/bag-compact --time-budget 90m   |   "
    "deblur train --preset 004-table1-bag --data-root ~/data/GOPRO_Large   |   "
    "deblur train export cpu-bag-compact --name bag-compact   |   "
    "deblur train table 004-table1 --steps 6000 --seeds 1,2 --data-root ~/deblur-photos/train --out ~/deblur-004-table1",
    rich_markup_mode="rich",
)


@app.callback(invoke_without_command=True)
@friendly_errors
def train(
    ctx: typer.Context,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="A TOML config file.")] = None,
    preset: Annotated[Optional[str], typer.Option("--preset", "-p",
                                                  help="A shipped config, e.g. 004-table1-bag or cpu/bag-compact.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the shipped configs and exit.")] = False,
    data_root: Annotated[Optional[str], typer.Option("--data-root", help="GoPro root folder (holds train/ and test/), or the folder of sharp photos for photo recipes.")] = None,
    run_dir: Annotated[Optional[str], typer.Option("--run-dir", help="Run folder (default ~/.cache/deblur/runs/<config>, or $DEBLUR_RUNS/<config>).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Require a checkpoint to continue from (resuming is otherwise automatic).")] = False,
    init_from_bundled: Annotated[bool, typer.Option("--init-from-bundled", help="Start from the variant's bundled weights (automatic for configs with [train] warm_start = true, as the CPU presets, when there is nothing to resume).")] = False,
    from_scratch: Annotated[bool, typer.Option("--from-scratch", help="Never start from bundled weights.")] = False,
    init_from: Annotated[Optional[str], typer.Option("--init-from", help="Start from this exported .safetensors file of the config's variant instead of the bundled weights (when there is nothing to resume).")] = None,
    continue_schedule: Annotated[bool, typer.Option("--continue-schedule", help="With --init-from: continue the config's schedule at the step the file records (a run whose folder was lost, from its last exported weights). A run folder with a checkpoint still resumes exactly.")] = False,
    change_data: Annotated[bool, typer.Option("--change-data", help="Resume although the config now makes its training pairs differently ([data] keys other than [data.val]: a mix changed on evidence mid-run). The changes are printed and recorded in run.json; any other change is still refused.")] = False,
    max_steps: Annotated[Optional[int], typer.Option("--max-steps", help="Stop at this step (the schedule keeps the config's length).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="[train] seed: the network's initialisation and training noise (the data stay the config's). Recorded in the run folder, whose default name gains -seed<N>; resuming keeps it.")] = None,
    time_budget: Annotated[Optional[str], typer.Option("--time-budget", help="Stop cleanly, with a checkpoint, after this long: seconds or 90m, 1.5h.")] = None,
    device: DeviceOpt = "auto",
    vgg_weights: Annotated[Optional[str], typer.Option("--vgg-weights", help="ImageNet VGG19 weights (.safetensors) for the perceptual loss.")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", help="Data loader processes (default: the config's).")] = None,
    compile_: Annotated[Optional[str], typer.Option("--compile", help="torch.compile the generator: auto (when the session runs long enough to pay back the compile; the config's [train] compile, default auto), on, off. A failed compile trains on eagerly.")] = None,
    threads: ThreadsOpt = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Progress on stderr.")] = True,
    debug: DebugOpt = False,
) -> None:
    """Train (or continue training) a generator; see `deblur train --list` for the paper recipes."""
    if ctx.invoked_subcommand is not None:
        return
    set_debug(debug)
    from ..train.config import list_presets, load_config, load_preset

    if list_:
        _print_presets(list_presets())
        return
    if (config is None) == (preset is None):
        raise UsageError("give exactly one of --config FILE or --preset NAME (`deblur train --list` lists presets)")
    if sum((init_from_bundled, from_scratch, init_from is not None)) > 1:
        raise UsageError("--init-from, --init-from-bundled and --from-scratch contradict each other: give one")
    budget = _duration(time_budget)
    if max_steps is not None and max_steps < 1:
        raise UsageError("--max-steps must be at least 1")
    if continue_schedule and init_from is None:
        raise UsageError("--continue-schedule continues a lost run from the weights given by --init-from FILE")
    if seed is not None and seed < 0:
        raise UsageError("--seed must be 0 or more")
    if compile_ is not None and compile_ not in ("auto", "on", "off"):
        raise UsageError(f"--compile must be auto, on or off, not {compile_!r}")
    cfg = load_config(config) if config is not None else load_preset(preset)

    from ..train.loop import RunOptions
    from ..train.loop import train as run_training

    apply_threads(threads)
    result = run_training(cfg, RunOptions(
        run_dir=run_dir, data_root=data_root, device=device, max_steps=max_steps, time_budget=budget,
        resume=resume, warm_start=True if init_from_bundled else (False if from_scratch else None), seed=seed,
        init_from=init_from, continue_schedule=continue_schedule, change_data=change_data,
        vgg_weights=vgg_weights, workers=workers, progress=progress, compile=compile_,
        command="deblur train " + " ".join(sys.argv[2:]) if len(sys.argv) > 1 else None))
    if result.is_main:
        _print_result(result)


def _duration(text: Optional[str]) -> Optional[float]:
    """--time-budget in seconds (None when not given)."""
    if text is None:
        return None
    from ..train.config import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"--time-budget: {exc}") from None


def _print_presets(names: list[str]) -> None:
    from ..train.config import ConfigError, load_preset

    width = max(len(n) for n in names)
    for name in names:
        try:
            cfg = load_preset(name)
            rows = ", ".join(cfg.paper.rows) or cfg.paper.source.split(";")[0]
            print(f"{name:<{width}}  {cfg.model.variant:<24} {rows}")
        except ConfigError as exc:
            print(f"{name:<{width}}  (invalid: {exc})")


def _print_result(result) -> None:
    print(f"run: {result.run_dir}")
    print(f"stopped at step {result.step} ({result.stopped.replace('_', ' ')})")
    if result.last_val:
        v = result.last_val
        print(f"validation ({v['weights']}, step {v['step']}): PSNR {v['psnr']:.2f} dB, SSIM {v['ssim']:.4f}, "
              f"L1 {v['l1']:.4f}")
    if result.best:
        print(f"best by {result.best['metric']}: step {result.best['step']} ({result.best['value']:.4f})")
    print(f"export: deblur train export {result.run_dir} --name {result.variant}")


@app.command("export")
@friendly_errors
def export(
    run: Annotated[str, typer.Argument(help="Run folder, or a run name under the runs folder.")],
    name: Annotated[Optional[str], typer.Option("--name", help="Variant to export as (default: the run's).")] = None,
    dtype: Annotated[str, typer.Option("--dtype", help="auto (fp16 above 1M parameters, int8 above 5M) | fp32 | fp16 | int8 (per-channel, for the 10 MB file limit)")] = "auto",
    best: Annotated[bool, typer.Option("--best/--last", help="The best validated weights, or the last checkpoint.")] = True,
    step: Annotated[Optional[int], typer.Option("--step", help="A kept checkpoint of this step instead ([train] keep_every keeps them).")] = None,
    ema: Annotated[Optional[bool], typer.Option("--ema/--no-ema", help="Averaged (EMA) or raw generator weights (default: what was validated).", show_default=False)] = None,
    weights_dir: Annotated[Optional[Path], typer.Option("--weights-dir", help="Where to write <VARIANT>.safetensors (default: the package's weights folder).")] = None,
    manifest: Annotated[Optional[Path], typer.Option("--manifest", help="Manifest to update, started if missing (default: the package's).")] = None,
    debug: DebugOpt = False,
) -> None:
    """Write the run's generator to deblur_cli/weights/<VARIANT>.safetensors and update its manifest entry."""
    set_debug(debug)
    from ..train.export import export_run

    which = "step" if step is not None else "best" if best else "last"
    r = export_run(run, name=name, which=which, ema=ema, dtype=dtype, weights_dir=weights_dir,
                   manifest_path=manifest, step=step)
    print(r.summary())


@app.command("table")
@friendly_errors
def table(
    name: Annotated[str, typer.Argument(help="The paper table whose rows to train, e.g. 004-table1.")],
    steps: Annotated[int, typer.Option("--steps", help="Step budget of every row and seed.")],
    seeds: Annotated[str, typer.Option("--seeds", help="Seeds, comma separated, e.g. 1,2 ([train] seed: the initialisation).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the runs, the exported weights and table_runs.json.")],
    data_root: Annotated[Optional[str], typer.Option("--data-root", help="The folder of sharp training photos (its sibling `val` folder validates).")] = None,
    rows: Annotated[Optional[str], typer.Option("--rows", help="Train only these rows, comma separated: variants (bag-compact) or row keys. Two processes can then share a seed's rows, each with its own --out.")] = None,
    time_budget: Annotated[Optional[str], typer.Option("--time-budget", help="Stop cleanly after this long (all runs together): seconds or 90m, 1.5h. Run again to continue.")] = None,
    device: DeviceOpt = "auto",
    workers: Annotated[Optional[int], typer.Option("--workers", help="Data loader processes (default: the configs').")] = None,
    threads: ThreadsOpt = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Progress on stderr.")] = True,
    debug: DebugOpt = False,
) -> None:
    """Train a paper table's rows at compact size (configs/cpu/<table>/), every row and seed to the same step
    budget, and export each run's EMA weights for `deblur eval --table <table> --weights-dir OUT/weights`."""
    set_debug(debug)
    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise UsageError(f"--seeds: give whole numbers separated by commas, not {seeds!r}") from None
    budget = _duration(time_budget)
    from ..train.loop import RunOptions
    from ..train.table_runs import RECORD, chosen_rows, run_table

    apply_threads(threads)
    only = None if rows is None else [r.strip() for r in rows.split(",") if r.strip()]
    record = run_table(name, seed_list, steps, out, data_root=data_root, only=only, time_budget=budget,
                       options=RunOptions(device=device, workers=workers, progress=progress),
                       command="deblur train " + " ".join(sys.argv[2:]),
                       log=lambda line: print(line, file=sys.stderr, flush=True))
    chosen = chosen_rows(only, {key: row["variant"] for key, row in record["rows"].items()})
    wanted = [f"seed-{s}/{row['variant']}" for s in seed_list for key, row in record["rows"].items() if key in chosen]
    done = [k for k in wanted if record["runs"].get(k, {}).get("status") == "done"]
    print(f"{len(done)}/{len(wanted)} runs trained to step {steps} and exported; record: {out.expanduser() / RECORD}")
    if len(done) < len(wanted):
        print("not finished: run the same command again to continue")
    else:
        print(f"evaluate: {record['evaluate']}")
