"""Write procedural pairs to disk in the GOPRO_Large layout, so eval and train read them like GoPro."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from ..errors import DeblurError
from .synth import SynthConfig, make_pair


def _save_png(path: Path, image: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)).save(tmp, "PNG")
    os.replace(tmp, path)


def _stamp(folder: Path, seed: int, size: int, motion: str, config: SynthConfig) -> None:
    """Record how the pairs under ``folder`` are made, and refuse to add pairs made differently: resuming skips
    the pairs already written, so a second recipe would silently mix two datasets."""
    recipe = {"seed": seed, "size": size, "motion": motion, "mix": dataclasses.asdict(config)}
    recipe = json.loads(json.dumps(recipe))  # tuples as lists, as they read back
    path = folder / "synth.json"
    stamps = json.loads(path.read_text()) if path.exists() else {}
    old = stamps.get(str(seed))
    if old is not None and old != recipe:
        changed = sorted(k for k in recipe if old.get(k) != recipe[k])
        raise DeblurError(f"{folder}: holds seed-{seed} pairs made with another {', '.join(changed)}; "
                          f"write to another --out or another --seed")
    stamps[str(seed)] = recipe
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / ".synth.json.tmp"
    tmp.write_text(json.dumps(stamps, indent=1) + "\n")
    os.replace(tmp, path)


def write_synthetic_gopro(out: str | os.PathLike, n: int, seed: int, size: int = 256, split: str = "test",
                          motion: str = "mixed", per_sequence: int = 100, config: SynthConfig | None = None,
                          progress: Callable[[int], None] | None = None) -> Path:
    """``out/<split>/SYNTH_<seed>_<k>/{blur,blur_gamma,sharp}/NNNNNN.png``; pair i comes from rng(seed, i), as in
    ``SynthDataset(seed=seed)``. Our blur is averaged in linear light, so ``blur`` and ``blur_gamma`` hold the same
    images (both names are written so either ``--blur-kind`` works)."""
    root = Path(out)
    _stamp(root / split, seed, size, motion, config or SynthConfig())
    for i in range(n):
        seq = root / split / f"SYNTH_{seed}_{i // per_sequence:02d}"
        name = f"{i % per_sequence:06d}.png"
        if (seq / "sharp" / name).exists():
            if progress:
                progress(i)
            continue  # resumable: pairs are deterministic
        blur, sharp = make_pair(np.random.default_rng([seed, i]), size, motion, config)
        for kind, image in (("blur", blur), ("blur_gamma", blur), ("sharp", sharp)):
            (seq / kind).mkdir(parents=True, exist_ok=True)
            _save_png(seq / kind / name, image)
        if progress:
            progress(i)
    return root
