"""Run folders: where a run keeps its checkpoints and logs, outside the repository.

Default ``~/.cache/deblur/runs/<name>`` (``$DEBLUR_RUNS/<name>`` when set; ``--run-dir`` names one
outright). ``run.json`` records what the run is (config name and hash, variant, warm start, hardware) so
that ``deblur train export`` can describe the weights without the config at hand; ``config.json`` is the
merged config the run was started with, and the config file itself is copied beside it.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import torch

from ..atomic import write_text_atomically
from ..errors import DeblurError, UsageError
from ..hardware import cpu_name as _cpu_name


def runs_root() -> Path:
    env = os.environ.get("DEBLUR_RUNS")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "deblur" / "runs"


def default_run_dir(config_name: str) -> Path:
    return runs_root() / config_name.replace("/", "-")


def find_run(ref: str) -> Path:
    """A run folder from a path or a run name under :func:`runs_root`."""
    for candidate in (Path(ref).expanduser(), runs_root() / ref, runs_root() / ref.replace("/", "-")):
        if (candidate / "run.json").is_file():
            return candidate
    raise UsageError(f"no training run at {ref!r} (looked for run.json in {ref} and under {runs_root()})")


def read_run(run_dir: Path) -> dict:
    try:
        with open(run_dir / "run.json", encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise DeblurError(f"{run_dir}: not a training run (no run.json)") from None


def write_json(path: Path, data: dict) -> None:
    write_text_atomically(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def start_run(run_dir: Path, cfg, extra: dict) -> dict:
    """Create ``run_dir`` with run.json, config.json and a copy of the config file."""
    run_dir.mkdir(parents=True, exist_ok=True)
    info = {
        "config": cfg.name,
        "config_file": config_file_label(cfg.path),
        "config_sha256": cfg.sha256,
        "resume_key": cfg.resume_key,
        "variant": cfg.model.variant,
        "overrides": cfg.model.overrides,
        "created": now_iso(),
        **extra,
    }
    write_config(run_dir, cfg)
    write_json(run_dir / "run.json", info)
    return info


def write_config(run_dir: Path, cfg) -> None:
    """The run's merged config (config.json) and a copy of its file (config.toml, when the file can be read)."""
    write_json(run_dir / "config.json", cfg.resolved)
    try:
        shutil.copyfile(cfg.path, run_dir / "config.toml")
    except OSError:
        pass


def clear_logs(run_dir: Path) -> None:
    """Remove the logs and best weights of an earlier attempt that never reached a checkpoint
    (only in a folder that run.json marks as a run, and only the files a run writes)."""
    if not (run_dir / "run.json").is_file():
        return
    for name in ("train.csv", "val.csv", "best/weights.safetensors", "best/info.json"):
        (run_dir / name).unlink(missing_ok=True)


def config_file_label(path: Path) -> str:
    """A shipped config as its path in the repository (``deblur_cli/configs/...``), others as given."""
    try:
        return path.resolve().relative_to(Path(__file__).resolve().parents[2]).as_posix()
    except ValueError:
        return str(path)


def add_session(run_dir: Path, session: dict, cfg) -> None:
    """Record one more training session (who resumed the run, on what, from which step); the config's
    hashes become the run's (they differ from the last session's in bookkeeping keys, or in the [data] keys that
    the session's ``recipe_change`` lists, whose config then becomes the run's config.json)."""
    info = read_run(run_dir)
    info.setdefault("sessions", []).append(session)
    info["config_sha256"] = cfg.sha256
    info["resume_key"] = cfg.resume_key
    if session.get("recipe_change"):
        write_config(run_dir, cfg)
    write_json(run_dir / "run.json", info)


def data_change(info: dict, data: dict | None) -> str | None:
    """A note when the training data differ from the last session that recorded them (a photo folder that gained
    or lost files): the run goes on, on the data it is given, but from this step its data order is not the one
    a straight run would have seen. None when they are the same or nothing was recorded."""
    before = next((s["data"] for s in reversed(info.get("sessions", [])) if s.get("data")), None)
    if not data or not before or before == data:
        return None
    count = (f"{before['photos']} -> {data['photos']} photos" if before.get("photos") != data.get("photos")
             else f"{data.get('photos')} photos, other files")
    return (f"the training photos differ from the last session's ({count}): the run continues on these, and its "
            f"data order differs from a straight run's from here")


def recipe_changes(before: dict, after: dict) -> dict[str, list]:
    """The dotted keys whose values differ between two merged configs, ``{"data.photos.candidates": [4, 1]}``,
    without description, [paper] and the bookkeeping keys; a key that one side leaves to its default reads None."""
    from .config import BOOKKEEPING

    def flat(doc: dict, prefix: str = "") -> dict:
        out = {}
        for key, value in doc.items():
            if not prefix and key in ("description", "paper"):
                continue
            if prefix.count(".") == 1 and key in BOOKKEEPING.get(prefix[:-1], ()):
                continue
            if isinstance(value, dict):
                out.update(flat(value, f"{prefix}{key}."))
            else:
                out[prefix + key] = json.loads(json.dumps(value, default=str))  # tuples as lists, as they read back
        return out

    a, b = flat(before), flat(after)
    return {k: [a.get(k), b.get(k)] for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


def default_value(key: str):
    """What a config that leaves dotted ``key`` out trains with: the field's default in its section's dataclass
    (``data.photos.p_defocus`` -> ``PhotoMix.p_defocus``); None where no section names it (a model override)."""
    from dataclasses import MISSING, fields

    from ..data.mix import PhotoMix, SynthConfig
    from .schema import DataConfig, OptimConfig, TrainSection, ValConfig

    sections = {"data.photos": PhotoMix, "data.synth": SynthConfig, "data.val": ValConfig, "data": DataConfig,
                "optim": OptimConfig, "train": TrainSection}
    section, _, name = key.rpartition(".")
    found = next((f for f in fields(sections[section]) if f.name == name), None) if section in sections else None
    if found is None or found.default is MISSING:
        return None
    return json.loads(json.dumps(found.default, default=str))  # tuples as lists, as configs read back


def describe_changes(changes: dict[str, list]) -> str:
    """``key old -> new`` for each change; a side that left the key out shows the default it trained with."""
    def show(key: str, value) -> str:
        if value is not None:
            return json.dumps(value)
        default = default_value(key)
        return "(default)" if default is None else f"{json.dumps(default)} (default)"

    return ", ".join(f"{k} {show(k, a)} -> {show(k, b)}" for k, (a, b) in changes.items())


def mix_only(changes: dict[str, list]) -> bool:
    """True when every change is to how training pairs are made ([data], not the validation set [data.val]):
    the checkpoint's state (network, optimiser, schedule, data position) does not depend on them."""
    return bool(changes) and all(k.startswith("data.") and not k.startswith("data.val.") for k in changes)


def check_same_config(run_dir: Path, cfg, change_data: bool = False) -> dict[str, list]:
    """A run continues only under the same recipe (its length and logging may change), or with ``change_data``
    under one whose training-pair keys changed (a mix changed on evidence mid-run): returns those changes."""
    info = read_run(run_dir)
    if info.get("resume_key") == cfg.resume_key:
        return {}
    try:
        before = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        before = None
    changes = recipe_changes(before, cfg.resolved) if before is not None else {}
    if change_data and mix_only(changes):
        return changes
    what = f": {describe_changes(changes)}" if changes else ""
    hint = (" (--change-data continues it on the new training pairs)" if mix_only(changes) else
            "; use --run-dir for a new run, or delete the old folder")
    raise DeblurError(f"{run_dir} was started with a different config ({info.get('config')}, recipe "
                      f"{str(info.get('config_sha256'))[:12]}) than {cfg.name} ({cfg.sha256[:12]}){what}{hint}")


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def hardware(device, world: int = 1) -> dict:
    info = {"cpu": _cpu_name(), "threads": torch.get_num_threads(), "processes": world,
            "torch": torch.__version__, "device": str(device)}
    if getattr(device, "type", "cpu") == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def resolve_run_dir(cfg, run_dir: Optional[str], seed: Optional[int] = None) -> Path:
    """``run_dir`` as given, else the config's default folder (``-seed<N>`` added for a ``--seed``)."""
    if run_dir:
        return Path(run_dir).expanduser()
    return default_run_dir(cfg.name + ("" if seed is None else f"-seed{seed}"))


def recorded_seed(run_dir: Path) -> Optional[int]:
    """The ``--seed`` a run folder was started with (run.json ``seed_option``); None for none or no run yet."""
    if not (run_dir / "run.json").is_file():
        return None
    return read_run(run_dir).get("seed_option")
