"""``deblur train export``: turn a run's weights into a bundled weights file and its manifest entry.

Writes ``deblur_cli/weights/<VARIANT>.safetensors`` (metadata ``{"variant": VARIANT}``; fp16 for
networks over a million parameters that support half precision, int8 when fp16 would pass the 10 MB limit of a
bundled file, fp32 otherwise, unless ``dtype`` says)
and sets the manifest entry: status "trained", the bundled path, sha256, bytes, dtype, and ``training``:
the recipe (config name, file and hash), steps (this run's, and the total including the bundled weights
it was warm-started from), wall time, hardware, date, and the run's validation metrics at the exported
step. Measured ``metrics`` (``deblur eval``) are left alone: they describe a file, and are re-measured
by whoever publishes it.

The exported weights must fit a registered variant exactly: a run whose config overrides the
architecture can only be exported under a variant with those same arguments.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch

from .. import registry
from ..errors import DeblurError, UsageError
from ..weights.io import load_weights, save_weights
from ..weights.manifest import BUNDLED_FILE_LIMIT, ROOT, manifest_path as package_manifest, read_raw, start_manifest, \
    update_entry
from . import checkpoint as ckpt
from .rundir import find_run, now_iso, read_run

HALF_ABOVE = 1_000_000  # parameters; smaller networks are stored in fp32 (the file is small anyway)
EXPORT_DTYPES = ("auto", "fp32", "fp16", "int8")


@dataclass
class ExportResult:
    variant: str
    path: Path
    sha256: str
    bytes: int
    dtype: str
    step: int
    steps_total: int
    source: str  # "best" | "last" | "step" | "file" (export_file)
    weights: str  # "generator" | "ema"
    validation: Optional[dict]

    def summary(self) -> str:
        """What `deblur train export` prints: the file, the checkpoint it came from, and its validation."""
        origin = "a file" if self.source == "file" else f"the {self.source} checkpoint"
        lines = [f"{self.variant}: {self.path} ({self.bytes / 1e6:.2f} MB, {self.dtype}, sha256 {self.sha256[:12]}...)",
                 f"from {origin} ({self.weights} weights), step {self.step}; {self.steps_total} steps in total"]
        if self.validation:
            lines.append(f"validation: PSNR {self.validation['psnr']:.2f} dB, SSIM {self.validation['ssim']:.4f}")
        return "\n".join(lines)


def _check_variant(info: dict, name: str) -> registry.VariantSpec:
    trained = registry.get(info["variant"])
    target = registry.get(name)
    if target.kind != "generator":
        raise UsageError(f"--name {name}: {name} is a {target.kind}, not a generator")
    want = {**dict(trained.kwargs), **dict(info.get("overrides") or {})}
    if target.builder != trained.builder or dict(target.kwargs) != want:
        raise UsageError(f"the run trained {info['variant']}"
                         f"{' with overrides ' + str(info['overrides']) if info.get('overrides') else ''}; "
                         f"its weights do not fit {name} ({dict(target.kwargs)})")
    return target


def _read_source(run_dir: Path, which: str, step: Optional[int] = None) -> tuple[dict, dict]:
    """(tensors, facts) of the best, the last or the ``step`` checkpoint; facts: step, wall_time_s, validation."""
    if which == "best":
        path = run_dir / "best" / "weights.safetensors"
        if not path.is_file():
            raise DeblurError(f"{run_dir}: no best checkpoint yet (no validation has run); use --last")
        with open(run_dir / "best" / "info.json", encoding="utf-8") as fh:
            info = json.load(fh)
        tensors = load_weights(path)
        return tensors, {"step": info["step"], "wall_time_s": info.get("wall_time_s"),
                         "validation": {**info["metrics"], "step": info["step"], "weights": info["weights"]},
                         "validated": info["weights"]}
    if step is not None:
        folder = ckpt.step_dir(run_dir / "checkpoints", step)
        if not (folder / "state.json").is_file():
            kept = ckpt.kept_steps(run_dir / "checkpoints")
            raise DeblurError(f"{run_dir}: no checkpoint at step {step} (kept: {', '.join(map(str, kept)) or 'none'}; "
                              "[train] keep_every keeps more)")
    else:
        folder = ckpt.latest(run_dir / "checkpoints")
    if folder is None:
        raise DeblurError(f"{run_dir}: no checkpoint to export")
    tensors, meta = ckpt.read_tensors(folder / "state")
    last_val = meta.get("last_val")
    validation = last_val if last_val and last_val.get("step") == meta["step"] else None
    return tensors, {"step": meta["step"], "wall_time_s": meta.get("wall_time_s"), "validation": validation,
                     "validated": (last_val or {}).get("weights")}


def _fits(spec: registry.VariantSpec, state: dict) -> None:
    with torch.device("meta"):
        expected = spec.build().state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    shapes = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or extra or shapes:
        first = (missing or extra or shapes)[0]
        raise DeblurError(f"the run's weights do not fit {spec.name} ({len(missing)} missing, {len(extra)} "
                          f"unexpected, {len(shapes)} mis-shaped keys; first: {first})")


def export_run(run: str | Path, name: Optional[str] = None, which: str = "best", ema: Optional[bool] = None,
               dtype: str = "auto", weights_dir: Optional[Path] = None,
               manifest_path: Optional[Path] = None, step: Optional[int] = None) -> ExportResult:
    """Export a run's weights (see the module docstring); ``weights_dir``/``manifest_path`` for tests.
    ``step``: a kept checkpoint (``which`` = "step")."""
    if which not in ("best", "last", "step") or (which == "step") != (step is not None):
        raise UsageError("choose --best, --last or --step N")
    _check_dtype(dtype)  # before reading the run: a typo fails at once
    run_dir = find_run(str(run))
    info = read_run(run_dir)
    variant = name or info["variant"]
    spec = _check_variant(info, variant)
    tensors, facts = _read_source(run_dir, which, step)
    has_ema = any(k.startswith("ema/") for k in tensors)
    if ema and not has_ema:
        raise UsageError(f"{run_dir}: the run kept no EMA weights ([train] ema = 0)")
    use_ema = has_ema if ema is None else ema
    prefix = "ema/" if use_ema else "generator/"
    state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    _fits(spec, state)
    weights = "ema" if use_ema else "generator"
    validation = facts["validation"] if facts.get("validated") == weights else None

    warm = info.get("warm_start") or {}
    step = int(facts["step"])
    wall = float(facts.get("wall_time_s") or 0.0)
    training = {
        "recipe": {"config": info.get("config"), "config_file": info.get("config_file"),
                   "config_sha256": info.get("config_sha256")},
        "steps": step,
        # a continued run (--start-step) counts its steps from where the lost run stopped
        "steps_total": int(warm.get("steps_total") or 0) + step - int(info.get("continued_at") or 0),
        "warm_start": ({"sha256": warm.get("sha256"), "steps_total": warm.get("steps_total")}
                       if warm else None),
        "wall_time_s": round(wall, 1),
        "wall_time_total_s": round(float(warm.get("wall_time_total_s") or 0.0) + wall, 1),
        "hardware": info.get("sessions") and [s.get("hardware") for s in info["sessions"]],
        "recipe_changes": changes_before(info, step) or None,
        "date": now_iso(),
        "exported": {"checkpoint": which, "weights": weights, "run": str(run_dir)},
        "validation": ({**validation, "set": info.get("validation_set")} if validation else None),
        "command": info.get("command"),
    }
    path, sha, size, dtype = _write_bundled(spec, state, dtype, training, weights_dir, manifest_path)
    return ExportResult(variant, path, sha, size, dtype, step, training["steps_total"], which,
                        weights, validation)


def changes_before(info: dict, step: int) -> list[dict]:
    """The mixes a run changed mid-way (`--change-data`, from run.json's sessions) before ``step``, in order: the
    recipe an export records is the last one, so the earlier ones go beside it."""
    return [{"step": s["from_step"], "changes": s["recipe_change"]} for s in info.get("sessions", [])
            if s.get("recipe_change") and s.get("from_step", step) < step]


def export_file(file: str | Path, variant: str, training: dict, dtype: str = "auto",
                weights_dir: Optional[Path] = None, manifest_path: Optional[Path] = None) -> ExportResult:
    """Bundle a weights file trained elsewhere (a GPU machine whose run folder is gone) as ``variant``.

    ``training`` is the manifest's record of how it was made (recipe, steps, hardware, command, ...), written by
    whoever ran it; the file's own metadata must name ``variant`` and, when it records ``steps_total``, agree with
    ``training["steps_total"]``, so a record cannot be attached to the wrong file.
    """
    from ..weights.io import read_metadata

    spec = registry.get(variant)
    meta = read_metadata(file)
    if meta.get("variant") not in (None, variant):
        raise UsageError(f"{file} holds weights for {meta['variant']}, not {variant}")
    if "steps_total" not in training:
        raise UsageError("the training record needs steps_total (the steps behind these weights)")
    if "steps_total" in meta and int(meta["steps_total"]) != int(training["steps_total"]):
        raise UsageError(f"{file} records {meta['steps_total']} steps, the training record {training['steps_total']}")
    state = load_weights(file)
    _fits(spec, state)
    path, sha, size, dtype = _write_bundled(spec, state, dtype, training, weights_dir, manifest_path)
    steps = int(training.get("steps", training["steps_total"]))
    return ExportResult(variant, path, sha, size, dtype, steps, int(training["steps_total"]), "file",
                        str(training.get("exported", {}).get("weights", "file")), training.get("validation"))


def _check_dtype(dtype: str) -> None:
    if dtype not in EXPORT_DTYPES:
        raise UsageError(f"--dtype must be {', '.join(EXPORT_DTYPES[:-1])} or {EXPORT_DTYPES[-1]}, not {dtype!r}")


def storage_dtype(spec: registry.VariantSpec, n_params: int) -> str:
    """``auto``'s choice: fp32 up to a million parameters, fp16 above (if the network runs in half), and int8
    when even fp16 would pass the bundled-file limit."""
    if 2 * n_params > BUNDLED_FILE_LIMIT:
        return "int8"
    return "fp16" if (n_params > HALF_ABOVE and spec.supports_half) else "fp32"


def _write_bundled(spec: registry.VariantSpec, state: dict, dtype: str, training: dict,
                   weights_dir: Optional[Path], manifest_path: Optional[Path]) -> tuple[Path, str, int, str]:
    """Write ``<variant>.safetensors`` and its manifest entry; (path, sha256, bytes, dtype)."""
    variant = spec.name
    _check_dtype(dtype)
    if dtype == "auto":
        dtype = storage_dtype(spec, sum(v.numel() for v in state.values() if v.is_floating_point()))
    # bundled paths are relative to the repository root, or to a test manifest's folder
    root = ROOT if manifest_path is None else Path(manifest_path).resolve().parent
    out = Path(weights_dir) if weights_dir is not None else ROOT / "deblur_cli" / "weights"
    path = (out / f"{variant}.safetensors").resolve()
    try:
        bundled = path.relative_to(root.resolve()).as_posix()
    except ValueError:
        raise UsageError(f"{path}: bundled weights must lie inside {root} (the manifest's folder)") from None
    # the manifest is checked (a scratch one started) before the weights are written, so a failure leaves no file
    if manifest_path is None:
        read_raw(package_manifest())
    else:
        start_manifest(manifest_path)
    training = {k: v for k, v in training.items() if v is not None}
    # the lineage travels in the file too, so that `deblur train --init-from FILE` can continue it
    sha = save_weights(state, path, dtype=dtype, metadata={
        "variant": variant, "steps_total": int(training["steps_total"]),
        "wall_time_total_s": round(float(training.get("wall_time_total_s") or 0.0), 1)})
    # metrics and a rejection describe the file this one replaces: drop them (tools/measure_bundled.py re-measures)
    size = path.stat().st_size
    update_entry(variant, path=manifest_path, status="trained", bundled=bundled, sha256=sha, bytes=size, dtype=dtype,
                 training=training, metrics=None, rejected_because=None)
    return path, sha, size, dtype
